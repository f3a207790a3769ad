"""Loans (借阅): lending a volume under the rules, returns, renewals, overdue reminders.

Every use of a volume — reading it in the room, excerpting, copying or taking it out — is
a loan with a number (借阅单号) and a due date, and takes the volume off the shelf until
it is returned; that is what the lending register (借阅登记表) lists.

:func:`lend` checks, in one write transaction: the volume is filed, on the shelf and not
destroyed or flagged; the borrower is not blocked, holds no overdue volume, may see the
volume (their role, :mod:`archive.core.access`) and is below the maximum; the rules
(:mod:`archive.lending.rules`) allow the use and the approval given is at the level they need.
A refusal raises :class:`~archive.core.errors.RuleError` (exit 2) naming the rule, and nothing
is recorded. The check and the change happen inside one ``session.work()``: on SQLite that
is a ``BEGIN IMMEDIATE`` transaction, on PostgreSQL the volume's and the borrower's rows are
locked (``SELECT … FOR UPDATE``) before they are checked, so two archivists lending the same
volume at the same moment are serialised and the second sees it out; on any database the
volume's state is changed with a conditional UPDATE, and ``loans.open_volume_id`` is unique,
so a second open loan of one volume cannot be stored at all.

:func:`return_loan` counts the pages against the volume's item list; a shortfall, extra
pages or damage is written to the volume's notes sheet (卷内备考表, ``volume_notes`` kind
``return``) and the volume is flagged for inspection, and the return is still recorded.
:func:`overdue` lists overdue loans and, with ``notices``, issues escalating reminders
(催还通知单: first, second, final) through :func:`archive.window.notices.issue`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import NamedTuple

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from . import rules as rl
from .ledger import Loan, loan_from_row, loan_query
from ..core import access
from ..core import store as st
from ..core.errors import ForbiddenError, InputError, NotFoundError, RuleError, StateError
from ..core.session import Session, Work, retrying
from ..core.validate import check_code, check_positive_int, check_text, format_cn_date, parse_date

PURPOSES = ("工作查考", "编史修志", "学术研究", "经济建设", "宣传教育", "其他")
_PURPOSE_ALIASES = {
    **{p: p for p in PURPOSES},
    "work": "工作查考", "history": "编史修志", "research": "学术研究", "economy": "经济建设",
    "publicity": "宣传教育", "other": "其他",
}
INTACT = {"完好", "完好无损", "无损", "良好", "正常", "intact", "good", "ok"}
REMINDER_LEVELS = {1: "第一次催还", 2: "第二次催还", 3: "最后一次催还"}
DEFAULT_REMINDERS = {"first": 1, "second": 8, "final": 15, "min_interval_days": 5}
RETURN_WITHIN_DAYS = 3


def purpose_key(value: str) -> str:
    text = check_text(value, "利用目的", max_length=20)
    key = _PURPOSE_ALIASES.get(text) or _PURPOSE_ALIASES.get(text.lower())
    if key is None:
        raise InputError(f"利用目的“{text}”无效，可选：{'、'.join(PURPOSES)}", field="purpose")
    return key


# -- values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Return:
    """The outcome of a return: the page count, any discrepancy and lateness."""

    loan: Loan
    returned_on: dt.date
    pages_expected: int
    pages_counted: int
    condition: str | None
    late_days: int
    note: str | None  # the text written on the notes sheet, if any

    @property
    def discrepancy(self) -> int:
        """Pages counted minus pages on the item list (negative: pages missing)."""
        return self.pages_counted - self.pages_expected

    @property
    def flagged(self) -> bool:
        return self.note is not None

    def to_dict(self) -> dict:
        return {
            "loan": self.loan.loan, "archival_code": self.loan.archival_code, "borrower": self.loan.borrower,
            "returned_on": self.returned_on.isoformat(), "pages_expected": self.pages_expected,
            "pages_counted": self.pages_counted, "discrepancy": self.discrepancy, "condition": self.condition,
            "late_days": self.late_days, "flagged": self.flagged, "note": self.note,
        }


class OverdueLoan(NamedTuple):
    """One overdue loan of a scan (a named tuple rather than a dataclass: a scan may build
    tens of thousands of them, and a tuple is made several times faster)."""

    loan: str
    archival_code: str
    title: str
    borrower: str
    borrower_name: str
    borrower_unit: str
    borrower_phone: str
    lent_on: dt.date
    due_on: dt.date
    days_overdue: int
    reminder_level: int
    notice: object | None = None  # the archive.window.notices.Notice issued by this run

    def to_dict(self) -> dict:
        return {
            "loan": self.loan, "archival_code": self.archival_code, "title": self.title,
            "borrower": self.borrower, "borrower_name": self.borrower_name, "borrower_unit": self.borrower_unit,
            "borrower_phone": self.borrower_phone, "lent_on": self.lent_on.isoformat(),
            "due_on": self.due_on.isoformat(), "days_overdue": self.days_overdue,
            "reminder_level": self.reminder_level, "notice": self.notice.to_dict() if self.notice else None,
        }


@dataclass(frozen=True)
class OverdueReport:
    as_of: dt.date
    loans: tuple[OverdueLoan, ...]

    def to_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "count": len(self.loans),
                "notices": sum(1 for loan in self.loans if loan.notice),
                "loans": [loan.to_dict() for loan in self.loans]}


# -- reading ------------------------------------------------------------------------------

_V, _B, _L = st.volumes.c, st.borrowers.c, st.loans.c


# Statements of the lend/return path, built once: SQLAlchemy then reuses their compiled
# form and cache key, which costs a third of building the statement again on every call.
_LOAN_BY_NUMBER = loan_query().where(_L.number == bindparam("number"))
_VOLUME_BY_CODE = select(st.volumes).where(_V.archival_code == bindparam("code"))
_OPEN_OF_BORROWER = (select(func.count(), func.min(_L.due_on))
                     .where(_L.borrower_id == bindparam("borrower_id"), _L.returned_on.is_(None)))
_TAKE_FROM_SHELF = (st.volumes.update().where(_V.id == bindparam("vid"), _V.state == "on_shelf")
                    .values(state="on_loan"))
_SET_VOLUME_STATE = st.volumes.update().where(_V.id == bindparam("vid"))
_INSERT_LOAN = st.loans.insert()
_UPDATE_LOAN = st.loans.update().where(_L.id == bindparam("lid"))
_ITEM_PAGES = select(func.sum(st.volume_items.c.pages)).where(
    st.volume_items.c.volume_id == bindparam("vid"), st.volume_items.c.role == "item")


def _load(conn, number: str):
    text = check_code(number, "借阅单号", max_length=64).upper()
    row = conn.execute(_LOAN_BY_NUMBER, {"number": text}).first()
    if row is None:
        raise NotFoundError(f"找不到借阅单号“{number}”", field="loan", hint="用 archive borrower show 查看借阅人的借阅单")
    return row


def _load_locked(conn, number: str):
    """The loan, locked until the commit and read again as it is once it is ours (a return or
    renewal checks it before changing it; on PostgreSQL a second one waits, then sees the first)."""
    row = _load(conn, number)
    st.lock(conn, st.loans, _L.id == row.id)
    return _load(conn, number) if conn.dialect.name != "sqlite" else row


def show(session: Session, number: str) -> Loan:
    access.require(session, "lending.lend")
    with session.store.read() as conn:
        return loan_from_row(_load(conn, number))


# -- lending ------------------------------------------------------------------------------

def _day(value, field_name: str, session: Session) -> dt.date:
    return parse_date(value, field_name) if value else session.today


def approver_level_of(session: Session, name: str) -> str:
    """The highest approval level the account ``name`` may give (``lending.approve`` gives
    head-in-charge, ``lending.approve_principal`` principal-head); ForbiddenError when none."""
    from ..core.accounts import find_user

    user = find_user(session, name)
    if user is None or not user.active:
        raise ForbiddenError(f"批准人“{name}”不是本系统的有效账户：借阅审批须由有批准借阅权限的负责人本人作出",
                             field="approved_by", hint="批准人须为系统账户；也可由负责人登录后在“审批”页批准")
    role = access.role_of(session, user.role)
    if role.may("lending.approve_principal"):
        return "principal-head"
    if role.may("lending.approve"):
        return "head-in-charge"
    raise ForbiddenError(f"{name}（{role.label}）无权批准借阅", field="approved_by",
                         hint="借阅审批须由档案室负责人或主要负责人作出")


def _approval(session: Session, approved_by: str | None,
              approver_level: str | None) -> tuple[str | None, str | None]:
    """The approver and level of an approval signed on paper by a head who has an account.

    The name must be an account allowed to approve at that level; without a level, the
    highest the account may give.
    """
    approved_by = check_text(approved_by, "批准人", required=False, max_length=50) or None
    if approver_level and not approved_by:
        raise InputError("给出了审批人级别却没有批准人姓名，请写明批准人", field="approved_by")
    if approved_by is None:
        return None, None
    most = approver_level_of(session, approved_by)
    level = rl.approval_key(approver_level) if approver_level else most
    if rl.APPROVAL_RANK[level] > rl.APPROVAL_RANK[most]:
        raise ForbiddenError(f"{approved_by}只能以{rl.APPROVALS[most]}的身份批准借阅，不能作为{rl.APPROVALS[level]}批准",
                             field="approver_level")
    return approved_by, level


def _approved_request(conn, kind: str, *, volume_id: int, borrower_id: int, mode: str | None = None,
                      loan_id: int | None = None):
    """An approved, unused request of a head (kind lend: this volume, borrower and mode; renew: this loan)."""
    q = st.loan_requests.c
    stmt = select(st.loan_requests).where(q.kind == kind, q.status == "approved", q.volume_id == volume_id,
                                          q.borrower_id == borrower_id)
    if mode is not None:
        stmt = stmt.where(q.mode == mode)
    if loan_id is not None:
        stmt = stmt.where(q.loan_id == loan_id)
    return conn.execute(stmt.order_by(q.id.desc()).limit(1)).first()


def _volume(conn, code: str):
    text = check_code(code, "档号", max_length=100)
    row = conn.execute(_VOLUME_BY_CODE, {"code": text}).first()
    if row is not None:
        return row
    case = conn.execute(select(st.cases.c.status).where(st.cases.c.case_no == text)).first()
    if case is not None:
        raise StateError(f"办件 {text} 尚未归档立卷，不能借阅；请按档号借阅已归档的案卷", field="archival_code")
    raise NotFoundError(f"找不到档号为“{text}”的案卷", field="archival_code", hint="档号形如 Z023-XK·ZC·2026·D30-001-0127")


def _open_loan_of_volume(conn, volume_id: int):
    return conn.execute(
        select(_L.number, _L.due_on, _B.name).select_from(st.loans.join(st.borrowers, _B.id == _L.borrower_id))
        .where(_L.open_volume_id == volume_id)
    ).first()


def _check_volume_available(conn, volume) -> None:
    code = volume.archival_code
    if volume.state == "destroyed":
        when = f"已于 {volume.destroyed_at:%Y-%m-%d} " if volume.destroyed_at else "已"
        raise RuleError(f"案卷 {code} {when}销毁，不能借阅", field="archival_code")
    if volume.state == "on_loan":
        out = _open_loan_of_volume(conn, volume.id)
        detail = f"（借阅单 {out.number}，借阅人 {out.name}，应还日期 {out.due_on.isoformat()}）" if out else ""
        raise RuleError(f"案卷 {code} 已借出{detail}，归还后才能再借", field="archival_code")
    if volume.state == "flagged":
        raise RuleError(f"案卷 {code} 归还时发现缺页或损坏，已标记待检查，检查完毕重新上架后才能借阅",
                        field="archival_code")
    if volume.state != "on_shelf":
        raise RuleError(f"案卷 {code} 当前状态为“{volume.state}”，不在架上，不能借阅", field="archival_code")


def _check_borrower(conn, borrower, on: dt.date) -> int:
    """Refuse a blocked borrower or one holding an overdue volume; the number they hold out."""
    if borrower.blocked:
        raise RuleError(f"借阅人 {borrower.code}（{borrower.name}）已停止借阅：{borrower.blocked_reason}",
                        field="borrower", hint="恢复借阅：archive borrower block --unblock")
    out, earliest_due = conn.execute(_OPEN_OF_BORROWER, {"borrower_id": borrower.id}).one()
    if earliest_due is None or earliest_due >= on:
        return out
    late = conn.execute(
        select(_L.number, _L.due_on, _V.archival_code).select_from(st.loans.join(st.volumes, _V.id == _L.volume_id))
        .where(_L.borrower_id == borrower.id, _L.returned_on.is_(None), _L.due_on < on)
        .order_by(_L.due_on).limit(1)
    ).first()
    if late is not None:
        raise RuleError(
            f"借阅人 {borrower.code}（{borrower.name}）有逾期未还的案卷 {late.archival_code}"
            f"（借阅单 {late.number}，应还日期 {late.due_on.isoformat()}），归还后才能再借",
            field="borrower",
        )
    return out



_ROLES: dict[int, tuple[object, dict]] = {}


def _role(session: Session, name: str):
    """The borrower's role; the configured roles are read once per configuration."""
    from ..core.access import role_of, roles

    data = session.ws.data
    cached = _ROLES.get(id(data))
    if cached is None or cached[0] is not data:
        if len(_ROLES) > 16:
            _ROLES.clear()
        cached = _ROLES[id(data)] = (data, roles(session))
    return cached[1].get(name) or role_of(session, name)


