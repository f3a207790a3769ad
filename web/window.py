"""The clerk's desk in the browser: my cases, receive, the case page, notices, appointments.

Each view parses the form, calls one library function with the signed-in account's
session and renders; the library decides (outcomes, deadlines, who may see and do what).
Input errors come back beside their field with nothing written; every form carries the
session's CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from archive.core.errors import InputError

from .api import applicant_of, notice_download
from .common import Desk, desk, render

router = APIRouter(include_in_schema=False)

# The library names fields as a clerk reads them; the form's inputs by these keys.
FORM_FIELD = {
    "item": "item", "事项编码": "item", "申请人姓名": "applicant", "申请单位名称": "applicant",
    "身份证号码": "id_number", "id_number": "id_number", "统一社会信用代码": "credit_code", "法定代表人": "legal_rep",
    "联系电话": "phone", "materials": "materials", "材料编码": "materials", "defective": "materials",
    "收件日期": "received_on", "来访人姓名": "name", "接待人": "with_whom", "地点": "place", "事由": "matter",
    "预约时间": "at", "at": "at", "unit": "unit",
}


def _field(exc: InputError, default: str) -> str:
    key = exc.field or ""
    if key in FORM_FIELD:
        return FORM_FIELD[key]
    for label, name in FORM_FIELD.items():
        if key.startswith(label) or label in (exc.message or "")[:12]:
            return name
    return default


@router.get("/")
def home(request: Request):
    """Each account lands on its desk's first page (the clerk's cases, the lending desk, search)."""
    role = desk(request).request.state.role
    for permission, page in (("case.read", "/cases"), ("lending.lend", "/lending"), ("search", "/search"),
                             ("audit.read", "/audit")):
        if role.may(permission):
            return RedirectResponse(page, status_code=303)
    return RedirectResponse("/password", status_code=303)


@router.get("/cases")
def my_cases(request: Request, status: str | None = None):
    from archive.window import cases

    here = desk(request)
    rows = cases.desk_cases(here.session, status=status or None)
    return render(request, "cases.html", {"csrf": here.csrf, "rows": rows, "status": status,
                                          "statuses": cases.STATUSES, "today": here.session.today})


# -- receive ----------------------------------------------------------------------------------

def _receive_context(here: Desk, values: dict, errors: dict) -> dict:
    from archive.window import catalog

    items = catalog.items_for(here.session)
    chosen = next((i for i in items if i.code == values.get("item")), None)
    return {"csrf": here.csrf, "items": items, "item": chosen, "values": values, "errors": errors,
            "today": here.session.today.isoformat()}


@router.get("/receive")
def receive_page(request: Request, item: str | None = None):
    here = desk(request)
    return render(request, "receive.html", _receive_context(here, {"item": item, "kind": "person"}, {}))


@router.get("/receive/materials")
def materials_partial(request: Request, item: str = ""):
    from archive.window import catalog

    here = desk(request)
    chosen = next((i for i in catalog.items_for(here.session) if i.code == item), None)
    return render(request, "_materials.html", {"item": chosen, "values": {}, "errors": {}})


@router.get("/check/{kind}")
def check_field(request: Request, kind: str, value: str = ""):
    """The check-digit verdict on an ID number or credit code, shown beside the field as one types."""
    from archive.core import validate

    desk(request)
    checks = {"id_number": validate.check_id_number, "credit_code": validate.check_credit_code,
              "phone": validate.check_phone}
    if kind not in checks:
        return Response(status_code=404)
    value = value.strip().upper() if kind != "phone" else value.strip()
    if not value:
        return render(request, "_check.html", {"ok": None, "message": ""})
    try:
        checks[kind](value)
    except InputError as exc:
        return render(request, "_check.html", {"ok": False, "message": exc.message})
    return render(request, "_check.html", {"ok": True, "message": "校验通过"})


@router.post("/receive")
def receive_form(request: Request, item: str = Form(""), kind: str = Form("person"), applicant: str = Form(""),
                 id_number: str = Form(""), credit_code: str = Form(""), legal_rep: str = Form(""),
                 phone: str = Form(""), materials: list[str] = Form([]), defect_code: list[str] = Form([]),
                 defect_reason: list[str] = Form([]), received_on: str = Form(""), defer: str = Form(""),
                 csrf_token: str = Form("")):
    from archive.window import cases

    here = desk(request)
    here.check_csrf(csrf_token)
    defects = {code: reason.strip() for code, reason in zip(defect_code, defect_reason) if reason.strip()}
    values = {"item": item, "kind": kind, "applicant": applicant, "id_number": id_number,
              "credit_code": credit_code, "legal_rep": legal_rep, "phone": phone, "materials": materials,
              "defects": defects, "received_on": received_on, "defer": bool(defer)}
    try:
        if not item:
            raise InputError("请先选择事项", field="item")
        who = applicant_of(applicant, id_number.strip().upper() if kind == "person" else None,
                           credit_code.strip().upper() if kind == "organisation" else None, legal_rep, phone)
        result = cases.receive(here.session, item_code=item, applicant=who, materials=materials,
                               received_on=received_on or None, defects=defects, defer=bool(defer))
    except InputError as exc:
        errors = {_field(exc, "item"): exc.message + (f"（{exc.hint}）" if exc.hint else "")}
        return render(request, "receive.html", _receive_context(here, values, errors), status_code=400)
    return RedirectResponse(f"/cases/{result.case.case_no}?issued=1", status_code=303)


# -- the case page ----------------------------------------------------------------------------

@router.get("/cases/{case_no}")
def case_page(request: Request, case_no: str, issued: int = 0, error: str | None = None, asked: int = 0):
    from archive.window import cases

    here = desk(request)
    case = cases.show(here.session, case_no)
    steps = cases.timeline(here.session, case_no)
    originals = [n for n in case.notices if not n.reprint_no]
    shown = case.notices[-1] if case.notices else None
    parts = here.session.ws.parts_for(shown.kind, joint=case.case_type == "joint") if shown else []
    return render(request, "case.html", {"parts": parts,
        "csrf": here.csrf, "case": case, "steps": steps, "notices": case.notices, "originals": originals,
        "shown": shown, "issued": issued, "asked": asked, "error": error, "grounds": cases.GROUNDS, "decisions": cases.DECISIONS,
        "statuses": cases.STATUSES, "mark": cases.due_mark(here.session, case)})


def _act(request: Request, case_no: str, csrf_token: str, call, *, shown: str = "issued=1"):
    """Run one case action; an input error comes back on the case page beside the action.

    ``shown`` is what the case page then says (``issued=1``: done, the notice below);
    a callable gets the action's result."""
    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        result = call(here.session)
    except InputError as exc:
        from urllib.parse import quote

        message = exc.message + (f"（{exc.hint}）" if exc.hint else "")
        if exc.__class__.__name__ in ("ForbiddenError", "NotFoundError"):
            raise
        return RedirectResponse(f"/cases/{case_no}?error={quote(message)}", status_code=303)
    return RedirectResponse(f"/cases/{case_no}?{shown(result) if callable(shown) else shown}", status_code=303)


