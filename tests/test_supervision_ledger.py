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
           {"date_from": "2026-10-09", "date_to": "2026-10-20"},
           {"date_from": "2026-09-15", "date_to": "2026-11-02"})  # days of September, October whole, days of November


def _read(conn):
    """The facts (with each case's kept pauses) and the non-zero day sums (ratings and red cards included)."""
    facts = {row.case_id: dict(row._mapping) for row in conn.execute(select(st.case_facts))}
    for row in conn.execute(select(st.case_pauses).order_by(st.case_pauses.c.case_id, st.case_pauses.c.seq)):
        facts[row.case_id].setdefault("pauses", []).append(dict(row._mapping))
    days = {(row.day, row.unit, row.item_code, row.clerk): tuple(row._mapping[n] for n in ledger.DAY_VALUES)
            for row in conn.execute(select(st.case_days)) if any(row._mapping[n] for n in ledger.DAY_VALUES)}
    months = {(row.month, row.unit, row.item_code, row.clerk): tuple(row._mapping[n] for n in ledger.DAY_VALUES)
              for row in conn.execute(select(st.case_months)) if any(row._mapping[n] for n in ledger.DAY_VALUES)}
    summed: dict = {}  # the month sums are the day sums added up
    for (day, *key), values in days.items():
        found = summed.get((day.replace(day=1), *key))
        summed[(day.replace(day=1), *key)] = values if found is None else tuple(a + b for a, b in zip(found, values))
    assert months == {key: values for key, values in summed.items() if any(values)}
    return facts, days


def _kept(session):
    """The facts, pauses and day sums as the store holds them."""
    with session.store.read() as conn:
        return _read(conn)


def _recounted(session):
    """What counting every case, rating and red card from scratch gives (in a transaction rolled back)."""
    with session.store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            ledger.rebuild(conn, session.calendar)
            return _read(conn)
        finally:
            transaction.rollback()


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
    from archive.supervision import alerts, ratings
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
        # Ratings and red cards are summed on their day as they are recorded.
        lambda: ratings.record(session, made["L"], level="满意", overall=4, efficiency=4, quality=5, attitude=4,
                               source="device", on=D(10, 30), scope=None),
        lambda: ratings.record(session, made["K"], level="非常不满意", overall=1, efficiency=2, quality=1, attitude=1,
                               source="phone", on=D(11, 2), scope=None),
        lambda: alerts.record_red_cards(session),
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
    assert sum(values[ledger.DAY_VALUES.index("received")] for key, values in days.items() if key[0] == D(11, 2)) == 2
    assert sum(values[ledger.DAY_VALUES.index("level_1")] for key, values in days.items() if key[0] == D(11, 2)) == 1
    assert [(p["paused_on"], p["resumed_on"]) for f in facts.values() if f["case_id"] == _id(session, new)
            for p in f["pauses"]] == [(D(11, 2), None)]
    _same_figures(session)


def _id(session, case_no):
    with session.store.read() as conn:
        return conn.execute(select(st.cases.c.id).where(st.cases.c.case_no == case_no)).scalar()


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


def test_the_migrations_leave_the_counting_to_the_first_report(month):
    from alembic import command

    session, _ = month
    store = session.store
    cfg = st._alembic_config(store.url)
    # From before red cards left the day sums, before the day sums of ratings and cards, and before any facts.
    for down in ("0012", "0010", "0007"):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, down)
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert not _current(session)  # schema only: nothing counted with the library's table definitions
        assert figures.compute(session, figures.period(session.today, month="2026-10"),
                               scope=None).total().received == 11
        assert _current(session)
        facts, days = _kept(session)
        assert len(facts) == len(sample_cases(session)) and (facts, days) == _recounted(session)
        assert any(f.get("pauses") for f in facts.values())
        assert sum(values[ledger.DAY_VALUES.index("ratings")] for values in days.values()) > 0
    _same_figures(session, scopes=(None,))


def test_no_migration_reads_the_library():
    """A migration that imported the library would read tables as they are defined today."""
    import pathlib

    versions = pathlib.Path(st.__file__).parent / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "from archive" not in text and "import archive" not in text, path.name


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