def _check_role(session: Session, borrower, volume) -> None:
    from ..core.access import can_see

    role = _role(session, borrower.role)
    if not can_see(role, volume.access, volume.security_level):
        what = volume.access + (f"、{volume.security_level}级" if volume.security_level else "")
        raise RuleError(
            f"借阅人 {borrower.code}（{borrower.name}）的角色“{role.label}”无权查看{what}的案卷 {volume.archival_code}",
            field="role",
        )


def approval_missing(message: str, needed: str) -> RuleError:
    """The refusal of a use that lacks the approval the rules need (``field="approved_by"``).

    Its hint is neutral; ``approval_needed`` (head-in-charge / principal-head) lets each skin
    say how to get the approval its own way (the CLI's options, the desk's button)."""
    error = RuleError(message, field="approved_by",
                      hint=f"须由{rl.APPROVALS[needed]}批准：写明批准人，或提交借阅申请，待负责人批准后再登记")
    error.approval_needed = needed
    return error


def _check_decision(decision: rl.Decision, borrower, volume, approver_level: str | None, *,
                    what: str, approval_field: str = "approval") -> None:
    """Refuse what the rules forbid, or what lacks the approval they need."""
    if not decision.allowed:
        subject = f"{rl.BORROWER_TYPES[borrower.type]}{what}{volume.access}"
        subject += f"{volume.security_level}级" if volume.security_level else ""
        raise RuleError(f"{decision.source('allowed')}不允许{subject}案卷 {volume.archival_code}", field="rule")
    needed = getattr(decision, approval_field)
    if rl.APPROVAL_RANK[needed] > rl.APPROVAL_RANK[approver_level or "none"]:
        have = f"（现有批准人级别：{rl.APPROVALS[approver_level]}）" if approver_level else ""
        raise approval_missing(f"{what}案卷 {volume.archival_code} 须经{rl.APPROVALS[needed]}批准{have}，"
                               f"依据{decision.source(approval_field)}", needed)


