"""Warnings (预警): blue, yellow and red as of a day, and red cards that stay on record.

A *warning* is how an open case stands today: blue when few working days are left, yellow
on the last one, red when it is past due (thresholds: settings ``warning_blue_workdays``
and ``warning_yellow_workdays``). A *red card* is the record that a limit was missed: a
case past its due date, or a bad rating not put right within its rectification period.
:func:`record_red_cards` writes a card the first time it sees one and keeps it — after
the case concludes, and even if a later extension moves the due date — so a head of unit
can always answer who was late, in which case, by how many working days.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import String, and_, bindparam, exists, func, or_, select, type_coerce

from ..core import changelog
from ..core import store as st
from ..core.retry import retrying
from ..core.errors import InputError
from ..core.validate import check_positive_int
from . import facts as fx
from . import workdays
from .figures import thresholds
from .scope import Scope, where_unit

LEVELS = {"red": "红牌", "yellow": "黄牌", "blue": "蓝牌"}
CARD_KINDS = {"case": "办件超期", "rectification": "差评整改超期"}


@dataclass(frozen=True)
class CaseWarning:
    """One open case that needs attention as of ``as_of``."""

    level: str  # red | yellow | blue
    case_no: str
    unit: str
    item_code: str
    clerk: str
    due_on: dt.date
    days_left: int  # working days from as_of to due_on; negative: days over

    @property
    def days_over(self) -> int:
        return max(0, -self.days_left)

    def to_dict(self) -> dict:
        return {"level": self.level, "level_text": LEVELS[self.level], "case": self.case_no, "unit": self.unit,
                "item": self.item_code, "clerk": self.clerk, "due_on": self.due_on.isoformat(),
                "days_left": self.days_left, "days_over": self.days_over}


@dataclass(frozen=True)
class RedCard:
    """A missed limit on record: the case, unit, clerk and working days over."""

    kind: str  # case | rectification
    case_no: str
    unit: str
    item_code: str
    clerk: str
    due_on: dt.date
    raised_on: dt.date
    days_over: int
    closed_on: dt.date | None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "kind_text": CARD_KINDS[self.kind], "case": self.case_no, "unit": self.unit,
                "item": self.item_code, "clerk": self.clerk, "due_on": self.due_on.isoformat(),
                "raised_on": self.raised_on.isoformat(), "days_over": self.days_over,
                "closed_on": self.closed_on.isoformat() if self.closed_on else None}


@dataclass(frozen=True)
class Sweep:
    raised: int
    updated: int
    closed: int

    def to_dict(self) -> dict:
        return {"raised": self.raised, "updated": self.updated, "closed": self.closed}


def _span(session) -> tuple[int, int]:
    years = session.calendar.years()
    return (min(years), max(years))


def _clock(session, as_of: dt.date) -> fx.Clock:
    yellow, blue = thresholds(session)
    return fx.Clock(as_of, as_of, as_of, workdays.n_of(session.calendar, as_of, as_of, _span(session)), yellow, blue)


def _warning_clock(session, as_of: dt.date) -> fx.Clock:
    session.calendar.schedule(as_of.year)  # CalendarMissingError naming the year, before any query
    return _clock(session, as_of)


def current(session, *, scope: Scope, as_of: dt.date | None = None, levels=("red", "yellow", "blue"),
            limit: int | None = None, clerk: str | None = None) -> list[CaseWarning]:
    """Open cases that are red, yellow or blue on ``as_of`` (today), most urgent first.

    ``limit`` keeps the first so many (in the query); ``clerk`` only the cases that clerk received.
    """
    as_of = as_of or session.today
    levels = _levels(levels)
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    clock = _warning_clock(session, as_of)
    out = []
    with session.store.read() as conn:
        with workdays.table(conn, session.calendar, as_of, _span(session)) as table:
            f = fx.CaseFacts(table, clock)
            col = f.c.c
            level_of = {"red": f.red, "yellow": f.yellow, "blue": f.blue}
            wanted = or_(*(level_of[lv] for lv in levels))
            query = (select(col.case_no, col.unit, col.item_code, col.received_on, col.promised_days,
                            col.due_on, f.deemed_pending.label("pending"), f.clerk.label("clerk"),
                            f.left.label("left"))
                     .select_from(f.source)
                     .where(*_open_warning_conditions(f, scope, clerk), wanted)
                     .order_by(f.left, col.case_no))
            if limit:
                query = query.limit(limit)
            for row in conn.execute(query):
                due = row.due_on
                if row.pending:
                    due = session.calendar.add_workdays(row.received_on, row.promised_days)
                left = int(row.left)
                level = "red" if left < 0 else ("yellow" if left <= clock.yellow else "blue")
                out.append(CaseWarning(level, row.case_no, row.unit, row.item_code, row.clerk, due, left))
    return out


def counts(session, *, scope: Scope, as_of: dt.date | None = None, clerk: str | None = None) -> dict[str, int]:
    """How many open cases are red, yellow and blue on ``as_of`` (today): ``{level: n}``, one query."""
    as_of = as_of or session.today
    clock = _warning_clock(session, as_of)
    with session.store.read() as conn:
        with workdays.table(conn, session.calendar, as_of, _span(session)) as table:
            f = fx.CaseFacts(table, clock)
            row = conn.execute(select(*(fx.count(getattr(f, level)) for level in LEVELS))
                               .select_from(f.source).where(*_open_warning_conditions(f, scope, clerk))).one()
    return {level: int(n or 0) for level, n in zip(LEVELS, row)}


def _levels(levels) -> tuple:
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise InputError(f"预警级别“{unknown[0]}”无效，可选：red（红牌）、yellow（黄牌）、blue（蓝牌）", field="level")
    return tuple(levels)


def _open_warning_conditions(f: fx.CaseFacts, scope: Scope, clerk: str | None) -> list:
    """The cases that can carry a warning (open, found by status), in scope, of ``clerk`` if given."""
    col = f.c.c
    conditions = [col.status.in_(("accepted", "paused", "received")), where_unit(col.unit, scope)]
    if clerk is not None:
        conditions.append(f.clerk == clerk)
    return conditions


# -- red cards -------------------------------------------------------------------------------

class _Remembering:
    """The calendar's day counts, each question answered once: a sweep asks the same few
    hundred (due date, conclusion) pairs tens of thousands of times."""

    def __init__(self, calendar):
        self.workdays_between = functools.lru_cache(maxsize=None)(calendar.workdays_between)
        self.add_workdays = functools.lru_cache(maxsize=None)(calendar.add_workdays)


@retrying
def record_red_cards(session, *, as_of: dt.date | None = None) -> Sweep:
    """Put on record every missed limit seen on ``as_of`` (today) and bring open cards up to date.

    New cards: cases concluded past their due date, open cases past it (not paused), and
    rectifications not done by their deadline. Open cards get their days over updated
    and are closed when the case concludes or the rectification is done; a card whose
    case is no longer late (an extension moved the due date) is closed on ``as_of``.
    Cards are never deleted.
    """
    from .ledger import calendar_stamp

    as_of = as_of or session.today
    calendar = session.calendar
    calendar.schedule(as_of.year)
    days = _Remembering(calendar)
    now = session.now()
    # What a sweep sees depends only on the logged writes (every write that changes a case,
    # a rating or a rectification appends to the event log, which is never shortened), the
    # day and the calendar: a sweep that saw the same (and the same change-log head) has nothing to do.
    with session.store.read() as conn:
        seen = _swept(conn, calendar_stamp(calendar), as_of)
        last = _last_sweep(conn)
        if seen == last:
            return Sweep(0, 0, 0)
    # Late conclusions are looked for among the cases written since the last sweep, unless the
    # calendar changed since (a day counted again may make an old conclusion late).
    since = last[3] if last[2] == seen[2] else None
    c, k, x = st.cases, st.red_cards, st.rectifications
    day, parse = _dates(session)
    no_card = ~exists().where(k.c.kind == "case", k.c.case_id == c.c.id)
    columns = (c.c.id, c.c.case_no, c.c.unit, c.c.item_code, func.coalesce(c.c.clerk, "").label("clerk"), c.c.status,
               day(c.c.received_on), c.c.promised_days, day(c.c.due_on), day(c.c.concluded_on))
    # Open cases past due (few: found by status), and cases concluded late (the partial
    # index ix_cases_concluded_late holds exactly those), without a card yet.
    # (SQLite's planner, left alone, walks the due-date index or the concluded status through
    # nearly every case: the hints name the indexes that hold the few.)
    late_open = select(*columns).where(no_card, or_(
        and_(c.c.status == "accepted", c.c.due_on < as_of),
        and_(c.c.status == "received", c.c.check_due_on < as_of))).with_hint(c, "INDEXED BY ix_cases_status", "sqlite")
    late_concluded = select(*columns).where(no_card, c.c.concluded_on > c.c.due_on, c.c.status == "concluded")
    no_rect_card = ~exists().where(k.c.kind == "rectification", k.c.case_id == x.c.case_id)
    late_rects = select(x).where(no_rect_card, x.c.due_on < as_of,
                                 or_(x.c.rectified_on.is_(None), x.c.rectified_on > x.c.due_on))
    with session.work() as work:
        conn = work.conn
        # Cards already open follow their case or rectification first.
        open_cards = conn.execute(
            select(k.c.id, k.c.kind, k.c.due_on, k.c.days_over, c.c.status, c.c.due_on.label("case_due"),
                   c.c.concluded_on, x.c.rectified_on)
            .select_from(k.join(c, c.c.id == k.c.case_id).outerjoin(x, x.c.case_id == k.c.case_id))
            .where(k.c.closed_on.is_(None))).all()
        closing, growing = [], []
        for card in open_cards:
            if card.kind == "case" and card.status == "concluded":
                # Days over count to the conclusion only if it was late against the due date
                # in force (an extension may have moved it): otherwise they stay as last seen.
                late = days.workdays_between(card.case_due or card.due_on, card.concluded_on) > 0
                values = {"closed_on": card.concluded_on,
                          "days_over": days.workdays_between(card.due_on, card.concluded_on) if late else 0}
            elif card.kind == "case" and card.status == "paused":
                continue  # the clock is stopped
            elif card.kind == "case" and days.workdays_between(card.case_due or card.due_on, as_of) <= 0:
                values = {"closed_on": as_of}  # the due date moved (extension): late no longer
            elif card.kind == "rectification" and card.rectified_on is not None:
                values = {"closed_on": card.rectified_on, "days_over": days.workdays_between(card.due_on, card.rectified_on)}
            else:
                values = {"days_over": days.workdays_between(card.due_on, as_of)}
            days_over = max(card.days_over, values.get("days_over", 0))
            if "closed_on" in values:
                closing.append({"card": card.id, "closed": values["closed_on"], "days": days_over})
            elif days_over != card.days_over:
                growing.append({"card": card.id, "days": days_over})
        # One statement each, run for many rows (a round trip per card costs seconds on a server).
        if closing:
            conn.execute(k.update().where(k.c.id == bindparam("card"))
                         .values(closed_on=bindparam("closed"), days_over=bindparam("days"), updated_at=now), closing)
        if growing:
            conn.execute(k.update().where(k.c.id == bindparam("card"))
                         .values(days_over=bindparam("days"), updated_at=now), growing)
        closed, updated = len(closing), len(growing)
        late_cases = [*conn.execute(late_open).all(), *_late_concluded(conn, late_concluded, since)]
        late_rect_rows = conn.execute(late_rects).all()

        def new_cards():  # made while the rows before them are being written (execute_many)
            for row in late_cases:
                due, concluded = parse(row.due_on), parse(row.concluded_on)
                if row.status == "received":  # a deemed acceptance not yet recorded
                    due = days.add_workdays(parse(row.received_on), row.promised_days)
                over = days.workdays_between(due, concluded or as_of)
                if over > 0:
                    yield dict(kind="case", case_id=row.id, case_no=row.case_no, unit=row.unit,
                               item_code=row.item_code, clerk=row.clerk, due_on=due,
                               raised_on=days.add_workdays(due, 1), days_over=over,
                               closed_on=concluded, recorded_at=now, updated_at=now)
            for row in late_rect_rows:
                over = days.workdays_between(row.due_on, row.rectified_on or as_of)
                if over > 0:
                    yield dict(kind="rectification", case_id=row.case_id, case_no=row.case_no, unit=row.unit,
                               item_code=row.item_code, clerk=row.clerk, due_on=row.due_on,
                               raised_on=days.add_workdays(row.due_on, 1), days_over=over,
                               closed_on=row.rectified_on, recorded_at=now, updated_at=now)

        raised = st.execute_many(conn, _INSERT_CARD, k, new_cards())
        # What this sweep saw at its start: it read everything those writes left (the event log
        # only grows, and the sweep appends no event), and a write since makes the next one run.
        for scope, value in zip(SWEPT, seen):
            if not conn.execute(st.counters.update().where(st.counters.c.scope == scope).values(value=value)).rowcount:
                conn.execute(st.counters.insert().values(scope=scope, value=value))
    return Sweep(raised, updated, closed)


_INSERT_CARD = st.red_cards.insert()

# counters: the event log's length, the day, the calendar stamp and the change log's head the last sweep saw
SWEPT = ("supervision:swept:events", "supervision:swept:day", "supervision:swept:calendar",
         "supervision:swept:changes")
# A sweep looks for late conclusions among the cases written since the last one when the change
# log still holds every entry since and they are at most this many; else among every case.
CHANGES_LOOKED_AT = 20000


def _swept(conn, stamp: int, as_of: dt.date) -> tuple[int, int, int, int]:
    return (conn.execute(select(func.count()).select_from(st.events)).scalar(), as_of.toordinal(), stamp,
            changelog.head(conn))


def _late_concluded(conn, query, since: int | None) -> list:
    """The rows of ``query`` (cases concluded late without a card), among the cases written
    since the change log's entry ``since`` (what the last sweep saw), or among all of them.

    A case gets its card at the first sweep after its late conclusion was written, so the
    earlier ones have theirs: looking only at the cases written since keeps a sweep's work
    to the day's news instead of every late conclusion in the store's history. Every write
    of a case appends its number to the change log, in commit order and without gaps; a log
    pruned past ``since``, or more entries than CHANGES_LOOKED_AT, and every case is looked at
    (the partial index ix_cases_concluded_late holds exactly the late ones).
    """
    c = st.cases
    if since is not None:
        entries = changelog.entries(conn, since, limit=CHANGES_LOOKED_AT + 1)
        head = changelog.head(conn)
        complete = (not entries and head <= since) or (
            entries and entries[0].seq == since + 1 and len(entries) <= CHANGES_LOOKED_AT)
        if complete:
            numbers = sorted({key for entry in entries for kind, key in entry.changes if kind == "case"})
            rows = []
            for start in range(0, len(numbers), 1000):
                rows += conn.execute(query.where(c.c.case_no.in_(numbers[start:start + 1000]))).all()
            return rows
    # (SQLite's planner, left alone, walks the concluded status through nearly every case.)
    return conn.execute(query.with_hint(c, "INDEXED BY ix_cases_concluded_late", "sqlite")).all()


def _last_sweep(conn) -> tuple:
    found = dict(conn.execute(select(st.counters.c.scope, st.counters.c.value).where(st.counters.c.scope.in_(SWEPT))).all())
    return tuple(found.get(scope) for scope in SWEPT)


def _card_conditions(scope: Scope, date_from, date_to, open_only: bool, kind: str | None, clerk: str | None) -> list:
    if kind is not None and kind not in CARD_KINDS:
        raise InputError(f"红牌类别“{kind}”无效，可选：case（办件超期）、rectification（差评整改超期）", field="kind")
    k = st.red_cards
    conditions = [where_unit(k.c.unit, scope)]
    if date_to is not None:
        conditions.append(k.c.raised_on <= date_to)
    if date_from is not None:
        conditions.append(or_(k.c.closed_on.is_(None), k.c.closed_on >= date_from))
    if open_only:
        conditions.append(k.c.closed_on.is_(None))
    if kind:
        conditions.append(k.c.kind == kind)
    if clerk is not None:
        conditions.append(k.c.clerk == clerk)
    return conditions


def _dates(session):
    """``(day, parse)``: how a query selects a date column and how a row's value becomes a date.

    A sweep or a report reads tens of thousands of dates: SQLite's are read as their ISO text
    and parsed by the standard library, several times faster than the generic Date type does.
    """
    if session.store.engine.dialect.name != "sqlite":
        return (lambda column: column), (lambda value: value)

    seen: dict[str, dt.date] = {}  # a few hundred distinct days among tens of thousands of values

    def parse(value):
        if not value:
            return value
        day = seen.get(value)
        if day is None:
            day = seen[value] = dt.date.fromisoformat(value)
        return day
    return (lambda column: type_coerce(column, String).label(column.name)), parse


def red_cards(session, *, scope: Scope, date_from: dt.date | None = None, date_to: dt.date | None = None,
              open_only: bool = False, kind: str | None = None, limit: int | None = None,
              clerk: str | None = None) -> list[RedCard]:
    """Red cards on record that were in force during ``[date_from, date_to]`` (all without dates)."""
    k = st.red_cards
    day, parse = _dates(session)  # a report lists tens of thousands of cards
    query = (select(k.c.kind, k.c.case_no, k.c.unit, k.c.item_code, k.c.clerk, day(k.c.due_on), day(k.c.raised_on),
                    k.c.days_over, day(k.c.closed_on))
             .where(*_card_conditions(scope, date_from, date_to, open_only, kind, clerk))
             .order_by(k.c.raised_on, k.c.case_no, k.c.kind))
    if limit:
        query = query.limit(check_positive_int(limit, "limit"))
    with session.store.read() as conn:
        return [RedCard(kind, case_no, unit, item, clerk, parse(due), parse(raised), over, parse(closed))
                for kind, case_no, unit, item, clerk, due, raised, over, closed in conn.execute(query).all()]


def count_red_cards(session, *, scope: Scope, date_from: dt.date | None = None, date_to: dt.date | None = None,
                    open_only: bool = False, kind: str | None = None, clerk: str | None = None) -> int:
    """How many cards :func:`red_cards` would list with the same arguments (no limit)."""
    conditions = _card_conditions(scope, date_from, date_to, open_only, kind, clerk)
    with session.store.read() as conn:
        return conn.execute(select(func.count()).select_from(st.red_cards).where(*conditions)).scalar()
