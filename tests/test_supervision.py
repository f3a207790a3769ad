"""Supervision figures, warnings, red cards and ratings, checked exactly on a built month.

The month is :mod:`archive.supervision.sample` (October 2026: the National Day holiday
1–7 October and the make-up working day Saturday 10 October); its docstring lists each
case and what it shows. Every expected number below was counted by hand from that table.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from archive.core import store as st
from archive.core.errors import CalendarMissingError, InputError, NotFoundError, RuleError, StateError
from archive.supervision import alerts, figures, ratings, report, sample
from archive.supervision.scope import narrow, scope_for

D = lambda m, d: dt.date(2026, m, d)  # noqa: E731


def _october(session, scope=None):
    return figures.compute(session, figures.period(session.today, month="2026-10"), scope=scope)


TOTALS = {
    "received": 11, "accepted": 10, "not_accepted": 1, "concluded": 5, "approved": 4, "denied": 1,
    "on_the_spot": 1, "on_the_spot_rate": 0.2, "on_time": 4, "on_time_rate": 0.8,
    "promised_concluded": 4, "early": 2, "early_rate": 0.5,
    "overdue": 2, "overdue_concluded": 1, "overdue_workdays": 14,
    "open": 6, "open_on_track": 1, "open_blue": 2, "open_yellow": 1, "open_red": 1, "open_paused": 1,
    "deemed_accepted": 1, "paused": 2, "paused_workdays": 5,
    "supplement_notices": 2, "supplement_cases": 1, "supplements_per_case": 2.0,
    "workdays_used": 17, "avg_workdays_used": 3.4, "sum_promised_days": 20, "avg_promised_days": 4.0,
    "sum_statutory_days": 73, "avg_statutory_days": 14.6,
    "ratings": 4, "satisfied": 3, "bad_ratings": 1, "satisfaction_rate": 0.75,
    "ratings_by_level": {"非常满意": 1, "满意": 1, "基本满意": 1, "不满意": 1, "非常不满意": 0},
    "avg_scores": {"overall": 3.5, "efficiency": 3.25, "quality": 4.0, "attitude": 3.75},
    "rectifications": 1, "rectifications_done": 1, "rectifications_late": 1, "red_cards": 3,
}


def test_the_month_figures_are_exact(month):
    session, _ = month
    assert _october(session).total().to_dict() == TOTALS


def test_figures_per_unit_item_and_clerk(month):
    session, _ = month
    breakdown = _october(session)
    sj = breakdown.by(0)[("SJ",)].to_dict()
    assert {k: sj[k] for k in ("received", "accepted", "concluded", "on_the_spot", "on_time", "on_time_rate",
                               "early", "early_rate", "overdue", "overdue_workdays", "supplement_notices",
                               "workdays_used", "ratings", "satisfaction_rate", "rectifications",
                               "rectifications_late", "red_cards")} == {
        "received": 2, "accepted": 2, "concluded": 3, "on_the_spot": 1, "on_time": 2, "on_time_rate": 0.6667,
        "early": 1, "early_rate": 0.5, "overdue": 1, "overdue_workdays": 1, "supplement_notices": 2,
        "workdays_used": 10, "ratings": 3, "satisfaction_rate": 0.6667, "rectifications": 1,
        "rectifications_late": 1, "red_cards": 2}
    zr = breakdown.by(0)[("ZR",)].to_dict()
    assert {k: zr[k] for k in ("received", "accepted", "concluded", "on_time", "open", "open_red", "open_paused",
                               "deemed_accepted", "paused", "paused_workdays", "overdue", "overdue_workdays",
                               "red_cards")} == {
        "received": 3, "accepted": 3, "concluded": 1, "on_time": 1, "open": 2, "open_red": 1, "open_paused": 1,
        "deemed_accepted": 1, "paused": 2, "paused_workdays": 5, "overdue": 1, "overdue_workdays": 13,
        "red_cards": 1}
    assert breakdown.by(0, 2)[("SJ", "王芳")] == breakdown.by(0)[("SJ",)]
    zj = breakdown.by(0, 2)[("ZJ", "赵军")]
    assert (zj.open, zj.open_blue, zj.open_on_track, zj.concluded) == (3, 2, 1, 0)
    item = breakdown.by(1)[("SJ-XK-003",)]
    assert (item.received, item.concluded, item.on_time, item.early, item.promised_concluded,
            item.overdue_concluded, item.supplement_notices, item.ratings, item.satisfied) == (1, 2, 1, 1, 2, 1, 2, 2, 1)


def test_a_deemed_acceptance_counts_the_same_before_and_after_it_is_recorded(month):
    from archive.window import cases

    session, made = month
    before = _october(session).total()
    shown = cases.show(session, made["F"])  # records the deemed acceptance and its receipt notice
    assert shown.deemed_accepted and shown.accepted_on == D(10, 9) and shown.due_on == D(10, 13)
    assert _october(session).total() == before


def test_warnings_on_the_last_day_of_the_month(month):
    session, made = month
    found = alerts.current(session, scope=None, as_of=D(10, 31))
    assert [(w.level, w.case_no, w.days_left) for w in found] == [
        ("red", made["F"], -13), ("yellow", made["G"], 0), ("blue", made["E"], 1), ("blue", made["I"], 2)]
    assert found[0].to_dict()["clerk"] == "李娜" and found[0].days_over == 13
    assert [w.case_no for w in alerts.current(session, scope=frozenset({"ZJ"}), as_of=D(10, 31))] == [made["E"], made["I"]]


def test_warnings_and_red_cards_are_counted_and_listed_first_few_in_the_store(month):
    session, made = month
    on = dict(scope=None, as_of=D(10, 31))
    assert alerts.counts(session, **on) == {"red": 1, "yellow": 1, "blue": 2}
    assert [w.case_no for w in alerts.current(session, levels=("blue",), limit=1, **on)] == [made["E"]]
    assert [w.case_no for w in alerts.current(session, clerk="李娜", **on)] == [made["F"]]
    assert alerts.counts(session, clerk="李娜", **on) == {"red": 1, "yellow": 0, "blue": 0}
    window = dict(scope=None, date_from=D(10, 1), date_to=D(10, 31))
    assert alerts.count_red_cards(session, **window) == 3
    assert [c.case_no for c in alerts.red_cards(session, limit=2, **window)] == [made["F"], made["C"]]
    assert alerts.count_red_cards(session, clerk="王芳", **window) == 2


def test_a_dashboard_fetches_the_first_few_of_each_list_and_counts_the_rest(month):
    from archive.supervision import dashboard

    session, made = month
    session.today = D(10, 31)
    with session.as_operator("赵立新") as principal:  # the centre's view
        board = dashboard.dashboard(principal, month="2026-10", shown=1)
    assert [(w.level, w.case_no) for w in board.warnings] == [("red", made["F"]), ("yellow", made["G"]), ("blue", made["E"])]
    assert board.warning_counts == {"red": 1, "yellow": 1, "blue": 2} and board.warning_count == 4
    assert [c.case_no for c in board.red_cards] == [made["F"]] and board.red_card_count == 3


def test_thresholds_come_from_the_settings(month, monkeypatch):
    session, made = month
    session.ws.data.setdefault("settings", {}).update(warning_blue_workdays=1, warning_yellow_workdays=1)
    found = alerts.current(session, scope=None, as_of=D(10, 31))
    assert [(w.level, w.case_no) for w in found] == [("red", made["F"]), ("yellow", made["G"]), ("yellow", made["E"])]
    assert _october(session).total().open_on_track == 2
    session.ws.data["settings"].update(warning_blue_workdays=0)
    with pytest.raises(InputError) as info:
        alerts.current(session, scope=None)
    assert info.value.field == "warning_blue_workdays"


def test_red_cards_name_case_unit_clerk_and_days_over_and_stay_after_conclusion(month):
    session, made = month
    cards = alerts.red_cards(session, scope=None, date_from=D(10, 1), date_to=D(10, 31))
    assert [c.to_dict() for c in cards] == [
        {"kind": "case", "kind_text": "办件超期", "case": made["F"], "unit": "ZR", "item": "ZR-QR-002", "clerk": "李娜",
         "due_on": "2026-10-13", "raised_on": "2026-10-14", "days_over": 14, "closed_on": None},
        {"kind": "case", "kind_text": "办件超期", "case": made["C"], "unit": "SJ", "item": "SJ-XK-003", "clerk": "王芳",
         "due_on": "2026-10-19", "raised_on": "2026-10-20", "days_over": 1, "closed_on": "2026-10-20"},
        {"kind": "rectification", "kind_text": "差评整改超期", "case": made["M"], "unit": "SJ", "item": "SJ-XK-001",
         "clerk": "王芳", "due_on": "2026-10-27", "raised_on": "2026-10-28", "days_over": 2, "closed_on": "2026-10-29"},
    ]
    # G was due 30 October: on 2 November it is one working day over and gets its card.
    assert [(c.case_no, c.raised_on, c.days_over) for c in alerts.red_cards(session, scope=None, date_from=D(11, 1))
            if c.case_no == made["G"]] == [(made["G"], D(11, 2), 1)]


def test_every_red_card_names_its_case_by_id_and_number(month):
    # red_cards.case_id has no foreign key (migration 0014): the sweep alone keeps it true
    session, made = month
    alerts.record_red_cards(session)
    k, c = st.red_cards, st.cases
    with session.store.read() as conn:
        pairs = conn.execute(select(k.c.case_no, c.c.case_no).select_from(k.outerjoin(c, c.c.id == k.c.case_id))).all()
    assert len(pairs) >= 4 and all(card == case for card, case in pairs)


def test_a_red_card_outlives_a_late_extension_request_and_closes_at_the_conclusion(month):
    """G, red since 2 November, can no longer be extended (the limit has run out); J, still
    within its limit, is extended by the head's approval and stays out of the red."""
    from archive.window import cases

    session, made = month
    g = made["G"]  # due 30 October, one working day over on 2 November
    assert alerts.record_red_cards(session).to_dict() == {"raised": 0, "updated": 0, "closed": 0}
    with pytest.raises(StateError, match="届满"):
        cases.extend(session, g, days=5, reason="需补充现场核查", on=D(11, 2))
    j = made["J"]
    cases.extend(session, j, days=5, reason="需补充现场核查", on=D(11, 2))
    approved = cases.approve_extension(session.as_operator("赵立新"), j, on=D(11, 2))
    assert approved.case.extended_days == 5 and approved.notices[0].kind == "extension"
    cases.conclude(session, g, decision="approved", on=D(11, 3))
    session.today = D(11, 3)
    # G's card closes two working days over (2 and 3 November); E, due 2 November, is now one
    # working day over and gets one; J, extended, is not red.
    assert alerts.record_red_cards(session).to_dict() == {"raised": 1, "updated": 1, "closed": 1}
    [card] = [c for c in alerts.red_cards(session, scope=None) if c.case_no == g]
    assert (card.unit, card.clerk, card.due_on, card.days_over, card.closed_on) == ("WJ", "孙丽", D(10, 30), 2, D(11, 3))
    assert not [c for c in alerts.red_cards(session, scope=None) if c.case_no == j]
    november = figures.compute(session, figures.period(session.today, month="2026-11"), scope=None).total()
    # G concluded late, F and E open past due.
    assert (november.concluded, november.on_time, november.overdue, november.red_cards) == (1, 0, 3, 2)