def _check_request(session: Session, conn, *, code, borrower_ref, mode, approver_level, on, lock=False):
    """Every check of a lend, in the caller's transaction; returns (volume, borrower, decision).

    With ``lock`` (the lend itself) the volume's and the borrower's rows are locked before
    they are checked, volume first: on PostgreSQL a second archivist lending the same
    volume, or to the same borrower, waits and then sees the first loan.
    """
    from .borrowers import find_row

    volume = _volume(conn, code)
    borrower = find_row(conn, borrower_ref)
    if lock:
        [volume] = st.lock(conn, st.volumes, _V.id == volume.id)
        [borrower] = st.lock(conn, st.borrowers, _B.id == borrower.id)
    _check_volume_available(conn, volume)
    out = _check_borrower(conn, borrower, on)
    _check_role(session, borrower, volume)
    decision = rl.decide(session, borrower.type, volume.access, volume.security_level, mode)
    _check_decision(decision, borrower, volume, approver_level, what=rl.MODES[mode])
    if out >= decision.max_out:
        raise RuleError(
            f"借阅人 {borrower.code}（{borrower.name}）已借出 {out} 卷，达到同时借出上限 {decision.max_out} 卷"
            f"（{decision.source('max_out')}），请先归还",
            field="max_out",
        )
    return volume, borrower, decision


