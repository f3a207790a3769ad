"""Chinese working days: statutory holidays, make-up working days (调休) and deadlines.

Every limit in the Administrative Licensing Law is counted in working days: Monday to
Friday, minus the statutory holidays, plus the Saturdays and Sundays the State Council
declares working days (调休上班). The arrangement is published once a year, so the data is
loaded per year (:class:`YearSchedule`) and a computation that needs a year with no
loaded data raises :class:`~archive.core.errors.CalendarMissingError` instead of guessing from
weekends.

This module is pure: it reads files and builds values, the store persists them.

Counting convention (law art. 42): the day of receipt does not count, so
``add_workdays(received, 20)`` is the 20th working day *after* ``received`` and
``workdays_between(a, b)`` counts the working days in the half-open interval ``(a, b]``.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .errors import CalendarMissingError, ConfigError, InputError
from .retry import retrying

__all__ = [
    "YearSchedule",
    "WorkCalendar",
    "schedules_from_chinesecalendar",
    "read_schedule_file",
    "schedule_from_json",
    "schedule_to_json",
]

SCHEMA_NAME = "calendar"

# chinesecalendar names its holidays in English; the notices and our files use Chinese.
CHINESECALENDAR_NAMES: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
    # Not used by chinesecalendar 1.11 (it files the merged blocks of 2020/2023/2025 under
    # "National Day"), but spelled out in case a later release names them separately.
    "National Day, Mid-autumn Festival": "国庆节、中秋节",
    "Mid-autumn Festival, National Day": "国庆节、中秋节",
}

MAKEUP_SUFFIX = "调休"

_WEEKDAY_CN = "一二三四五六日"


@dataclass(frozen=True)
class YearSchedule:
    """One year's arrangement as the State Council published it.

    ``holidays`` are the days off (放假日), including the Saturdays and Sundays inside a
    holiday block; ``workdays`` are the make-up working days (调休上班), normally Saturdays
    or Sundays. Both map a date of ``year`` to the festival's name in Chinese.
    """

    year: int
    holidays: dict[date, str]
    workdays: dict[date, str]
    source: str


# --------------------------------------------------------------------------- sources


def schedules_from_chinesecalendar() -> dict[int, YearSchedule]:
    """Every year the installed chinesecalendar package covers, keyed by year.

    Dates are grouped by their own calendar year (chinesecalendar lists e.g. the 2019 New
    Year block's 2018-12-29 make-up day and 2018-12-30/31 days off under 2018).
    Make-up working days are named "<festival>调休", e.g. "国庆节调休".
    """
    import chinese_calendar
    from chinese_calendar import constants

    source = f"chinesecalendar {chinese_calendar.__version__}"
    holidays: dict[int, dict[date, str]] = {}
    workdays: dict[int, dict[date, str]] = {}
    for day, english in constants.holidays.items():
        holidays.setdefault(day.year, {})[day] = _chinese_name(english)
    for day, english in constants.workdays.items():
        workdays.setdefault(day.year, {})[day] = _chinese_name(english) + MAKEUP_SUFFIX
    years = sorted(set(holidays) | set(workdays))
    return {
        year: YearSchedule(
            year=year,
            holidays=dict(sorted(holidays.get(year, {}).items())),
            workdays=dict(sorted(workdays.get(year, {}).items())),
            source=source,
        )
        for year in years
    }


def _chinese_name(english: str) -> str:
    name = CHINESECALENDAR_NAMES.get(english)
    if name is not None:
        return name
    # A festival added by a newer chinesecalendar: use the package's own Chinese name.
    from chinese_calendar.constants import Holiday

    for holiday in Holiday:
        if holiday.value == english:
            return holiday.chinese
    return english


# ------------------------------------------------------------------------------ files


def read_schedule_file(path: str | Path) -> YearSchedule:
    """Read and check a year's arrangement from a JSON file (``schemas/calendar.json``).

    Raises ConfigError (exit 2) with ``field`` set to the JSON path of the offending
    value (``holidays[3].date``) for: a file that cannot be read, malformed JSON (the
    message gives line and column), a schema violation, a date that does not exist, a
    date outside the stated year, a duplicate date, a date that is both a holiday and a
    make-up working day, and a make-up working day that is not a Saturday or Sunday.
    """
    path = Path(path)
    try:
        # utf-8-sig: Notepad and WPS on Windows save UTF-8 with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"找不到节假日安排文件：{path}，请检查文件路径") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} 是文件夹，请指定节假日安排的 JSON 文件") from None
    except UnicodeDecodeError:
        raise ConfigError(f"节假日安排文件 {path} 不是 UTF-8 编码，请另存为 UTF-8 后重新载入") from None
    except OSError as exc:
        raise ConfigError(f"无法读取节假日安排文件 {path}：{exc.strerror or exc}") from None
    from .config import parse_json

    try:
        data = parse_json(text, "节假日安排", str(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"节假日安排文件 {path} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列有误"
            f"（{exc.msg}），请修改后重新载入"
        ) from None
    return schedule_from_json(data)


def schedule_from_json(data: Any) -> YearSchedule:
    """Check a decoded calendar document (the shape of ``schemas/calendar.json``) and build
    the YearSchedule. Raises ConfigError naming the field, as :func:`read_schedule_file`."""
    _check_schema(data)
    year: int = data["year"]
    holidays, holiday_index = _parse_days(data["holidays"], "holidays", year)
    workdays, _ = _parse_days(data["workdays"], "workdays", year)
    for index, entry in enumerate(data["workdays"]):
        day = date.fromisoformat(entry["date"])
        field = f"workdays[{index}].date"
        if day in holidays:
            other = holiday_index[day]
            raise ConfigError(
                f"{entry['date']} 同时列为放假日（holidays[{other}]）和调休上班日，请按通知原文核对后删去其一",
                field=field,
            )
        if day.weekday() < 5:
            raise ConfigError(
                f"{entry['date']} 是星期{_WEEKDAY_CN[day.weekday()]}，不是周末，无需调休；"
                "workdays 只列通知中要求上班的周六、周日",
                field=field,
            )
    return YearSchedule(year=year, holidays=holidays, workdays=workdays, source=data["source"])


def schedule_to_json(schedule: YearSchedule) -> dict:
    """The JSON document for ``schedule`` (dates sorted, ISO format); the inverse of
    :func:`schedule_from_json`."""
    return {
        "year": schedule.year,
        "source": schedule.source,
        "holidays": [{"date": d.isoformat(), "name": n} for d, n in sorted(schedule.holidays.items())],
        "workdays": [{"date": d.isoformat(), "name": n} for d, n in sorted(schedule.workdays.items())],
    }


def _parse_days(entries: list[dict], key: str, year: int) -> tuple[dict[date, str], dict[date, int]]:
    """The entries as {date: name} sorted by date, and each date's index in the file."""
    days: dict[date, str] = {}
    first_index: dict[date, int] = {}
    for index, entry in enumerate(entries):
        text = entry["date"]
        field = f"{key}[{index}].date"
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ConfigError(f"日期 {text} 不存在，请核对月份和日期", field=field) from None
        if day.year != year:
            raise ConfigError(
                f"日期 {text} 不在 {year} 年内：本文件只能列 {year} 年的日期；"
                f"跨年的日期（如元旦前的放假或调休）请写入 {day.year} 年的安排",
                field=field,
            )
        if day in days:
            raise ConfigError(
                f"日期 {text} 重复列出（与 {key}[{first_index[day]}] 相同），请删去重复的一项",
                field=field,
            )
        days[day] = entry["name"]
        first_index[day] = index
    return dict(sorted(days.items())), first_index


@lru_cache(maxsize=4)
def _validator(schema_path: str):
    import jsonschema

    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _schema_path() -> Path:
    from .config import schemas_dir

    return schemas_dir() / f"{SCHEMA_NAME}.json"


def _check_schema(data: Any) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(_validator(str(_schema_path())).iter_errors(data))
    if error is None:
        return
    path = list(error.absolute_path)
    message = _schema_message(error, path)
    from .config import json_path

    raise ConfigError(message, field=json_path(path) if path else None)


_TYPES_CN = {
    "object": "对象（{…}）",
    "array": "数组（[…]）",
    "string": "文字（加英文双引号）",
    "integer": "整数",
    "number": "数字",
    "boolean": "true 或 false",
}


def _schema_message(error, path: list) -> str:
    """A Chinese message for one jsonschema error; extends ``path`` for property errors."""
    kind = error.validator
    last = path[-1] if path else None
    if kind == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        path.append(missing[0])
        return f"缺少必填项 {missing[0]}，请补上"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(name for name in error.instance if name not in allowed)
        path.append(extra[0])
        return f"不认识的字段 {extra[0]}，可用的字段：{'、'.join(allowed)}"
    if kind == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, str) else expected[0]
        if not path:
            return "节假日安排文件的内容应为一个 JSON 对象（{…}），请参照 schemas/calendar.json"
        return f"应为{_TYPES_CN.get(expected, expected)}"
    if kind == "pattern" and last == "date":
        return f"日期 {error.instance} 格式不对，应写成 YYYY-MM-DD，例如 2027-01-01"
    if kind in ("pattern", "minLength"):
        return "不能为空，请填写"
    if kind == "maxLength":
        return f"过长，最多 {error.validator_value} 个字"
    if kind in ("minimum", "maximum"):
        return f"{error.instance} 超出范围，年份应在 2000 至 2100 之间"
    if kind == "minItems":
        return "至少要列出一天"
    return f"不符合 schemas/calendar.json 的要求（{error.message}）"


