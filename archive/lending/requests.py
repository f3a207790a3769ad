"""Loan requests: a reader asks to use a volume; a head approves or refuses in their own session.

A reader signed in with an account linked to a borrower (``borrowers.account``) asks from the
search page (``lending.request``) for a volume they may see. The lending rules say whether a
head must approve: if not, the request is approved at once; if so it waits in the heads'
queue (``lending.approve`` gives head-in-charge, ``lending.approve_principal`` principal-head;
nobody decides their own request). At the desk, :func:`archive.lending.loans.lend` uses an
approved request for that borrower, volume and mode as the approval, and marks it used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from . import rules as rl
from ..core import access
from ..core import store as st
from ..core.errors import ForbiddenError, NotFoundError, RuleError, StateError
from ..core.session import Session
from ..core.validate import check_code, check_text

STATUSES = {"pending": "待批准", "approved": "已批准", "refused": "未批准", "used": "已借阅"}


@dataclass(frozen=True)
class LoanRequest:
    number: str
    kind: str
    archival_code: str
    title: str
    borrower: str
    borrower_name: str
    mode: str
    purpose: str
    approval_needed: str
    status: str
    requested_at: dt.datetime
    requested_by: str
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None
    note: str | None = None

    @property
    def status_text(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def mode_name(self) -> str:
        return rl.MODES.get(self.mode, self.mode)

    def to_dict(self) -> dict:
        return {"request": self.number, "kind": self.kind, "archival_code": self.archival_code, "title": self.title,
                "borrower": self.borrower, "borrower_name": self.borrower_name, "mode": self.mode,
                "purpose": self.purpose, "approval_needed": self.approval_needed, "status": self.status,
                "status_text": self.status_text, "requested_at": self.requested_at.isoformat(sep=" "),
                "requested_by": self.requested_by, "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat(sep=" ") if self.decided_at else None,
                "decision_note": self.decision_note, "note": self.note}


_R, _V, _B = st.loan_requests.c, st.volumes.c, st.borrowers.c
_QUERY = (select(st.loan_requests, _V.archival_code, _V.title, _V.access, _V.security_level, _V.fonds,
                 _B.code.label("b_code"), _B.name.label("b_name"), _B.account.label("b_account"))
          .select_from(st.loan_requests.join(st.volumes, _V.id == _R.volume_id)
                       .join(st.borrowers, _B.id == _R.borrower_id)))


def _value(row) -> LoanRequest:
    return LoanRequest(number=row.number, kind=row.kind, archival_code=row.archival_code, title=row.title,
                       borrower=row.b_code, borrower_name=row.b_name, mode=row.mode, purpose=row.purpose,
                       approval_needed=row.approval_needed, status=row.status, requested_at=row.requested_at,
                       requested_by=row.requested_by, decided_at=row.decided_at, decided_by=row.decided_by,
                       decision_note=row.decision_note, note=row.note)


def request(session: Session, code: str, *, mode: str = "read", purpose: str = "工作查考",
            note: str | None = None, borrower: str | None = None) -> LoanRequest:
    """Ask to use the volume ``code`` as the signed-in reader (``lending.request``), or, with
    ``borrower``, for that borrower at the lending desk (``lending.lend``: a scan refused for
    want of a head's approval is sent to the heads' queue).

    The volume must be one the account may see (else: as if it did not exist) and one the
    lending rules let this borrower use that way; the request then waits for the head the
    rules name, or is approved at once when they name none.
    """
    from .borrowers import get, own
    from .loans import _check_role, purpose_key

    if borrower is None:
        access.require(session, "lending.request")
    else:
        access.require(session, "lending.lend")
    mode = rl.mode_key(mode)
    purpose = purpose_key(purpose)
    note = check_text(note, "申请说明", required=False, max_length=500) or None
    for_desk = borrower is not None
    borrower = get(session, borrower) if for_desk else own(session)
    text = check_code(code, "档号", max_length=100)
    with session.work() as work:
        conn = work.conn
        volume = conn.execute(select(st.volumes).where(_V.archival_code == text)).first()
        if volume is None or not access.visible_to(session, volume.access, volume.security_level, volume.fonds):
            raise NotFoundError(f"找不到档号为“{text}”的案卷", field="archival_code")
        if volume.state == "destroyed":
            raise RuleError(f"案卷 {text} 已销毁，不能借阅", field="archival_code")
        if for_desk:
            _check_role(session, borrower, volume)  # the borrower's own clearance
        decision = rl.decide(session, borrower.type, volume.access, volume.security_level, mode)
        if not decision.allowed:
            raise RuleError(f"{decision.source('allowed')}不允许{rl.BORROWER_TYPES[borrower.type]}"
                            f"{rl.MODES[mode]}{volume.access}案卷 {text}", field="mode")
        borrower_id = conn.execute(select(_B.id).where(_B.code == borrower.code)).scalar()
        waiting = conn.execute(select(_R.number).where(_R.volume_id == volume.id, _R.borrower_id == borrower_id,
                                                       _R.mode == mode, _R.status.in_(("pending", "approved"))
                                                       )).scalar()
        if waiting:
            raise StateError(f"你已申请过{rl.MODES[mode]}案卷 {text}（申请单 {waiting}），无须重复申请",
                             field="archival_code")
        now = session.now()
        seq = st.next_number(conn, f"loan_request:{session.today.year}")
        number = f"SQ{session.today.year}{seq:05d}"
        needed = decision.approval
        conn.execute(st.loan_requests.insert().values(
            number=number, kind="lend", volume_id=volume.id, borrower_id=borrower_id, mode=mode, purpose=purpose,
            approval_needed=needed, note=note, status="pending" if needed != "none" else "approved",
            requested_at=now, requested_by=session.operator,
            decided_at=None if needed != "none" else now, approver_level=None if needed != "none" else "none"))
        session.log(work, "loan_request", text, request=number, borrower=borrower.code, mode=mode, purpose=purpose,
                    approval_needed=needed)
        row = conn.execute(_QUERY.where(_R.number == number)).one()
        return _value(row)


def mine(session: Session) -> list[LoanRequest]:
    """The signed-in reader's requests, newest first."""
    access.require(session, "lending.request")
    user = session.user
    if user is None:
        return []
    with session.store.read() as conn:
        return [_value(r) for r in conn.execute(_QUERY.where(_B.account == user.name).order_by(_R.id.desc()))]