@retrying
def lend(session: Session, code: str, *, borrower: str, purpose: str, mode: str, approved_by: str | None = None,
         approver_level: str | None = None, on=None, dry_run: bool = False) -> Loan:
    """Lend the volume ``code`` to ``borrower`` for ``purpose`` in ``mode`` (read/excerpt/copy/loan or
    阅览/摘抄/复制/外借); refuse with :class:`RuleError` naming the rule. ``dry_run`` checks
    everything and records nothing.
    """
    access.require(session, "lending.lend")
    mode = rl.mode_key(mode)
    purpose = purpose_key(purpose)
    approved_by, approver_level = _approval(session, approved_by, approver_level)
    day = _day(on, "借阅日期", session)
    request = None
    if approved_by is None:  # a head's approval given in the system, for this borrower, volume and mode
        from .borrowers import find_row

        with session.store.read() as conn:
            found = conn.execute(_VOLUME_BY_CODE, {"code": check_code(code, "档号", max_length=100)}).first()
            if found is not None:
                request = _approved_request(conn, "lend", volume_id=found.id, borrower_id=find_row(conn, borrower).id,
                                            mode=mode)
        if request is not None:
            approved_by, approver_level = request.decided_by, request.approver_level
    if dry_run:
        with session.store.read() as conn:
            volume, row, decision = _check_request(session, conn, code=code, borrower_ref=borrower, mode=mode,
                                                   approver_level=approver_level, on=day)
        return Loan(
            loan=None, archival_code=volume.archival_code, title=volume.title, borrower=row.code,
            borrower_name=row.name, borrower_unit=row.unit, borrower_type=row.type, mode=mode, purpose=purpose,
            lent_on=day, due_on=day + dt.timedelta(days=decision.loan_days), approval_needed=decision.approval,
            approved_by=approved_by, approver_level=approver_level, rules=decision.sources, dry_run=True,
        )
    with session.work() as work:
        conn = work.conn
        volume, row, decision = _check_request(session, conn, code=code, borrower_ref=borrower, mode=mode,
                                               approver_level=approver_level, on=day, lock=True)
        # Check-and-set: only a volume still on the shelf changes state (a second writer
        # that got past the checks on another database finds no row to change).
        taken = conn.execute(_TAKE_FROM_SHELF, {"vid": volume.id}).rowcount
        if taken != 1:
            raise RuleError(f"案卷 {volume.archival_code} 刚被借出，请刷新后再试", field="archival_code")
        lending = rl.section(session)
        seq = st.next_number(conn, f"loan:{day.year}")
        number = lending.get("loan_number_format", "JY{year}{seq:05d}").format(year=day.year, seq=seq)
        due = day + dt.timedelta(days=decision.loan_days)
        try:
            conn.execute(_INSERT_LOAN, dict(
                number=number, volume_id=volume.id, borrower_id=row.id, open_volume_id=volume.id, mode=mode,
                purpose=purpose, rules=dict(decision.sources), approval_needed=decision.approval,
                approved_by=approved_by, approver_level=approver_level, lent_on=day, due_on=due, renewals=[],
                reminder_level=0, lent_at=session.now(), lent_by=session.operator,
            ))
        except IntegrityError:
            raise RuleError(f"案卷 {volume.archival_code} 已有未归还的借阅单，不能重复借出", field="archival_code") from None
        if request is not None:
            used = conn.execute(st.loan_requests.update().where(
                st.loan_requests.c.id == request.id, st.loan_requests.c.status == "approved").values(
                status="used", loan_id=conn.execute(select(_L.id).where(_L.number == number)).scalar())).rowcount
            if used != 1:
                raise RuleError(f"借阅申请 {request.number} 刚被使用，请刷新后再试", field="request")
        session.log(work, "lend", volume.archival_code, loan=number, borrower=row.code, mode=mode, purpose=purpose,
                    approved_by=approved_by, approver_level=approver_level, lent_on=day.isoformat(),
                    due_on=due.isoformat(), request=request.number if request is not None else None)
        work.touch("volume", volume.archival_code)
        return Loan(
            loan=number, archival_code=volume.archival_code, title=volume.title, borrower=row.code,
            borrower_name=row.name, borrower_unit=row.unit, borrower_type=row.type, mode=mode, purpose=purpose,
            lent_on=day, due_on=due, approval_needed=decision.approval, approved_by=approved_by,
            approver_level=approver_level, rules=decision.sources,
        )