@router.post("/cases/{case_no}/supplement")
def supplement_form(request: Request, case_no: str, materials: list[str] = Form([]), on: str = Form(""),
                    csrf_token: str = Form("")):
    from archive.window import cases

    return _act(request, case_no, csrf_token,
                lambda s: cases.supplement(s, case_no, materials=materials, on=on or None))


@router.post("/cases/{case_no}/reject")
def reject_form(request: Request, case_no: str, ground: str = Form(""), reason: str = Form(""),
                competent_organ: str = Form(""), csrf_token: str = Form("")):
    from archive.window import cases

    return _act(request, case_no, csrf_token,
                lambda s: cases.reject(s, case_no, ground=ground, reason=reason,
                                       competent_organ=competent_organ or None))


@router.post("/cases/{case_no}/pause")
def pause_form(request: Request, case_no: str, reason: str = Form(""), expected_days: str = Form(""),
               csrf_token: str = Form("")):
    from archive.window import cases

    days = int(expected_days) if expected_days.strip().isdigit() else None
    return _act(request, case_no, csrf_token, lambda s: cases.pause(s, case_no, reason=reason, expected_days=days))


@router.post("/cases/{case_no}/resume")
def resume_form(request: Request, case_no: str, csrf_token: str = Form("")):
    from archive.window import cases

    return _act(request, case_no, csrf_token, lambda s: cases.resume(s, case_no))


@router.post("/cases/{case_no}/extend")
def extend_form(request: Request, case_no: str, days: str = Form(""), reason: str = Form(""),
                csrf_token: str = Form("")):
    """A clerk's extension request (a unit head's is approved at once); no approver is typed."""
    from archive.window import cases

    return _act(request, case_no, csrf_token, lambda s: cases.extend(s, case_no, days=days.strip(), reason=reason),
                shown=lambda result: "issued=1" if result.notices else "asked=1")


@router.post("/cases/{case_no}/conclude")
def conclude_form(request: Request, case_no: str, decision: str = Form(""), reason: str = Form(""),
                  csrf_token: str = Form("")):
    from archive.window import cases

    return _act(request, case_no, csrf_token,
                lambda s: cases.conclude(s, case_no, decision=decision, reason=reason or None))


