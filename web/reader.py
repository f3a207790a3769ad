"""The reader's desk in the browser: search within what the account may see.

A query box with syntax help, facets (year, unit, class) as filters kept in the URL,
highlighted snippets, paging and sort. What a result may show is decided by the library's
search (clearance, units, unfiled cases); a result links to the case or volume page, which
checks again.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup, escape

from archive.core.errors import ArchiveError, ForbiddenError

from .common import desk, render, status_of, unit_short_names

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
FACETS = {"year": "年度", "unit": "单位", "class": "类别"}


def highlighted(snippet: str) -> Markup:
    """The library marks terms 【like this】; shown as <mark>, everything else escaped."""
    return Markup(str(escape(snippet)).replace("【", "<mark>").replace("】", "</mark>"))


@router.get("/search")
def search_page(request: Request, q: str = "", year: str = "", unit: str = "", cls: str = "", page: int = 1,
                sort: str = "relevance"):
    from archive.search import index

    here = desk(request)
    filters = {"q": q, "year": year, "unit": unit, "cls": cls, "sort": sort}
    result, error, status = None, None, 200
    if q.strip() or year or unit or cls:
        try:
            result = index.search(here.session, q[:500], year=year or None, unit=unit or None,
                                  classification=cls or None, page=max(1, min(page, 1000)), limit=PAGE_SIZE,
                                  sort=sort)
        except ForbiddenError:
            raise
        except ArchiveError as exc:  # a malformed query (400) or an index to rebuild (503), beside the box
            error, status = exc.message + (f"（{exc.hint}）" if exc.hint else ""), status_of(exc)

    quoted = {k: quote_plus(str(v)) for k, v in filters.items() if v not in ("", None)}  # once, not per link

    def link(**changes) -> str:
        """This search's URL with some parameters changed ("" drops one), as urlencode would write it."""
        parts = []
        for k, v in dict(filters, **changes).items():
            if v in ("", None) or (k == "sort" and v == "relevance"):
                continue
            parts.append(f"{k}={quoted[k] if k not in changes else quote_plus(str(v))}")
        return "/search?" + "&".join(parts)

    pages = 0 if result is None else (result.total + PAGE_SIZE - 1) // PAGE_SIZE
    facet_param = {"year": "year", "unit": "unit", "class": "cls"}
    return render(request, "search.html", {
        "csrf": here.csrf, "result": result, "error": error, "filters": filters, "page": page, "pages": pages,
        "link": link, "facet_names": FACETS, "facet_param": facet_param, "highlighted": highlighted,
        "unit_names": unit_short_names(here)},
        status_code=status)


# -- requests to borrow -------------------------------------------------------------------------

def _requests_context(here, values: dict, errors: dict, made: str | None = None) -> dict:
    from archive.lending import copies, loans, requests, rules

    return {"csrf": here.csrf, "rows": requests.mine(here.session), "values": values, "errors": errors,
            "copies": copies.copies_for(here.session),
            "made": made, "modes": rules.MODES, "purposes": loans.PURPOSES}


@router.get("/requests")
def requests_page(request: Request, code: str = "", made: str = ""):
    here = desk(request)
    return render(request, "requests.html", _requests_context(here, {"code": code}, {}, made or None))


@router.post("/requests")
def request_form(request: Request, code: str = Form(""), mode: str = Form("read"), purpose: str = Form("工作查考"),
                 note: str = Form(""), csrf_token: str = Form("")):
    from archive.lending import requests

    here = desk(request)
    here.check_csrf(csrf_token)
    values = {"code": code, "mode": mode, "purpose": purpose, "note": note}
    try:
        made = requests.request(here.session, code, mode=mode, purpose=purpose, note=note or None)
    except ForbiddenError:
        raise
    except ArchiveError as exc:
        field = {"archival_code": "code", "borrower": "code"}.get(exc.field or "", exc.field or "code")
        return render(request, "requests.html", _requests_context(
            here, values, {field if field in values else "code": exc.message + (f"（{exc.hint}）" if exc.hint else "")}),
            status_code=status_of(exc))
    return RedirectResponse(f"/requests?made={made.number}", status_code=303)
