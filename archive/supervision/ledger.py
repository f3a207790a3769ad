"""Supervision's facts, kept as cases change: what each case adds to the figures, day by day.

A month's report over a million cases cannot afford to judge every case again (exact
working days for each one cost seconds in the store). Most of what a case adds to the
figures is settled when it happens and never depends on the day a report is run: it was
received on a day, accepted on a day, concluded on a day — on time or late by so many
working days, early or not, in so many working days. So every unit of work that touches a
case (``work.touch("case", …)``, which every write of the window desk does) recomputes
that case's *facts* in the same transaction, before it commits:

- ``case_facts``: one row per case — unit, item, clerk, the days its figures count on
  (received, accepted, concluded or refused, a recorded deemed acceptance) and what its
  conclusion adds (concluded, denied, on the spot, on time, promised, early, late and by
  how many working days, working days used, promised and statutory limits);
- ``case_days``: those additions summed per day, unit, item and clerk. A change of a case
  takes its old facts' additions away and puts its new ones in. Beside them, the same rows
  sum the ratings given that day (by level, and the sub-scores), added as :mod:`.ratings`
  records them (a rating is never edited or deleted). Red cards are not summed here: a
  report counts the period's cards from ``red_cards`` (it reads them anyway to list them);
- ``case_pauses``: each case's pauses (art. 45) as intervals read from its pause and
  resume events, with the case's key and dates, recounted with its facts.

A report then sums ``case_days`` over its period (a few hundred thousand rows for a
province's month) and judges only the cases still open on its as-of day against that day
(:mod:`.figures`). The facts are counted with the workspace's holiday calendar by the
same definitions as :mod:`.facts` (tests hold both ways of counting equal).

The facts are trusted only while they are known to be current: the counter
``supervision:facts`` holds the store generation they reflect and ``supervision:calendar``
a stamp of the calendar they were counted with. A write made without this module loaded,
or a calendar loaded since, leaves them stale; the next report counts them again from the
cases (:func:`ensure`). A case whose facts the calendar cannot give (a day in a year
without a schedule), or whose figures depend on the period in a way a day's sum cannot
hold, is marked inexact, and a report whose period it touches counts from the cases.
"""

from __future__ import annotations

import datetime as dt
import weakref
import zlib

from sqlalchemy import String, and_, delete, exists, or_, select, type_coerce

from ..core import store as st
from ..core.errors import CalendarMissingError
from ..core.session import subscribe_within

VALUES = st.FACT_VALUES  # the columns of case_days a case's facts give
DAY_VALUES = st.DAY_VALUES  # every summed column of case_days: those and the ratings'
# What a case's outcome adds on the day it was concluded or refused.
OUTCOME = tuple(name for name in VALUES if name not in ("received", "accepted", "deemed_accepted"))
GENERATION = "supervision:facts"  # counters: the store generation the facts reflect
CALENDAR = "supervision:calendar"  # counters: the stamp of the calendar they were counted with
CHUNK = 20000

_stamps: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def calendar_stamp(calendar) -> int:
    """A checksum of every loaded year's holidays and make-up working days."""
    found = _stamps.get(calendar)
    if found is None:
        parts = []
        for year in calendar.years():
            schedule = calendar.schedule(year)
            parts.append(f"{year}|{','.join(sorted(d.isoformat() for d in schedule.holidays))}"
                         f"|{','.join(sorted(d.isoformat() for d in schedule.workdays))}")
        found = _stamps[calendar] = zlib.crc32("\n".join(parts).encode()) & 0x7FFFFFFF
    return found


# -- one case ------------------------------------------------------------------------------