# -- returns ------------------------------------------------------------------------------

def pages_expected(conn, volume_id: int, volume_pages: int) -> int:
    """Pages on the volume's item list (卷内文件目录); the volume's page count if it has none."""
    total = conn.execute(_ITEM_PAGES, {"vid": volume_id}).scalar()
    return int(total) if total is not None else int(volume_pages)


@retrying
def return_loan(session: Session, number: str, *, pages: int, condition: str | None = None, on=None,
                effect: str | None = None) -> Return:
    """Take a volume back: count its pages against the item list and record the return.

    A page shortfall, extra pages or a condition other than 完好 is written on the
    volume's notes sheet and flags the volume for inspection; the return is recorded either way.
    """
    access.require(session, "lending.lend")
    counted = check_positive_int(pages, "清点页数", minimum=0, maximum=100000)
    condition = check_text(condition, "归还时状况", required=False, max_length=500) or None
    effect = check_text(effect, "利用效果", required=False, max_length=500) or None
    with session.work() as work:
        conn = work.conn
        row = _load_locked(conn, number)
        if row.returned_on is not None:
            raise StateError(f"借阅单 {row.number} 已于 {row.returned_on.isoformat()} 归还", field="loan")
        day = _day(on, "归还日期", session)
        if day < row.lent_on:
            raise InputError(f"归还日期 {day.isoformat()} 早于借阅日期 {row.lent_on.isoformat()}", field="on")
        expected = pages_expected(conn, row.volume_id, row.v_pages)
        damaged = condition is not None and condition.lower() not in INTACT
        problems = []
        if counted < expected:
            problems.append(f"缺少 {expected - counted} 页")
        elif counted > expected:
            problems.append(f"多出 {counted - expected} 页")
        if damaged:
            problems.append(f"状况：{condition}")
        note = None
        if problems:
            note = (f"{format_cn_date(day)}归还清点（借阅单 {row.number}，借阅人 {row.b_name}）："
                    f"卷内文件目录共 {expected} 页，清点 {counted} 页；{'；'.join(problems)}。已标记待检查。")
            # On the notes sheet (卷内备考表), which volumes re-issues as a new version.
            from ..shelf.volumes import add_note

            add_note(work, row.volume_id, note, kind="return")
        late = max(0, (day - row.due_on).days)
        returned = dict(returned_on=day, pages_expected=expected, pages_counted=counted, condition=condition,
                        discrepancy="；".join(problems) or None, late_days=late, effect=effect)
        conn.execute(_UPDATE_LOAN, dict(lid=row.id, open_volume_id=None, returned_at=session.now(),
                                        returned_by=session.operator, **returned))
        conn.execute(_SET_VOLUME_STATE, {"vid": row.volume_id, "state": "flagged" if problems else "on_shelf"})
        session.log(work, "return", row.archival_code, loan=row.number, returned_on=day.isoformat(),
                    pages_expected=expected, pages_counted=counted, condition=condition, late_days=late,
                    flagged=bool(problems))
        work.touch("volume", row.archival_code)
        loan = replace(loan_from_row(row), **returned)
    return Return(loan=loan, returned_on=day, pages_expected=expected, pages_counted=counted, condition=condition,
                  late_days=late, note=note)


