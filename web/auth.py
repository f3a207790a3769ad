"""Signing in and out, and changing one's password (pages and the API's login/logout).

A login always starts a new web session (a fresh token; the old cookie's session ends),
so a session id fixed before login is worthless after it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from archive.core import accounts
from archive.core.errors import AuthError, InputError, LockedError

from .common import COOKIE, Desk, anonymous_session, desk, render, set_session_cookie

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) may follow a login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login(request: Request, username: str, password: str) -> accounts.WebSession:
    anon = anonymous_session(request)
    user = accounts.authenticate(anon, username, password)
    return accounts.open_web_session(anon, user, replaces=request.cookies.get(COOKIE))


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/"):
    return render(request, "login.html", {"next": _safe_next(next), "username": "", "error": None})


@router.post("/login", include_in_schema=False)
def login_form(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")):
    try:
        live = _login(request, username, password)
    except AuthError as exc:
        status = 429 if isinstance(exc, LockedError) else 401
        return render(request, "login.html", {"next": _safe_next(next), "username": username, "error": exc.message},
                      status_code=status)
    target = "/password" if live.user.must_change else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, live.token)
    return response


@router.post("/logout", include_in_schema=False)
def logout_form(request: Request, csrf_token: str = Form("")):
    here = desk(request, password_change=True)
    here.check_csrf(csrf_token)
    accounts.close_web_session(here.session, here.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _password_desk(request: Request) -> Desk:
    return desk(request, password_change=True)


@router.get("/password", include_in_schema=False)
def password_page(request: Request, here: Desk = Depends(_password_desk)):
    return render(request, "password.html", {"csrf": here.csrf, "errors": {}, "forced": here.user.must_change})


@router.post("/password", include_in_schema=False)
def password_form(request: Request, old_password: str = Form(""), new_password: str = Form(""),
                  confirm: str = Form(""), csrf_token: str = Form(""), here: Desk = Depends(_password_desk)):
    here.check_csrf(csrf_token)
    try:
        if new_password != confirm:
            raise InputError("两次输入的新密码不一致", field="confirm")
        accounts.change_own_password(here.session, old_password, new_password)
    except InputError as exc:
        return render(request, "password.html", {"csrf": here.csrf, "errors": {exc.field: exc.message},
                                                 "forced": here.user.must_change}, status_code=400)
    return RedirectResponse("/", status_code=303)


# -- the API's side ----------------------------------------------------------------------------

class Login(BaseModel):
    username: str = Field(..., max_length=50, description="账户名")
    password: str = Field(..., max_length=256)


class LoginAnswer(BaseModel):
    user: str
    role: str
    csrf_token: str = Field(description="之后每个改变数据的请求都须在 X-CSRF-Token 头中带上它")
    must_change: bool


@router.post("/api/v1/login", response_model=LoginAnswer, tags=["账户"], summary="登录（设置会话 Cookie）")
def api_login(request: Request, body: Login):
    from fastapi.responses import JSONResponse

    live = _login(request, body.username, body.password)
    response = JSONResponse({"user": live.user.name, "role": live.user.role, "csrf_token": live.csrf_token,
                             "must_change": live.user.must_change})
    set_session_cookie(request, response, live.token)
    return response


@router.post("/api/v1/logout", status_code=204, tags=["账户"], summary="退出登录")
def api_logout(request: Request):
    from fastapi import Response

    here = desk(request, password_change=True)
    here.check_csrf(request.headers.get("X-CSRF-Token"))
    accounts.close_web_session(here.session, here.token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


class PasswordChange(BaseModel):
    old_password: str = Field(..., max_length=256)
    new_password: str = Field(..., max_length=256)


@router.post("/api/v1/password", status_code=204, tags=["账户"], summary="修改本人密码")
def api_password(request: Request, body: PasswordChange):
    from fastapi import Response

    here = desk(request, password_change=True)
    here.check_csrf(request.headers.get("X-CSRF-Token"))
    accounts.change_own_password(here.session, body.old_password, body.new_password)
    return Response(status_code=204)
