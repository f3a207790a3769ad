"""Supervision (电子监察) in the browser: the dashboard, the hall's big screen, drill-down, ratings.

Each view calls one library function with the signed-in account's session; which view a
role gets (a clerk's own figures, a unit head's units, the centre's) and what it may see
is decided by ``archive.supervision.dashboard`` from the account's units — never here.

- ``GET /supervision``: the dashboard of a month (``?month=YYYY-MM``), charts as SVG;
- ``GET /supervision/cases?figure=…``: the cases behind a figure, each linked to its case page;
- ``GET /supervision/screen``: the big screen for the hall (refreshes itself through htmx,
  ``?every=`` seconds), ``/supervision/screen/panel`` is what it fetches;
- ``GET /supervision/report.xlsx|.pdf``: the month's window report, built on request;
- ``GET /supervision/ratings``: bad ratings to follow up; ``/supervision/ratings/{case}``:
  a case's rating, the form to record it at the window, the follow-up and rectification;
- ``GET /api/v1/reports/window?month=``: the report's JSON (as ``archive report window --json``).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from archive.core.errors import InputError

from . import charts
from .common import desk, render, status_of, unit_short_names

router = APIRouter()

STATES = (("open_on_track", "正常", "on_track"), ("open_blue", "蓝牌", "blue"), ("open_yellow", "黄牌", "yellow"),
          ("open_red", "红牌", "red"), ("open_paused", "暂停计时", "paused"))
TILES = (("received", "收件"), ("concluded", "办结"), ("on_the_spot_rate", "即办率"), ("on_time_rate", "按时办结率"),
         ("early_rate", "提前办结率"), ("overdue", "超期件"), ("open", "在办件"), ("deemed_accepted", "视为受理"),
         ("avg_workdays_used", "平均用时（工作日）"), ("satisfaction_rate", "满意率"))
# The figure whose cases a tile lists (a rate lists the cases of its numerator).
TILE_CASES = {"received": "received", "concluded": "concluded", "on_the_spot_rate": "on_the_spot",
              "on_time_rate": "on_time", "early_rate": "early", "overdue": "overdue", "open": "open",
              "deemed_accepted": "deemed_accepted", "avg_workdays_used": "concluded"}


def _month(month: str | None) -> str | None:
    return (month or "").strip() or None


def _drill(month: str, figure: str, **where) -> str:
    from urllib.parse import urlencode

    query = {"figure": figure, "month": month, **{k: v for k, v in where.items() if v}}
    return "/supervision/cases?" + urlencode(query)


def _charts(here, board, *, big: bool = False) -> dict:
    """The dashboard's charts as SVG markup (units by their short names)."""
    month = f"{board.period.start:%Y-%m}"
    if board.viewer.kind == "clerk":
        lines = [(line.name, line.figures.on_time_rate, f"（{line.figures.on_time}/{line.figures.concluded}）",
                  _drill(month, "on_time", item=line.code)) for line in board.items]
        title = "各事项按时办结率"
    else:
        units = here.session.ws.units
        lines = [(units.get(line.code, {}).get("short_name") or line.name, line.figures.on_time_rate,
                  f"（{line.figures.on_time}/{line.figures.concluded}）", _drill(month, "on_time", unit=line.code))
                 for line in board.units]
        title = "各单位按时办结率"
    t = board.totals
    states = [(label, getattr(t, key), colour, _drill(month, key)) for key, label, colour in STATES]
    levels = list(t.to_dict()["ratings_by_level"].items())
    return {
        "rates": charts.rate_bars(lines, title=title, big=big) if lines else None, "rates_title": title,
        "states": charts.state_bar(states, title="在办件状态", big=big),
        "levels": charts.count_bars(levels, title="好差评等级分布", big=big),
    }