def test_a_sweep_looks_again_only_when_a_write_was_logged_or_the_day_moved(month):
    from archive.window import cases

    session, made = month
    assert alerts.record_red_cards(session).to_dict() == {"raised": 0, "updated": 0, "closed": 0}
    session.today = D(11, 3)
    cases.show(session, made["F"])  # records F's deemed acceptance (a logged write)
    moved = alerts.record_red_cards(session)  # E, due 2 November, gets its card; F's days over grow
    assert (moved.raised, moved.updated > 0) == (1, True)
    assert alerts.record_red_cards(session).to_dict() == {"raised": 0, "updated": 0, "closed": 0}
    cases.conclude(session, made["F"], decision="approved", on=D(11, 3))
    assert alerts.record_red_cards(session).closed == 1  # the same day, but the conclusion was logged
    [card] = [c for c in alerts.red_cards(session, scope=None) if c.case_no == made["F"]]
    assert card.closed_on == D(11, 3)


@pytest.mark.parametrize("log", ["kept", "pruned", "too long"])
def test_a_late_conclusion_written_since_the_last_sweep_gets_its_card(month, monkeypatch, log):
    """I (due 3 November) was on track at the last sweep and is concluded late: the next sweep
    finds it among the cases the change log says were written since — or, when the log was
    pruned past the last sweep or holds more entries than a sweep looks at, among every case."""
    from archive.core import changelog
    from archive.window import cases

    session, made = month
    assert alerts.record_red_cards(session).to_dict() == {"raised": 0, "updated": 0, "closed": 0}
    session.today = D(11, 5)
    cases.conclude(session, made["I"], decision="approved", on=D(11, 5))
    if log == "pruned":
        with session.store.write() as conn:
            assert changelog.prune(conn, upto=changelog.head(conn), before=dt.datetime(2100, 1, 1)) > 0
    if log == "too long":
        monkeypatch.setattr(alerts, "CHANGES_LOOKED_AT", 0)
    swept = alerts.record_red_cards(session)
    [card] = [c for c in alerts.red_cards(session, scope=None) if c.case_no == made["I"]]
    assert (card.due_on, card.raised_on, card.days_over, card.closed_on) == (D(11, 3), D(11, 4), 2, D(11, 5))
    assert swept.raised == 2  # I's, and E's (due 2 November, open: three working days over)
    assert alerts.record_red_cards(session).to_dict() == {"raised": 0, "updated": 0, "closed": 0}


