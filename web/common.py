"""What every desk module of the web layer shares: the request's session, CSRF, errors, rendering.

The web layer is a skin like ``commands/``: a view parses the request, calls one library
function with the signed-in account's session and renders the answer. Who may see or do
what is decided in the library; this module only turns its errors into HTTP answers:

=====================  ======  ==========================
library error          status  page
=====================  ======  ==========================
AuthError              401     redirect to the login page
LockedError            429     the login page, with the message
ForbiddenError         403     a page saying what is not allowed
NotFoundError          404     a page saying it does not exist
StateError             409
RuleError              422
InputError             400     the form again, the message beside its field
anything else          500     a page with the request id, never a traceback
=====================  ======  ==========================
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from archive.core import errors as err

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
COOKIE = "archive_session"
log = logging.getLogger("archive.web")


def status_of(exc: err.ArchiveError) -> int:
    """The HTTP status for a library error (most specific class first)."""
    for cls, status in ((err.LockedError, 429), (err.AuthError, 401), (err.ForbiddenError, 403),
                        (err.NotFoundError, 404), (err.StateError, 409), (err.RuleError, 422),
                        (err.InputError, 400)):
        if isinstance(exc, cls):
            return status
    return 503  # a runtime problem the library explains (the index must be rebuilt, a full disk)


def error_body(code: str, message: str, field: str | None = None, hint: str | None = None) -> dict:
    return {"error": {"code": code, "field": field, "message": message, "hint": hint}}


class CsrfError(err.ForbiddenError):
    """A state-changing request without the session's CSRF token."""

    def __init__(self):
        super().__init__("请求缺少有效的防伪令牌（CSRF），已拒绝；请刷新页面后重试", field="csrf_token",
                         hint="表单须带 csrf_token 字段，API 请求须带 X-CSRF-Token 头")


class ForeignOriginError(err.ForbiddenError):
    """A login posted from another site's page (login CSRF: signing the clerk into another account)."""

    def __init__(self):
        super().__init__("登录请求来自其他网站的页面，已拒绝", field="origin",
                         hint="请在本系统的登录页面登录")


def check_origin(request) -> None:
    """Refuse a request whose Origin (or, lacking it, Referer) names another site.

    Browsers send Origin with every cross-site POST, so a form on another site cannot sign
    a window's browser into an account of the attacker's; clients that send neither header
    (scripts, the API's users) are not browsers acting for someone else.
    """
    from urllib.parse import urlsplit

    given = request.headers.get("origin") or request.headers.get("referer")
    if given is None:
        return
    if urlsplit(given).netloc.lower() != (request.headers.get("host") or "").lower():
        raise ForeignOriginError()


class PasswordChangeRequired(err.ForbiddenError):
    """The account must change its password before anything else (first login, admin reset)."""

    def __init__(self):
        super().__init__("首次登录（或管理员重设密码后）须先修改密码", field="password",
                         hint="网页：/password；接口：POST /api/v1/password")


@dataclass
class Desk:
    """One request as the views see it: the account, its session and the CSRF token."""

    request: Request
    session: object  # archive.core.session.Session for this request's account
    user: object  # archive.core.accounts.User
    csrf: str
    token: str

    def check_csrf(self, given: str | None) -> None:
        if not given or not secrets.compare_digest(str(given), self.csrf):
            raise CsrfError()


def request_id(request: Request) -> str:
    return request.state.request_id


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def anonymous_session(request: Request):
    """A session for a request before login (login attempts are recorded with it)."""
    parent = request.app.state.session
    return parent.as_user(None, client=client_of(request), request_id=request_id(request),
                          today=request.app.state.today)


def desk(request: Request, *, password_change: bool = False) -> Desk:
    """The signed-in account's desk for this request; AuthError when nobody is signed in.

    An account that must change its password gets only the password change
    (``password_change=True``) until it has.
    """
    from archive.core import accounts

    anon = anonymous_session(request)
    live = accounts.resume_web_session(anon, request.cookies.get(COOKIE))
    session = request.app.state.session.as_user(live.user, client=client_of(request),
                                                request_id=request_id(request), today=request.app.state.today)
    request.state.user = live.user
    from archive.core.access import role_of

    role = role_of(session)
    request.state.role = role
    if live.user.must_change and not password_change:
        raise PasswordChangeRequired()
    return Desk(request=request, session=session, user=live.user, csrf=live.csrf_token, token=live.token)


def set_session_cookie(request: Request, response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=bool(request.app.state.secure_cookies))


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200) -> HTMLResponse:
    role = getattr(request.state, "role", None)
    ctx = {"request": request, "request_id": request_id(request), "user": getattr(request.state, "user", None),
           "role": role, "may": role.permissions if role else frozenset()}
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def handle_archive_error(request: Request, exc: err.ArchiveError):
    status = status_of(exc)
    if is_api(request):
        return JSONResponse(exc.to_dict(), status_code=status)
    if isinstance(exc, PasswordChangeRequired):
        return RedirectResponse("/password", status_code=303)
    if status == 401:
        target = request.url.path
        return RedirectResponse(f"/login?next={target}" if target not in ("/", "/login") else "/login",
                                status_code=303)
    return render(request, "error.html", {"status": status, "message": exc.message, "hint": exc.hint},
                  status_code=status)


def handle_unexpected(request: Request, exc: Exception):
    log.exception("request %s failed", request_id(request), exc_info=exc)
    rid = request_id(request)
    if is_api(request):
        response = JSONResponse(error_body("internal", "系统内部错误，请稍后重试", None, f"请求编号：{rid}"),
                                status_code=500)
    else:
        response = render(request, "error.html", {"status": 500, "message": "系统出了点问题，这次操作没有完成。",
                                                  "hint": f"请把请求编号 {rid} 告诉系统管理员"}, status_code=500)
    response.headers["X-Request-ID"] = rid  # this answer bypasses the app's middleware
    return response


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def unit_short_names(here: "Desk") -> dict:
    """Unit code → its short name (市场监管局), for lists where the full name is too long."""
    return {code: conf.get("short_name") or conf.get("name") or code for code, conf in here.session.ws.units.items()}