def of_case(calendar, row) -> dict:
    """The facts of one case (a row of ``cases``), as :mod:`.facts` defines its figures.

    Working days are those of ``calendar``: a day it does not cover makes the facts
    inexact, and so does a deemed acceptance concluded before its supplement window ended
    (whether a period counts it then depends on where the period starts).
    """
    f = {"case_id": row.id, "unit": row.unit, "item_code": row.item_code, "clerk": row.clerk or "",
         "received_on": row.received_on, "accepted_on": row.accepted_on, "concluded_on": None,
         "deemed_on": row.check_due_on if row.deemed_accepted else None, "exact": True,
         **dict.fromkeys(OUTCOME, 0)}
    k = row.concluded_on
    if k is None:
        return f
    if f["deemed_on"] is not None and k < f["deemed_on"]:
        f["exact"] = False
    if row.status == "not_accepted":
        f.update(concluded_on=k, not_accepted=1)
    elif row.status == "concluded":
        f.update(concluded_on=k, concluded=1, denied=int(row.decision == "denied"),
                 on_the_spot=int(k == row.received_on), promised_concluded=int(row.promised_days > 0),
                 promised_days=row.promised_days, statutory_days=row.statutory_days + row.extended_days)
        due = row.due_on
        try:
            if k != row.accepted_on:
                used = (calendar.workdays_between(row.accepted_on, k) if k >= row.accepted_on
                        else -calendar.workdays_between(k, row.accepted_on))
                f["workdays_used"] = used - row.paused_workdays
            if due is not None:
                # On time: no working day past the due date (a Saturday after a Friday due date is).
                over = calendar.workdays_between(due, k) if k > due else 0
                f["on_time"] = int(over == 0)
                if over > 0:
                    f.update(overdue_concluded=1, overdue_workdays=over)
                # Early: before the promised date — the due date less the extension, if any.
                if row.promised_days > 0 and k < due:
                    f["early"] = int(row.extended_days == 0 or calendar.workdays_between(k, due) > row.extended_days)
        except (CalendarMissingError, TypeError):
            f["exact"] = False
    return f


def additions(f: dict | None) -> dict[tuple, dict]:
    """What facts ``f`` add to ``case_days``: ``{(day, unit, item, clerk): {value: n}}``."""
    out: dict[tuple, dict] = {}
    if f is None:
        return out
    who = (f["unit"], f["item_code"], f["clerk"])

    def add(day, name, value):
        if day is not None and value:
            bucket = out.setdefault((day, *who), {})
            bucket[name] = bucket.get(name, 0) + value

    add(f["received_on"], "received", 1)
    add(f["accepted_on"], "accepted", 1)
    add(f["deemed_on"], "deemed_accepted", 1)
    for name in OUTCOME:
        add(f["concluded_on"], name, f[name])
    return out


# -- keeping them ----------------------------------------------------------------------------

_UPSERTS: dict[tuple, object] = {}  # built once per dialect, table and summed columns (execute_many caches by statement)


def _upsert_days(conn, rows: list[dict], names=VALUES) -> None:
    """Add ``rows`` (day, unit, item_code, clerk and the values ``names``) into ``case_days``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    months: dict[tuple, dict] = {}
    for row in rows:
        bucket = months.setdefault((row["day"].replace(day=1), row["unit"], row["item_code"], row["clerk"]), {})
        for name in names:
            bucket[name] = bucket.get(name, 0) + row.get(name, 0)
    month_rows = [{"month": key[0], "unit": key[1], "item_code": key[2], "clerk": key[3], **values}
                  for key, values in months.items()]
    day_rows = [{"day": row["day"], "unit": row["unit"], "item_code": row["item_code"], "clerk": row["clerk"],
                 **{name: row.get(name, 0) for name in names}} for row in rows]
    for table, first, found in ((st.case_days, "day", day_rows), (st.case_months, "month", month_rows)):
        key = (conn.dialect.name, table.name, tuple(names))
        if key not in _UPSERTS:
            statement = insert(table)
            _UPSERTS[key] = statement.on_conflict_do_update(
                index_elements=[table.c[first], table.c.unit, table.c.item_code, table.c.clerk],
                set_={name: table.c[name] + statement.excluded[name] for name in names})
        st.execute_many(conn, _UPSERTS[key], table, found)  # the other sums start at their default, 0


def rating_values(level: int, scores) -> dict:
    """What one rating adds to its day: one rating, one at its level, its four sub-scores."""
    return {"ratings": 1, f"level_{int(level)}": 1,
            **dict(zip(("overall", "efficiency", "quality", "attitude"), (int(s) for s in scores)))}


def rated(conn, rating) -> None:
    """Inside the unit of work that records ``rating`` (a mapping of a ``ratings`` row): add it to its day."""
    values = rating_values(rating["level"], (rating["overall"], rating["efficiency"], rating["quality"],
                                             rating["attitude"]))
    _upsert_days(conn, [{"day": rating["rated_on"], "unit": rating["unit"], "item_code": rating["item_code"],
                         "clerk": rating["clerk"] or "", **values}], tuple(values))


# -- pauses (art. 45): from the pause and resume events --------------------------------------

def pause_intervals(rows) -> dict[int, list[list]]:
    """``{case_id: [[paused_on, resumed_on or None], …]}`` from pause and resume events in log order."""
    out: dict[int, list[list]] = {}
    for row in rows:
        day = dt.date.fromisoformat(row.on)
        spans = out.setdefault(row.case_id, [])
        if row.action == "pause":
            spans.append([day, None])
        elif spans and spans[-1][1] is None:
            spans[-1][1] = day
    return out


def _pause_events(case_ids=None):
    """The pause and resume events (of ``case_ids``, else all) in log order, by the events' action index."""
    e = st.events
    query = (select(e.c.case_id, e.c.action, e.c.detail["on"].as_string().label("on"))
             .where(e.c.action.in_(("pause", "resume"))).order_by(e.c.id)
             .with_hint(e, "INDEXED BY ix_events_action_case", "sqlite"))
    return query.where(e.c.case_id.in_(case_ids)) if case_ids is not None else query.where(e.c.case_id.is_not(None))