def test_the_servers_sweeper_records_a_new_card_without_any_report(month):
    """``archive serve`` keeps the cards up day by day, so a report records only the day's news."""
    import time

    from archive.core.errors import ForbiddenError
    from archive.supervision import sweeper

    session, made = month
    with pytest.raises(ForbiddenError):  # 王芳, a clerk, may not sweep the centre's cards herself
        sweeper.sweep(session)
    session.today = D(11, 3)  # E, due 2 November, is one working day over
    assert made["E"] not in [c.case_no for c in alerts.red_cards(session, scope=None)]
    stop = sweeper.start_thread(session, minutes=60)
    try:
        deadline = time.monotonic() + 60  # a bound for a stuck thread, not a speed check
        while made["E"] not in [c.case_no for c in alerts.red_cards(session, scope=None)]:
            assert time.monotonic() < deadline, "the sweeper did not record E's card"
            time.sleep(0.05)
    finally:
        stop()
    assert alerts.record_red_cards(session).to_dict() == {"raised": 0, "updated": 0, "closed": 0}


def test_paused_working_days_are_counted_within_the_period(month):
    session, _ = month
    per = figures.Period(D(10, 14), D(10, 15), D(10, 15))
    total = figures.compute(session, per, scope=None).total()
    # D paused 13→16 Oct: within 14–15 Oct it was paused on the working days 14 and 15.
    assert (total.paused, total.paused_workdays) == (1, 2)


