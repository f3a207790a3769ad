"""Supervision's kept facts (archive.supervision.ledger) stay equal to a count from scratch.

The month is the sample month of :mod:`archive.supervision.sample` (its docstring lists the
cases); more writes follow here — pauses, an extension, a deemed acceptance, supplements,
conclusions, a refusal — each through the window desk, and after every one the facts kept
in the same transaction must equal what counting every case again gives, and the figures
from them must equal the figures judged case by case from the cases table.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from archive.core import store as st
from archive.supervision import figures, ledger

D = lambda m, d: dt.date(2026, m, d)  # noqa: E731

PERIODS = ({"month": "2026-09"}, {"month": "2026-10"}, {"month": "2026-11"},
           {"date_from": "2026-10-09", "date_to": "2026-10-20"})


def _kept(session):
    """The facts and the non-zero day sums as the store holds them."""
    with session.store.read() as conn:
        facts = {row.case_id: dict(row._mapping) for row in conn.execute(select(st.case_facts))}
        days = {(row.day, row.unit, row.item_code, row.clerk): tuple(row._mapping[n] for n in ledger.VALUES)
                for row in conn.execute(select(st.case_days)) if any(row._mapping[n] for n in ledger.VALUES)}
    return facts, days


def _recounted(session):
    """What counting every case from scratch gives (in a transaction that is rolled back)."""
    with session.store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            ledger.rebuild(conn, session.calendar)
            facts = {row.case_id: dict(row._mapping) for row in conn.execute(select(st.case_facts))}
            days = {(row.day, row.unit, row.item_code, row.clerk): tuple(row._mapping[n] for n in ledger.VALUES)
                    for row in conn.execute(select(st.case_days))}
        finally:
            transaction.rollback()
    return facts, days


def _current(session) -> bool:
    with session.store.read() as conn:
        return ledger.current(conn, session.calendar)


def _same_figures(session, scopes=(None, frozenset({"SJ"}), frozenset({"ZR", "WJ"})), scanned_months=()):
    """The figures from the kept facts equal those judged case by case, for several periods and scopes.

    The kept facts must really be what counts, except in ``scanned_months``.
    """
    for spec in PERIODS:
        per = figures.period(session.today, **spec)
        for scope in scopes:
            kept = figures.compute(session, per, scope=scope)
            scanned = figures.compute(session, per, scope=scope, kept=False)
            assert kept.vectors == scanned.vectors, (spec, scope)
            with session.store.read() as conn:
                used = figures._from_ledger(conn, session.calendar, per, scope, {}, *figures.thresholds(session))
            assert used == (spec.get("month") not in scanned_months and "date_from" not in spec
                            or "date_from" in spec and "2026-10" not in scanned_months), (spec, scope)


def test_facts_follow_every_write_and_equal_a_recount(month):
    from archive.window import cases
    from archive.window.cases import Applicant

    session, made = month
    ledger.ensure(session)
    assert _current(session)
    assert _kept(session) == _recounted(session)
    person = Applicant.person("周敏", "11010519491231002X", "13800138000")
    steps = [
        lambda: cases.show(session, made["F"]),  # records F's deemed acceptance
        lambda: cases.resume(session, made["K"], on=D(11, 2)),  # paused since 28 October
        lambda: cases.conclude(session, made["K"], decision="approved", on=D(11, 2)),
        lambda: cases.extend(session, made["J"], days=5, reason="需现场核查", on=D(11, 2)),  # asked: 延期待批
        lambda: cases.approve_extension(session.as_operator("赵立新"), made["J"], on=D(11, 2)),
        lambda: cases.conclude(session, made["J"], decision="denied", reason="现场核查不符合条件", on=D(11, 2)),
        lambda: cases.conclude(session, made["F"], decision="approved", on=D(11, 2)),
        lambda: cases.conclude(session, made["E"], decision="approved", on=D(11, 2)),
    ]
    for step in steps:
        step()
        assert _current(session)  # kept in the write's own transaction, not counted again
        assert _kept(session) == _recounted(session)
    new = cases.receive(session, item_code="SJ-XK-003", applicant=person, materials=["M01"],
                        received_on=D(11, 2)).case.case_no
    cases.supplement(session, new, materials=["M02", "M03", "M04", "M05", "M06"], on=D(11, 2))
    cases.pause(session, new, reason="需组织专家评审", on=D(11, 2))
    refused = cases.receive(session, item_code="SJ-XK-001", applicant=person, materials=["M01"],
                            received_on=D(11, 2), defer=True).case.case_no
    cases.reject(session, refused, ground="not-required", reason="该事项无需办理许可", on=D(11, 2))
    assert _current(session)
    facts, days = _kept(session)
    assert (facts, days) == _recounted(session)
    assert sum(values[ledger.VALUES.index("received")] for key, values in days.items() if key[0] == D(11, 2)) == 2
    _same_figures(session)


def test_the_figures_from_the_facts_equal_the_figures_from_the_cases(month):
    session, _ = month
    _same_figures(session)
    with session.store.read() as conn:  # the first report counted the facts of the month
        assert ledger.current(conn, session.calendar)


def test_a_calendar_loaded_since_makes_the_facts_stale_and_the_report_recounts(month):
    from archive.core import calendar as cal

    session, _ = month
    ledger.ensure(session)
    schedule = session.calendar.schedule(2026)
    # A hypothetical re-issue of 2026 with 19 October as a holiday: limits move.
    changed = cal.YearSchedule(2026, {**schedule.holidays, D(10, 19): "假设调整"}, dict(schedule.workdays),
                               "测试：重新发布")
    cal.save_schedules(session, {2026: changed}, replace=True)
    assert not _current(session)
    _same_figures(session, scopes=(None,))
    assert _current(session)


def test_inexact_facts_send_the_report_to_the_cases(month):
    session, made = month
    ledger.ensure(session)
    with session.store.write() as conn:
        conn.execute(st.case_facts.update().values(exact=False)
                     .where(st.case_facts.c.case_id == select(st.cases.c.id).where(st.cases.c.case_no == made["C"])
                            .scalar_subquery()))
        assert ledger.inexact_within(conn, D(10, 1), D(10, 31))
        assert not ledger.inexact_within(conn, D(11, 1), D(11, 30))  # C concluded in October
    _same_figures(session, scopes=(None,), scanned_months=("2026-10",))


def test_the_migration_counts_the_cases_already_there(month):
    from alembic import command

    session, _ = month
    store = session.store
    cfg = st._alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _current(session)
    facts, days = _kept(session)
    assert len(facts) == len(sample_cases(session)) and (facts, days) == _recounted(session)
    assert figures.compute(session, figures.period(session.today, month="2026-10"), scope=None).total().received == 11


def sample_cases(session):
    with session.store.read() as conn:
        return conn.execute(select(st.cases.c.id)).scalars().all()


def test_a_deemed_acceptance_concluded_before_its_window_ended_is_inexact(month):
    from archive.window import cases

    session, made = month
    f = made["F"]  # taken in on 9 October, window ended 16 October, deemed accepted from receipt
    cases.show(session, f)
    cases.conclude(session, f, decision="approved", on=D(10, 12))
    with session.store.read() as conn:
        row = conn.execute(select(st.case_facts).join(st.cases, st.cases.c.id == st.case_facts.c.case_id)
                           .where(st.cases.c.case_no == f)).one()
    assert row.exact is False
    _same_figures(session, scopes=(None,), scanned_months=("2026-10",))