def _pause_rows(case_rows_by_id: dict, intervals: dict[int, list[list]]) -> list[dict]:
    out = []
    for case_id, spans in intervals.items():
        row = case_rows_by_id.get(case_id)
        if row is None:
            continue
        for seq, (paused_on, resumed_on) in enumerate(spans, start=1):
            out.append({"case_id": case_id, "seq": seq, "unit": row.unit, "item_code": row.item_code,
                        "clerk": row.clerk or "", "received_on": row.received_on, "concluded_on": row.concluded_on,
                        "paused_on": paused_on, "resumed_on": resumed_on})
    return out


def refresh(conn, calendar, case_rows, *, new_ids=frozenset()) -> None:
    """Recount the facts of ``case_rows`` (rows of ``cases``) and move their additions.

    ``new_ids``: cases inserted in this transaction, which have no facts, pauses or pause
    events yet, so nothing of theirs is read or deleted (four statements fewer per receive).
    """
    case_rows = list(case_rows)
    if not case_rows:
        return
    ids = [row.id for row in case_rows if row.id not in new_ids]
    c = st.case_facts
    old = [dict(row._mapping) for row in conn.execute(select(c).where(c.c.case_id.in_(ids)))] if ids else []
    new = [of_case(calendar, row) for row in case_rows]
    delta: dict[tuple, dict] = {}
    for facts, sign in [*((f, -1) for f in old), *((f, 1) for f in new)]:
        for key, values in additions(facts).items():
            bucket = delta.setdefault(key, {})
            for name, value in values.items():
                bucket[name] = bucket.get(name, 0) + sign * value
    rows = [{"day": key[0], "unit": key[1], "item_code": key[2], "clerk": key[3], **values}
            for key, values in delta.items() if any(values.values())]
    _upsert_days(conn, rows)
    if ids:
        conn.execute(delete(c).where(c.c.case_id.in_(ids)))
    conn.execute(c.insert(), new)
    if not ids:
        return
    p = st.case_pauses
    conn.execute(delete(p).where(p.c.case_id.in_(ids)))
    pauses = _pause_rows({row.id: row for row in case_rows}, pause_intervals(conn.execute(_pause_events(ids))))
    if pauses:
        conn.execute(p.insert(), pauses)


def _counter(conn, scope: str) -> int | None:
    return conn.execute(select(st.counters.c.value).where(st.counters.c.scope == scope)).scalar()


def _set_counter(conn, scope: str, value: int) -> None:
    done = conn.execute(st.counters.update().where(st.counters.c.scope == scope).values(value=value)).rowcount
    if not done:
        conn.execute(st.counters.insert().values(scope=scope, value=value))


def _generation(conn) -> int:
    return st.peek_number(conn, st.STORE_GENERATION) - 1


