"""Borrowers (借阅人): who may borrow, what their role lets them see, and blocking.

A borrower is registered once with a validated resident ID number (GB 11643) and gets a
borrower number (借阅证号, ``borrower_number_format`` of the lending section, default
``JZ{seq:04d}``). The type — ``internal`` (内部人员), ``agency`` (外单位人员) or ``public``
(社会公众) — selects the lending rules; the role (a role of :mod:`archive.core.access`) decides
which volumes the borrower may see at all. A blocked borrower cannot borrow or renew.
Commands name a borrower by number or ID number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, func, or_, select

from ..core import store as st
from ..core.access import get_role, require, role_of
from ..core.errors import ForbiddenError, InputError, NotFoundError, StateError
from .ledger import loans_of
from .rules import BORROWER_TYPES, borrower_type_key, section
from ..core.session import Session, retrying
from ..core.validate import check_code, check_id_number, check_phone, check_text, mask_id

DEFAULT_ROLES = {"internal": "staff", "agency": "staff", "public": "public"}
PUBLIC_UNIT = "个人"


@dataclass(frozen=True)
class Borrower:
    """A registered borrower."""

    code: str
    name: str
    unit: str
    type: str
    id_number: str
    phone: str
    role: str
    blocked: bool
    blocked_reason: str | None
    created_at: dt.datetime
    account: str | None = None  # the account of a borrower who uses the reader's pages

    @property
    def type_name(self) -> str:
        return BORROWER_TYPES[self.type]

    def to_dict(self) -> dict:
        return {
            "borrower": self.code, "name": self.name, "unit": self.unit, "type": self.type,
            "type_name": self.type_name, "id_number": mask_id(self.id_number), "phone": self.phone,
            "role": self.role, "blocked": self.blocked, "blocked_reason": self.blocked_reason,
            "registered_at": self.created_at.isoformat(sep=" "), "account": self.account,
        }


def from_row(row) -> Borrower:
    return Borrower(code=row.code, name=row.name, unit=row.unit, type=row.type, id_number=row.id_number,
                    phone=row.phone, role=row.role, blocked=bool(row.blocked), blocked_reason=row.blocked_reason,
                    created_at=row.created_at, account=row.account)


# Built once: lending looks a borrower up on every request.
_BY_CODE_OR_ID = select(st.borrowers).where(
    or_(st.borrowers.c.code == bindparam("ref"), st.borrowers.c.id_number == bindparam("ref")))


def find_row(conn, ref: str):
    """The borrower row named by number or ID number; NotFoundError otherwise."""
    text = check_code(ref, "借阅人", max_length=32).upper()
    row = conn.execute(_BY_CODE_OR_ID, {"ref": text}).first()
    if row is None:
        raise NotFoundError(f"找不到借阅人“{ref}”（按借阅证号或身份证号码查找）", field="borrower",
                            hint="先用 archive borrower add 登记借阅人，或用 archive borrower list 查看")
    return row


def _as_field(check, value, label: str, field: str):
    """Run a validator, naming the field as the command line does (``id_number``)."""
    try:
        return check(value, label)
    except InputError as exc:
        raise InputError(exc.message, field=field, hint=exc.hint) from None


def _account(session: Session, conn, name: str | None, *, borrower_id: int | None = None) -> str | None:
    """An account to link to a borrower: it must exist and not be linked to another borrower."""
    from ..core.accounts import find_user

    name = check_text(name, "账户名", required=False, max_length=50) or None
    if name is None:
        return None
    if find_user(session, name) is None:
        raise NotFoundError(f"没有名为“{name}”的账户", field="account")
    linked = conn.execute(select(st.borrowers.c.code).where(st.borrowers.c.account == name,
                                                            st.borrowers.c.id != (borrower_id or 0))).scalar()
    if linked:
        raise StateError(f"账户“{name}”已关联借阅证 {linked}", field="account")
    return name


@retrying
def add(session: Session, *, name: str, unit: str | None, type: str, id_number: str, phone: str,
        role: str | None = None, account: str | None = None) -> Borrower:
    """Register a borrower (``lending.lend``); the ID number must be valid and not registered yet.

    ``account`` links the borrower to the account they sign in with, so they can ask to
    borrow from the search page and download their reading copies.
    """
    require(session, "lending.lend")
    name = check_text(name, "借阅人姓名", max_length=50)
    kind = borrower_type_key(type)
    unit = check_text(unit, "借阅人单位", required=kind != "public", max_length=200) or PUBLIC_UNIT
    id_number = _as_field(check_id_number, id_number, "身份证号码", "id_number")
    phone = _as_field(check_phone, phone, "联系电话", "phone")
    lending = section(session)
    role = check_text(role, "角色", required=False, max_length=32) or \
        lending.get("default_roles", {}).get(kind, DEFAULT_ROLES[kind])
    chosen = get_role(session, role)  # InputError naming the known roles
    own = role_of(session)
    if not own.covers(chosen):
        raise ForbiddenError(f"不能为借阅人设定角色“{chosen.name}”（{chosen.label}）：它可以查看的超出了你的角色"
                             f"“{own.name}”（{own.label}）", field="role",
                             hint="请由查看范围覆盖该角色的人员登记该借阅人")
    with session.work() as work:
        existing = work.conn.execute(
            select(st.borrowers.c.code).where(st.borrowers.c.id_number == id_number)
        ).scalar()
        if existing:
            raise StateError(f"身份证号码为 {mask_id(id_number)} 的借阅人已登记，借阅证号 {existing}",
                             field="id_number")
        account = _account(session, work.conn, account)
        seq = st.next_number(work.conn, "borrower")
        code = lending.get("borrower_number_format", "JZ{seq:04d}").format(seq=seq)
        now = session.now()
        work.conn.execute(st.borrowers.insert().values(
            code=code, name=name, unit=unit, type=kind, id_number=id_number, phone=phone, role=role,
            blocked=False, created_at=now, created_by=session.operator, account=account,
        ))
        session.log(work, "borrower_add", code, name=name, unit=unit, type=kind, role=role, account=account)
        return from_row(find_row(work.conn, code))


def get(session: Session, ref: str) -> Borrower:
    require(session, "lending.lend")
    with session.store.read() as conn:
        return from_row(find_row(conn, ref))


def link_account(session: Session, ref: str, account: str | None) -> Borrower:
    """Link a borrower to the account they sign in with (None unlinks); ``lending.lend``."""
    require(session, "lending.lend")
    with session.work() as work:
        row = find_row(work.conn, ref)
        name = _account(session, work.conn, account, borrower_id=row.id)
        work.conn.execute(st.borrowers.update().where(st.borrowers.c.id == row.id).values(account=name))
        session.log(work, "borrower_link", row.code, account=name)
        return from_row(find_row(work.conn, row.code))


def own(session: Session) -> Borrower:
    """The borrower linked to the acting account; an error saying where to register otherwise."""
    user = session.user
    with session.store.read() as conn:
        row = conn.execute(select(st.borrowers).where(st.borrowers.c.account == user.name)).first() \
            if user is not None else None
    if row is None:
        raise StateError("你的账户尚未关联借阅证，不能申请借阅", field="borrower",
                         hint="请持身份证件到档案室办理借阅登记，并请档案管理员关联你的账户")
    return from_row(row)


def list_borrowers(session: Session, *, type: str | None = None, blocked: bool | None = None,
                   query: str | None = None) -> list[Borrower]:
    """Borrowers in number order, optionally of one type, (un)blocked, or matching a name/unit."""
    require(session, "lending.lend")
    stmt = select(st.borrowers).order_by(st.borrowers.c.id)
    if type:
        stmt = stmt.where(st.borrowers.c.type == borrower_type_key(type))
    if blocked is not None:
        stmt = stmt.where(st.borrowers.c.blocked == blocked)
    if query:
        like = f"%{check_text(query, '查询条件', max_length=50)}%"
        stmt = stmt.where(or_(st.borrowers.c.name.like(like), st.borrowers.c.unit.like(like)))
    with session.store.read() as conn:
        return [from_row(row) for row in conn.execute(stmt)]


@dataclass(frozen=True)
class BorrowerRecord:
    """A borrower with the loans they hold now and how many uses they made in all."""

    borrower: Borrower
    open_loans: tuple
    uses: int

    def to_dict(self) -> dict:
        return {**self.borrower.to_dict(), "open_loans": [loan.to_dict() for loan in self.open_loans],
                "uses": self.uses}


def show(session: Session, ref: str) -> BorrowerRecord:
    require(session, "lending.lend")
    with session.store.read() as conn:
        row = find_row(conn, ref)
        uses = conn.execute(select(func.count()).where(st.loans.c.borrower_id == row.id)).scalar()
        return BorrowerRecord(from_row(row), tuple(loans_of(conn, row.id, open_only=True)), uses)


@retrying
def block(session: Session, ref: str, *, reason: str | None = None, unblock: bool = False) -> Borrower:
    """Stop (or, with ``unblock``, restore) a borrower's lending; the reason is recorded."""
    require(session, "lending.lend")
    reason = check_text(reason, "停借原因", required=not unblock, max_length=500) or None
    with session.work() as work:
        row = find_row(work.conn, ref)
        if unblock and not row.blocked:
            raise StateError(f"借阅人 {row.code}（{row.name}）未被停借", field="borrower")
        if not unblock and row.blocked:
            raise StateError(f"借阅人 {row.code}（{row.name}）已于 {row.blocked_at:%Y-%m-%d} 停借：{row.blocked_reason}",
                             field="borrower")
        values = (dict(blocked=False, blocked_reason=None, blocked_at=None, blocked_by=None) if unblock else
                  dict(blocked=True, blocked_reason=reason, blocked_at=session.now(), blocked_by=session.operator))
        work.conn.execute(st.borrowers.update().where(st.borrowers.c.id == row.id).values(**values))
        session.log(work, "borrower_unblock" if unblock else "borrower_block", row.code, reason=reason)
        return from_row(find_row(work.conn, row.code))