@retrying
def inspect(session: Session, code: str, *, result: str, on=None) -> dict:
    """Record the inspection of a volume flagged at its return and put it back on the shelf.

    The result (what was found and done: pages restored, repair, report to the borrower's
    unit …) goes on the notes sheet as an ``inspection`` note.
    """
    access.require(session, "lending.lend")
    result = check_text(result, "检查结果", max_length=1000)
    with session.work() as work:
        volume = _volume(work.conn, code)
        [volume] = st.lock(work.conn, st.volumes, _V.id == volume.id)
        if volume.state != "flagged":
            raise StateError(f"案卷 {volume.archival_code} 未标记待检查（当前状态：{volume.state}）", field="archival_code")
        from ..shelf.volumes import add_note

        text = f"{format_cn_date(_day(on, '检查日期', session))}检查：{result}。检查完毕，重新上架。"
        add_note(work, volume.id, text, kind="inspection")
        work.conn.execute(st.volumes.update().where(_V.id == volume.id).values(state="on_shelf"))
        session.log(work, "inspect", volume.archival_code, result=result)
        work.touch("volume", volume.archival_code)
    return {"archival_code": volume.archival_code, "state": "on_shelf", "note": text}


# -- renewals -----------------------------------------------------------------------------

@retrying
def renew(session: Session, number: str, *, approved_by: str | None = None, approver_level: str | None = None,
          on=None) -> Loan:
    """Extend an open, not yet overdue loan by the rule's renewal days, within its renewals.

    Without ``approved_by``, a head's approval of a renewal request for this loan is used
    when the rules need one.
    """
    access.require(session, "lending.lend")
    approved_by, approver_level = _approval(session, approved_by, approver_level)
    with session.work() as work:
        conn = work.conn
        row = _load_locked(conn, number)
        request = None
        if approved_by is None:
            request = _approved_request(conn, "renew", volume_id=row.volume_id, borrower_id=row.borrower_id,
                                        loan_id=row.id)
            if request is not None:
                approved_by, approver_level = request.decided_by, request.approver_level
        if row.returned_on is not None:
            raise StateError(f"借阅单 {row.number} 已于 {row.returned_on.isoformat()} 归还，不能续借", field="loan")
        day = _day(on, "续借日期", session)
        if day > row.due_on:
            raise RuleError(f"借阅单 {row.number} 已于 {row.due_on.isoformat()} 到期，逾期不能续借，请先归还",
                            field="loan")
        borrower = conn.execute(select(st.borrowers).where(_B.id == row.borrower_id)).first()
        if borrower.blocked:
            raise RuleError(f"借阅人 {borrower.code}（{borrower.name}）已停止借阅：{borrower.blocked_reason}",
                            field="borrower")
        volume = conn.execute(select(st.volumes).where(_V.id == row.volume_id)).first()
        decision = rl.decide(session, borrower.type, volume.access, volume.security_level, row.mode)
        used = len(row.renewals or ())
        if used >= decision.renewals:
            limit = "不允许续借" if decision.renewals == 0 else f"最多续借 {decision.renewals} 次，已续借 {used} 次"
            raise RuleError(f"借阅单 {row.number} 不能再续借：{decision.source('renewals')}{limit}", field="rule")
        _check_decision(decision, borrower, volume, approver_level, what=f"续借{rl.MODES[row.mode]}",
                        approval_field="renewal_approval")
        due = row.due_on + dt.timedelta(days=decision.renewal_days)
        renewals = [*(row.renewals or ()), {"on": day.isoformat(), "due_on": due.isoformat(),
                                             "approved_by": approved_by, "approver_level": approver_level,
                                             "operator": session.operator}]
        conn.execute(st.loans.update().where(_L.id == row.id).values(due_on=due, renewals=renewals))
        if request is not None:
            conn.execute(st.loan_requests.update().where(st.loan_requests.c.id == request.id).values(status="used"))
        session.log(work, "renew", volume.archival_code, loan=row.number, previous_due_on=row.due_on.isoformat(),
                    due_on=due.isoformat(), approved_by=approved_by, approver_level=approver_level)
        return loan_from_row(_load(conn, row.number))