def test_a_period_in_a_year_without_holiday_data_names_the_year(month):
    session, _ = month
    session.today = dt.date(2040, 3, 1)
    with pytest.raises(CalendarMissingError) as info:
        figures.compute(session, figures.period(session.today, month="2040-02"), scope=None)
    assert info.value.year == 2040 and info.value.exit_code == 2


@pytest.mark.parametrize("kwargs, field", [
    ({"month": "2026-13"}, "month"),
    ({"month": "2026-10", "date_from": "2026-10-01"}, "month"),
    ({"date_from": "2026-10-01"}, "to"),
    ({"date_from": "2026-10-09", "date_to": "2026-10-01"}, "to"),
    ({"month": "2027-01"}, "from"),
])
def test_bad_periods_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(InputError) as info:
        figures.period(sample.TODAY, **kwargs)
    assert info.value.field == field


# -- ratings ----------------------------------------------------------------------------------

def test_a_rating_is_recorded_once_and_never_changed(month):
    session, made = month
    first = ratings.show(session, made["A"], scope=None)
    with pytest.raises(StateError, match="不得修改"):
        ratings.record(session, made["A"], level=1, overall=1, efficiency=1, quality=1, attitude=1, source="web",
                       scope=None)
    with session.store.write() as conn:
        with pytest.raises(Exception, match="never edited"):
            conn.execute(text("UPDATE ratings SET level = 1"))
    with session.store.write() as conn:
        with pytest.raises(Exception, match="never edited"):
            conn.execute(text("DELETE FROM ratings"))
    assert ratings.show(session, made["A"], scope=None) == first
    assert (first.level, first.level_text, first.scores, first.source, first.clerk) == (5, "非常满意", (5, 5, 5, 5),
                                                                                       "device", "王芳")


def test_only_a_concluded_case_can_be_rated_and_input_is_checked(month):
    session, made = month
    with pytest.raises(StateError, match="尚未办结"):
        ratings.record(session, made["E"], level=4, overall=4, efficiency=4, quality=4, attitude=4, source="web",
                       scope=None)
    good = dict(level="满意", overall=4, efficiency=4, quality=4, attitude=4, source="web", scope=None)
    for change, field in (({"level": "很好"}, "level"), ({"overall": 6}, "overall"), ({"attitude": None}, "attitude"),
                          ({"source": "wechat"}, "source"), ({"on": "2026-10-01"}, "on"),
                          ({"on": "2026-12-01"}, "on")):
        with pytest.raises(InputError) as info:
            ratings.record(session, made["L"], **{**good, **change})
        assert info.value.field == field, change
    rating = ratings.record(session, made["L"], **good)
    assert (rating.level, rating.rated_on, rating.rectification) == (4, sample.TODAY, None)


