"""What the supervision pages show each caller: their figures, lists and the cases behind a figure.

Three views, chosen from the caller's role and scope (:func:`viewer`), never by a skin:

- *clerk* (``supervision.own``): the clerk's own figures — the cases they received — with
  their items, their warnings and red cards;
- *units* (``supervision.read`` with a unit scope, a unit head): the figures of the units
  in scope, unit by unit and clerk by clerk;
- *centre* (``supervision.read`` without a unit scope, the principal): the whole centre.

:func:`cases_behind` lists the cases a figure counts (the drill-down), judged with the
very expressions of :mod:`.facts` that the scan of :func:`.figures.compute` sums, so the
list of a figure has as many cases as the figure says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from ..core import access
from ..core.errors import ForbiddenError, InputError, NotFoundError
from . import alerts, ratings
from . import facts as fx
from . import figures as fg
from . import workdays
from .scope import Scope, allows, scope_for, units_in, where_unit


@dataclass(frozen=True)
class Viewer:
    kind: str  # clerk | units | centre
    scope: Scope
    clerk: str | None  # the clerk's own name in the clerk's view


def viewer(session) -> Viewer:
    """Which view the session's account gets; ForbiddenError for a role without one."""
    role = access.role_of(session)
    scope = scope_for(session)
    if role.may("supervision.read"):
        return Viewer("centre" if scope is None else "units", scope, None)
    if role.may("supervision.own") and session.user is not None:
        return Viewer("clerk", scope, session.user.name)
    access.require(session, "supervision.read")  # raises, naming the role
    raise ForbiddenError("无权查看监察统计")  # pragma: no cover (require raised)


def require_units(session) -> Viewer:
    """The viewer when it may see whole units' figures (the report, its downloads, the API)."""
    found = viewer(session)
    if found.kind == "clerk":
        access.require(session, "supervision.read")
    return found


@dataclass(frozen=True)
class Line:
    """A row of the dashboard's table: a unit, an item or a clerk."""

    code: str
    name: str
    unit: str
    figures: fg.Figures


@dataclass(frozen=True)
class Dashboard:
    viewer: Viewer
    title: str
    period: fg.Period
    totals: fg.Figures
    units: tuple[Line, ...]  # the units in view (units and centre views)
    items: tuple[Line, ...]  # the clerk's items (clerk view)
    clerks: tuple[Line, ...]  # the clerks of the units in view (units view)
    warnings: tuple[alerts.CaseWarning, ...]  # the first ``shown`` red, yellow and blue as of today, most urgent first
    red_cards: tuple[alerts.RedCard, ...]  # the first ``shown`` in force during the period
    to_follow: tuple[ratings.Rating, ...]  # bad ratings not yet put right
    warning_counts: dict  # {level: how many open cases have it}
    red_card_count: int  # how many cards were in force during the period
    shown: int  # how many of each list are fetched

    @property
    def warning_count(self) -> int:
        return sum(self.warning_counts.values())


# How many warnings of each level, and red cards, a dashboard lists (the rest are counted).
SHOWN = 50


def dashboard(session, *, month: str | None = None, date_from=None, date_to=None, shown: int = SHOWN) -> Dashboard:
    """The caller's dashboard for a month (the current one by default).

    Of the warnings (each level) and the red cards it fetches the first ``shown`` and
    counts the rest in the store.
    """
    who = viewer(session)
    per = fg.period(session.today, month=month, date_from=date_from, date_to=date_to)
    breakdown = fg.compute(session, per, scope=who.scope)
    names = _item_names(session)
    centre = session.ws.centre.get("name", "政务服务中心")
    units_conf = session.ws.units
    if who.kind == "clerk":
        mine = {key: value for key, value in breakdown.by(0, 1, 2).items() if key[2] == who.clerk}
        totals = sum(mine.values(), fg.Figures())
        items = tuple(Line(item, names.get(item, item), unit, value)
                      for (unit, item, _), value in sorted(mine.items()))
        units, clerks = (), ()
        title = f"{who.clerk}的办件监察"
    else:
        totals = breakdown.total()
        by_unit = breakdown.by(0)
        units = tuple(Line(code, units_conf[code].get("name", code), code, by_unit.get((code,), fg.Figures()))
                      for code in units_in(session, who.scope))
        clerks = tuple(Line(clerk or "（未记录）", clerk or "（未记录）", unit, value)
                       for (unit, clerk), value in sorted(breakdown.by(0, 2).items()))
        items = ()
        title = f"{centre}办件监察" if who.kind == "centre" else \
            f"{'、'.join(units_conf[c].get('name', c) for c in units_in(session, who.scope))}办件监察"
    mine = who.clerk if who.kind == "clerk" else None
    warnings = [w for level in alerts.LEVELS
                for w in alerts.current(session, scope=who.scope, levels=(level,), limit=shown, clerk=mine)]
    warning_counts = alerts.counts(session, scope=who.scope, clerk=mine)
    window = dict(scope=who.scope, date_from=per.start, date_to=per.end, clerk=mine)
    cards = alerts.red_cards(session, limit=shown, **window)
    card_count = alerts.count_red_cards(session, **window)
    pending = ratings.list_ratings(session, scope=who.scope, bad_only=True, pending_only=True)
    if mine is not None:
        pending = [r for r in pending if r.clerk == mine]
    return Dashboard(who, title, per, totals, units, items, clerks, tuple(warnings), tuple(cards), tuple(pending),
                     warning_counts, card_count, shown)


