"""Working-day arithmetic against the real chinesecalendar data (2004–2026)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from archive.core.calendar import (
    WorkCalendar,
    YearSchedule,
    read_schedule_file,
    schedule_from_json,
    schedule_to_json,
    schedules_from_chinesecalendar,
)
from archive.core.errors import CalendarMissingError, ConfigError, InputError

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


DATA = Path(__file__).parent / "data"
SAMPLE_2027 = DATA / "calendar_2027_sample.json"
SCHEMA = Path(__file__).parent.parent / "schemas" / "calendar.json"

D = date.fromisoformat


@pytest.fixture(scope="module")
def schedules() -> dict[int, YearSchedule]:
    return schedules_from_chinesecalendar()


@pytest.fixture(scope="module")
def cal(schedules) -> WorkCalendar:
    return WorkCalendar(schedules)


# ----------------------------------------------------------------- chinesecalendar data


def test_chinesecalendar_years_and_source(schedules, cal):
    import chinese_calendar

    assert cal.years() == list(range(2004, 2027))
    assert schedules[2026].source == f"chinesecalendar {chinese_calendar.__version__}"


def test_chinesecalendar_names_in_chinese(schedules):
    s2026 = schedules[2026]
    assert s2026.holidays[D("2026-01-01")] == "元旦"
    assert s2026.holidays[D("2026-02-17")] == "春节"
    assert s2026.holidays[D("2026-04-05")] == "清明节"
    assert s2026.holidays[D("2026-05-01")] == "劳动节"
    assert s2026.holidays[D("2026-06-19")] == "端午节"
    assert s2026.holidays[D("2026-09-25")] == "中秋节"
    assert s2026.holidays[D("2026-10-01")] == "国庆节"
    assert s2026.workdays[D("2026-10-10")] == "国庆节调休"
    assert schedules[2015].holidays[D("2015-09-03")] == "抗战胜利纪念日"
    names = {n for s in schedules.values() for n in s.holidays.values()}
    assert names <= {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节", "国庆节、中秋节", "抗战胜利纪念日"}


def test_2026_national_day_block_as_in_chinesecalendar(schedules):
    # The real 2026 arrangement in chinesecalendar 1.11: 10-01..10-07 off,
    # Sunday 09-20 and Saturday 10-10 are make-up working days.
    s2026 = schedules[2026]
    block = [d for d in s2026.holidays if d.month == 10]
    assert block == [D("2026-10-0%d" % i) for i in range(1, 8)]
    assert D("2026-09-20") in s2026.workdays and D("2026-10-10") in s2026.workdays


def test_chinesecalendar_dates_grouped_by_their_own_year(schedules):
    # The 2019 New Year block starts in 2018: those days belong to the 2018 schedule.
    assert schedules[2018].workdays[D("2018-12-29")] == "元旦调休"
    assert schedules[2018].holidays[D("2018-12-31")] == "元旦"
    for year, schedule in schedules.items():
        assert all(d.year == year for d in [*schedule.holidays, *schedule.workdays])


def test_chinesecalendar_schedules_round_trip_and_pass_file_checks(schedules):
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for schedule in schedules.values():
        doc = schedule_to_json(schedule)
        jsonschema.validate(doc, schema)
        assert schedule_from_json(doc) == schedule


# --------------------------------------------------------------------------- is_workday


def test_is_workday(cal):
    assert cal.is_workday(D("2026-09-30"))  # Wednesday
    assert not cal.is_workday(D("2026-10-01"))  # National Day
    assert not cal.is_workday(D("2026-10-05"))  # Monday inside the block
    assert not cal.is_workday(D("2026-10-11"))  # ordinary Sunday
    assert not cal.is_workday(D("2026-03-07"))  # ordinary Saturday
    assert cal.is_workday(D("2026-03-06"))  # ordinary Friday


def test_make_up_saturday_and_sunday_are_working_days(cal):
    assert D("2026-10-10").weekday() == 5 and cal.is_workday(D("2026-10-10"))
    assert D("2026-02-14").weekday() == 5 and cal.is_workday(D("2026-02-14"))
    assert D("2026-09-20").weekday() == 6 and cal.is_workday(D("2026-09-20"))
    assert D("2026-01-04").weekday() == 6 and cal.is_workday(D("2026-01-04"))


def test_is_workday_agrees_with_chinesecalendar_everywhere(cal):
    import chinese_calendar

    day, last = D("2004-01-01"), D("2026-12-31")
    while day <= last:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_holiday_name(cal):
    assert cal.holiday_name(D("2026-10-03")) == "国庆节"
    assert cal.holiday_name(D("2026-10-10")) is None


# ------------------------------------------------------------------------- add_workdays


def test_receipt_before_national_day_2026(cal):
    # Received Wednesday 30 September; 1–7 October off: the first working day is Thursday 8th.
    assert cal.add_workdays(D("2026-09-30"), 1) == D("2026-10-08")
    assert cal.next_workday(D("2026-09-30")) == D("2026-10-08")
    # 8 Thu, 9 Fri, 10 Sat (make-up), 12 Mon, 13 Tue.
    assert cal.add_workdays(D("2026-09-30"), 3) == D("2026-10-10")
    assert cal.add_workdays(D("2026-09-30"), 5) == D("2026-10-13")


def test_receipt_inside_holiday_block(cal):
    assert cal.add_workdays(D("2026-10-03"), 1) == D("2026-10-08")
    assert cal.add_workdays(D("2026-10-07"), 1) == D("2026-10-08")


def test_receipt_on_a_friday_plus_five(cal):
    # Friday 6 March 2026, no holiday near: the following Friday.
    assert cal.add_workdays(D("2026-03-06"), 5) == D("2026-03-13")
    # Friday 18 September 2026: Sunday 20th is a make-up day, 25th Mid-autumn.
    # 20 Sun, 21 Mon, 22 Tue, 23 Wed, 24 Thu.
    assert cal.add_workdays(D("2026-09-18"), 5) == D("2026-09-24")
    assert cal.add_workdays(D("2026-09-18"), 6) == D("2026-09-28")


def test_add_workdays_across_new_year_2026(cal):
    # 1–3 January 2026 off; Sunday 4 January is a make-up working day.
    assert cal.add_workdays(D("2025-12-31"), 1) == D("2026-01-04")
    assert cal.add_workdays(D("2025-12-31"), 2) == D("2026-01-05")
    assert cal.add_workdays(D("2025-12-30"), 3) == D("2026-01-05")
    assert cal.workdays_between(D("2025-12-30"), D("2026-01-05")) == 3


def test_statutory_limits(cal):
    assert cal.add_workdays(D("2026-09-30"), 20) == D("2026-11-03")
    assert cal.add_workdays(D("2026-09-30"), 45) == D("2026-12-08")
    # Spring Festival 2026: 15–23 February off, Saturdays 14th and 28th worked.
    assert cal.add_workdays(D("2026-02-13"), 1) == D("2026-02-14")
    assert cal.add_workdays(D("2026-02-14"), 1) == D("2026-02-24")


def test_add_zero_returns_start_even_on_a_holiday(cal):
    assert cal.add_workdays(D("2026-10-01"), 0) == D("2026-10-01")
    assert cal.add_workdays(D("2026-03-06"), 0) == D("2026-03-06")


def test_add_workdays_many_years(cal):
    assert cal.add_workdays(D("2004-01-01"), 0) == D("2004-01-01")
    total = cal.workdays_between(D("2004-01-01"), D("2026-12-31"))
    assert cal.add_workdays(D("2004-01-01"), total) == D("2026-12-31")


def test_datetime_counts_from_its_day(cal):
    assert cal.add_workdays(datetime(2026, 9, 30, 16, 45), 1) == D("2026-10-08")


def test_bad_counts(cal):
    with pytest.raises(InputError) as info:
        cal.add_workdays(D("2026-03-06"), -1)
    assert info.value.exit_code == 2
    with pytest.raises(InputError):
        cal.add_workdays(D("2026-03-06"), 2.5)
    with pytest.raises(InputError):
        cal.is_workday("2026-03-06")


# --------------------------------------------------------------------- workdays_between


def test_workdays_between_basics(cal):
    assert cal.workdays_between(D("2026-09-30"), D("2026-10-08")) == 1
    assert cal.workdays_between(D("2026-09-30"), D("2026-10-07")) == 0
    assert cal.workdays_between(D("2026-09-30"), D("2026-09-30")) == 0
    assert cal.workdays_between(D("2026-10-13"), D("2026-09-30")) == 0
    assert cal.workdays_between(D("2025-12-31"), D("2026-12-31")) == sum(
        cal.is_workday(D("2026-01-01") + timedelta(days=i)) for i in range(365)
    )


def _naive_between(start: date, end: date) -> int:
    import chinese_calendar

    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += chinese_calendar.is_workday(day)
    return count


def test_workdays_between_symmetric_with_add_workdays(cal):
    rng = random.Random(20261001)
    first, span = D("2025-01-01"), (D("2026-12-31") - D("2025-01-01")).days
    for _ in range(2000):
        start = first + timedelta(days=rng.randrange(span - 120))
        n = rng.randrange(0, 60)
        end = cal.add_workdays(start, n)
        assert cal.workdays_between(start, end) == n, (start, n)
        assert n == 0 or cal.is_workday(end)
        # No working day is skipped: the day before `end` holds one fewer.
        if n:
            assert cal.workdays_between(start, end - timedelta(days=1)) == n - 1
    for _ in range(300):
        start = first + timedelta(days=rng.randrange(span))
        end = first + timedelta(days=rng.randrange(span))
        assert cal.workdays_between(start, end) == _naive_between(start, end), (start, end)


# ------------------------------------------------------------------------ missing years


def test_missing_year_is_an_error_not_a_guess(cal):
    with pytest.raises(CalendarMissingError) as info:
        cal.add_workdays(D("2030-03-01"), 5)
    error = info.value
    assert error.year == 2030
    assert error.exit_code == 2
    assert "2030" in str(error) and "archive calendar load" in str(error)
    for call in (
        lambda: cal.is_workday(D("2030-03-01")),
        lambda: cal.next_workday(D("2030-03-01")),
        lambda: cal.workdays_between(D("2026-03-01"), D("2030-03-01")),
        lambda: cal.add_workdays(D("2030-03-01"), 0),
        lambda: cal.holiday_name(D("2030-03-01")),
        lambda: cal.schedule(2030),
    ):
        with pytest.raises(CalendarMissingError, match="2030"):
            call()


def test_running_into_an_unloaded_year(cal):
    # 2026 is loaded, 2027 is not: a count past 31 December names 2027.
    assert cal.add_workdays(D("2026-12-30"), 1) == D("2026-12-31")
    with pytest.raises(CalendarMissingError) as info:
        cal.add_workdays(D("2026-12-30"), 2)
    assert info.value.year == 2027
    with pytest.raises(CalendarMissingError):
        cal.workdays_between(D("2026-12-30"), D("2027-01-05"))


def test_a_gap_between_loaded_years(schedules):
    cal = WorkCalendar({2024: schedules[2024], 2026: schedules[2026]})
    assert cal.years() == [2024, 2026]
    with pytest.raises(CalendarMissingError) as info:
        cal.workdays_between(D("2024-06-01"), D("2026-06-01"))
    assert info.value.year == 2025


def test_inconsistent_schedules_rejected(schedules):
    with pytest.raises(ConfigError):
        WorkCalendar({2025: schedules[2026]})
    stray = YearSchedule(2026, {D("2025-12-31"): "元旦"}, {}, "test")
    with pytest.raises(ConfigError):
        WorkCalendar({2026: stray})


# ------------------------------------------------------------------------------- files


def test_sample_2027_is_marked_as_test_data():
    doc = json.loads(SAMPLE_2027.read_text(encoding="utf-8"))
    assert "测试数据" in doc["source"] and "非国务院办公厅通知" in doc["source"]
    assert "不是官方" in doc["note"]


def test_read_sample_2027(schedules):
    s2027 = read_schedule_file(SAMPLE_2027)
    assert s2027.year == 2027
    assert s2027.source.startswith("测试数据")
    assert s2027.holidays[D("2027-10-01")] == "国庆节"
    assert s2027.workdays[D("2027-10-09")] == "国庆节调休"
    assert list(s2027.holidays) == sorted(s2027.holidays)

    cal = WorkCalendar({**schedules, 2027: s2027})
    assert cal.years()[-1] == 2027
    # Thursday 31 December 2026; 1–3 January 2027 off in the sample.
    assert cal.add_workdays(D("2026-12-31"), 1) == D("2027-01-04")
    assert cal.is_workday(D("2027-10-09"))  # sample make-up Saturday
    assert cal.add_workdays(D("2027-09-30"), 1) == D("2027-10-08")
    assert cal.add_workdays(D("2027-09-30"), 2) == D("2027-10-09")


def test_round_trip_sample():
    s2027 = read_schedule_file(SAMPLE_2027)
    doc = schedule_to_json(s2027)
    original = json.loads(SAMPLE_2027.read_text(encoding="utf-8"))
    original.pop("note")
    assert doc == original
    assert schedule_from_json(doc) == s2027


def test_byte_order_mark_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE_2027.read_bytes())
    assert read_schedule_file(path).year == 2027


def _doc(**changes) -> dict:
    doc = {
        "year": 2027,
        "source": "测试",
        "holidays": [
            {"date": "2027-01-01", "name": "元旦"},
            {"date": "2027-01-02", "name": "元旦"},
            {"date": "2027-01-03", "name": "元旦"},
        ],
        "workdays": [{"date": "2027-01-31", "name": "春节调休"}],
    }
    doc.update(changes)
    return doc


def _holiday(n: int, text: str) -> dict:
    doc = _doc()
    doc["holidays"][n]["date"] = text
    return doc


BAD_DOCUMENTS = [
    # (case, document, field, words in the message)
    ("missing year", {k: v for k, v in _doc().items() if k != "year"}, "year", "缺少必填项"),
    ("missing workdays", {k: v for k, v in _doc().items() if k != "workdays"}, "workdays", "缺少必填项"),
    ("year as text", _doc(year="2027"), "year", "整数"),
    ("year out of range", _doc(year=227), "year", "超出范围"),
    ("empty source", _doc(source=" "), "source", "不能为空"),
    ("unknown top-level field", _doc(holiday=[]), "holiday", "不认识的字段"),
    ("holidays not a list", _doc(holidays={"2027-01-01": "元旦"}), "holidays", "数组"),
    ("no holidays", _doc(holidays=[]), "holidays", "至少"),
    ("unknown item field", _doc(holidays=[{"date": "2027-01-01", "name": "元旦", "day": 1}]), "holidays[0].day", "不认识"),
    ("missing name", _doc(workdays=[{"date": "2027-01-31"}]), "workdays[0].name", "缺少必填项"),
    ("empty name", _doc(workdays=[{"date": "2027-01-31", "name": ""}]), "workdays[0].name", "不能为空"),
    ("date as number", _doc(workdays=[{"date": 20270131, "name": "春节调休"}]), "workdays[0].date", "文字"),
    ("date format", _holiday(1, "2027-1-2"), "holidays[1].date", "YYYY-MM-DD"),
    ("full-width digits", _holiday(1, "２０２７-01-02"), "holidays[1].date", "YYYY-MM-DD"),
    ("date does not exist", _holiday(2, "2027-02-30"), "holidays[2].date", "不存在"),
    ("date outside year", _holiday(0, "2026-12-31"), "holidays[0].date", "不在 2027 年内"),
    ("duplicate holiday", _holiday(2, "2027-01-01"), "holidays[2].date", "重复"),
    (
        "duplicate workday",
        _doc(workdays=[{"date": "2027-01-31", "name": "春节调休"}, {"date": "2027-01-31", "name": "春节调休"}]),
        "workdays[1].date",
        "重复",
    ),
    (
        "both holiday and workday",
        _doc(workdays=[{"date": "2027-01-02", "name": "元旦调休"}]),
        "workdays[0].date",
        "同时列为放假日（holidays[1]）",
    ),
    (
        "workday on a weekday",
        _doc(workdays=[{"date": "2027-02-01", "name": "春节调休"}]),
        "workdays[0].date",
        "不是周末，无需调休",
    ),
]


@pytest.mark.parametrize(
    "document, field, words", [case[1:] for case in BAD_DOCUMENTS], ids=[case[0] for case in BAD_DOCUMENTS]
)
def test_bad_file_names_the_field(tmp_path, document, field, words):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_schedule_file(path)
    error = info.value
    assert error.exit_code == 2
    assert error.field == field
    assert words in error.message
    assert field in str(error)


def test_good_minimal_document(tmp_path):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(_doc(workdays=[]), ensure_ascii=False), encoding="utf-8")
    schedule = read_schedule_file(path)
    assert schedule.workdays == {} and len(schedule.holidays) == 3


def test_malformed_json_gives_line_and_column(tmp_path):
    path = tmp_path / "2027.json"
    path.write_text('{\n  "year": 2027,\n  "source": "测试"\n  "holidays": []\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_schedule_file(path)
    assert info.value.exit_code == 2
    assert "不是有效的 JSON" in info.value.message
    assert "第 4 行第 3 列" in info.value.message


def test_not_an_object(tmp_path):
    path = tmp_path / "2027.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON 对象"):
        read_schedule_file(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="找不到"):
        read_schedule_file(tmp_path / "none.json")
    path = tmp_path / "gbk.json"
    path.write_bytes(json.dumps(_doc(), ensure_ascii=False).encode("gbk"))
    with pytest.raises(ConfigError, match="UTF-8"):
        read_schedule_file(path)