def pending(session: Session) -> list[LoanRequest]:
    """Requests waiting for a head, oldest first, of volumes the approver may see (``lending.approve``)."""
    access.require(session, "lending.approve")
    with session.store.read() as conn:
        rows = conn.execute(_QUERY.where(_R.status == "pending").order_by(_R.id)).all()
    return [_value(r) for r in rows if access.visible_to(session, r.access, r.security_level, r.fonds)]


def decide(session: Session, number: str, *, approve: bool, note: str | None = None) -> LoanRequest:
    """Approve or refuse a pending request as the signed-in head, at the level their role gives.

    A request needing the principal head cannot be approved by the head in charge; nobody
    decides a request they made themselves.
    """
    from .loans import approver_level_of

    access.require(session, "lending.approve")
    note = check_text(note, "审批意见", required=not approve, max_length=500) or None
    me = session.operator
    text = check_code(number, "申请单号", max_length=64).upper()
    with session.work() as work:
        row = work.conn.execute(_QUERY.where(_R.number == text)).first()
        if row is None or not access.visible_to(session, row.access, row.security_level, row.fonds):
            raise NotFoundError(f"找不到借阅申请“{number}”", field="request")
        if row.status != "pending":
            raise StateError(f"借阅申请 {row.number} 已{STATUSES.get(row.status, row.status)}，不能再审批",
                             field="request")
        if row.requested_by == me or row.b_account == me:
            raise ForbiddenError(f"{me}不能审批自己的借阅申请", field="request")
        level = approver_level_of(session, me)
        if approve and rl.APPROVAL_RANK[level] < rl.APPROVAL_RANK[row.approval_needed]:
            raise ForbiddenError(f"借阅申请 {row.number} 须经{rl.APPROVALS[row.approval_needed]}批准，"
                                 f"{me}只能以{rl.APPROVALS[level]}的身份批准", field="request")
        updated = work.conn.execute(st.loan_requests.update().where(_R.id == row.id, _R.status == "pending").values(
            status="approved" if approve else "refused", decided_at=session.now(), decided_by=me,
            approver_level=level if approve else None, decision_note=note)).rowcount
        if updated != 1:
            raise StateError(f"借阅申请 {row.number} 刚被他人审批，请刷新", field="request")
        session.log(work, "loan_request_approve" if approve else "loan_request_refuse", row.archival_code,
                    request=row.number, level=level, note=note)
        return _value(work.conn.execute(_QUERY.where(_R.id == row.id)).one())
