"""The loan slip (档案借阅单) printed at the lending desk when a volume is lent.

The slip's number is the loan's (借阅单号). It is made the first time it is asked for — a
.docx from ``templates/loan_slip.docx`` and, when the workspace makes PDFs, its PDF — and
kept under ``documents/slips/<year>/``, so a reprint is the same slip. It prints what was
agreed at the desk (borrower, volume, pages to count at the return, purpose, mode, due
date, approval, the rule applied) and the terms of use (domain.md §5), with lines for the
borrower's signature and the return count. Each print is in the audit trail.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from . import rules as rl
from ..core import access, audit
from ..core import store as st
from ..core.errors import InputError, NotFoundError, StateError
from ..core.session import Session
from ..core.validate import format_cn_date

TERMS = (
    "借阅的档案不得转借他人，不得带出规定的场所（外借的除外）。",
    "不得拆卷、抽页，不得在档案上圈划、批注、涂改或折叠。",
    "摘抄、复制须经同意，复制件由档案室制作。",
    "请按期归还；归还时按卷内文件目录清点页数，缺页或损坏记入卷内备考表。",
    "逾期未还的，档案室逐次发出催还通知；逾期期间不能借阅其他档案。",
)


def _context(session: Session, loan, borrower, pages: int, operator: str) -> dict:
    approval = "无需审批"
    if loan.approved_by:
        approval = f"{loan.approved_by}（{rl.APPROVALS.get(loan.approver_level, loan.approver_level)}）批准"
    ids = [str(v) for v in dict.fromkeys((loan.rules or {}).values()) if v != rl.DEFAULTS_ID]
    rules = "、".join(ids) + ("及默认规则" if ids and rl.DEFAULTS_ID in (loan.rules or {}).values() else "") \
        if ids else "默认规则"
    return {
        "organ": session.ws.centre.get("name", ""), "loan": loan.loan, "lent_on": format_cn_date(loan.lent_on),
        "borrower": {"code": borrower.code, "name": borrower.name, "unit": borrower.unit, "phone": borrower.phone},
        "archival_code": loan.archival_code, "title": loan.title, "pages": pages, "purpose": loan.purpose,
        "mode": loan.mode_name, "due_on": format_cn_date(loan.due_on), "approval": approval,
        "rule": f"借阅规则 {rules}（{rl.BORROWER_TYPES.get(borrower.type, borrower.type)}）",
        "terms": list(TERMS), "operator": operator or "", "printed_on": format_cn_date(session.today),
    }


def slip_file(session: Session, number: str, fmt: str = "pdf") -> tuple[Path, str]:
    """The loan slip of loan ``number`` as ``fmt`` (pdf or docx), made when first asked for;
    its path and download name (``lending.lend``)."""
    from ..documents import office
    from ..documents.render import render_document
    from .borrowers import get
    from .loans import _load, loan_from_row, pages_expected

    access.require(session, "lending.lend")
    if fmt not in ("pdf", "docx"):
        raise InputError("格式只能是 pdf 或 docx", field="format")
    with session.store.read() as conn:
        row = _load(conn, number)
        loan = loan_from_row(row)
        pages = pages_expected(conn, row.volume_id, row.v_pages)
        lent_by = conn.execute(select(st.loans.c.lent_by).where(st.loans.c.id == row.id)).scalar()
    folder = session.ws.documents_dir / "slips" / str(loan.lent_on.year)
    docx = folder / f"借阅单_{loan.loan}.docx"
    if not docx.is_file():
        borrower = get(session, loan.borrower)
        with session.work() as work:
            work.track(docx)
            try:
                render_document("loan_slip", _context(session, loan, borrower, pages, lent_by), docx,
                                properties={"title": f"档案借阅单 {loan.loan}", "subject": "档案借阅单",
                                            "author": session.ws.centre.get("name", "")})
            except StateError:  # made by another request a moment ago: that one is the slip
                if not docx.is_file():
                    raise
            session.log(work, "loan_slip", loan.archival_code, loan=loan.loan)
    path = docx
    if fmt == "pdf":
        path = docx.with_suffix(".pdf")
        if not path.is_file():
            if not office.pdf_enabled(session):
                raise NotFoundError("本工作区不生成 PDF，请下载 .docx 借阅单打印", field="format",
                                    hint="安装 LibreOffice 后即可生成 PDF")
            try:
                office.converter(session).convert(docx, path)
            except StateError:
                if not path.is_file():
                    raise
    audit.record(session, "loan_slip.print", loan.archival_code, loan=loan.loan, file=fmt)
    return path, f"借阅单_{loan.loan}.{fmt}"