def test_a_bad_rating_opens_a_rectification_due_15_working_days_later(month):
    session, made = month
    rating = ratings.show(session, made["C"], scope=None)
    rect = rating.rectification
    assert (rating.level_text, rect.opened_on, rect.due_on, rect.followed_up_on) == ("不满意", D(10, 21), D(11, 11), None)
    with pytest.raises(RuleError, match="尚未回访"):
        ratings.rectify(session, made["C"], action="改进", scope=None)
    ratings.follow_up(session, made["C"], note="已回访", scope=None)
    with pytest.raises(StateError):
        ratings.follow_up(session, made["C"], note="再次回访", scope=None)
    done = ratings.rectify(session, made["C"], action="补正清单增加示例", scope=None).rectification
    assert (done.rectified_on, done.rectified_by, done.to_dict()["late"]) == (sample.TODAY, "王芳", False)
    with pytest.raises(StateError):
        ratings.follow_up(session, made["A"], note="回访", scope=None)  # a good rating has nothing to follow up
    # M's rectification (rated 30 Sep, across the National Day holiday) was due 27 Oct and done 29 Oct.
    m = ratings.show(session, made["M"], scope=None).rectification
    assert (m.due_on, m.rectified_on, m.to_dict()["late"]) == (D(10, 27), D(10, 29), True)


def test_the_rating_export_has_the_documented_shape(month):
    import jsonschema

    session, made = month
    data = ratings.export(session, date_from=D(10, 1), date_to=D(10, 31), scope=None)
    schema = json.loads(open("schemas/rating_export.json", encoding="utf-8").read())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert [r["case"] for r in data["ratings"]] == [made["A"], made["B"], made["C"], made["D"]]
    c = data["ratings"][2]
    assert (c["level"], c["scores"], c["source"], c["unit_name"], c["rectification"]["due_on"]) == (
        2, {"overall": 2, "efficiency": 1, "quality": 3, "attitude": 2}, "phone", "江州市市场监督管理局", "2026-11-11")


# -- scope --------------------------------------------------------------------------------------

def _scoped(session, units):
    """A session of 周敏, whose role (in the workspace's roles section) lists ``units``."""
    from archive.core.session import Session

    from archive.core import accounts

    roles = session.ws.data.setdefault("roles", {})
    roles.setdefault("roles", {})["sj_head"] = {"label": "市场监管局窗口负责人", "may_see": ["开放"], "units": units}
    with Session(session.ws, superuser=True) as su:  # the account's role, granted as an administrator would
        accounts.grant(su, "周敏", role="sj_head", units=[])
    return Session(session.ws, operator="周敏", today=session.today)


def test_a_unit_scoped_role_sees_only_its_units(month):
    head, made = month
    assert scope_for(head) is None  # 王芳 has a role without units: the whole centre
    session = _scoped(head, ["SJ"])
    scope = scope_for(session)
    assert scope == frozenset({"SJ"})
    got = report.window(session, scope=scope, month="2026-10")
    whole = _october(session)
    assert [row.code for row in got.units] == ["SJ"]
    assert {row.unit for row in got.items} == {"SJ"} and {row.code for row in got.clerks} == {"王芳"}
    assert got.totals == whole.by(0)[("SJ",)]
    assert {c.unit for c in got.red_cards} == {"SJ"}
    assert [w.unit for w in alerts.current(session, scope=scope, as_of=D(10, 31))] == []
    with pytest.raises(NotFoundError):
        ratings.show(session, made["D"], scope=scope)  # a ZR case looks like no case at all
    with pytest.raises(RuleError):
        narrow(session, scope, "ZR")
    assert [r.case_no for r in ratings.list_ratings(session, scope=scope, date_from=D(10, 1), date_to=D(10, 31))] == [
        made["A"], made["B"], made["C"]]


def test_a_role_with_no_units_sees_nothing(month):
    with _scoped(month[0], []) as session:
        got = report.window(session, scope=scope_for(session), month="2026-10")
    assert got.units == () and got.totals == figures.Figures() and got.red_cards == ()


