"""The system administrator's maintenance page: the search index and its rebuild.

``/index`` shows how far the index stands behind the store's change log and starts a
rebuild (``index.maintain``), which runs as a background job (``reindex``, see
:mod:`archive.background`) and is followed on the job page like any other.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request

from . import jobs
from .common import desk, render

router = APIRouter(include_in_schema=False)


@router.get("/index")
def index_page(request: Request):
    from archive.search import index

    here = desk(request)
    state = index.maintenance(here.session)
    return render(request, "index.html", {"csrf": here.csrf, "state": state,
                                          "recent_jobs": jobs.recent_of(here, "reindex")})


@router.post("/index/rebuild")
def rebuild_form(request: Request, csrf_token: str = Form("")):
    here = desk(request)
    here.check_csrf(csrf_token)
    return jobs.redirect_to(jobs.start(request, here, "reindex", {}))