@dataclass(frozen=True)
class Standing:
    """What the lending desk shows before the first volume is scanned: the borrower, their open
    loans, every block (suspension, overdue loans, requests waiting for a head) and the rules
    that will apply to them."""

    record: BorrowerRecord
    blocks: tuple[str, ...]
    pending_requests: int
    rules: tuple[dict, ...]  # one line per (access, mode): allowed, approval, days, max out, rule

    def to_dict(self) -> dict:
        return {**self.record.to_dict(), "blocks": list(self.blocks), "pending_requests": self.pending_requests,
                "rules": list(self.rules)}


def standing(session: Session, ref: str) -> Standing:
    """The borrower found by card number or ID number, with their blocks and rules (``lending.lend``)."""
    from . import rules as rl

    record = show(session, ref)
    b, today = record.borrower, session.today
    blocks = []
    if b.blocked:
        blocks.append(f"已停止借阅：{b.blocked_reason}")
    for loan in record.open_loans:
        if loan.due_on < today:
            blocks.append(f"逾期未还：{loan.archival_code}（借阅单 {loan.loan}，应还日期 {loan.due_on.isoformat()}，"
                          f"已逾期 {(today - loan.due_on).days} 天）")
    with session.store.read() as conn:
        borrower_id = find_row(conn, b.code).id
        pending = conn.execute(select(func.count()).where(st.loan_requests.c.borrower_id == borrower_id,
                                                          st.loan_requests.c.status == "pending")).scalar()
    if pending:
        blocks.append(f"有 {pending} 份借阅申请待负责人批准")
    lines = []
    for access_status in ("开放", "控制"):
        for mode in ("read", "loan"):
            d = rl.decide(session, b.type, access_status, None, mode)
            lines.append({"access": access_status, "mode": mode, "mode_name": rl.MODES[mode], "allowed": d.allowed,
                          "approval": d.approval, "approval_name": rl.APPROVALS[d.approval],
                          "loan_days": d.loan_days, "max_out": d.max_out, "rule": d.source("allowed")})
    return Standing(record, tuple(blocks), int(pending or 0), tuple(lines))
