"""The archivist's desk in the browser: the filing queue, volumes, notes, the merged PDF, verify.

Each view parses the form, calls one library function with the signed-in account's session
(which checks ``volume.file``, ``fixity.verify``, ``volume.read`` and clearance) and renders.
Input errors come back beside their field with nothing written; every form carries the
session's CSRF token. Filing, verifying and exporting catalogues run as background jobs
(:mod:`web.jobs`): the form submits the job and redirects to its page, which shows the
progress and then the result.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse

from archive.core.errors import ArchiveError, InputError

from . import jobs
from .common import desk, render, status_of

router = APIRouter(include_in_schema=False)

PROBLEMS = {"changed": "已改动", "missing": "缺失", "unexpected": "多出的文件"}


def _message(exc: InputError) -> str:
    return exc.message + (f"（{exc.hint}）" if exc.hint else "")


def _plain_input(exc: InputError) -> bool:
    """An error to show beside its field (not a refusal, which gets its own 403/404 page)."""
    return exc.__class__.__name__ not in ("ForbiddenError", "NotFoundError")


# -- filing queue -------------------------------------------------------------------------------

@router.get("/filing")
def filing_page(request: Request):
    from archive.shelf import volumes

    here = desk(request)
    queue = volumes.filing_queue(here.session)
    return render(request, "filing.html", {"csrf": here.csrf, "queue": queue, "errors": {},
                                           "recent_jobs": jobs.recent_of(here, "file")})


@router.post("/filing")
def filing_form(request: Request, case: list[str] = Form([]), csrf_token: str = Form("")):
    from archive.shelf import volumes

    here = desk(request)
    here.check_csrf(csrf_token)
    if not case:
        queue = volumes.filing_queue(here.session)
        return render(request, "filing.html", {"csrf": here.csrf, "queue": queue,
                                               "errors": {"case": "请至少勾选一件要归档的办件"}}, status_code=400)
    try:
        job = jobs.start(request, here, "file", {"cases": case})
    except InputError as exc:
        if not _plain_input(exc):
            raise
        queue = volumes.filing_queue(here.session)
        return render(request, "filing.html", {"csrf": here.csrf, "queue": queue,
                                               "errors": {"case": _message(exc)}}, status_code=400)
    return jobs.redirect_to(job)


# -- volumes ------------------------------------------------------------------------------------

@router.get("/volumes")
def volumes_page(request: Request, year: str = "", state: str = "", cls: str = ""):
    from archive.core.validate import check_positive_int
    from archive.shelf import volumes

    here = desk(request)
    errors = {}
    try:
        chosen_year = check_positive_int(year, "年度", minimum=1900, maximum=2999) if year.strip() else None
        rows = volumes.list_volumes(here.session, year=chosen_year, state=state or None, class_code=cls or None)
    except InputError as exc:
        if not _plain_input(exc):
            raise
        errors[exc.field or "year"] = _message(exc)
        rows = []
    return render(request, "volumes.html", {"csrf": here.csrf, "rows": rows, "year": year, "state": state,
                                            "cls": cls, "states": volumes.STATES, "errors": errors},
                  status_code=400 if errors else 200)


def _volume_context(here, code: str, errors: dict, values: dict) -> dict:
    from archive.shelf import fixity, volumes

    volume = volumes.show(here.session, code)
    role = here.request.state.role
    fixity_state = fixity.volume_state(here.session, volume.archival_code) if role.may("fixity.verify") else None
    from archive.core.access import ACCESS_STATUSES, SECURITY_LEVELS

    proposals = []
    if role.may("access.propose") or role.may("access.change"):
        from archive.shelf import access_changes

        proposals = access_changes.for_volume(here.session, volume.archival_code)
    return {"csrf": here.csrf, "volume": volume, "states": volumes.STATES, "fixity": fixity_state,
            "proposals": proposals,
            "access_statuses": ACCESS_STATUSES, "security_levels": SECURITY_LEVELS,
            "problems": PROBLEMS, "errors": errors, "values": values,
            "show_pdf": bool(volume.merged_pdf) and role.may("volume.file") and volume.state != "destroyed"}


@router.get("/volumes/{code}")
def volume_page(request: Request, code: str, noted: int = 0):
    here = desk(request)
    return render(request, "volume.html", dict(_volume_context(here, code, {}, {}), noted=noted))


@router.post("/volumes/{code}/note")
def note_form(request: Request, code: str, text: str = Form(""), csrf_token: str = Form("")):
    from archive.shelf import volumes

    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        volumes.note(here.session, code, text=text)
    except InputError as exc:
        if not _plain_input(exc):
            raise
        return render(request, "volume.html", dict(_volume_context(here, code, {"text": _message(exc)},
                                                                   {"text": text}), noted=0), status_code=400)
    return RedirectResponse(f"/volumes/{quote(code)}?noted=1", status_code=303)


@router.post("/volumes/{code}/access")
def access_form(request: Request, code: str, access: str = Form(""), security_level: str = Form(""),
                reason: str = Form(""), csrf_token: str = Form("")):
    """Propose a new 开放标识 / 密级 (``access.propose``); it waits for another account's approval."""
    from archive.shelf import access_changes

    here = desk(request)
    here.check_csrf(csrf_token)
    values = {"access": access, "security_level": security_level, "reason": reason}
    try:
        access_changes.propose(here.session, code, access=access or None, security_level=security_level or None,
                               reason=reason)
    except ArchiveError as exc:  # beside its field: bad input (400) or nothing to change (409)
        if not _plain_input(exc):
            raise
        field = {"调整理由": "reason"}.get(exc.field or "", exc.field or "access")
        return render(request, "volume.html", dict(_volume_context(here, code, {field: _message(exc)}, values),
                                                   noted=0), status_code=status_of(exc))
    return RedirectResponse(f"/volumes/{quote(code)}?noted=2", status_code=303)