# --------------------------------------------------------------------------- calendar


class WorkCalendar:
    """Working-day arithmetic over the loaded years.

    A day is a working day if it is a make-up working day, or a Monday–Friday that is not
    a statutory holiday. Any date in a year without a schedule raises
    CalendarMissingError(year); nothing is guessed from weekends.

    Built once from ``dict[int, YearSchedule]``; every query is a dictionary look-up plus
    a binary search (or an index into a per-year cumulative count).
    """

    def __init__(self, schedules: Mapping[int, YearSchedule]):
        self._schedules: dict[int, YearSchedule] = {}
        # Per year: ordinal of 1 January; cum[i] = working days among days 0..i of the
        # year; days = sorted ordinals of the year's working days.
        self._jan1: dict[int, int] = {}
        self._cum: dict[int, array] = {}
        self._days: dict[int, list[int]] = {}
        for key, schedule in sorted(schedules.items()):
            if key != schedule.year:
                raise ConfigError(f"{key} 年的位置放了 {schedule.year} 年的节假日安排", field="calendar")
            for what, days in (("holidays", schedule.holidays), ("workdays", schedule.workdays)):
                stray = sorted(d for d in days if d.year != key)
                if stray:
                    raise ConfigError(
                        f"{key} 年的节假日安排中有不属于该年的日期 {stray[0].isoformat()}", field=what
                    )
            self._schedules[key] = schedule
            self._index_year(schedule)

    def _index_year(self, schedule: YearSchedule) -> None:
        year = schedule.year
        jan1 = date(year, 1, 1).toordinal()
        length = date(year + 1, 1, 1).toordinal() - jan1
        off = {d.toordinal() - jan1 for d in schedule.holidays}
        on = {d.toordinal() - jan1 for d in schedule.workdays}
        # 1 January's weekday, 0 = Monday; ordinal 1 (0001-01-01) is a Monday.
        first_weekday = (jan1 - 1) % 7
        cum = array("H", bytes(2 * length))
        days: list[int] = []
        count = 0
        for i in range(length):
            if i in on or ((first_weekday + i) % 7 < 5 and i not in off):
                count += 1
                days.append(jan1 + i)
            cum[i] = count
        self._jan1[year] = jan1
        self._cum[year] = cum
        self._days[year] = days

    # -- queries -------------------------------------------------------------------

    def years(self) -> list[int]:
        """The years with a loaded schedule, sorted."""
        return list(self._schedules)

    def schedule(self, year: int) -> YearSchedule:
        """The loaded schedule of ``year``; CalendarMissingError if there is none."""
        try:
            return self._schedules[year]
        except KeyError:
            raise CalendarMissingError(year) from None

    def is_workday(self, day: date) -> bool:
        """True for a make-up working day or a Monday–Friday that is not a holiday."""
        day = _as_date(day)
        cum = self._year_cum(day.year)
        i = day.toordinal() - self._jan1[day.year]
        return cum[i] != (cum[i - 1] if i else 0)

    def holiday_name(self, day: date) -> str | None:
        """The festival name if ``day`` is a statutory holiday (放假日), else None."""
        day = _as_date(day)
        return self.schedule(day.year).holidays.get(day)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself never counts; n=0 → start).

        Raises CalendarMissingError for the first year the count runs into without data.
        """
        start = _as_date(start)
        if isinstance(n, bool) or not isinstance(n, int):
            raise InputError(f"工作日天数应为整数，收到 {n!r}", field="n")
        if n < 0:
            raise InputError(f"工作日天数不能为负数，收到 {n}", field="n")
        year = start.year
        cum = self._year_cum(year)
        if n == 0:
            return start
        # The wanted day is the k-th working day of `year` counted from 1 January.
        k = cum[start.toordinal() - self._jan1[year]] + n
        days = self._year_days(year)
        while k > len(days):
            k -= len(days)
            year += 1
            days = self._year_days(year)
        return date.fromordinal(days[k - 1])

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day`` (same as ``add_workdays(day, 1)``)."""
        return self.add_workdays(day, 1)

    def workdays_between(self, start: date, end: date) -> int:
        """The number of working days in (start, end]; 0 if end <= start.

        So ``workdays_between(d, add_workdays(d, n)) == n``. Both dates' years (and every
        year between) must be loaded.
        """
        start, end = _as_date(start), _as_date(end)
        start_cum = self._year_cum(start.year)
        end_cum = self._year_cum(end.year)
        if end <= start:
            return 0
        total = end_cum[end.toordinal() - self._jan1[end.year]]
        total -= start_cum[start.toordinal() - self._jan1[start.year]]
        for year in range(start.year, end.year):
            total += len(self._year_days(year))
        return total

    def _year_cum(self, year: int) -> array:
        try:
            return self._cum[year]
        except KeyError:
            raise CalendarMissingError(year) from None

    def _year_days(self, year: int) -> list[int]:
        try:
            return self._days[year]
        except KeyError:
            raise CalendarMissingError(year) from None

    def __repr__(self) -> str:
        years = self.years()
        span = f"{years[0]}–{years[-1]}" if years else "无"
        return f"<WorkCalendar {span}, {len(years)} 年>"