def _follow(work) -> None:
    """Inside a unit of work that touched records: recount the touched cases' facts.

    The facts stay marked current only if they were current before this write and were
    counted with the calendar this write used.
    """
    conn, calendar = work.conn, work.session.calendar
    # The generation this write's change-log entry takes as the transaction's last statement
    # (core.changelog.append, after these hooks). On PostgreSQL a concurrent writer may take
    # it first; the stamp then lags one behind and the next report recounts (slower, never wrong).
    # (the three counters in one statement: every write runs this)
    counters = dict(conn.execute(_FOLLOW_COUNTERS).all())
    generation = (counters.get(st.STORE_GENERATION) or 0) + 1  # st.peek_number
    numbers = [key for kind, key in work.touched if kind == "case"]
    if numbers:
        refresh(conn, calendar, conn.execute(select(*_CASE_COLUMNS).where(st.cases.c.case_no.in_(numbers))),
                new_ids=work.new_case_ids)
    if counters.get(GENERATION) == generation - 1 and counters.get(CALENDAR) == calendar_stamp(calendar):
        _set_counter(conn, GENERATION, generation)


_FOLLOW_COUNTERS = select(st.counters.c.scope, st.counters.c.value).where(
    st.counters.c.scope.in_([st.STORE_GENERATION, GENERATION, CALENDAR]))

subscribe_within(_follow)


# The columns of ``cases`` the facts are counted from (what :func:`of_case` and the pauses read).
_CASE_COLUMNS = tuple(st.cases.c[name] for name in (
    "id", "unit", "item_code", "clerk", "status", "decision", "received_on", "accepted_on", "check_due_on",
    "deemed_accepted", "due_on", "concluded_on", "promised_days", "statutory_days", "extended_days",
    "paused_workdays"))


def rebuild(conn, calendar, progress=None) -> int:
    """Count every case's facts and the day sums again from the cases; returns the cases counted.

    Used by the migration that brought the tables in and whenever the facts are stale.
    """
    # Writers take the next store generation first: holding its row keeps them out meanwhile.
    conn.execute(select(st.counters.c.value).where(st.counters.c.scope == st.STORE_GENERATION).with_for_update())
    conn.execute(delete(st.case_days))
    conn.execute(delete(st.case_months))
    conn.execute(delete(st.case_facts))
    conn.execute(delete(st.case_pauses))
    days: dict[tuple, list[int]] = {}
    index = {name: i for i, name in enumerate(DAY_VALUES)}

    def add(key, values):
        vector = days.get(key)
        if vector is None:
            vector = days[key] = [0] * len(DAY_VALUES)
        for name, value in values.items():
            vector[index[name]] += value

    intervals = pause_intervals(conn.execute(_pause_events()))
    done, last = 0, 0
    while True:
        chunk = conn.execute(select(*_CASE_COLUMNS).where(st.cases.c.id > last).order_by(st.cases.c.id)
                             .limit(CHUNK)).all()
        if not chunk:
            break
        last = chunk[-1].id
        facts = [of_case(calendar, row) for row in chunk]
        for f in facts:
            for key, values in additions(f).items():
                add(key, values)
        conn.execute(st.case_facts.insert(), facts)
        pauses = _pause_rows({row.id: row for row in chunk if row.id in intervals}, intervals)
        if pauses:
            conn.execute(st.case_pauses.insert(), pauses)
        done += len(chunk)
        if progress:
            progress(done)
    r = st.ratings
    for row in conn.execute(select(r.c.rated_on, r.c.unit, r.c.item_code, r.c.clerk, r.c.level, r.c.overall,
                                   r.c.efficiency, r.c.quality, r.c.attitude)):
        add((row.rated_on, row.unit, row.item_code, row.clerk or ""),
            rating_values(row.level, (row.overall, row.efficiency, row.quality, row.attitude)))
    months: dict[tuple, list[int]] = {}
    for key, vector in days.items():
        month = (key[0].replace(day=1), *key[1:])
        found = months.get(month)
        months[month] = vector if found is None else [a + b for a, b in zip(found, vector)]
    for table, first, sums in ((st.case_days, "day", days), (st.case_months, "month", months)):
        rows = [{first: key[0], "unit": key[1], "item_code": key[2], "clerk": key[3], **dict(zip(DAY_VALUES, vector))}
                for key, vector in sums.items()]
        for start in range(0, len(rows), CHUNK):
            conn.execute(table.insert(), rows[start:start + CHUNK])
    _set_counter(conn, GENERATION, _generation(conn))
    _set_counter(conn, CALENDAR, calendar_stamp(calendar))
    return done