# -- outputs ------------------------------------------------------------------------------------

def test_the_report_json_has_the_issue_keys_and_the_schema(month):
    import jsonschema

    session, _ = month
    data = report.window(session, scope=None, month="2026-10").to_dict()
    schema = json.loads(open("schemas/window_report.json", encoding="utf-8").read())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["period"] == {"from": "2026-10-01", "to": "2026-10-31", "as_of": "2026-10-31"}
    for key in ("received", "accepted", "not_accepted", "concluded", "on_the_spot", "on_the_spot_rate", "on_time",
                "on_time_rate", "early", "early_rate", "overdue", "deemed_accepted", "paused", "avg_workdays_used",
                "ratings", "satisfaction_rate"):
        for row in [data["totals"], *data["units"], *data["items"], *data["clerks"]]:
            assert key in row, key
    assert [u["unit"] for u in data["units"]] == ["SJ", "ZR", "ZJ", "WJ"]
    assert data["totals"] == TOTALS


def test_the_workbook_is_formatted_for_print(month, tmp_path):
    from openpyxl import load_workbook

    session, _ = month
    path = report.write(report.window(session, scope=None, month="2026-10"), tmp_path / "报表.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "单位", "事项", "工作人员", "红牌"]
    units = book["单位"]
    assert [units.cell(row=3, column=c).value for c in (1, 2, 3, 6)] == ["单位代码", "单位名称", "收件", "办结"]
    assert [units.cell(row=4, column=c).value for c in (1, 3, 6)] == ["SJ", 2, 3]
    assert units.cell(row=4, column=10).number_format == "0.0%"
    for sheet in book:
        assert sheet.freeze_panes and sheet.freeze_panes.endswith("4"), sheet.title
        assert sheet.auto_filter.ref.startswith("A3:"), sheet.title
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.orientation == "landscape"
        assert sheet.cell(row=3, column=1).font.name == "宋体"
    summary = {row[3].value: row[1].value for row in book["汇总"].iter_rows(min_row=4)}
    assert (summary["on_time_rate"], summary["early"], summary["red_cards"]) == (0.8, 2, 3)
    with pytest.raises(InputError, match="已存在"):
        report.write(report.window(session, scope=None, month="2026-10"), path)


def test_the_printable_report_has_the_figures_and_charts(month, tmp_path):
    from pypdf import PdfReader

    session, made = month
    path = report.write(report.window(session, scope=None, month="2026-10"), tmp_path / "月报.pdf")
    pdf = PdfReader(path)
    first = pdf.pages[0].extract_text()
    for words in ("窗口办件监察月报", "2026年10月", "80.0%", "即办率", "好差评", "在办件期限状态"):
        assert words in first, words
    rest = "".join(page.extract_text() for page in pdf.pages[1:])
    assert made["F"] in rest and "差评整改超期" in rest and "江州市市场监督管理局" in rest


def test_a_report_output_must_be_json_xlsx_or_pdf(month, tmp_path):
    session, _ = month
    with pytest.raises(InputError) as info:
        report.write(report.window(session, scope=None, month="2026-10"), tmp_path / "报表.docx")
    assert info.value.field == "out"


def test_the_demo_month_rows_are_in_the_store(month):
    session, made = month
    with session.store.read() as conn:
        assert conn.execute(select(st.ratings.c.case_no).order_by(st.ratings.c.id)).scalars().all() == [
            made["A"], made["B"], made["C"], made["M"], made["D"]]


def test_a_case_open_for_years_is_counted_with_every_loaded_year(month):
    """Its dates lie outside the few years the ordinal table covers by default: the report
    notices and counts again over every loaded year, so the days over stay exact."""
    from archive.window import cases
    from archive.window.cases import Applicant

    session, _ = month
    before = _october(session).total()
    old = cases.receive(session, item_code="ZJ-XK-001", applicant=Applicant.person("张三", "11010519491231002X",
                                                                                  "13800138000"),
                        materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on="2021-03-01").case
    after = _october(session).total()
    over = session.calendar.workdays_between(old.due_on, D(10, 31))
    assert over > 1000
    assert (after.open_red - before.open_red, after.overdue_workdays - before.overdue_workdays) == (1, over)
    assert [w.days_over for w in alerts.current(session, scope=None, as_of=D(10, 31)) if w.case_no == old.case_no] == [over]
