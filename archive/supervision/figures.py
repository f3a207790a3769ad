"""The window figures per centre, unit, item and clerk for a period, computed in the store.

One GROUP BY over the cases (by unit, item and clerk, with exact working days from
:mod:`.workdays`) gives the counts; supplement notices, pauses, ratings, rectifications
and red cards add theirs under the same key; units, items, clerks and the centre's totals
are sums of those rows, and every rate is computed from the counts it comes from. See
:mod:`.facts` for what each figure means.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass, fields
from functools import cached_property

from sqlalchemy import Integer, and_, case, cast, func, or_, select, true

from ..core import store as st
from ..core.errors import CalendarMissingError, InputError
from ..core.validate import parse_date
from . import facts as fx
from . import ledger, workdays
from .scope import Scope, where_unit

# Figure names as they appear in every output (JSON keys), with their Chinese labels.
LABELS = {
    "received": "收件",
    "accepted": "受理",
    "not_accepted": "不予受理",
    "concluded": "办结",
    "approved": "准予许可",
    "denied": "不予许可",
    "on_the_spot": "即办件（当场办结）",
    "on_the_spot_rate": "即办率",
    "on_time": "按时办结",
    "on_time_rate": "按时办结率",
    "promised_concluded": "承诺件办结",
    "early": "提前办结",
    "early_rate": "提前办结率",
    "overdue": "超期件",
    "overdue_concluded": "超期办结",
    "overdue_workdays": "超期工作日合计",
    "open": "在办件",
    "open_on_track": "在办·正常",
    "open_blue": "在办·蓝牌",
    "open_yellow": "在办·黄牌",
    "open_red": "在办·红牌（超期未办结）",
    "open_paused": "在办·暂停计时",
    "deemed_accepted": "视为受理（逾期未告知补正）",
    "paused": "暂停计时件",
    "paused_workdays": "暂停工作日合计",
    "supplement_notices": "补正告知书",
    "supplement_cases": "补正办件",
    "supplements_per_case": "每件补正次数",
    "workdays_used": "实际用时合计（工作日）",
    "avg_workdays_used": "平均用时（工作日）",
    "avg_promised_days": "平均承诺时限（工作日）",
    "avg_statutory_days": "平均法定时限（工作日）",
    "ratings": "评价",
    "satisfied": "满意评价（含基本满意）",
    "bad_ratings": "差评",
    "satisfaction_rate": "满意率",
    "rectifications": "差评整改",
    "rectifications_done": "已整改",
    "rectifications_late": "整改超期",
    "red_cards": "红牌",
}

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
SUBSCORES = {"overall": "整体满意度", "efficiency": "服务效率", "quality": "服务水平", "attitude": "服务态度"}


@dataclass(frozen=True)
class Figures:
    """The counts of one row (centre, unit, item or clerk); rates and averages derive."""

    received: int = 0
    accepted: int = 0
    not_accepted: int = 0
    concluded: int = 0
    approved: int = 0
    denied: int = 0
    on_the_spot: int = 0
    on_time: int = 0
    promised_concluded: int = 0
    early: int = 0
    overdue_concluded: int = 0
    overdue_workdays: int = 0
    open: int = 0
    open_on_track: int = 0
    open_blue: int = 0
    open_yellow: int = 0
    open_red: int = 0
    open_paused: int = 0
    deemed_accepted: int = 0
    paused: int = 0
    paused_workdays: int = 0
    supplement_notices: int = 0
    supplement_cases: int = 0
    workdays_used: int = 0
    promised_days: int = 0  # sums over the concluded cases, for the averages
    statutory_days: int = 0
    ratings: int = 0
    levels: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # 非常满意 … 非常不满意
    score_sums: tuple[int, int, int, int] = (0, 0, 0, 0)  # overall, efficiency, quality, attitude
    rectifications: int = 0
    rectifications_done: int = 0
    rectifications_late: int = 0
    red_cards: int = 0

    def __add__(self, other: "Figures") -> "Figures":
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = tuple(x + y for x, y in zip(a, b)) if isinstance(a, tuple) else a + b
        return Figures(**values)

    # -- derived ---------------------------------------------------------------------
    @property
    def overdue(self) -> int:
        """超期件: concluded late in the period, plus open and past due on the as-of day."""
        return self.overdue_concluded + self.open_red

    @property
    def satisfied(self) -> int:
        return sum(self.levels[:3])

    @property
    def bad_ratings(self) -> int:
        return sum(self.levels[3:])

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @staticmethod
    def _avg(part: int, whole: int) -> float | None:
        return round(part / whole, 2) if whole else None

    @property
    def on_the_spot_rate(self):
        return self._rate(self.on_the_spot, self.concluded)

    @property
    def on_time_rate(self):
        return self._rate(self.on_time, self.concluded)

    @property
    def early_rate(self):
        return self._rate(self.early, self.promised_concluded)

    @property
    def satisfaction_rate(self):
        return self._rate(self.satisfied, self.ratings)

    @property
    def avg_workdays_used(self):
        return self._avg(self.workdays_used, self.concluded)

    @property
    def avg_promised_days(self):
        return self._avg(self.promised_days, self.concluded)

    @property
    def avg_statutory_days(self):
        return self._avg(self.statutory_days, self.concluded)

    @property
    def supplements_per_case(self):
        return self._avg(self.supplement_notices, self.supplement_cases)

    def to_dict(self) -> dict:
        """Every figure by its JSON name; rates are fractions 0–1 (None without a denominator)."""
        out = {}
        for name in LABELS:
            out[name] = getattr(self, name)
        out["sum_promised_days"] = self.promised_days
        out["sum_statutory_days"] = self.statutory_days
        out["ratings_by_level"] = {LEVELS[5 - i]: n for i, n in enumerate(self.levels)}
        out["avg_scores"] = {key: self._avg(total, self.ratings)
                             for key, total in zip(SUBSCORES, self.score_sums)}
        return out


# The rates and the counts they come from, for readers of the JSON and the workbook.
RATES = {
    "on_the_spot_rate": ("on_the_spot", "concluded"),
    "on_time_rate": ("on_time", "concluded"),
    "early_rate": ("early", "promised_concluded"),
    "satisfaction_rate": ("satisfied", "ratings"),
}


# -- periods ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    as_of: dt.date  # open cases are judged on this day: the period's end, or today if earlier

    def to_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "as_of": self.as_of.isoformat()}

    @property
    def label(self) -> str:
        last = _calendar.monthrange(self.start.year, self.start.month)[1]
        if self.start.day == 1 and self.end == self.start.replace(day=last):
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


def period(today: dt.date, *, month: str | None = None, date_from=None, date_to=None) -> Period:
    """The period of a report: a month ``YYYY-MM``, or ``from``–``to``; the current month by default."""
    if month and (date_from or date_to):
        raise InputError("--month 与 --from/--to 只能二选一", field="month")
    if month:
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", str(month).strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(f"月份“{month}”格式不对，应写成 YYYY-MM，例如 2026-10", field="month")
        year, number = int(match.group(1)), int(match.group(2))
        start = dt.date(year, number, 1)
        end = dt.date(year, number, _calendar.monthrange(year, number)[1])
    elif date_from or date_to:
        if not (date_from and date_to):
            raise InputError("--from 和 --to 要同时给出", field="from" if not date_from else "to")
        start, end = parse_date(date_from, "from"), parse_date(date_to, "to")
        if end < start:
            raise InputError(f"结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}", field="to")
    else:
        start = today.replace(day=1)
        end = today.replace(day=_calendar.monthrange(today.year, today.month)[1])
    if start > today:
        raise InputError(f"统计期间从 {start.isoformat()} 开始，尚未到来（今天是 {today.isoformat()}）", field="from")
    return Period(start, end, min(end, today))


def thresholds(session) -> tuple[int, int]:
    """(yellow, blue): days left up to which an open case is yellow, blue."""
    yellow = int(session.ws.get("warning_yellow_workdays"))
    blue = int(session.ws.get("warning_blue_workdays"))
    if blue < yellow:
        raise InputError(f"蓝牌阈值（{blue}）不能小于黄牌阈值（{yellow}）", field="warning_blue_workdays")
    return yellow, blue


# -- computing -----------------------------------------------------------------------------

Key = tuple[str, str, str]  # (unit, item code, clerk)

# Rows are summed as flat integer vectors (a Figures per row and per sum would cost more
# than the query on a province's month): the scalar counts, then the levels, then the scores.
_SCALARS = tuple(f.name for f in fields(Figures) if f.name not in ("levels", "score_sums"))
_INDEX = {name: i for i, name in enumerate(_SCALARS)}
_SLICES = {"levels": (len(_SCALARS), 5), "score_sums": (len(_SCALARS) + 5, 4)}
_WIDTH = len(_SCALARS) + 9


def _figures(vector: list[int]) -> Figures:
    n = len(_SCALARS)
    return Figures(**dict(zip(_SCALARS, vector[:n])), levels=tuple(vector[n:n + 5]), score_sums=tuple(vector[n + 5:]))


@dataclass(frozen=True)
class Breakdown:
    """The figures of a period by (unit, item, clerk), the finest grain every output sums."""

    period: Period
    scope: Scope
    vectors: dict[Key, list[int]]

    @property
    def rows(self) -> dict[Key, Figures]:
        return {key: _figures(vector) for key, vector in self.vectors.items()}

    def total(self) -> Figures:
        return self.by()[()] if self.vectors else _figures([0] * _WIDTH)

    @cached_property
    def _matrix(self):
        import numpy as np

        keys = list(self.vectors)
        return keys, np.array([self.vectors[key] for key in keys], dtype=np.int64).reshape(len(keys), _WIDTH)

    def by(self, *positions: int) -> dict[tuple, Figures]:
        """Sums by the key parts at ``positions`` (0 unit, 1 item, 2 clerk); none: the total."""
        import numpy as np

        if not self.vectors:
            return {}
        keys, matrix = self._matrix
        index: dict[tuple, int] = {}
        ids = np.fromiter((index.setdefault(tuple(key[p] for p in positions), len(index)) for key in keys),
                          dtype=np.int64, count=len(keys))
        sums = np.zeros((len(index), _WIDTH), dtype=np.int64)
        np.add.at(sums, ids, matrix)
        rows = sums.tolist()
        return {group: _figures(rows[i]) for group, i in index.items()}


def _add(rows: dict[Key, list[int]], key, values: dict) -> None:
    vector = rows.get((key[0], key[1], key[2] or ""))
    if vector is None:
        vector = rows[(key[0], key[1], key[2] or "")] = [0] * _WIDTH
    for name, value in values.items():
        if name in _SLICES:
            start, _ = _SLICES[name]
            for offset, part in enumerate(value):
                vector[start + offset] += int(part or 0)
        else:
            vector[_INDEX[name]] += int(value or 0)


def _accumulate(rows: dict[Key, list[int]], result, targets: list[int]) -> None:
    """Add query rows ``(unit, item, clerk, value…)`` into ``rows``; value j goes to ``targets[j]``."""
    pairs = list(enumerate(targets, start=3))
    for row in (result.all() if hasattr(result, "all") else result):  # fetched at once: fewer calls per row
        key = (row[0], row[1], row[2] or "")
        vector = rows.get(key)
        if vector is None:
            vector = rows[key] = [0] * _WIDTH
        for position, target in pairs:
            value = row[position]
            if value:
                vector[target] += int(value)


def _targets(*names: str) -> list[int]:
    """Vector positions of figure names; ``levels.0`` … and ``score_sums.0`` … for the tuples."""
    out = []
    for name in names:
        field, _, offset = name.partition(".")
        out.append(_SLICES[field][0] + int(offset) if offset else _INDEX[field])
    return out


def compute(session, per: Period, *, scope: Scope, kept: bool = True, cards: bool = True) -> Breakdown:
    """The breakdown of ``per`` for the units in ``scope`` (None: the whole centre).

    The case figures come from the facts kept with every case write (:mod:`.ledger`),
    brought up to date first if they are stale; with ``kept=False`` (or when the facts
    cannot give them) every relevant case is judged again from the cases table. With
    ``cards=False`` the red cards are left out, for :func:`add_red_cards` to count later
    (the window report counts the figures while the cards are being recorded).
    """
    calendar = session.calendar
    calendar.schedule(per.start.year)  # CalendarMissingError naming the year, before any query
    calendar.schedule(per.end.year)
    yellow, blue = thresholds(session)
    rows: dict[Key, list[int]] = {}
    if kept:
        ledger.ensure(session)
    with session.store.read() as conn:
        span = None
        from_ledger = counted = kept and _from_ledger(conn, calendar, per, scope, rows, yellow, blue)
        while not counted:
            clock = fx.Clock(per.start, per.end, per.as_of, workdays.n_of(calendar, per.start, per.as_of, span),
                             yellow, blue)
            with workdays.table(conn, calendar, per.start, span) as table:
                lazy = conn.dialect.name == "sqlite"
                missing = _cases(conn, fx.CaseFacts(table, clock, lazy=lazy), scope, rows, table)
            if missing is None:
                counted = True
                break
            if span is not None or missing not in calendar.years():
                raise CalendarMissingError(missing)
            rows.clear()
            span = (min(calendar.years()), max(calendar.years()))  # an old open case: cover every year
        _supplements(conn, per, scope, rows)
        _rectifications(conn, per, scope, rows)
        if cards:
            _red_cards(conn, per, scope, rows)
        if from_ledger:  # the ratings came with the day sums
            pauses = _kept_pause_rows(conn, per, scope)
        else:
            _ratings(conn, per, scope, rows)
            pauses = _pause_rows(conn, per, scope)
    for key, values in _paused(calendar, per, pauses).items():
        _add(rows, key, values)
    return Breakdown(per, scope, rows)


# Counted in the store; approved and open are sums of these (fewer columns, a faster scan).
_CASE_FIGURES = ("received", "accepted", "not_accepted", "concluded", "denied", "on_the_spot",
                 "on_time", "promised_concluded", "early", "overdue_concluded", "deemed_accepted",
                 "open_on_track", "open_blue", "open_yellow", "open_red", "open_paused")


def _cases(conn, f: fx.CaseFacts, scope: Scope, rows: dict, table) -> int | None:
    """Add the case figures to ``rows``; the earliest year the ordinal table lacks, if any."""
    col = f.c.c
    conditions = {
        "received": f.received, "accepted": f.accepted, "not_accepted": f.not_accepted,
        "concluded": f.concluded, "denied": f.denied, "on_the_spot": f.on_the_spot,
        "on_time": f.on_time, "promised_concluded": f.promised_concluded, "early": f.early,
        "overdue_concluded": f.overdue_concluded, "deemed_accepted": f.deemed, "open_on_track": f.on_track, "open_blue": f.blue, "open_yellow": f.yellow, "open_red": f.red,
        "open_paused": f.paused_now,
    }
    columns = [fx.count(conditions[name]).label(name) for name in _CASE_FIGURES]
    columns += [
        (fx.total(f.overdue_concluded, f.concluded_over) + fx.total(f.red, -f.left)).label("overdue_workdays"),
        fx.total(f.concluded, f.used).label("workdays_used"),
        fx.total(f.concluded, col.promised_days).label("promised_days"),
        fx.total(f.concluded, col.statutory_days + col.extended_days).label("statutory_days"),
    ]
    query = (select(col.unit, col.item_code, col.clerk, *columns).select_from(f.source)
             .where(f.relevant, where_unit(col.unit, scope))
             .group_by(col.unit, col.item_code, col.clerk))
    names = (*_CASE_FIGURES, "overdue_workdays", "workdays_used", "promised_days", "statutory_days")
    found: dict[Key, list[int]] = {}
    _accumulate(found, conn.execute(query), _targets(*names))
    concluded, denied = _INDEX["concluded"], _INDEX["denied"]
    states = _targets("open_on_track", "open_blue", "open_yellow", "open_red", "open_paused")
    sums = _targets("overdue_workdays", "workdays_used")
    uncovered = False
    for key, vector in found.items():
        # A day outside the ordinal table counts as -MISSING: these sums cannot stay small.
        uncovered = uncovered or any(abs(vector[i]) >= fx.MISSING // 2 for i in sums)
        vector[_INDEX["approved"]] = vector[concluded] - vector[denied]
        vector[_INDEX["open"]] = sum(vector[i] for i in states)
        target = rows.get(key)
        rows[key] = vector if target is None else [a + b for a, b in zip(target, vector)]
    if uncovered:
        return fx.uncovered_year(conn, f, table) or f.clock.start.year
    return None


# The kept day sums' columns that land in the levels and score tuples.
_KEPT = {**{f"level_{level}": f"levels.{5 - level}" for level in (5, 4, 3, 2, 1)},
         **{key: f"score_sums.{i}" for i, key in enumerate(SUBSCORES)}}


def _from_ledger(conn, calendar, per: Period, scope: Scope, rows: dict, yellow: int, blue: int) -> bool:
    """Add the case figures from the kept facts (:mod:`.ledger`); False if they cannot give them.

    Everything settled on a day comes from the day sums of the period; only the cases open
    on the as-of day (and the deemed acceptances not yet recorded, which are among them)
    are judged now, with the expressions of :mod:`.facts` — the cases the scan of
    :func:`_cases` would judge, without the rest. False when a fact in the period is
    inexact, or an open case has a day outside the calendar: then :func:`_cases` counts.
    """
    if not ledger.current(conn, calendar) or ledger.inexact_within(conn, per.start, per.end):
        return False
    found: dict[Key, list[int]] = {}
    _accumulate(found, ledger.day_sums(conn, per.start, per.end, lambda table: where_unit(table.c.unit, scope)),
                _targets(*(_KEPT.get(name, name) for name in ledger.DAY_VALUES)))
    as_of = per.as_of
    try:
        span = (min(calendar.years()), max(calendar.years()))
        clock = fx.Clock(per.start, per.end, as_of, workdays.n_of(calendar, per.start, as_of, span), yellow, blue)
    except CalendarMissingError:
        return False
    with workdays.table(conn, calendar, per.start, span) as table:
        # Only the received and due days are needed: joined (each open case needs them several times).
        f = fx.CaseFacts(table, clock, lazy=False, joins=("wr", "wd"))
        col = f.c.c
        pending_received = and_(f.deemed_pending, col.received_on >= per.start, col.received_on <= per.end)
        pending_window = and_(f.deemed_pending, col.check_due_on >= per.start, col.check_due_on <= per.end)
        # The cases not concluded by as_of, found by the conclusion index (SQLite would rather
        # walk the unit index through every case than pick the few open ones).
        c = st.cases
        if conn.dialect.name == "sqlite":  # by their ids, from the conclusion index SQLite is told to use
            unconcluded = col.id.in_(select(c.c.id).where(or_(c.c.concluded_on.is_(None), c.c.concluded_on > as_of))
                                     .with_hint(c, "INDEXED BY ix_cases_concluded_on", "sqlite"))
        else:  # PostgreSQL finds them by the same index itself (a self-join cost it a second heap scan)
            unconcluded = or_(col.concluded_on.is_(None), col.concluded_on > as_of)
        # Each open case's state decided once, then counted by (unit, item, clerk, state); the
        # days left summed per group give the red cases' days over.
        judged = (select(col.unit, col.item_code, f.clerk.label("clerk"), f.state.label("state"),
                         f.left.label("left"), case((pending_received, 1), else_=0).label("pending_received"),
                         case((pending_window, 1), else_=0).label("pending_window"))
                  .select_from(f.source)
                  .where(unconcluded, col.received_on <= per.end, f.open, where_unit(col.unit, scope))
                  .subquery("judged"))
        j = judged.c
        query = (select(j.unit, j.item_code, j.clerk, j.state, func.count(), func.sum(j.left), func.sum(j.pending_received),
                        func.sum(j.pending_window))
                 .group_by(j.unit, j.item_code, j.clerk, j.state))
        opened: dict[Key, list[int]] = {}
        slot = {state: _INDEX[f"open_{state}"] for state in ("on_track", "blue", "yellow", "red", "paused")}
        over, accepted, deemed = _INDEX["overdue_workdays"], _INDEX["accepted"], _INDEX["deemed_accepted"]
        for unit, item, clerk, state, n, left, received, window in conn.execute(query).all():
            key = (unit, item, clerk or "")
            vector = opened.get(key)
            if vector is None:
                vector = opened[key] = [0] * _WIDTH
            if state is not None:
                vector[slot[state]] += n
            if state == "red":
                vector[over] -= left
            vector[accepted] += received or 0
            vector[deemed] += window or 0
    if any(abs(vector[over]) >= fx.MISSING // 2 for vector in opened.values()):
        return False  # an open case with a day outside the calendar: the scan widens or says so
    states = _targets("open_on_track", "open_blue", "open_yellow", "open_red", "open_paused")
    for key, vector in opened.items():
        target = found.get(key)
        found[key] = vector if target is None else [a + b for a, b in zip(target, vector)]
    for key, vector in found.items():
        vector[_INDEX["approved"]] = vector[_INDEX["concluded"]] - vector[_INDEX["denied"]]
        vector[_INDEX["open"]] = sum(vector[i] for i in states)
        target = rows.get(key)
        rows[key] = vector if target is None else [a + b for a, b in zip(target, vector)]
    return True


def _supplements(conn, per: Period, scope: Scope, rows: dict) -> None:
    n, c = st.notices, st.cases
    # The period's supplement notices counted per case first, then each case's key looked up.
    per_case = (select(n.c.case_id, func.count().label("notices"))
                .where(n.c.kind == "supplement", n.c.reprint_of.is_(None), n.c.issued_on >= per.start,
                       n.c.issued_on <= per.end)
                .group_by(n.c.case_id).subquery("per_case"))
    if conn.dialect.name == "postgresql":
        # LIMIT 1 keeps PostgreSQL's planner from flattening the lookup into a hash join over a
        # sequential scan of every case (a province's month: 0.46 s, against 0.24 s by key).
        who = (select(c.c.unit, c.c.item_code, func.coalesce(c.c.clerk, "").label("clerk"))
               .where(c.c.id == per_case.c.case_id).limit(1).lateral("who"))
        source, unit, item, clerk = per_case.join(who, true()), who.c.unit, who.c.item_code, who.c.clerk
    else:
        source = per_case.join(c, c.c.id == per_case.c.case_id)
        unit, item, clerk = c.c.unit, c.c.item_code, func.coalesce(c.c.clerk, "")
    query = (select(unit, item, clerk.label("clerk"), cast(func.sum(per_case.c.notices), Integer).label("notices"),
                    func.count().label("cases"))
             .select_from(source).where(where_unit(unit, scope)).group_by(unit, item, clerk))
    _accumulate(rows, conn.execute(query), _targets("supplement_notices", "supplement_cases"))


def _ratings(conn, per: Period, scope: Scope, rows: dict) -> None:
    r = st.ratings
    levels = [fx.count(r.c.level == level).label(f"level_{level}") for level in (5, 4, 3, 2, 1)]
    sums = [func.sum(getattr(r.c, key)).label(key) for key in SUBSCORES]
    query = (select(r.c.unit, r.c.item_code, r.c.clerk, func.count().label("ratings"), *levels, *sums)
             .where(r.c.rated_on >= per.start, r.c.rated_on <= per.end, where_unit(r.c.unit, scope))
             .group_by(r.c.unit, r.c.item_code, r.c.clerk))
    _accumulate(rows, conn.execute(query), _targets("ratings", *(f"levels.{i}" for i in range(5)),
                                                    *(f"score_sums.{i}" for i in range(4))))


def _rectifications(conn, per: Period, scope: Scope, rows: dict) -> None:
    x = st.rectifications
    opened = and_(x.c.opened_on >= per.start, x.c.opened_on <= per.end)
    done = and_(x.c.rectified_on >= per.start, x.c.rectified_on <= per.end)
    # Late: the deadline fell in the period, before the as-of day, and it was not met.
    late = and_(x.c.due_on >= per.start, x.c.due_on <= per.end, x.c.due_on < per.as_of,
                or_(x.c.rectified_on.is_(None), x.c.rectified_on > x.c.due_on))
    query = (select(x.c.unit, x.c.item_code, x.c.clerk, fx.count(opened).label("opened"),
                    fx.count(done).label("done"), fx.count(late).label("late"))
             .where(or_(opened, done, late), where_unit(x.c.unit, scope))
             .group_by(x.c.unit, x.c.item_code, x.c.clerk))
    _accumulate(rows, conn.execute(query), _targets("rectifications", "rectifications_done", "rectifications_late"))


def add_red_cards(session, breakdown: Breakdown) -> None:
    """Count into ``breakdown`` (from ``compute(cards=False)``, not yet summed) the red cards
    raised in its period."""
    if "_matrix" in breakdown.__dict__:  # pragma: no cover - a caller's mistake
        raise ValueError("add_red_cards: the breakdown was already summed")
    with session.store.read() as conn:
        _red_cards(conn, breakdown.period, breakdown.scope, breakdown.vectors)


def _red_cards(conn, per: Period, scope: Scope, rows: dict) -> None:
    k = st.red_cards
    query = (select(k.c.unit, k.c.item_code, k.c.clerk, func.count().label("cards"))
             .where(k.c.raised_on >= per.start, k.c.raised_on <= per.end, where_unit(k.c.unit, scope))
             .group_by(k.c.unit, k.c.item_code, k.c.clerk))
    _accumulate(rows, conn.execute(query), _targets("red_cards"))


# -- pauses (art. 45): from the pause and resume events ------------------------------------

def _pause_rows(conn, per: Period, scope: Scope):
    """The pause intervals of cases that may have been paused during the period, with their keys.

    Read from the pause and resume events (found by the events' action index), joined to
    their cases; only cases still open at the period's start or received in it qualify.
    """
    c, e = st.cases, st.events
    query = (select(e.c.case_id, e.c.action, e.c.detail["on"].as_string().label("on"), c.c.unit, c.c.item_code,
                    c.c.clerk)
             .select_from(e.join(c, c.c.id == e.c.case_id))
             .where(e.c.action.in_(("pause", "resume")), c.c.received_on <= per.end,
                    or_(c.c.concluded_on.is_(None), c.c.concluded_on >= per.start), where_unit(c.c.unit, scope))
             .order_by(e.c.id)
             # SQLite would scan the whole event log rather than the action index.
             .with_hint(e, "INDEXED BY ix_events_action_case", "sqlite"))
    rows = conn.execute(query).all()
    keys = {row.case_id: (row.unit, row.item_code, row.clerk or "") for row in rows}
    return [(keys[case_id], spans) for case_id, spans in ledger.pause_intervals(rows).items()]


def _kept_pause_rows(conn, per: Period, scope: Scope):
    """The same intervals as :func:`_pause_rows`, from the pauses kept with the cases (:mod:`.ledger`)."""
    out: dict[int, tuple] = {}
    for case_id, unit, item, clerk, paused_on, resumed_on in ledger.pauses(
            conn, per.start, per.end, per.as_of, where_unit(st.case_pauses.c.unit, scope)):
        found = out.get(case_id)
        if found is None:
            found = out[case_id] = ((unit, item, clerk), [])
        found[1].append((paused_on, resumed_on))
    return list(out.values())


def _paused(calendar, per: Period, pauses) -> dict[Key, dict]:
    """Paused cases and paused working days within the period, by key.

    A pause from ``p`` resumed on ``r`` stops the clock for the working days in ``(p, r]``
    (the count :func:`archive.window.cases.resume` adds to the due date); within the
    period that is ``(max(p, start - 1), min(r, as_of)]``.
    """
    out: dict[Key, dict] = {}
    before = per.start - dt.timedelta(days=1)
    # Tens of thousands of intervals share a few dozen days: count each pair of days once.
    between = functools.lru_cache(maxsize=None)(calendar.workdays_between)
    for key, intervals in pauses:
        hit = False
        days = 0
        for paused_on, resumed_on in intervals:
            stop = min(resumed_on or per.as_of, per.as_of)
            if paused_on > per.as_of or (resumed_on is not None and resumed_on < per.start):
                continue
            hit = True
            days += between(max(paused_on, before), stop)
        if hit:
            bucket = out.setdefault(key, {"paused": 0, "paused_workdays": 0})
            bucket["paused"] += 1
            bucket["paused_workdays"] += days
    return out