def _as_date(value: date) -> date:
    # datetime is a subclass of date; a receipt timestamp counts from its calendar day.
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise InputError(f"应为日期，收到 {value!r}", field="date")
    return value


# -- persistence (the store is the record; the session builds a WorkCalendar from it) ----

def from_store(conn) -> WorkCalendar:
    """The calendar of every year the store holds, read on ``conn``."""
    from sqlalchemy import select

    from . import store as st

    schedules: dict[int, dict] = {}
    for row in conn.execute(select(st.calendar_years)):
        schedules[row.year] = {"holidays": {}, "workdays": {}, "source": row.source}
    for row in conn.execute(select(st.calendar_days)):
        schedules[row.year]["holidays" if row.kind == "holiday" else "workdays"][row.day] = row.name
    return WorkCalendar({year: YearSchedule(year=year, **data) for year, data in schedules.items()})


@retrying
def save_schedules(session, schedules: Mapping[int, YearSchedule], *, replace: bool = False) -> list[int]:
    """Store year schedules; years already loaded are kept unless ``replace``. Returns the years written."""
    from sqlalchemy import delete, select

    from . import store as st

    written = []
    with session.work() as work:
        loaded = set(work.conn.execute(select(st.calendar_years.c.year)).scalars())
        for year, schedule in sorted(schedules.items()):
            if year in loaded:
                if not replace:
                    continue
                work.conn.execute(delete(st.calendar_days).where(st.calendar_days.c.year == year))
                work.conn.execute(delete(st.calendar_years).where(st.calendar_years.c.year == year))
            work.conn.execute(st.calendar_years.insert().values(year=year, source=schedule.source,
                                                                loaded_at=session.now()))
            rows = [{"day": d, "year": year, "kind": "holiday", "name": n} for d, n in schedule.holidays.items()]
            rows += [{"day": d, "year": year, "kind": "workday", "name": n} for d, n in schedule.workdays.items()]
            if rows:
                work.conn.execute(st.calendar_days.insert(), rows)
            written.append(year)
        if written:
            session.log(work, "calendar_load", "calendar", years=written)
    session.reset_calendar()
    return written


def load_file(session, path: str | Path, *, replace: bool = False) -> YearSchedule:
    """Validate a holiday file and store it; a year already loaded needs ``replace``."""
    schedule = read_schedule_file(path)
    if schedule.year in session.calendar.years() and not replace:
        raise InputError(
            f"{schedule.year} 年的节假日数据已经载入；如需用该文件替换，请加 --replace",
            field="year",
        )
    save_schedules(session, {schedule.year: schedule}, replace=True)
    return schedule