def _tiles(board) -> list[dict]:
    month = f"{board.period.start:%Y-%m}"
    values = board.totals.to_dict()
    out = []
    for key, label in TILES:
        value = values[key]
        if key.endswith("_rate"):
            shown = "—" if value is None else f"{value * 100:.1f}%"
        elif value is None:
            shown = "—"
        else:
            shown = f"{value:g}" if isinstance(value, float) else f"{value:,}"
        href = _drill(month, TILE_CASES[key]) if key in TILE_CASES else "/supervision/ratings"
        out.append({"key": key, "label": label, "value": shown, "href": href,
                    "alarm": key in ("overdue", "deemed_accepted") and bool(value)})
    return out


@router.get("/supervision", include_in_schema=False)
def dashboard_page(request: Request, month: str | None = None):
    from archive.supervision import dashboard

    here = desk(request)
    board = dashboard.dashboard(here.session, month=_month(month))
    return render(request, "supervision.html", {
        "csrf": here.csrf, "board": board, "tiles": _tiles(board), "charts": _charts(here, board),
        "month": f"{board.period.start:%Y-%m}", "drill": _drill, "today": here.session.today,
        "units": unit_short_names(here)})


@router.get("/supervision/cases", include_in_schema=False)
def cases_page(request: Request, figure: str = "", month: str | None = None, unit: str | None = None,
               item: str | None = None, clerk: str | None = None):
    from archive.supervision import dashboard

    here = desk(request)
    drill = dashboard.cases_behind(here.session, figure, month=_month(month), unit=unit or None,
                                   item=item or None, clerk=clerk or None)
    return render(request, "supervision_cases.html", {"csrf": here.csrf, "drill": drill,
                                                      "month": f"{drill.period.start:%Y-%m}"})


def _every(every: int) -> int:
    return max(5, min(every, 3600))


@router.get("/supervision/screen", include_in_schema=False)
def screen_page(request: Request, every: int = Query(60, ge=1, le=86400)):
    from archive.supervision import dashboard

    here = desk(request)
    board = dashboard.dashboard(here.session)
    return render(request, "screen.html", {"csrf": here.csrf, "every": _every(every), **_screen(here, board)})


@router.get("/supervision/screen/panel", include_in_schema=False)
def screen_panel(request: Request):
    from archive.supervision import dashboard

    here = desk(request)
    board = dashboard.dashboard(here.session)
    return render(request, "_screen_panel.html", _screen(here, board))


def _screen(here, board) -> dict:
    return {"board": board, "tiles": _tiles(board), "charts": _charts(here, board, big=True), "units": unit_short_names(here),
            "updated": here.session.now().strftime("%H:%M:%S"), "today": here.session.today}


@router.get("/supervision/report.{fmt}", include_in_schema=False)
def report_download(request: Request, fmt: str, month: str | None = None):
    """The month's window report as a workbook or a printable PDF, built for the caller's scope."""
    from archive.supervision import dashboard, report

    if fmt not in ("xlsx", "pdf"):
        return Response(status_code=404)
    here = desk(request)
    who = dashboard.require_units(here.session)
    result = report.window(here.session, scope=who.scope, month=_month(month), record=False)
    if fmt == "xlsx":
        from archive.supervision.workbook import workbook_bytes

        data, media = workbook_bytes(result), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        from archive.supervision.printout import pdf_bytes

        data, media = pdf_bytes(result), "application/pdf"
    from urllib.parse import quote

    name = f"窗口办件监察报表{result.period.start:%Y-%m}.{fmt}"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"report-{result.period.start:%Y-%m}.{fmt}\"; "
                               f"filename*=UTF-8''{quote(name)}"})


# -- ratings at the window ----------------------------------------------------------------------

@router.get("/supervision/ratings", include_in_schema=False)
def ratings_page(request: Request):
    from archive.supervision import dashboard, ratings

    here = desk(request)
    who = dashboard.viewer(here.session)
    rows = ratings.list_ratings(here.session, scope=who.scope, bad_only=True)
    if who.kind == "clerk":
        rows = [r for r in rows if r.clerk == who.clerk]
    return render(request, "ratings.html", {"csrf": here.csrf, "rows": rows, "today": here.session.today})