@router.post("/access-changes/{number}")
def access_decision_form(request: Request, number: str, decision: str = Form(""), note: str = Form(""),
                         back: str = Form(""), csrf_token: str = Form("")):
    """Approve or refuse a proposal as the signed-in head (``access.change``; not one's own).
    From the volume page the answer is that page again, from the approvals queue the queue."""
    from archive.shelf import access_changes

    here = desk(request)
    here.check_csrf(csrf_token)
    try:
        if decision not in ("approve", "refuse"):
            raise InputError("请选择批准或不批准", field="decision")
        done = access_changes.decide(here.session, number, approve=decision == "approve", note=note or None)
    except ArchiveError as exc:
        if not _plain_input(exc) or exc.__class__.__name__ == "ForbiddenError":
            raise
        if back.startswith("/volumes/"):
            errors = {f"proposal-{number}": _message(exc)}
            code = back.removeprefix("/volumes/")
            from urllib.parse import unquote

            return render(request, "volume.html", dict(_volume_context(here, unquote(code), errors, {}), noted=0),
                          status_code=status_of(exc))
        from .lending import approvals_context

        return render(request, "approvals.html", approvals_context(here, errors={f"access-{number}": _message(exc)}),
                      status_code=status_of(exc))
    if back.startswith("/volumes/"):
        return RedirectResponse(f"/volumes/{quote(done.archival_code)}?noted={3 if done.status == 'approved' else 4}",
                                status_code=303)
    text = f"第{done.number}号调整申请（{done.archival_code}：{'；'.join(done.changes)}）{done.status_text}"
    return RedirectResponse(f"/approvals?done={quote(text)}", status_code=303)


@router.get("/volumes/{code}/pdf")
def volume_pdf(request: Request, code: str):
    """The merged PDF, inline, only through the library's check (never a static path)."""
    from archive.shelf import volumes

    path, name = volumes.merged_pdf_file(desk(request).session, code)
    return FileResponse(path, media_type="application/pdf", filename=name, content_disposition_type="inline")


# -- verify (fixity) ----------------------------------------------------------------------------

@router.get("/verify")
def verify_page(request: Request):
    from archive.shelf import fixity

    here = desk(request)
    return render(request, "verify.html", {"csrf": here.csrf, "runs": fixity.history(here.session, limit=30),
                                           "problems": PROBLEMS, "recent_jobs": jobs.recent_of(here, "verify")})


@router.post("/verify")
def verify_form(request: Request, csrf_token: str = Form("")):
    here = desk(request)
    here.check_csrf(csrf_token)
    return jobs.redirect_to(jobs.start(request, here, "verify", {}))


@router.get("/verify/{number}")
def verify_run_page(request: Request, number: int):
    from archive.shelf import fixity

    here = desk(request)
    run = fixity.run(here.session, number)
    return render(request, "verify_run.html", {"csrf": here.csrf, "run": run, "problems": PROBLEMS})


# -- catalogues ---------------------------------------------------------------------------------

def _int_or_none(value: str, label: str, **bounds):
    from archive.core.validate import check_positive_int

    return check_positive_int(value, label, **bounds) if value.strip() else None


@router.get("/catalogues")
def catalogues_page(request: Request, cls: str = "", year: str = "", catalogue: str = ""):
    """Browse by class → catalogue → year (the library leaves out what the account may not see)."""
    from archive.shelf import catalogues

    here = desk(request)
    errors, chosen = {}, []
    everything = catalogues.sheets(here.session)
    try:
        if cls or year or catalogue:
            chosen = catalogues.sheets(here.session, class_code=cls or None,
                                       year=_int_or_none(year, "年度", minimum=1949, maximum=2999),
                                       catalogue=_int_or_none(catalogue, "目录号", maximum=999))
    except InputError as exc:
        if not _plain_input(exc):
            raise
        errors["filter"] = _message(exc)
    tree: dict = {}
    for sheet in everything:
        tree.setdefault((sheet.class_code, sheet.class_name), {}).setdefault(
            (sheet.number, sheet.title), []).append(sheet)
    return render(request, "catalogues.html", {"csrf": here.csrf, "tree": tree, "chosen": chosen, "errors": errors,
                                               "cls": cls, "year": year, "catalogue": catalogue},
                  status_code=400 if errors else 200)


@router.post("/catalogues/export")
def catalogues_export(request: Request, fmt: str = Form("xlsx"), cls: str = Form(""), year: str = Form(""),
                      catalogue: str = Form(""), csrf_token: str = Form("")):
    """Export the catalogues chosen as .xlsx/.docx in the background; the job page links the file."""
    here = desk(request)
    here.check_csrf(csrf_token)
    job = jobs.start(request, here, "catalogue_export",
                     {"format": fmt, "class_code": cls, "year": year, "catalogue": catalogue})
    return jobs.redirect_to(job)
