"""Changes of a volume's 开放标识 and 密级, by two accounts: one proposes, another decides.

An archivist (``access.propose``) proposes a new access status and/or security level with a
reason; the proposal waits. A different account holding ``access.change`` (the archive's
head), signed in as itself, approves or refuses it; a refusal needs a reason, nobody decides
their own proposal, and only an approval changes the volume. The approval is logged, noted
on the notes sheet (proposer, approver, reason) and the cover — which prints both marks — is
issued again, the earlier cover kept as superseded (filed files are never edited). Every
step is an event and an entry of the audit trail. A volume has at most one pending proposal;
one decided after the volume's marks changed some other way is refused as stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..core import access as acl
from ..core import store as st
from ..core.errors import ForbiddenError, InputError, NotFoundError, StateError
from ..core.session import Session, retrying
from ..core.validate import check_positive_int, check_text
from ..window.wording import sentence
from .volumes import _reissue_cover, add_note, volume_row

STATUSES = {"pending": "待审批", "approved": "已批准", "refused": "未批准"}

_C, _V = st.access_changes.c, st.volumes.c
_QUERY = (select(st.access_changes, _V.archival_code, _V.title, _V.fonds,
                 _V.access.label("v_access"), _V.security_level.label("v_security_level"))
          .select_from(st.access_changes.join(st.volumes, _V.id == _C.volume_id)))


@dataclass(frozen=True)
class AccessChange:
    """One proposal, its decision and what it changes (``None`` security level: 无)."""

    number: int
    archival_code: str
    title: str
    access: str
    security_level: str | None
    previous_access: str
    previous_security_level: str | None
    reason: str
    status: str
    requested_at: dt.datetime
    requested_by: str
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None

    @property
    def status_text(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def changes(self) -> list[str]:
        """What the proposal changes, in words (“开放标识由“控制”改为“开放””)."""
        out = []
        if self.access != self.previous_access:
            out.append(f"开放标识由“{self.previous_access}”改为“{self.access}”")
        if self.security_level != self.previous_security_level:
            out.append(f"密级由“{self.previous_security_level or '无'}”改为“{self.security_level or '无'}”")
        return out

    def to_dict(self) -> dict:
        return {"number": self.number, "archival_code": self.archival_code, "title": self.title,
                "access": self.access, "security_level": self.security_level,
                "previous_access": self.previous_access, "previous_security_level": self.previous_security_level,
                "changes": self.changes, "reason": self.reason, "status": self.status,
                "status_text": self.status_text, "requested_at": self.requested_at.isoformat(sep=" "),
                "requested_by": self.requested_by,
                "decided_at": self.decided_at.isoformat(sep=" ") if self.decided_at else None,
                "decided_by": self.decided_by, "decision_note": self.decision_note}


def _value(row) -> AccessChange:
    return AccessChange(number=row.id, archival_code=row.archival_code, title=row.title, access=row.access,
                        security_level=row.security_level, previous_access=row.previous_access,
                        previous_security_level=row.previous_security_level, reason=row.reason, status=row.status,
                        requested_at=row.requested_at, requested_by=row.requested_by, decided_at=row.decided_at,
                        decided_by=row.decided_by, decision_note=row.decision_note)


def _marks(access: str | None, security_level: str | None) -> tuple[str | None, str | None, bool]:
    """The new access status and level as asked (``level_given`` False: the level stays)."""
    if access is not None and not access.strip():
        access = None
    if security_level is not None and not security_level.strip():
        security_level = None
    if access is None and security_level is None:
        raise InputError("请指定新的开放标识（--access）或密级（--security-level）", field="access")
    if access is not None and access not in acl.ACCESS_STATUSES:
        raise InputError(f"开放标识“{access}”无效，可选：{'、'.join(acl.ACCESS_STATUSES)}", field="access")
    level = None
    if security_level is not None:
        level = None if security_level in ("无", "none") else security_level
        if level is not None and level not in acl.SECURITY_LEVELS:
            raise InputError(f"密级“{security_level}”无效，可选：{'、'.join(acl.SECURITY_LEVELS)}、无",
                             field="security_level")
    return access, level, security_level is not None


@retrying
def propose(session: Session, code: str, *, access: str | None = None, security_level: str | None = None,
            reason: str) -> AccessChange:
    """Propose a new 开放标识 (``access``) and/or 密级 (``security_level``; ``"无"`` for none) for
    the volume ``code``, with a reason (``access.propose``). Nothing changes until another
    account holding ``access.change`` approves it (:func:`decide`)."""
    acl.require(session, "access.propose")
    reason = check_text(reason, "调整理由", max_length=500)
    new_access, new_level, level_given = _marks(access, security_level)
    with session.work() as work:
        conn = work.conn
        row = volume_row(conn, code, session)
        acl.require(session, "access.propose", fonds=row.fonds)
        row = st.lock(conn, st.volumes, _V.id == row.id)[0]
        if row.state in ("destroyed", "destroying"):
            raise StateError(f"案卷 {row.archival_code} 已销毁，不能调整开放标识或密级", field="archival_code")
        waiting = conn.execute(select(_C.id).where(_C.volume_id == row.id, _C.status == "pending")).scalar()
        if waiting:
            raise StateError(f"案卷 {row.archival_code} 已有待审批的调整申请（第{waiting}号），请等负责人审批后再提出",
                             field="archival_code")
        new_access = new_access if new_access is not None else row.access
        new_level = new_level if level_given else row.security_level
        if (new_access, new_level) == (row.access, row.security_level):
            raise StateError(f"案卷 {row.archival_code} 的开放标识已是“{row.access}”、"
                             f"密级已是“{row.security_level or '无'}”", field="access")
        number = conn.execute(st.access_changes.insert().values(
            volume_id=row.id, access=new_access, security_level=new_level, previous_access=row.access,
            previous_security_level=row.security_level, reason=reason, status="pending",
            requested_at=session.now(), requested_by=session.operator)).inserted_primary_key[0]
        session.log(work, "access_change_propose", row.archival_code, proposal=number, access=new_access,
                    security_level=new_level, previous_access=row.access,
                    previous_security_level=row.security_level, reason=reason)
        return _value(conn.execute(_QUERY.where(_C.id == number)).one())


@retrying
def decide(session: Session, number, *, approve: bool, note: str | None = None) -> AccessChange:
    """Approve or refuse the pending proposal ``number`` as the signed-in account
    (``access.change``). A refusal needs a reason (``note``); nobody decides their own
    proposal. Approval applies the change: volume, notes sheet, a new cover."""
    acl.require(session, "access.change")
    note = check_text(note, "审批意见" if approve else "不批准的理由", required=not approve, max_length=500) or None
    ident = check_positive_int(number, "调整申请编号", maximum=2**31 - 1)
    me = session.operator
    with session.work() as work:
        conn = work.conn
        row = conn.execute(_QUERY.where(_C.id == ident)).first()
        if row is None or not acl.visible_to(session, row.v_access, row.v_security_level, row.fonds):
            raise NotFoundError(f"找不到第{number}号开放标识/密级调整申请", field="proposal")
        acl.require(session, "access.change", fonds=row.fonds)
        if row.status != "pending":
            raise StateError(f"第{row.id}号调整申请已{STATUSES.get(row.status, row.status)}，不能再审批",
                             field="proposal")
        if row.requested_by == me:
            raise ForbiddenError(f"{me}不能审批自己提出的调整申请，须由另一位有权审批的负责人审批",
                                 field="proposal")
        volume = st.lock(conn, st.volumes, _V.id == row.volume_id)[0]
        if approve and (volume.access, volume.security_level) != (row.previous_access,
                                                                  row.previous_security_level):
            raise StateError(f"案卷 {volume.archival_code} 的开放标识或密级在申请后已另行调整，"
                             f"本申请已过时，请不予批准后重新提出", field="proposal")
        if approve and volume.state in ("destroyed", "destroying"):
            raise StateError(f"案卷 {volume.archival_code} 已销毁，不能调整开放标识或密级", field="proposal")
        updated = conn.execute(st.access_changes.update().where(_C.id == row.id, _C.status == "pending").values(
            status="approved" if approve else "refused", decided_at=session.now(), decided_by=me,
            decision_note=note)).rowcount
        if updated != 1:
            raise StateError(f"第{row.id}号调整申请刚被他人审批，请刷新", field="proposal")
        proposal = _value(conn.execute(_QUERY.where(_C.id == row.id)).one())
        if not approve:
            session.log(work, "access_change_refuse", volume.archival_code, proposal=row.id, note=note,
                        proposed_by=row.requested_by)
            return proposal
        conn.execute(st.volumes.update().where(_V.id == volume.id)
                     .values(access=row.access, security_level=row.security_level))
        session.log(work, "access_change", volume.archival_code, proposal=row.id, access=row.access,
                    security_level=row.security_level, previous_access=row.previous_access,
                    previous_security_level=row.previous_security_level, proposed_by=row.requested_by,
                    approver=me, reason=row.reason, note=note)
        _reissue_cover(work, volume_row(conn, volume.archival_code))
        add_note(work, volume.id, f"{'；'.join(proposal.changes)}。提出人：{row.requested_by}；批准人：{me}。"
                                  f"理由：{sentence(row.reason)}案卷封面已按新的标识重新制作，原封面留存备查。",
                 kind="access")
        return proposal


def pending(session: Session) -> list[AccessChange]:
    """Proposals waiting for a decision, oldest first, of volumes the account may see (``access.change``)."""
    acl.require(session, "access.change")
    with session.store.read() as conn:
        rows = conn.execute(_QUERY.where(_C.status == "pending").order_by(_C.id)).all()
    return [_value(r) for r in rows if acl.visible_to(session, r.v_access, r.v_security_level, r.fonds)]


def for_volume(session: Session, code: str) -> list[AccessChange]:
    """The volume's proposals, newest first (``access.propose`` or ``access.change``); a volume
    the account may not see answers as missing."""
    role = acl.role_of(session)
    if not (role.may("access.propose") or role.may("access.change")):
        acl.require(session, "access.propose")  # refuses, naming the permission
    with session.store.read() as conn:
        row = volume_row(conn, code, session)
        return [_value(r) for r in conn.execute(_QUERY.where(_C.volume_id == row.id).order_by(_C.id.desc()))]