@router.post("/cases/{case_no}/reprint")
def reprint_form(request: Request, case_no: str, number: str = Form(""), csrf_token: str = Form("")):
    from archive.window import notices

    return _act(request, case_no, csrf_token, lambda s: notices.reprint(s, number))


# -- the unit head's extension queue --------------------------------------------------------------

def _extensions_context(here: Desk, done: str | None, errors: dict) -> dict:
    from archive.window import cases

    return {"csrf": here.csrf, "rows": cases.pending_extensions(here.session), "done": done, "errors": errors,
            "today": here.session.today}


@router.get("/extensions")
def extensions_page(request: Request, done: str = ""):
    """Extension requests waiting for this head (their units, never their own), oldest first."""
    here = desk(request)
    return render(request, "extensions.html", _extensions_context(here, done or None, {}))


@router.post("/extensions/{case_no}")
def extension_decision(request: Request, case_no: str, decision: str = Form(""), reason: str = Form(""),
                       csrf_token: str = Form("")):
    """Approve (the notice is issued naming this account) or refuse with a reason."""
    from urllib.parse import quote

    from archive.core.errors import ArchiveError, ForbiddenError, NotFoundError
    from archive.window import cases

    from .common import status_of

    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        if decision == "approve":
            result = cases.approve_extension(here.session, case_no)
            text = f"已批准 {case_no} 延期至{result.case.due_on.isoformat()}，延期告知书已出具"
        else:
            cases.refuse_extension(here.session, case_no, reason=reason)
            text = f"已不批准 {case_no} 的延期申请"
    except (ForbiddenError, NotFoundError):
        raise
    except ArchiveError as exc:
        message = exc.message + (f"（{exc.hint}）" if exc.hint else "")
        return render(request, "extensions.html", _extensions_context(here, None, {case_no: message}),
                      status_code=status_of(exc))
    return RedirectResponse(f"/extensions?done={quote(text)}", status_code=303)


# -- notice files (checked, never static) -------------------------------------------------------

@router.get("/notices/{notice_id}.pdf")
def notice_pdf(request: Request, notice_id: int):
    return notice_download(request, notice_id, "pdf", inline=True)


@router.get("/notices/{notice_id}.docx")
def notice_docx(request: Request, notice_id: int):
    return notice_download(request, notice_id, "docx")


@router.get("/notices/{notice_id}/part/{part}.pdf")
def notice_part(request: Request, notice_id: int, part: int):
    from archive.window import notices

    data, name = notices.part_pdf(desk(request).session, notice_id, part)
    from urllib.parse import quote

    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=utf-8''{quote(name)}"})


# -- appointments -----------------------------------------------------------------------------

@router.get("/appointments/new")
def appointment_page(request: Request):
    from archive.window import appointments

    here = desk(request)
    defaults = appointments.booking_defaults(here.session)
    return render(request, "appointment_new.html", {
        "csrf": here.csrf, "values": {"at": defaults["at"]}, "errors": {}, "units": defaults["units"]})


@router.post("/appointments")
def appointment_form(request: Request, name: str = Form(""), id_number: str = Form(""), phone: str = Form(""),
                     with_whom: str = Form(""), at: str = Form(""), place: str = Form(""), matter: str = Form(""),
                     unit: str = Form(""), materials: str = Form(""), csrf_token: str = Form("")):
    from archive.window import appointments

    here = desk(request)
    here.check_csrf(csrf_token)
    values = {"name": name, "id_number": id_number, "phone": phone, "with_whom": with_whom, "at": at, "place": place,
              "matter": matter, "unit": unit, "materials": materials}
    bring = [m.strip() for m in materials.replace("，", "\n").splitlines() if m.strip()]
    try:
        made = appointments.book(here.session, name=name, phone=phone, with_whom=with_whom, at=at, place=place,
                                 matter=matter, unit=unit or None, id_number=id_number.strip().upper() or None,
                                 materials=bring)
    except InputError as exc:
        if exc.__class__.__name__ in ("ForbiddenError", "NotFoundError"):
            raise
        return render(request, "appointment_new.html", {
            "csrf": here.csrf, "values": values, "errors": {_field(exc, "name"): exc.message},
            "units": appointments.booking_defaults(here.session)["units"]}, status_code=400)
    return RedirectResponse(f"/appointments/{made.card}", status_code=303)


@router.get("/appointments/{card_no}")
def appointment_card(request: Request, card_no: str):
    from archive.window import appointments

    here = desk(request)
    made = appointments.show(here.session, card_no)
    return render(request, "appointment.html", {"csrf": here.csrf, "appointment": made,
                                                "parts": here.session.ws.parts_for("appointment"),
                                                "shown": made.notices[-1] if made.notices else None})

