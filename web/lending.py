"""The lending desk in the browser, scanner first (as Koha's circulation desk).

Find the borrower by card or ID number: a banner shows every block and the rules that will
apply before the first volume. Then archival codes are scanned (or typed) one after another:
each answer is one line (the rule applied, the due date, the approval it needed, or the
refusal in Chinese) and the focus stays in the scan box. Returns (page count against the
item list), renewals and the overdue list. Every rule is the library's (``loans.lend``,
``loans.return_loan``, ``loans.renew``); a view only parses and renders.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from archive.core.errors import ArchiveError, ForbiddenError, InputError

from .common import desk, render, status_of

router = APIRouter(include_in_schema=False)


# The desk's own words where the library's hint would name the CLI's way (its options).
DESK_HINTS = {"approved_by": "点本行的“提交负责人审批”，负责人在“审批”页批准后再次扫描即可登记"}


def _message(exc: ArchiveError) -> str:
    hint = DESK_HINTS.get(exc.field or "", exc.hint) if getattr(exc, "approval_needed", None) else exc.hint
    return exc.message + (f"（{hint}）" if hint else "")


def _desk_context(here, borrower: str, *, errors: dict | None = None, values: dict | None = None,
                  lines: list | None = None, flash: str | None = None) -> dict:
    from archive.lending import borrowers, loans, rules

    context = {"csrf": here.csrf, "errors": errors or {}, "values": values or {}, "lines": lines or [],
               "flash": flash, "purposes": loans.PURPOSES, "modes": rules.MODES, "standing": None,
               "borrower": borrower, "today": here.session.today, "copies": []}
    if borrower:
        from archive.lending import copies

        try:
            context["standing"] = borrowers.standing(here.session, borrower)
            context["copies"] = copies.copies_for(here.session, borrower=context["standing"].record.borrower.code)
        except InputError as exc:
            if isinstance(exc, ForbiddenError):
                raise
            context["errors"] = dict(context["errors"], borrower=_message(exc))
    return context


@router.get("/lending")
def lending_page(request: Request, borrower: str = "", flash: str = ""):
    from archive.core.access import require

    here = desk(request)
    require(here.session, "lending.lend")  # the empty desk too is the lending desk's
    context = _desk_context(here, borrower.strip(), flash=flash or None)
    if borrower and context["standing"] is None:
        return render(request, "lending.html", context, status_code=404)
    return render(request, "lending.html", context)


@router.post("/lending/{borrower}/scan")
def scan_form(request: Request, borrower: str, code: str = Form(""), purpose: str = Form("工作查考"),
              mode: str = Form("read"), csrf_token: str = Form("")):
    """Lend one scanned volume. From the page's script (htmx) the answer is the one line to add;
    without script, the whole desk again."""
    from archive.lending import loans

    here = desk(request)
    here.check_csrf(csrf_token)
    code = code.strip()
    line = {"code": code, "borrower": borrower, "mode": mode, "purpose": purpose, "csrf": here.csrf}
    try:
        if not code:
            raise InputError("请扫描或输入档号", field="archival_code")
        loan = loans.lend(here.session, code, borrower=borrower, purpose=purpose, mode=mode)
        line.update(ok=True, loan=loan)
    except ForbiddenError:
        raise
    except ArchiveError as exc:
        line.update(ok=False, message=_message(exc), field=exc.field, status=status_of(exc))
    if request.headers.get("HX-Request"):
        response = render(request, "_scan_line.html", {"line": line})
        if line["ok"]:
            response.headers["HX-Trigger"] = "loan-changed"  # the page reloads its list of open loans
        return response
    context = _desk_context(here, borrower, lines=[line], values={"purpose": purpose, "mode": mode},
                            errors={} if line["ok"] else {"code": line["message"]})
    return render(request, "lending.html", context, status_code=200 if line["ok"] else line["status"])


def _desk_action(request: Request, csrf_token: str, borrower: str, error_key: str, act):
    """Run one action of the desk: ``act(session)`` returns the flash text and the borrower to
    show again; a refusal comes back on the desk beside its line (403/404 keep their pages)."""
    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        text, shown = act(here.session)
    except ForbiddenError:
        raise
    except ArchiveError as exc:
        context = _desk_context(here, borrower, errors={error_key: _message(exc)})
        return render(request, "lending.html", context, status_code=status_of(exc))
    return RedirectResponse(f"/lending?borrower={quote(shown)}&flash={quote(text)}", status_code=303)


@router.post("/lending/{borrower}/request")
def desk_request_form(request: Request, borrower: str, code: str = Form(""), mode: str = Form("read"),
                      purpose: str = Form("工作查考"), csrf_token: str = Form("")):
    """Send a scan the rules refused for want of a head's approval to the heads' queue."""
    from archive.lending import requests, rules

    def act(session):
        made = requests.request(session, code, mode=mode, purpose=purpose, borrower=borrower)
        return (f"已提交借阅申请 {made.number}（{made.archival_code}，{made.mode_name}），待"
                f"{rules.APPROVALS[made.approval_needed]}在“审批”页批准后，再次扫描即可登记"), made.borrower

    return _desk_action(request, csrf_token, borrower, "code", act)


@router.post("/loans/{loan}/return")
def return_form(request: Request, loan: str, pages: str = Form(""), condition: str = Form(""),
                borrower: str = Form(""), csrf_token: str = Form("")):
    from archive.lending import loans

    def act(session):
        done = loans.return_loan(session, loan, pages=pages.strip(), condition=condition or None)
        text = f"已归还 {done.loan.loan}：清点 {done.pages_counted} 页，目录 {done.pages_expected} 页"
        if done.note:
            text += f"；已记入卷内备考表并标记待核查：{done.note}"
        return text, done.loan.borrower

    return _desk_action(request, csrf_token, borrower, f"return-{loan}", act)


@router.post("/loans/{loan}/renew")
def renew_form(request: Request, loan: str, borrower: str = Form(""), csrf_token: str = Form("")):
    from archive.lending import loans

    def act(session):
        renewed = loans.renew(session, loan)
        return f"已续借 {renewed.loan}，新的应还日期 {renewed.due_on.isoformat()}", renewed.borrower

    return _desk_action(request, csrf_token, borrower, f"return-{loan}", act)


@router.post("/loans/{loan}/copy")
def copy_form(request: Request, loan: str, pages: str = Form(""), borrower: str = Form(""),
              csrf_token: str = Form("")):
    """A watermarked, edit-protected PDF copy for an open loan (the rules decide whether it may be made)."""
    from archive.lending import copies

    def act(session):
        made = copies.make_copy(session, loan, pages=pages.strip() or None)
        return f"已制作复制件 {made.copy}（{len(made.pages)} 页，带水印、禁止编辑）", made.borrower

    return _desk_action(request, csrf_token, borrower, f"return-{loan}", act)


@router.get("/copies/{number}.pdf")
def copy_download(request: Request, number: str):
    """A copy's PDF through the library's check (the desk: any it may see; a reader: their own); audited."""
    from fastapi.responses import FileResponse

    from archive.lending import copies

    path, name = copies.copy_file(desk(request).session, number)
    return FileResponse(path, media_type="application/pdf", filename=name)


@router.get("/loans/overdue")
def overdue_page(request: Request):
    from archive.lending import loans

    here = desk(request)
    report = loans.overdue(here.session)
    return render(request, "overdue.html", {"csrf": here.csrf, "report": report, "issued": None,
                                            "history": _reminder_history(here, report)})


# -- the heads' approvals queue -------------------------------------------------------------------

def approvals_context(here, *, done: str | None = None, errors: dict | None = None) -> dict:
    """The heads' queue: loan requests (``lending.approve``) and proposed changes of 开放标识/密级
    (``access.change``), each part for the account holding its permission; one without
    either is refused by the library."""
    from archive.core.access import role_of
    from archive.lending import requests
    from archive.shelf import access_changes

    role = role_of(here.session)
    loans_ = requests.pending(here.session) if role.may("lending.approve") else None
    changes = access_changes.pending(here.session) if role.may("access.change") or loans_ is None else None
    return {"csrf": here.csrf, "rows": loans_, "changes": changes, "done": done or None, "errors": errors or {},
            "me": here.session.operator}


@router.get("/approvals")
def approvals_page(request: Request, done: str = ""):
    here = desk(request)
    return render(request, "approvals.html", approvals_context(here, done=done))


@router.post("/approvals/{number}")
def approval_form(request: Request, number: str, decision: str = Form(""), note: str = Form(""),
                  csrf_token: str = Form("")):
    from archive.lending import requests

    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        decided = requests.decide(here.session, number, approve=decision == "approve", note=note or None)
    except (ForbiddenError,):
        raise
    except ArchiveError as exc:
        return render(request, "approvals.html", approvals_context(here, errors={number: _message(exc)}),
                      status_code=status_of(exc))
    text = f"{decided.number}（{decided.borrower_name} {decided.mode_name} {decided.archival_code}）{decided.status_text}"
    return RedirectResponse(f"/approvals?done={quote(text)}", status_code=303)


# -- return against the item list, inspection of flagged volumes ------------------------------------

@router.get("/loans/{loan}/return")
def return_page(request: Request, loan: str):
    """清点: the volume's item list with each item's pages, to count the volume at its return."""
    from archive.lending import loans
    from archive.shelf import volumes

    here = desk(request)
    shown = loans.show(here.session, loan)
    volume = volumes.show(here.session, shown.archival_code)
    return render(request, "return.html", {"csrf": here.csrf, "loan": shown, "volume": volume, "errors": {},
                                           "values": {}})


@router.get("/inspections")
def inspections_page(request: Request, done: str = ""):
    """Volumes flagged at their return (a page short, damage), each with what the return found."""
    return render(request, "inspections.html", _inspections_context(desk(request), done=done or None))


def _inspections_context(here, *, done=None, errors=None, values=None) -> dict:
    from archive.core.access import require
    from archive.shelf import volumes

    require(here.session, "lending.lend")
    flagged = [volumes.show(here.session, v.archival_code)
               for v in volumes.list_volumes(here.session, state="flagged")]
    return {"csrf": here.csrf, "flagged": flagged, "done": done, "errors": errors or {}, "values": values or {}}


@router.post("/inspections/{code}")
def inspect_form(request: Request, code: str, result: str = Form(""), csrf_token: str = Form("")):
    from archive.lending import loans

    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        done = loans.inspect(here.session, code, result=result)
    except ForbiddenError:
        raise
    except ArchiveError as exc:
        if exc.__class__.__name__ == "NotFoundError":
            raise
        context = _inspections_context(here, errors={code: _message(exc)}, values={code: result})
        return render(request, "inspections.html", context, status_code=status_of(exc))
    return RedirectResponse(f"/inspections?done={quote(done['archival_code'] + ' 检查完毕，已重新上架')}",
                            status_code=303)


# -- reminders (催还通知单) --------------------------------------------------------------------------

@router.post("/loans/overdue/remind")
def remind_form(request: Request, csrf_token: str = Form("")):
    """Issue the reminders now due (first, second, final: the library escalates and numbers them)."""
    from archive.lending import loans

    here = desk(request)
    here.check_csrf(csrf_token)
    report = loans.overdue(here.session, notices=True)
    issued = [item for item in report.loans if item.notice is not None]
    return render(request, "overdue.html", {"csrf": here.csrf, "report": report, "issued": issued,
                                            "history": _reminder_history(here, report)})


def _reminder_history(here, report) -> dict:
    from archive.lending import loans

    return {item.loan: loans.reminders_of(here.session, item.loan) for item in report.loans if item.reminder_level}


# -- the lending register (借阅登记表) ---------------------------------------------------------------

@router.get("/registers/lending")
def register_page(request: Request):
    from archive.core.access import require

    here = desk(request)
    require(here.session, "lending.lend")
    today = here.session.today
    return render(request, "lending_register.html", {"csrf": here.csrf, "errors": {},
                                                     "values": {"date_from": f"{today.year}-01-01",
                                                                "date_to": today.isoformat()}})


@router.post("/registers/lending")
def register_export(request: Request, date_from: str = Form(""), date_to: str = Form(""), fmt: str = Form("xlsx"),
                    csrf_token: str = Form("")):
    """Write the register of the chosen period (kept under documents/registers) and download it."""
    from fastapi.responses import FileResponse

    from archive.lending import registers

    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        made = registers.export_register(here.session, date_from=date_from or None, date_to=date_to or None,
                                         format=fmt, fresh_name=True)
    except ForbiddenError:
        raise
    except InputError as exc:
        field = {"起始日期": "date_from", "截止日期": "date_to", "to": "date_to"}.get(exc.field or "", exc.field)
        return render(request, "lending_register.html",
                      {"csrf": here.csrf, "errors": {field or "date_from": _message(exc)},
                       "values": {"date_from": date_from, "date_to": date_to}}, status_code=status_of(exc))
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if made.format == "xlsx"
             else "text/csv")
    return FileResponse(made.path, media_type=media, filename=Path(made.path).name)


# -- the loan slip (借阅单) ------------------------------------------------------------------------

@router.get("/loans/{loan}/slip.{fmt}")
def slip_download(request: Request, loan: str, fmt: str):
    """The loan slip, made when first asked for, through the library's check (inline PDF to print)."""
    from fastapi.responses import FileResponse

    from archive.lending import slips

    path, name = slips.slip_file(desk(request).session, loan, fmt)
    if fmt == "pdf":
        return FileResponse(path, media_type="application/pdf", filename=name, content_disposition_type="inline")
    return FileResponse(path, filename=name,
                        media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