def current(conn, calendar) -> bool:
    """Whether the facts reflect every committed change, counted with ``calendar``."""
    return (_counter(conn, GENERATION) == _generation(conn)
            and _counter(conn, CALENDAR) == calendar_stamp(calendar))


def ensure(session) -> None:
    """Count the facts again from the cases if they are stale (see the module's docstring)."""
    calendar = session.calendar
    with session.store.read() as conn:
        if current(conn, calendar):
            return
    with session.store.write() as conn:
        if not current(conn, calendar):
            rebuild(conn, calendar)


def inexact_within(conn, start: dt.date, end: dt.date) -> bool:
    """Whether a case whose facts are inexact may count in ``[start, end]``."""
    c = st.case_facts
    return bool(conn.execute(select(exists().where(
        c.c.exact.is_(False), c.c.received_on <= end,
        or_(c.c.concluded_on.is_(None), c.c.concluded_on >= start)))).scalar())


def day_sums(conn, start: dt.date, end: dt.date, unit_condition_of) -> list:
    """``(unit, item, clerk, *DAY_VALUES)`` rows whose sums are those of ``[start, end]``.

    The whole calendar months inside the period come from ``case_months``, the days before
    and after them from ``case_days``; a key may have a row from each (callers add them).
    ``unit_condition_of(table)`` narrows a table to the caller's units.
    """
    from sqlalchemy import func

    first = start if start.day == 1 else _next_month(start)
    last = first
    while _next_month(last) - dt.timedelta(days=1) <= end:
        last = _next_month(last)
    # Whole months: [first, last); days: [start, first) and [last, end] (all days if no whole month).
    parts = []
    if last > first:
        m = st.case_months
        parts.append((m, and_(m.c.month >= first, m.c.month < last)))
        day_ranges = [(start, first - dt.timedelta(days=1)), (last, end)]
    else:
        day_ranges = [(start, end)]
    d = st.case_days
    days = [and_(d.c.day >= a, d.c.day <= b) for a, b in day_ranges if a <= b]
    if days:
        parts.append((d, or_(*days)))
    rows = []
    for table, condition in parts:
        rows += conn.execute(select(table.c.unit, table.c.item_code, table.c.clerk,
                                    *(func.sum(table.c[name]) for name in DAY_VALUES))
                             .where(condition, unit_condition_of(table))
                             .group_by(table.c.unit, table.c.item_code, table.c.clerk)).all()
    return rows


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def pauses(conn, start: dt.date, end: dt.date, as_of: dt.date, unit_condition):
    """``(case_id, unit, item, clerk, paused_on, resumed_on)`` of the pauses that may fall in the period.

    Those of cases received by ``end`` and not concluded before ``start`` (as the events'
    reading of :func:`archive.supervision.figures._pause_rows` selects them), begun by
    ``as_of`` and not resumed before ``start``.
    """
    p = st.case_pauses
    # Tens of thousands of rows: SQLite's dates are read as their ISO text and parsed by the
    # standard library, several times faster than the generic Date type does.
    raw = conn.dialect.name == "sqlite"
    day = (lambda column: type_coerce(column, String).label(column.name)) if raw else (lambda column: column)
    rows = conn.execute(select(p.c.case_id, p.c.unit, p.c.item_code, p.c.clerk, day(p.c.paused_on), day(p.c.resumed_on))
                        .where(p.c.received_on <= end, or_(p.c.concluded_on.is_(None), p.c.concluded_on >= start),
                               p.c.paused_on <= as_of, or_(p.c.resumed_on.is_(None), p.c.resumed_on >= start),
                               unit_condition)
                        .order_by(p.c.case_id, p.c.seq))
    if not raw:
        return rows.all()
    parse = dt.date.fromisoformat
    return [(case_id, unit, item, clerk, parse(paused), resumed and parse(resumed))
            for case_id, unit, item, clerk, paused, resumed in rows.all()]
