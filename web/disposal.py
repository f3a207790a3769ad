"""Disposal in the browser: appraisal → destruction list → approval → two witnesses.

The archivist compiles a destruction list from the volumes whose retention has expired; an
account holding ``disposal.approve`` approves it in its own session; two other accounts
holding ``disposal.witness`` each confirm in theirs, and the second confirmation executes
the list (files removed, tombstones kept in the catalogue). Who may do what, and the
two-person rule, are the library's (``archive.shelf.disposal``); these views only ask.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from archive.core.errors import ArchiveError, ForbiddenError, NotFoundError

from .common import desk, render, status_of

router = APIRouter(include_in_schema=False)


def _message(exc: ArchiveError) -> str:
    return exc.message + (f"（{exc.hint}）" if exc.hint else "")


def _list_context(here, number: int, error: str | None = None) -> dict:
    from archive.shelf import disposal

    shown = disposal.show_list(here.session, number)
    role = here.request.state.role
    me = here.user.name
    return {"csrf": here.csrf, "dl": shown, "error": error, "me": me,
            "witnessed": me in {name for name, _ in shown.confirmed},
            "may_approve": role.may("disposal.approve"), "may_witness": role.may("disposal.witness")}


@router.get("/disposal")
def disposal_page(request: Request):
    from archive.shelf import disposal

    here = desk(request)
    return render(request, "disposal.html", {"csrf": here.csrf, "lists": disposal.lists(here.session),
                                             "errors": {}, "values": {"as_of": here.session.today.isoformat()}})


@router.post("/disposal")
def appraise_form(request: Request, as_of: str = Form(""), appraisers: str = Form(""), csrf_token: str = Form("")):
    from archive.shelf import disposal

    here = desk(request)
    here.check_csrf(csrf_token)
    names = [n.strip() for n in appraisers.replace("，", "、").replace(",", "、").split("、") if n.strip()]
    try:
        made = disposal.appraise(here.session, as_of, appraisers=names)
    except ForbiddenError:
        raise
    except ArchiveError as exc:
        return render(request, "disposal.html", {
            "csrf": here.csrf, "lists": disposal.lists(here.session), "values": {"as_of": as_of, "appraisers": appraisers},
            "errors": {"as_of" if exc.field in (None, "--as-of", "as_of") else "appraisers": _message(exc)}},
            status_code=status_of(exc))
    if not made.number:
        return render(request, "disposal.html", {
            "csrf": here.csrf, "lists": disposal.lists(here.session), "values": {"as_of": as_of, "appraisers": appraisers},
            "errors": {"as_of": f"截至 {as_of} 没有保管期限已满、尚未列入销毁清册的案卷"}})
    return RedirectResponse(f"/disposal/{made.number}", status_code=303)


@router.get("/disposal/{number}")
def list_page(request: Request, number: int):
    here = desk(request)
    return render(request, "destruction_list.html", _list_context(here, number))


def _decide(request: Request, number: int, csrf_token: str, call):
    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        call(here.session)
    except (ForbiddenError, NotFoundError):
        raise
    except ArchiveError as exc:
        return render(request, "destruction_list.html", _list_context(here, number, _message(exc)),
                      status_code=status_of(exc))
    return RedirectResponse(f"/disposal/{number}", status_code=303)


@router.post("/disposal/{number}/approve")
def approve_form(request: Request, number: int, reviewer: str = Form(""), method: str = Form(""),
                 csrf_token: str = Form("")):
    from archive.shelf import disposal

    return _decide(request, number, csrf_token,
                   lambda s: disposal.approve(s, number, method=method or None, reviewer=reviewer or None))


@router.post("/disposal/{number}/witness")
def witness_form(request: Request, number: int, csrf_token: str = Form("")):
    from archive.shelf import disposal

    return _decide(request, number, csrf_token, lambda s: disposal.witness(s, number))