# -- overdue and reminders ----------------------------------------------------------------

def _reminder_settings(session: Session) -> dict:
    settings = {**DEFAULT_REMINDERS, **rl.section(session).get("reminders", {})}
    return settings


def _due_level(settings: dict, days_overdue: int, level: int, reminded_on, as_of: dt.date) -> int | None:
    """The reminder level to issue now, one step above the last, or None."""
    if level >= 3:
        return None
    threshold = settings[("first", "second", "final")[level]]
    if days_overdue < threshold:
        return None
    if reminded_on is not None and (as_of - reminded_on).days < settings.get("min_interval_days", 0):
        return None
    return level + 1


@retrying
def overdue(session: Session, *, as_of=None, notices: bool = False) -> OverdueReport:
    """Open loans past their due date as of ``as_of`` (default today), most overdue first.

    With ``notices`` each loan whose next reminder is due (by days overdue and the interval
    since the last one) gets a numbered, stamped 催还通知单 at the next level, all in one
    transaction.
    """
    access.require(session, "lending.lend")
    day = parse_date(as_of, "统计日期") if as_of else session.today
    stmt = (
        select(_L.id, _L.number, _L.lent_on, _L.due_on, _L.reminder_level, _L.reminded_on, _L.mode,
               _V.archival_code, _V.title, _V.unit, _B.code, _B.name, _B.unit.label("b_unit"), _B.phone)
        .select_from(st.loans.join(st.volumes, _V.id == _L.volume_id).join(st.borrowers, _B.id == _L.borrower_id))
        .where(and_(_L.returned_on.is_(None), _L.due_on < day))
        .order_by(_L.due_on, _L.id)
    )
    if not notices:
        with session.store.read() as conn:
            rows = conn.execute(stmt).all()
        # Positional unpacking: attribute access on result rows costs more than the rest.
        return OverdueReport(day, tuple(
            OverdueLoan(number, code, title, b_code, name, b_unit, phone, lent_on, due_on, (day - due_on).days, level)
            for (_id, number, lent_on, due_on, level, _reminded, _mode, code, title, _unit, b_code, name, b_unit, phone)
            in rows))
    settings = _reminder_settings(session)
    result = []
    with session.work() as work:
        # The loans stay locked until the commit: a second run at the same moment waits, then
        # sees the reminders this one issued instead of issuing them again.
        for r in work.conn.execute(stmt.with_for_update(of=st.loans)).all():
            days = (day - r.due_on).days
            level = _due_level(settings, days, r.reminder_level, r.reminded_on, day)
            notice = _remind(work, r, level, days, day) if level else None
            result.append(OverdueLoan(r.number, r.archival_code, r.title, r.code, r.name, r.b_unit, r.phone,
                                      r.lent_on, r.due_on, days, level or r.reminder_level, notice))
    return OverdueReport(day, tuple(result))


