"""The JSON API under /api/v1, for a province platform or a queue system.

Each answer is the object the CLI prints with ``--json`` for the same library call
(``case receive``, ``case show``, ``search``, ``volume show``). Errors are
``{"error": {"code", "field", "message", "hint"}}`` (see :mod:`web.common`); what the
account may not see answers 404 exactly as if it did not exist. Every state-changing
request carries the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from .common import desk

router = APIRouter(prefix="/api/v1")


class CaseIn(BaseModel):
    """The options of `archive case receive`, as JSON."""

    item: str = Field(..., max_length=64, description="事项编码，如 SJ-XK-003")
    applicant: str = Field(..., max_length=200, description="申请人姓名或单位名称")
    id_number: str | None = Field(None, max_length=32, description="自然人的公民身份号码")
    credit_code: str | None = Field(None, max_length=32, description="法人或其他组织的统一社会信用代码")
    legal_rep: str | None = Field(None, max_length=50, description="法定代表人（与 credit_code 同填）")
    phone: str = Field(..., max_length=32)
    materials: list[str] = Field(default_factory=list, description="已收材料编码")
    defective: dict[str, str] = Field(default_factory=dict, description="有问题的材料：编码 → 问题")
    received_on: str | None = Field(None, description="收件日期 YYYY-MM-DD（默认今天）")
    defer: bool = Field(False, description="收件后转后台审查")


def applicant_of(body_applicant: str, id_number: str | None, credit_code: str | None, legal_rep: str | None,
                 phone: str):
    """The applicant the request names (a person by ID number, an organisation by credit code)."""
    from archive.core.errors import InputError
    from archive.window.cases import Applicant

    if credit_code and id_number:
        raise InputError("自然人填写身份证号码，法人或其他组织填写统一社会信用代码，二者不能同时填写", field="id_number")
    if credit_code:
        return Applicant.organisation(body_applicant, credit_code, legal_rep or "", phone)
    if id_number:
        return Applicant.person(body_applicant, id_number, phone)
    raise InputError("请填写申请人的身份证号码或统一社会信用代码", field="id_number")


@router.post("/cases", status_code=201, tags=["办件"], summary="收件（同 archive case receive --json）")
def receive_case(request: Request, body: CaseIn):
    from archive.window import cases

    here = desk(request)
    here.check_csrf(request.headers.get("X-CSRF-Token"))
    applicant = applicant_of(body.applicant, body.id_number, body.credit_code, body.legal_rep, body.phone)
    result = cases.receive(here.session, item_code=body.item, applicant=applicant, materials=body.materials,
                           received_on=body.received_on, defects=body.defective, defer=body.defer)
    return JSONResponse(result.to_dict(), status_code=201)


@router.get("/cases/{case_no}", tags=["办件"], summary="一个办件（同 archive case show --json）")
def show_case(request: Request, case_no: str):
    from archive.window import cases

    return cases.show(desk(request).session, case_no).to_dict()


@router.get("/search", tags=["检索"], summary="全文检索（同 archive search --json）")
def search(request: Request, q: str = Query("", max_length=500), year: str | None = None, unit: str | None = None,
           item: str | None = None, status: str | None = None, limit: int = Query(10, ge=1, le=100),
           page: int = Query(1, ge=1, le=1000), sort: Literal["relevance", "date"] = "relevance"):
    from archive.search import index

    result = index.search(desk(request).session, q, year=year, unit=unit, item=item, status=status, limit=limit,
                          page=page, sort=sort)
    return result.to_dict()


@router.get("/volumes/{archival_code}", tags=["案卷"], summary="一个案卷（同 archive volume show --json）")
def show_volume(request: Request, archival_code: str):
    from archive.shelf import volumes

    return volumes.show(desk(request).session, archival_code).to_show_dict()


def notice_download(request: Request, notice_id: int, fmt: str, *, inline: bool = False):
    """A stored notice file, served only after the library's check (shared with the pages)."""
    from archive.window import notices

    path, name = notices.notice_file(desk(request).session, notice_id, fmt)
    media = "application/pdf" if fmt == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return FileResponse(path, media_type=media, filename=name,
                        content_disposition_type="inline" if inline else "attachment")


@router.get("/notices/{notice_id}/pdf", tags=["文书"], summary="文书 PDF")
def notice_pdf(request: Request, notice_id: int):
    return notice_download(request, notice_id, "pdf")


@router.get("/notices/{notice_id}/docx", tags=["文书"], summary="文书 .docx")
def notice_docx(request: Request, notice_id: int):
    return notice_download(request, notice_id, "docx")
