"""Exact working days inside SQL: a temporary table of working-day ordinals.

For every day of the loaded calendar years the table holds ``n``: the number of working
days from the start of the first loaded year up to and including that day. The working
days in ``(a, b]`` are then ``n(b) - n(a)`` — the same count as
:meth:`archive.core.calendar.WorkCalendar.workdays_between`, holidays and make-up working
days (调休) included — so the store can count days used and days over for a million cases
in one GROUP BY instead of handing them to Python. ``add_workdays(d, k)`` is the day whose
``n`` is ``n(d) + k`` (and a working day), which lets a query reason about due dates it
has not stored yet (a deemed acceptance not yet recorded).
"""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import Column, Date, Integer, MetaData, Table, text

from ..core import store as st
from ..core.errors import CalendarMissingError

_metadata = MetaData()
TABLE = Table(
    "sv_workdays",
    _metadata,
    Column("day", Date, primary_key=True),
    Column("n", Integer, nullable=False),
    prefixes=["TEMPORARY"],
    sqlite_with_rowid=False,  # look-ups by day go straight to n
)
_INSERT = TABLE.insert()

# The years a query's table covers by default: a few before the period (cases received
# long ago and still open) and one after (due dates past the period's end).
YEARS_BEFORE = 3
YEARS_AFTER = 1


def _years(calendar, around: int, span: tuple[int, int] | None = None) -> list[int]:
    """The unbroken run of loaded years that contains ``around`` (within ``span`` if given)."""
    loaded = set(calendar.years())
    if around not in loaded:
        raise CalendarMissingError(around)
    low, high = span or (around - YEARS_BEFORE, around + YEARS_AFTER)
    first = last = around
    while first - 1 in loaded and first - 1 >= low:
        first -= 1
    while last + 1 in loaded and last + 1 <= high:
        last += 1
    return list(range(first, last + 1))


def ordinals(calendar, around: int, span: tuple[int, int] | None = None) -> list[dict]:
    """``[{day, n}]`` for every day of the loaded years around ``around``."""
    rows = []
    count = 0
    for year in _years(calendar, around, span):
        day = dt.date(year, 1, 1)
        end = dt.date(year + 1, 1, 1)
        one = dt.timedelta(days=1)
        while day < end:
            if calendar.is_workday(day):
                count += 1
            rows.append({"day": day, "n": count})
            day += one
    return rows


@contextlib.contextmanager
def table(conn, calendar, around: dt.date, span: tuple[int, int] | None = None):
    """Create the ordinal table on ``conn`` for the duration of the block; yields it.

    It covers the loaded years from ``YEARS_BEFORE`` before ``around`` to ``YEARS_AFTER``
    after (or the years in ``span``). Days outside have no row, so a join gives NULL:
    callers check for that and widen the span or raise :class:`CalendarMissingError`
    rather than count wrongly. ``n`` counts from the first covered year, so only
    differences of ``n`` within one table mean anything.
    """
    rows = ordinals(calendar, around.year, span)
    conn.execute(text("DROP TABLE IF EXISTS sv_workdays"))
    TABLE.create(conn)
    try:
        st.execute_many(conn, _INSERT, TABLE, rows)
        yield TABLE
    finally:
        conn.execute(text("DROP TABLE IF EXISTS sv_workdays"))


def n_of(calendar, around: dt.date, day: dt.date, span: tuple[int, int] | None = None) -> int:
    """``n`` of one day, as the table would hold it (for constants bound into a query)."""
    years = _years(calendar, around.year, span)
    if day.year not in years:
        raise CalendarMissingError(day.year)
    start = dt.date(years[0], 1, 1)
    return calendar.workdays_between(start, day) + (1 if calendar.is_workday(start) else 0)
