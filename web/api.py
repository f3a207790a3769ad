"""The JSON API under /api/v1, for a province platform or a queue system.

Each answer is the object the CLI prints with ``--json`` for the same library call
(``case receive``, ``case show``, ``search``, ``volume show``). Errors are
``{"error": {"code", "field", "message", "hint"}}`` (see :mod:`web.common`); what the
account may not see answers 404 exactly as if it did not exist. Every state-changing
request carries the session's CSRF token in ``X-CSRF-Token``. Long work (filing several
cases or with PDFs, verify, catalogue export) answers 202 ``{"job": {…}}`` with
``Location: /api/v1/jobs/{id}``; that job answers with its status, progress and result.
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


# -- the archive and the lending desk (issue 15) ---------------------------------------------------

class FileIn(BaseModel):
    case: str | None = Field(None, max_length=64, description="已办结的办件编号（归档一件）")
    cases: list[str] | None = Field(None, max_length=500, description="多个办件编号（在后台归档，答复 202 与任务）")


class VerifyIn(BaseModel):
    codes: list[str] = Field(default_factory=list, max_length=10000, description="要校验的档号（不填则校验全部）")


class ExportIn(BaseModel):
    format: Literal["xlsx", "docx"] = Field("xlsx", description="目录格式")
    class_code: str | None = Field(None, max_length=32, description="分类号，如 XK·ZC")
    year: int | None = Field(None, ge=1949, le=2999, description="年度")
    catalogue: int | None = Field(None, ge=1, le=999, description="目录号")


class LoanIn(BaseModel):
    """The options of `archive lend`; the approval is a head's, given in their own session."""

    archival_code: str = Field(..., max_length=100, description="档号")
    borrower: str = Field(..., max_length=32, description="借阅证号或身份证号码")
    purpose: str = Field(..., max_length=16, description="利用目的：工作查考、编史修志、学术研究、经济建设、宣传教育、其他")
    mode: str = Field(..., max_length=16, description="利用方式：read/excerpt/copy/loan 或 阅览/摘抄/复制/外借")


class ReturnIn(BaseModel):
    pages: int = Field(..., ge=0, le=100000, description="清点页数")
    condition: str | None = Field(None, max_length=500, description="归还时状况（完好可不填）")


def _changing(request: Request):
    here = desk(request)
    here.check_csrf(request.headers.get("X-CSRF-Token"))
    return here


def _job_accepted(request: Request, here, kind: str, params: dict) -> JSONResponse:
    """202 with the job and where to poll it (long work runs in the background, see web.jobs)."""
    from .jobs import start

    job = start(request, here, kind, params)
    return JSONResponse({"job": job.to_dict()}, status_code=202, headers={"Location": f"/api/v1/jobs/{job.id}"})


JOB_ACCEPTED = {202: {"description": "已转入后台任务：{\"job\": {…}}，Location 为 /api/v1/jobs/{id}"}}


@router.post("/volumes", status_code=201, tags=["案卷"], responses=JOB_ACCEPTED,
             summary="归档（同 archive file --json）；多件或生成 PDF 时在后台进行，答复 202 与任务")
def file_volume(request: Request, body: FileIn):
    """One case without PDFs is filed within the request (201, the volume). Several cases
    (``cases``), or a workspace that makes PDFs, answer 202 ``{job}`` with ``Location``."""
    from archive.core import access
    from archive.core.errors import InputError
    from archive.documents import office
    from archive.shelf import volumes

    here = _changing(request)
    access.require(here.session, "volume.file")  # the permission before the input
    if body.case and body.cases:
        raise InputError("case 与 cases 只填一个", field="cases")
    if body.cases is not None or office.pdf_enabled(here.session):
        return _job_accepted(request, here, "file", {"cases": body.cases if body.cases is not None else
                                                     [body.case] if body.case else []})
    if not body.case:
        raise InputError("请填写要归档的办件编号", field="case")
    return JSONResponse(volumes.file_case(here.session, body.case).to_dict(), status_code=201)


