"""The web application: one ASGI app for the centre, assembled from the desk modules.

``create_app(home)`` opens the workspace once (one store engine, calendar and LibreOffice
pool shared by every request, and the thread that makes notices' PDFs after their writes
commit: ``notices.convert_later``; all closed when the app shuts down) and mounts:

- ``auth``: login, logout, password change (pages and ``/api/v1/login|logout``);
- ``window``: the clerk's desk (pages);
- ``shelf``: the archivist's desk (filing queue, volumes, notes, merged PDF, verify);
- ``disposal``: appraisal, destruction lists, approval and the two witnesses;
- ``lending``: the lending desk (borrower banner, scanning, returns, renewals, overdue list);
- ``reader``: the search page, within what the account may see;
- ``api``: the JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``);
- ``jobs``: long work in the background (filing, verify, catalogue export, reindex): the job
  page with its progress bar, the result, the exported file;
- ``audit``: the auditor's page;
- ``maintenance``: the system administrator's page for the search index and its rebuild;
- ``supervision``: the supervision dashboard, big screen, drill-down, ratings, report downloads;
- ``/static``: vendored assets only (htmx, CSS). Stored documents are never static: they
  are served by checking endpoints (``notices.notice_file``).

Later desks (supervision, disposal, approvals) add their own modules and
``include_router`` lines here. :data:`BACKGROUND` is where ``archive serve`` starts
long-running helpers beside the server (the search indexer thread).
"""

from __future__ import annotations

import contextlib
import datetime as dt

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive.core.errors import ArchiveError

from . import api, audit, auth, common, disposal, jobs, lending, maintenance, reader, shelf, supervision, window


def _indexer(session):
    from archive.search.indexer import start_thread

    return start_thread(session)


def _red_cards(session):
    from archive.supervision.sweeper import start_thread

    return start_thread(session)


# Callables ``hook(session) -> stop()`` that `archive serve` runs beside the server for
# its whole life (the search indexer thread, applying the store's change log to the
# index; the red-card sweeper, keeping supervision's cards up to date day by day); each
# returns a function that stops it.
BACKGROUND: list = [_indexer, _red_cards]


def create_app(home=None, *, today: dt.date | None = None, **overrides) -> FastAPI:
    """The ASGI app on the workspace at ``home`` (``today`` fixes the working date, for tests)."""
    from archive.centre import open_session

    from archive.window import notices

    parent = open_session(home, **overrides)
    # A receive answers once its .docx is written; the notice's PDF follows from a thread
    # (or is made when the page's viewer asks for it first).
    notices.convert_later(parent)
    # Long work (filing, verify, catalogue export, reindex) runs on a small pool of this process's
    # threads; jobs a stopped or killed server left unfinished are marked failed first.
    from archive import background  # noqa: F401  (registers the kinds of job)
    from archive.core import jobs as job_records

    job_records.fail_interrupted(parent)
    runner = job_records.Runner(parent, workers=2)
    parent.at_close(lambda _session: runner.close())

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        runner.close()  # running jobs stop between two items and are marked failed
        parent.close()  # finishes the PDFs asked for, then stops LibreOffice

    app = FastAPI(title="政务服务中心办件与档案系统", version="1", openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="窗口受理、文书、检索与案卷的 JSON 接口。错误统一为 "
                              '{"error": {"code", "field", "message", "hint"}}。')
    app.state.session = parent
    app.state.jobs = runner
    app.state.today = today
    app.state.secure_cookies = str(parent.ws.get("secure_cookies")).lower() in ("1", "true", "yes", "on")

    @app.middleware("http")
    async def request_context(request: Request, call_next):
        request.state.request_id = common.new_request_id()
        request.state.user = None
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.add_exception_handler(ArchiveError, common.handle_archive_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        message = f"请求内容不完整或格式不对：{where or '请求体'}"
        if common.is_api(request):
            return JSONResponse(common.error_body("bad_input", message, where, "字段见 /api/v1/openapi.json"),
                                status_code=422)
        return common.render(request, "error.html", {"status": 400, "message": message, "hint": None}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: "找不到这个页面", 405: "不支持这种请求方式"}.get(exc.status_code, "请求未能完成")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if common.is_api(request):
            return JSONResponse(common.error_body(code, message), status_code=exc.status_code)
        return common.render(request, "error.html", {"status": exc.status_code, "message": message, "hint": None},
                             exc.status_code)

    app.add_exception_handler(Exception, common.handle_unexpected)

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return {"status": "ok"}

    app.mount("/static", StaticFiles(directory=str(common.HERE / "static")), name="static")
    for module in (auth, window, shelf, disposal, lending, reader, api, audit, supervision, jobs, maintenance):
        app.include_router(module.router)

    return app
