"""What each case looks like to supervision, as SQL expressions over the cases table.

One definition serves the figures (summed with GROUP BY), the warnings (listed) and the
red cards (recorded), so a case counted overdue in the report is the case on the red
list. Working days come from the ordinal table of :mod:`.workdays`: the working days in
``(a, b]`` are ``n(b) - n(a)``.

Definitions (period ``[start, end]``, ``as_of`` = the day open cases are judged on):

- *accepted on*: ``accepted_on``; a case whose 5-working-day supplement window passed
  before ``as_of`` without a notice is accepted from the day of receipt (law art. 32(4)),
  even if no list or show has recorded the deemed acceptance yet;
- *due*: ``due_on`` as the store holds it (moved by pauses and the extension); for a
  deemed acceptance not yet recorded, the promised days counted from receipt;
- *days used*: working days from acceptance to conclusion, less the paused working days;
- *on time*: concluded no later than the due date in working days (a case settled on the
  Saturday after a Friday due date used no extra working day); *early*: days used below the
  promised days (before the promised date, extension not counted);
- *open on as_of*: accepted by then and not concluded by then; its *days left* are the
  working days from ``as_of`` to the due date: below 0 red, up to the yellow threshold
  yellow, up to the blue threshold blue; a case whose clock is stopped (art. 45) is
  *paused* and has no colour.

Open cases are judged with the dates the store holds now: for a past ``as_of`` a pause
since resumed, or an extension granted later, shows as it stands today.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, literal, or_, select

from ..core import store as st


@dataclass(frozen=True)
class Clock:
    """The period, the day open cases are judged on and the warning thresholds."""

    start: object  # dt.date
    end: object
    as_of: object
    as_of_n: int  # the working-day ordinal of as_of
    yellow: int  # days left up to which a case is yellow
    blue: int  # days left up to which a case is blue


def clerk_join(cases):
    """``cases`` and the expression of its clerk (who received the case).

    ``cases.clerk`` is copied from the receive event by a store trigger (migration 0005),
    so grouping by it needs no join; a case without one is grouped under "".
    """
    return cases, func.coalesce(cases.c.clerk, "")


# The ordinal of a day the table lacks: sums that meet it run past this size, and the query
# is run again over every loaded year (see :func:`archive.supervision.figures.compute`).
MISSING = 10 ** 9


class CaseFacts:
    """The per-case expressions for one query.

    They are written for a month of a million cases: the cheapest test that rules most
    cases out comes first (most cases of a month are concluded in it, so the open-case
    expressions start with the conclusion date), and a day's ordinal is looked up only
    where plain date comparison cannot decide — on SQLite by a scalar look-up evaluated
    only when reached (``lazy``), on PostgreSQL by hash joins, which cost less than
    deciding.
    """

    def __init__(self, wd_table, clock: Clock, *, lazy: bool = True, joins=("wr", "wa", "wk", "wd")):
        c = self.c = st.cases
        self.clock = clock
        col = c.c
        joined, self.clerk = clerk_join(c)

        def looked_up(column):
            found = select(wd_table.c.n).where(wd_table.c.day == column).scalar_subquery()
            return func.coalesce(found, -MISSING)

        if lazy:
            def n(column, _name):
                return looked_up(column)
            self.source = joined
        else:
            # ``joins``: the days (wr received, wa accepted, wk concluded, wd due) joined; others are looked up.
            aliases = {}
            source = joined
            for name, column in (("wr", col.received_on), ("wa", col.accepted_on), ("wk", col.concluded_on),
                                 ("wd", col.due_on)):
                if name in joins:
                    aliases[name] = alias = wd_table.alias(name)
                    source = source.outerjoin(alias, alias.c.day == column)
            self.source = source

            def n(column, name):
                return func.coalesce(aliases[name].c.n, -MISSING) if name in aliases else looked_up(column)
        n_received, n_accepted = n(col.received_on, "wr"), n(col.accepted_on, "wa")
        n_concluded, n_due = n(col.concluded_on, "wk"), n(col.due_on, "wd")
        start, end, as_of = clock.start, clock.end, clock.as_of

        def within(column):
            return and_(column >= start, column <= end)

        # A supplement window that ran out before as_of without a notice: accepted from receipt.
        self.deemed_pending = and_(col.status == "received", col.check_due_on < as_of)
        self.due_n = case((col.status == "received", n_received + col.promised_days), else_=n_due)

        # Read by a plain scan: an index range on received_on <= end would cover nearly every
        # case anyway, and visit them in random order (the COALESCE keeps SQLite off the index).
        self.relevant = and_(func.coalesce(col.received_on, col.received_on) <= end,
                             or_(col.received_on >= start, col.concluded_on.is_(None), col.concluded_on >= start))
        self.received = within(col.received_on)
        # A refused case has no acceptance date, so it never counts as accepted or open.
        self.accepted = or_(within(col.accepted_on), and_(self.deemed_pending, within(col.received_on)))
        self.not_accepted = and_(within(col.concluded_on), col.status == "not_accepted")
        self.concluded = and_(within(col.concluded_on), col.status == "concluded")
        self.approved = and_(self.concluded, col.decision == "approved")
        self.denied = and_(self.concluded, col.decision == "denied")
        self.on_the_spot = and_(self.concluded, col.concluded_on == col.received_on)
        # Days used; a case settled the day it was accepted used none.
        self.used = case((col.concluded_on == col.accepted_on, 0),
                         else_=n_concluded - n_accepted - col.paused_workdays)
        # On time: no working day past the due date (a Saturday after a Friday due date is).
        self.on_time = and_(self.concluded, or_(col.concluded_on <= col.due_on, n_concluded <= n_due))
        self.overdue_concluded = and_(self.concluded, col.concluded_on > col.due_on, n_concluded > n_due)
        self.concluded_over = n_concluded - n_due
        # Early: before the promised date — the due date, or without the extension if there was one
        # (the due date is a working day whenever promised days are counted).
        self.promised_concluded = and_(self.concluded, col.promised_days > 0)
        self.early = and_(self.promised_concluded, or_(
            and_(col.extended_days == 0, col.concluded_on < col.due_on),
            and_(col.extended_days > 0, n_concluded < n_due - col.extended_days)))
        self.deemed = and_(within(col.check_due_on), or_(col.deemed_accepted.is_(True), self.deemed_pending))

        self.open = and_(or_(col.concluded_on.is_(None), col.concluded_on > as_of),
                         or_(col.accepted_on <= as_of, self.deemed_pending))
        self.paused_now = and_(col.status == "paused", col.paused_on <= as_of, self.open)
        running = and_(self.open, or_(col.status != "paused", col.paused_on > as_of))
        self.left = self.due_n - literal(clock.as_of_n)
        self.red = and_(running, self.left < 0)
        self.yellow = and_(running, self.left >= 0, self.left <= clock.yellow)
        self.blue = and_(running, self.left > clock.yellow, self.left <= clock.blue)
        self.on_track = and_(running, self.left > clock.blue)
        # The same five states as one value, for an open case (``open`` already holds): decided
        # once per case instead of once per figure. None: counted in none (as above).
        paused = col.status == "paused"
        self.state = case((and_(paused, col.paused_on <= as_of), "paused"), (and_(paused, col.paused_on.is_(None)), None),
                          (self.left < 0, "red"), (self.left <= clock.yellow, "yellow"),
                          (self.left <= clock.blue, "blue"), (self.left > clock.blue, "on_track"), else_=None)


def count(condition):
    return func.sum(case((condition, 1), else_=0))


def total(condition, value):
    return func.sum(case((condition, value), else_=0))


def uncovered_year(conn, facts: CaseFacts, wd_table) -> int | None:
    """The earliest year of a relevant case's date that ``wd_table`` lacks."""
    col = facts.c.c
    days = []
    for column in (col.received_on, col.accepted_on, col.concluded_on, col.due_on):
        found = conn.execute(select(func.min(column)).select_from(facts.c)
                             .where(facts.relevant, column.is_not(None),
                                    ~exists().where(wd_table.c.day == column))).scalar()
        if found is not None:
            days.append(found)
    return min(days).year if days else None