@router.post("/verify", status_code=202, tags=["案卷"],
             summary="完整性校验（同 archive verify --json），在后台进行：答复 202 与任务")
def verify(request: Request, body: VerifyIn | None = None):
    return _job_accepted(request, _changing(request), "verify", {"codes": body.codes if body else []})


@router.post("/catalogues/export", status_code=202, tags=["案卷"],
             summary="导出案卷目录 .xlsx/.docx（同 archive catalogue export），在后台进行：答复 202 与任务")
def export_catalogues(request: Request, body: ExportIn):
    return _job_accepted(request, _changing(request), "catalogue_export", body.model_dump())


@router.post("/reindex", status_code=202, tags=["检索"],
             summary="重建检索索引（同 archive reindex --json），在后台进行：答复 202 与任务")
def reindex(request: Request):
    return _job_accepted(request, _changing(request), "reindex", {})


@router.get("/jobs/{job_id}", tags=["任务"], summary="后台任务：状态、进度与结果")
def show_job(request: Request, job_id: str):
    """The job (only for its owner, or an account allowed to follow that kind of work)."""
    from archive.core import jobs

    return jobs.get(desk(request).session, job_id).to_dict()


@router.get("/jobs/{job_id}/file", tags=["任务"], summary="后台任务生成的文件（案卷目录），经检查后下载")
def job_file(request: Request, job_id: str):
    from archive import background

    path, name, media = background.result_file(desk(request).session, job_id)
    return FileResponse(path, media_type=media, filename=name)


@router.post("/loans", status_code=201, tags=["借阅"], summary="借阅登记（同 archive lend --json）")
def lend(request: Request, body: LoanIn):
    from archive.lending import loans

    loan = loans.lend(_changing(request).session, body.archival_code, borrower=body.borrower, purpose=body.purpose,
                      mode=body.mode)
    return JSONResponse(loan.to_dict(), status_code=201)


@router.post("/loans/{loan}/return", tags=["借阅"], summary="归还（同 archive return --json）")
def return_loan(request: Request, loan: str, body: ReturnIn):
    from archive.lending import loans

    return loans.return_loan(_changing(request).session, loan, pages=body.pages,
                             condition=body.condition).to_dict()


@router.post("/loans/{loan}/renew", tags=["借阅"], summary="续借（同 archive renew --json）")
def renew(request: Request, loan: str):
    from archive.lending import loans

    return loans.renew(_changing(request).session, loan).to_dict()


@router.get("/borrowers/{borrower}", tags=["借阅"], summary="借阅人（同 archive borrower show --json）")
def show_borrower(request: Request, borrower: str):
    from archive.lending import borrowers

    return borrowers.show(desk(request).session, borrower).to_dict()


class AccessChangeIn(BaseModel):
    """The options of `archive volume access`: a proposal, applied only when another account approves it."""

    access: str | None = Field(None, max_length=16, description="新的开放标识：开放、控制、延期开放、未审核")
    security_level: str | None = Field(None, max_length=16, description="新的密级：秘密、机密、绝密，或“无”")
    reason: str | None = Field(None, max_length=500, description="调整理由")


class DecisionIn(BaseModel):
    note: str | None = Field(None, max_length=500, description="审批意见（不批准时为理由，必填）")


@router.post("/volumes/{archival_code}/access", status_code=201, tags=["案卷"],
             summary="提出调整开放标识或密级（同 archive volume access --json）")
def propose_access(request: Request, archival_code: str, body: AccessChangeIn):
    from archive.shelf import access_changes

    change = access_changes.propose(_changing(request).session, archival_code, access=body.access,
                                    security_level=body.security_level, reason=body.reason)
    return JSONResponse(change.to_dict(), status_code=201)


@router.post("/access-changes/{number}/{decision}", tags=["案卷"],
             summary="批准或不批准调整申请（同 archive volume approve-access / refuse-access --json）")
def decide_access(request: Request, number: str, decision: Literal["approve", "refuse"], body: DecisionIn):
    from archive.shelf import access_changes

    return access_changes.decide(_changing(request).session, number, approve=decision == "approve",
                                 note=body.note).to_dict()