def _rating_context(here, case_no: str, values: dict, errors: dict) -> dict:
    from archive.core.errors import NotFoundError
    from archive.supervision import dashboard, ratings
    from archive.supervision.figures import LEVELS, SUBSCORES
    from archive.window import cases

    who = dashboard.viewer(here.session)  # 403 for a role that takes no part in supervision
    case = cases.show(here.session, case_no)  # 404 outside the account's units
    try:
        rating = ratings.show(here.session, case.case_no, scope=who.scope)
    except NotFoundError:
        rating = None
    return {"csrf": here.csrf, "case": case, "rating": rating, "levels": LEVELS, "subscores": SUBSCORES,
            "sources": ratings.SOURCES, "values": values, "errors": errors, "today": here.session.today.isoformat()}


@router.get("/supervision/ratings/{case_no}", include_in_schema=False)
def rating_page(request: Request, case_no: str):
    here = desk(request)
    return render(request, "rating.html", _rating_context(here, case_no, {"source": "device"}, {}))


@router.post("/supervision/ratings/{case_no}", include_in_schema=False)
def rating_form(request: Request, case_no: str, level: str = Form(""), overall: str = Form(""),
                efficiency: str = Form(""), quality: str = Form(""), attitude: str = Form(""),
                source: str = Form("device"), comment: str = Form(""), csrf_token: str = Form("")):
    from archive.supervision import ratings
    from archive.supervision.scope import scope_for

    here = desk(request)
    here.check_csrf(csrf_token)
    values = {"level": level, "overall": overall, "efficiency": efficiency, "quality": quality,
              "attitude": attitude, "source": source, "comment": comment}
    try:
        ratings.record(here.session, case_no, level=level, overall=overall, efficiency=efficiency, quality=quality,
                       attitude=attitude, source=source, comment=comment or None, scope=scope_for(here.session))
    except InputError as exc:
        if status_of(exc) != 400:  # refused, not found, or the wrong state: the error page says why
            raise
        context = _rating_context(here, case_no, values, {exc.field or "level": exc.message})
        return render(request, "rating.html", context, status_code=400)
    return RedirectResponse(f"/supervision/ratings/{case_no}", status_code=303)


@router.post("/supervision/ratings/{case_no}/{step}", include_in_schema=False)
def rating_step(request: Request, case_no: str, step: str, text: str = Form(""), csrf_token: str = Form("")):
    """The follow-up call (``follow-up``) or what was put right (``rectify``) of a bad rating."""
    from archive.supervision import ratings
    from archive.supervision.scope import scope_for

    if step not in ("follow-up", "rectify"):
        return Response(status_code=404)
    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        if step == "follow-up":
            ratings.follow_up(here.session, case_no, note=text, scope=scope_for(here.session))
        else:
            ratings.rectify(here.session, case_no, action=text, scope=scope_for(here.session))
    except InputError as exc:
        if status_of(exc) != 400:
            raise
        context = _rating_context(here, case_no, {}, {step: exc.message})
        return render(request, "rating.html", context, status_code=400)
    return RedirectResponse(f"/supervision/ratings/{case_no}", status_code=303)


# -- API ----------------------------------------------------------------------------------------

@router.get("/api/v1/reports/window", tags=["监察"], summary="窗口办件监察报表（同 archive report window --json）")
def report_json(request: Request, month: str | None = Query(None, description="YYYY-MM，默认本月"),
                unit: str | None = Query(None, description="只看一个单位")):
    from archive.supervision import dashboard, report

    here = desk(request)
    who = dashboard.require_units(here.session)
    return report.window(here.session, scope=who.scope, month=_month(month), unit=unit or None,
                         record=False).to_dict()