def _item_names(session) -> dict[str, str]:
    from ..core import store as st

    with session.store.read() as conn:
        return {row.code: row.name for row in conn.execute(select(st.items.c.code, st.items.c.name))}


# -- drill-down ------------------------------------------------------------------------------

# The figures whose cases can be listed, with what a case must be to count.
DRILLABLE = ("received", "accepted", "not_accepted", "concluded", "on_the_spot", "on_time", "early", "overdue",
             "overdue_concluded", "deemed_accepted", "open", "open_on_track", "open_blue", "open_yellow",
             "open_red", "open_paused")


def _condition(f: fx.CaseFacts, figure: str):
    return {
        "received": f.received, "accepted": f.accepted, "not_accepted": f.not_accepted,
        "concluded": f.concluded, "on_the_spot": f.on_the_spot, "on_time": f.on_time, "early": f.early,
        "overdue": or_(f.overdue_concluded, f.red), "overdue_concluded": f.overdue_concluded,
        "deemed_accepted": f.deemed, "open": or_(f.on_track, f.blue, f.yellow, f.red, f.paused_now),
        "open_on_track": f.on_track, "open_blue": f.blue, "open_yellow": f.yellow, "open_red": f.red,
        "open_paused": f.paused_now,
    }[figure]


@dataclass(frozen=True)
class CaseLine:
    case_no: str
    unit: str
    item_code: str
    item_name: str
    clerk: str
    status: str
    received_on: dt.date
    accepted_on: dt.date | None
    due_on: dt.date | None
    concluded_on: dt.date | None

    def to_dict(self) -> dict:
        def iso(day):
            return day.isoformat() if day else None

        return {"case": self.case_no, "unit": self.unit, "item": self.item_code, "item_name": self.item_name,
                "clerk": self.clerk, "status": self.status, "received_on": iso(self.received_on),
                "accepted_on": iso(self.accepted_on), "due_on": iso(self.due_on),
                "concluded_on": iso(self.concluded_on)}


@dataclass(frozen=True)
class Drill:
    figure: str
    label: str
    period: fg.Period
    unit: str | None
    item: str | None
    clerk: str | None
    count: int
    cases: tuple[CaseLine, ...]  # the first ``limit``, by case number


def cases_behind(session, figure: str, *, month: str | None = None, date_from=None, date_to=None,
                 unit: str | None = None, item: str | None = None, clerk: str | None = None,
                 limit: int = 200) -> Drill:
    """The cases a figure of the caller's dashboard counts (for a unit, item or clerk if given).

    A unit or clerk outside the caller's view looks like one with no cases: NotFoundError.
    """
    who = viewer(session)
    if figure not in DRILLABLE:
        listed = "、".join(f"{key}（{fg.LABELS[key]}）" for key in DRILLABLE)
        raise InputError(f"指标“{figure}”不能列出办件，可选：{listed}", field="figure")
    if unit is not None and (unit not in session.ws.units or not allows(who.scope, unit)):
        raise NotFoundError(f"找不到单位“{unit}”", field="unit")
    if who.kind == "clerk":
        if clerk not in (None, who.clerk):
            raise NotFoundError(f"找不到工作人员“{clerk}”的办件", field="clerk")
        clerk = who.clerk
    per = fg.period(session.today, month=month, date_from=date_from, date_to=date_to)
    calendar = session.calendar
    yellow, blue = fg.thresholds(session)
    years = calendar.years()
    span = (min(years), max(years))
    clock = fx.Clock(per.start, per.end, per.as_of, workdays.n_of(calendar, per.start, per.as_of, span), yellow, blue)
    names = _item_names(session)
    with session.store.read() as conn:
        with workdays.table(conn, calendar, per.start, span) as table:
            f = fx.CaseFacts(table, clock, lazy=conn.dialect.name == "sqlite")
            col = f.c.c
            where = [f.relevant, _condition(f, figure), where_unit(col.unit, who.scope)]
            if unit is not None:
                where.append(col.unit == unit)
            if item is not None:
                where.append(col.item_code == item)
            if clerk is not None:
                where.append(func.coalesce(col.clerk, "") == ("" if clerk == "（未记录）" else clerk))
            condition = and_(*where)
            count = conn.execute(select(func.count()).select_from(f.source).where(condition)).scalar() or 0
            rows = conn.execute(select(col.case_no, col.unit, col.item_code, col.clerk, col.status, col.received_on,
                                       col.accepted_on, col.due_on, col.concluded_on)
                                .select_from(f.source).where(condition).order_by(col.case_no).limit(limit)).all()
    from ..window.cases import STATUSES

    lines = tuple(CaseLine(r.case_no, r.unit, r.item_code, names.get(r.item_code, r.item_code), r.clerk or "",
                           STATUSES.get(r.status, r.status), r.received_on, r.accepted_on, r.due_on,
                           r.concluded_on) for r in rows)
    return Drill(figure, fg.LABELS[figure], per, unit, item, clerk, count, lines)