def _reminder_unit(session: Session, volume_unit: str) -> str:
    unit = rl.section(session).get("issuing_unit") or volume_unit
    if unit not in session.ws.units:
        raise InputError(f"催还通知单的出具单位“{unit}”未在配置中登记", field="lending.issuing_unit",
                         hint="在 config.json 的 lending.issuing_unit 填写已配置的单位代码")
    return unit


def _remind(work: Work, r, level: int, days: int, day: dt.date):
    from ..window import notices as nt

    session = work.session
    unit = _reminder_unit(session, r.unit)
    fields = {
        "level": level,
        "level_name": REMINDER_LEVELS[level],
        "borrower": {"code": r.code, "name": r.name, "unit": r.b_unit, "phone": r.phone},
        "loan": {"number": r.number, "archival_code": r.archival_code, "title": r.title,
                 "mode_name": rl.MODES[r.mode], "lent_on": format_cn_date(r.lent_on),
                 "due_on": format_cn_date(r.due_on), "days_overdue": days},
        "return_by": format_cn_date(day + dt.timedelta(days=RETURN_WITHIN_DAYS)),
    }
    notice = nt.issue(work, "reminder", unit_code=unit, fields=fields, on=day, subject=r.number)
    notice_id = work.conn.execute(
        select(st.notices.c.id).where(st.notices.c.number == notice.number, st.notices.c.kind == "reminder",
                                      st.notices.c.reprint_no == 0)
    ).scalar()
    work.conn.execute(st.reminders.insert().values(
        loan_id=r.id, level=level, days_overdue=days, notice_id=notice_id, number=notice.number, issued_on=day,
        issued_at=session.now(), operator=session.operator))
    work.conn.execute(st.loans.update().where(_L.id == r.id).values(reminder_level=level, reminded_on=day))
    session.log(work, "remind", r.archival_code, loan=r.number, level=level, days_overdue=days, number=notice.number)
    return notice


def reminders_of(session: Session, number: str) -> list[dict]:
    """The reminders issued for a loan, oldest first."""
    access.require(session, "lending.lend")
    with session.store.read() as conn:
        row = _load(conn, number)
        rows = conn.execute(select(st.reminders).where(st.reminders.c.loan_id == row.id).order_by(st.reminders.c.level))
        return [{"level": r.level, "level_name": REMINDER_LEVELS[r.level], "number": r.number,
                 "issued_on": r.issued_on.isoformat(), "days_overdue": r.days_overdue} for r in rows]
