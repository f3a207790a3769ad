"""Cases (办件): receipt, supplement, rejection, excluded time, extension and conclusion.

The outcome at the window follows 行政许可法 art. 32: complete materials are accepted with
a receipt notice; incomplete ones get one supplement notice listing everything missing or
defective; matters that need no licence or lie outside the organ's competence get a
rejection notice. Every limit is counted in working days with the day of receipt not
counted (art. 42, 82); excluded time (art. 45) pauses the clock; one extension (art. 42)
moves the due date.

Approvals are given by accounts, never typed names: a clerk asks for the extension
(``extend``), a head of the case's unit approves or refuses it in their own session
(``approve_extension``/``refuse_extension``; nobody decides their own request), and a head
who asks is approved at once. A conclusion by an account holding ``case.approve_conclusion``
for the unit is approved by that account (the 办结审批单 prints it); a clerk's conclusion
carries no approver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from sqlalchemy import select

from . import notices as nt
from ..core import access, audit
from . import wording
from ..core import store as st
from .catalog import CASE_TYPES, ServiceItem, get_item
from ..core.errors import InputError, NotFoundError, StateError
from ..core.session import Session, Work, retrying
from ..core.validate import (
    check_code,
    check_credit_code,
    check_id_number,
    check_phone,
    check_positive_int,
    check_text,
    format_cn_date,
    mask_id,
    parse_date,
)

STATUSES = {
    "received": "已收件待审查",
    "accepted": "已受理",
    "needs_supplement": "待补正",
    "not_accepted": "不予受理",
    "paused": "除外时间（暂停计时）",
    "concluded": "已办结",
}
GROUNDS = {
    "not-required": "申请事项依法不需要取得行政许可（行政许可法第三十二条第一款第（一）项）",
    "out-of-scope": "申请事项依法不属于本行政机关职权范围（行政许可法第三十二条第一款第（二）项）",
}
# How a rejection notice states its ground (a phrase: the template adds the full stop).
GROUND_TEXT = {
    "not-required": "该事项依法不需要取得行政许可",
    "out-of-scope": "该事项依法不属于本机关职权范围",
}
DECISIONS = {"approved": "准予许可", "denied": "不予许可"}
MAX_EXTENSION = {"joint": 15}
DEFAULT_MAX_EXTENSION = 10
EXTENSION_STATUSES = {"pending": "延期待批", "approved": "已批准延期", "refused": "延期未获批准",
                      "lapsed": "办结时延期申请尚未审批"}


@dataclass(frozen=True)
class Applicant:
    """A person (name + ID number) or an organisation (name + credit code + legal representative)."""

    kind: str
    name: str
    id_number: str
    phone: str
    legal_rep: str = ""

    @classmethod
    def person(cls, name: str, id_number: str, phone: str) -> "Applicant":
        return cls("person", check_text(name, "申请人姓名", max_length=100), check_id_number(id_number),
                   check_phone(phone))

    @classmethod
    def organisation(cls, name: str, credit_code: str, legal_rep: str, phone: str) -> "Applicant":
        # Checked in the order of the form (name, code, legal representative, phone), so the
        # first error shown is the first field to correct.
        name = check_text(name, "申请单位名称", max_length=200)
        code = check_credit_code(credit_code)
        legal_rep = check_text(legal_rep, "法定代表人", max_length=100)
        return cls("organisation", name, code, check_phone(phone), legal_rep)

    @property
    def id_label(self) -> str:
        return "身份证号码" if self.kind == "person" else "统一社会信用代码"

    def to_context(self) -> dict:
        return {"kind": self.kind, "name": self.name, "id_label": self.id_label, "id_number": self.id_number,
                "legal_rep": self.legal_rep, "phone": self.phone}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "id_number": self.id_number, "phone": self.phone,
                "legal_rep": self.legal_rep}

    def to_public_dict(self) -> dict:
        return dict(self.to_dict(), id_number=mask_id(self.id_number) if self.kind == "person" else self.id_number)


@dataclass(frozen=True)
class ExtensionRequest:
    """A request to extend a case's limit (art. 42) and its decision."""

    case_no: str
    unit: str
    days: int
    reason: str
    status: str
    requested_on: dt.date
    requested_at: dt.datetime
    requested_by: str
    decided_on: dt.date | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    refusal: str | None = None
    item_name: str = ""
    applicant: str = ""
    due_on: dt.date | None = None  # the case's due date as it stands (before this extension)
    case_status: str = ""

    @property
    def status_text(self) -> str:
        return EXTENSION_STATUSES.get(self.status, self.status)

    def to_dict(self) -> dict:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"case": self.case_no, "unit": self.unit, "days": self.days, "reason": self.reason,
                "status": self.status, "status_text": self.status_text, "requested_on": iso(self.requested_on),
                "requested_at": self.requested_at.isoformat(sep=" "), "requested_by": self.requested_by,
                "decided_on": iso(self.decided_on),
                "decided_at": self.decided_at.isoformat(sep=" ") if self.decided_at else None,
                "decided_by": self.decided_by, "refusal": self.refusal, "item_name": self.item_name,
                "applicant": self.applicant, "due_on": iso(self.due_on)}


@dataclass(frozen=True)
class Case:
    """A case as the store holds it, with its notices and the warnings that apply today."""

    case_no: str
    item_code: str
    item_name: str
    unit: str
    case_type: str
    applicant: Applicant
    status: str
    materials: tuple[str, ...]
    missing: tuple[str, ...]
    received_on: dt.date
    accepted_on: dt.date | None
    due_on: dt.date | None
    check_due_on: dt.date | None
    deemed_accepted: bool
    promised_days: int
    statutory_days: int
    paused_on: dt.date | None
    paused_workdays: int
    extended_days: int
    decision: str | None
    concluded_on: dt.date | None
    sealed_at: dt.datetime | None
    pending_due: dict = field(default_factory=dict)  # 补办件: {material code: date due}
    pause_expected_days: int | None = None
    approver: str | None = None
    approved_on: dt.date | None = None
    notices: tuple[nt.Notice, ...] = ()
    warnings: tuple[str, ...] = ()
    extension: ExtensionRequest | None = None  # the latest extension request (read with the notices)
    id: int = field(default=0, compare=False)

    def to_dict(self) -> dict:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {
            "case": self.case_no,
            "status": self.status,
            "status_text": STATUSES[self.status],
            "item": self.item_code,
            "item_name": self.item_name,
            "unit": self.unit,
            "case_type": self.case_type,
            "applicant": self.applicant.to_public_dict(),
            "received_on": iso(self.received_on),
            "accepted_on": iso(self.accepted_on),
            "deemed_accepted": self.deemed_accepted,
            "due_on": iso(self.due_on),
            "check_due_on": iso(self.check_due_on),
            "promised_days": self.promised_days,
            "statutory_days": self.statutory_days,
            "paused_on": iso(self.paused_on),
            "paused_workdays": self.paused_workdays,
            "extended_days": self.extended_days,
            "decision": self.decision,
            "concluded_on": iso(self.concluded_on),
            "sealed_at": self.sealed_at.isoformat(sep=" ") if self.sealed_at else None,
            "approver": self.approver,
            "approved_on": iso(self.approved_on),
            "materials": list(self.materials),
            "missing": list(self.missing),
            "pending_due": {code: day.isoformat() for code, day in self.pending_due.items()
                            if code in self.missing},
            "pause_expected_days": self.pause_expected_days,
            "notices": [n.to_dict() for n in self.notices],
            "warnings": list(self.warnings),
            "extension": self.extension.to_dict() if self.extension else None,
        }


# -- reading ---------------------------------------------------------------------------

def _case_from_row(session: Session, conn, row, *, with_notices: bool = True,
                   item_names: dict[str, str] | None = None, issued: tuple | None = None) -> Case:
    """The case of ``row``; ``item_names`` (code → name), when given, saves a list one
    query per case. ``issued``: the row of a case just received, as inserted, and the notices
    issued with it (it has no others, nor an extension request), so nothing is read back."""
    if item_names is None:
        item_name = conn.execute(select(st.items.c.name).where(st.items.c.code == row.item_code)).scalar() or ""
    else:
        item_name = item_names.get(row.item_code, "")
    if issued is not None:
        notices, extension = issued, None
    elif with_notices:
        notices, extension = tuple(nt.for_case(session, conn, row.id, row.case_no)), _latest_extension(conn, row)
    else:
        notices, extension = (), None
    case = Case(
        case_no=row.case_no, item_code=row.item_code, item_name=item_name, unit=row.unit, case_type=row.case_type,
        applicant=Applicant(**row.applicant), status=row.status, materials=tuple(row.materials),
        missing=tuple(row.missing), received_on=row.received_on, accepted_on=row.accepted_on, due_on=row.due_on,
        check_due_on=row.check_due_on, deemed_accepted=bool(row.deemed_accepted), promised_days=row.promised_days,
        statutory_days=row.statutory_days, paused_on=row.paused_on, paused_workdays=row.paused_workdays,
        extended_days=row.extended_days, decision=row.decision, concluded_on=row.concluded_on,
        sealed_at=row.sealed_at, id=row.id,
        pending_due={code: dt.date.fromisoformat(day) for code, day in (row.pending_due or {}).items()},
        pause_expected_days=row.pause_expected_days, approver=row.approver, approved_on=row.approved_on,
        notices=notices, extension=extension,
    )
    return replace(case, warnings=tuple(_warnings(session, case)))


_X = st.extension_requests.c
_EXTENSION_QUERY = (select(st.extension_requests, st.cases.c.case_no, st.cases.c.unit, st.cases.c.applicant,
                           st.cases.c.due_on, st.cases.c.status.label("case_status"),
                           st.items.c.name.label("item_name"))
                    .select_from(st.extension_requests.join(st.cases, st.cases.c.id == _X.case_id)
                                 .join(st.items, st.items.c.code == st.cases.c.item_code)))


def _extension_value(row) -> ExtensionRequest:
    return ExtensionRequest(
        case_no=row.case_no, unit=row.unit, days=row.days, reason=row.reason, status=row.status,
        requested_on=row.requested_on, requested_at=row.requested_at, requested_by=row.requested_by,
        decided_on=row.decided_on, decided_at=row.decided_at, decided_by=row.decided_by, refusal=row.refusal,
        item_name=row.item_name or "", applicant=(row.applicant or {}).get("name", ""), due_on=row.due_on,
        case_status=row.case_status)


def _latest_extension(conn, case_row) -> ExtensionRequest | None:
    found = conn.execute(_EXTENSION_QUERY.where(_X.case_id == case_row.id).order_by(_X.id.desc()).limit(1)).first()
    return _extension_value(found) if found else None


def _warnings(session: Session, case: Case) -> list[str]:
    today = session.today
    out = []
    try:
        if case.status == "received" and case.check_due_on:
            left = session.calendar.workdays_between(today, case.check_due_on)
            if today <= case.check_due_on:
                out.append(f"补正告知期限至{format_cn_date(case.check_due_on)}，还剩{left}个工作日；"
                           "逾期未告知的，自收到材料之日起即为受理")
        if case.case_type == "on_the_spot":
            # Settled on the spot: no countdown. A case still open after its day is late.
            if case.status == "accepted" and case.due_on and today > case.due_on:
                out.append(f"即办件应于{format_cn_date(case.due_on)}当场办结，至今尚未办结")
        elif case.status == "accepted" and case.due_on:
            if today > case.due_on:
                late = session.calendar.workdays_between(case.due_on, today)
                out.append(f"已超过承诺办结日期{format_cn_date(case.due_on)}（超期{late}个工作日）")
            elif session.calendar.workdays_between(today, case.due_on) <= 1:
                out.append(f"承诺办结日期{format_cn_date(case.due_on)}即将届满")
        owed = [code for code in case.missing if code in case.pending_due]
        if case.status in ("accepted", "paused") and owed:
            late = [code for code in owed if today > case.pending_due[code]]
            if late:
                out.append(f"待补交材料{'、'.join(late)}已过补交期限"
                           f"（{format_cn_date(min(case.pending_due[c] for c in late))}），材料补齐前不能准予许可")
            else:
                out.append(f"待补交材料{'、'.join(owed)}须于"
                           f"{format_cn_date(min(case.pending_due[c] for c in owed))}前补齐")
    except InputError as exc:  # a missing calendar year must not hide the case itself
        out.append(str(exc))
    return out


def _load_row(conn, case_no: str, *, lock: bool = False):
    """The case's row; with ``lock`` (a write that checks the case's state before changing
    it) the row stays locked until the commit, so a second writer waits and sees the change."""
    case_no = check_code(case_no, "办件编号", max_length=64)
    query = select(st.cases).where(st.cases.c.case_no == case_no)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"找不到办件编号为“{case_no}”的办件", field="case")
    return row


def _load_for(session: Session, conn, case_no: str, action: str, *, lock: bool = False):
    """The case row when the acting account may take ``action`` on it.

    A role without the action is refused (ForbiddenError); a case of a unit the account
    does not work for answers exactly as a case that does not exist (NotFoundError).
    """
    access.require(session, action)
    row = _load_row(conn, case_no, lock=lock)
    if not access.sees_unit(session, row.unit):
        raise NotFoundError(f"找不到办件编号为“{row.case_no}”的办件", field="case")
    access.require(session, action, unit=row.unit)
    return row


def show(session: Session, case_no: str) -> Case:
    """One case with its notices and warnings (records a deemed acceptance that has occurred)."""
    access.require(session, "case.read")
    sweep_deemed(session)
    with session.store.read() as conn:
        return _case_from_row(session, conn, _load_for(session, conn, case_no, "case.read"))


def list_cases(session: Session, *, status: str | None = None, due_within: int | None = None,
               overdue: bool = False, unit: str | None = None) -> list[Case]:
    """Cases filtered by status, unit, due within N working days, or overdue (as of today).

    Only the cases of the units the acting account works for.
    """
    access.require(session, "case.read")
    sweep_deemed(session)
    query = select(st.cases).order_by(st.cases.c.id)
    user = session.user
    if user is not None and user.units:
        query = query.where(st.cases.c.unit.in_(user.units))
    if status:
        if status not in STATUSES:
            raise InputError(f"状态“{status}”无效，可选：{'、'.join(STATUSES)}", field="status")
        query = query.where(st.cases.c.status == status)
    if unit:
        query = query.where(st.cases.c.unit == unit)
    today = session.today
    if due_within is not None:
        limit = session.calendar.add_workdays(today, check_positive_int(due_within, "--due-within", minimum=0))
        query = query.where(st.cases.c.status.in_(("accepted", "paused")), st.cases.c.due_on <= limit,
                            st.cases.c.due_on >= today)
    if overdue:
        query = query.where(st.cases.c.status == "accepted", st.cases.c.due_on < today)
    with session.store.read() as conn:
        names = dict(conn.execute(select(st.items.c.code, st.items.c.name)).all())
        return [_case_from_row(session, conn, row, with_notices=False, item_names=names)
                for row in conn.execute(query)]


# -- helpers ----------------------------------------------------------------------------

def _material_codes(item: ServiceItem, codes, field_name: str = "materials") -> list[str]:
    known = {m.code: m for m in item.materials}
    out = []
    for raw in codes:
        code = check_code(raw, "材料编码", max_length=32).upper()
        if code not in known:
            listed = "、".join(f"{m.code} {m.name}" for m in item.materials)
            raise InputError(f"材料编码“{code}”不在事项“{item.name}”公布的材料目录中（可选：{listed}）",
                             field=field_name)
        if code not in out:
            out.append(code)
    return out


def _defects(item: ServiceItem, defects: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for code, problem in (defects or {}).items():
        [code] = _material_codes(item, [code], "defective")
        out[code] = check_text(problem, f"材料 {code} 的问题说明", max_length=200)
    return out


def _missing(item: ServiceItem, received: list[str], defects: dict[str, str]) -> list[str]:
    return [m.code for m in item.materials if m.required and (m.code not in received or m.code in defects)]


def _check_on(value, field_name: str, session: Session, not_before: dt.date | None = None) -> dt.date:
    day = parse_date(value, field_name) if value else session.today
    if not_before and day < not_before:
        raise InputError(f"{field_name} {day.isoformat()} 早于{format_cn_date(not_before)}，请核对日期",
                         field=field_name)
    return day


def _item_context(item: ServiceItem) -> dict:
    return {"code": item.code, "name": item.name}


def _common(case_no: str, item: ServiceItem, applicant: Applicant) -> dict:
    return {"case_no": case_no, "item": _item_context(item), "applicant": applicant.to_context(),
            "you": wording.pronoun(applicant.kind), "application": wording.application(item.name)}


def _materials_context(item: ServiceItem, received: list[str]) -> list[dict]:
    return [{"name": m.name, "copies": m.copies, "form": m.form} for m in item.materials if m.code in received]


def _pending_due(session: Session, item: ServiceItem, accepted_on: dt.date, pending: list[str]) -> dict[str, str]:
    """When each pending material of a 补办件 is due: the item's limit (补交时限), else the
    setting ``pending_materials_days``, in working days from acceptance."""
    days = item.pending_days or int(session.ws.get("pending_materials_days"))
    due = session.calendar.add_workdays(accepted_on, days)
    return {code: due.isoformat() for code in pending}


def _update(work: Work, row, **values) -> None:
    """Change the case ``row`` (as loaded in this transaction) and say the index must follow."""
    values["updated_at"] = work.session.now()
    work.conn.execute(st.cases.update().where(st.cases.c.id == row.id).values(**values))
    work.touch("case", row.case_no)


def _issue_receipt(work: Work, item: ServiceItem, row_like: dict, *, accepted_on: dt.date, due_on: dt.date,
                   received: list[str], pending_due: dict[str, str] | None = None, deemed: bool = False,
                   issued_on: dt.date | None = None) -> nt.Notice:
    session = work.session
    applicant = Applicant(**row_like["applicant"])
    pending_due = pending_due or {}
    centre_phone = session.ws.centre.get("phone", "12345")
    fields = {
        **_common(row_like["case_no"], item, applicant),
        "received_on": format_cn_date(row_like["received_on"]),
        "legal_basis": wording.legal_basis(session.ws, "deemed" if deemed else "receipt"),
        "deemed": deemed,
        "on_the_spot": item.case_type == "on_the_spot",
        "materials": _materials_context(item, received),
        "pending": [{"name": m.name, "copies": m.copies, "due_on": format_cn_date(dt.date.fromisoformat(pending_due[m.code]))}
                    for m in item.materials if m.code in pending_due],
        "promised_days": item.promised_days,
        "statutory_days": item.statutory_days,
        "due_on": format_cn_date(due_on),
        "fee": wording.phrase(item.fee),
        "progress_query": f"凭办件编号在窗口、政务服务网或致电{centre_phone}查询",
        "delivery": wording.phrase(item.delivery),
    }
    # A deemed acceptance dates from the receipt of the materials, but its notice is dated
    # the day it is issued.
    return nt.issue(work, "receipt", unit_code=item.unit, fields=fields, on=issued_on or accepted_on,
                    subject=row_like["case_no"], case_id=row_like["id"], joint=item.case_type == "joint")


def _issue_supplement(work: Work, item: ServiceItem, row_like: dict, *, on: dt.date, received: list[str],
                      defects: dict[str, str]) -> nt.Notice:
    applicant = Applicant(**row_like["applicant"])
    missing_rows = []
    for m in item.materials:
        if not m.required:
            continue
        if m.code in defects:
            problem = wording.phrase(defects[m.code])
        elif m.code not in received:
            problem = "未提交"
        else:
            continue
        form = f"{m.form}各{m.copies}份" if m.form == "原件及复印件" else f"{m.form}{m.copies}份"
        missing_rows.append({"name": m.name, "problem": problem, "requirement": f"请提交{form}"})
    unit = work.session.ws.unit(item.unit)
    fields = {
        **_common(row_like["case_no"], item, applicant),
        "received_on": format_cn_date(row_like["received_on"]),
        "legal_basis": wording.legal_basis(work.session.ws, "supplement"),
        "missing": missing_rows,
        "submit_to": f"{unit.get('address', '')}{unit.get('window', '')}".strip() or unit["name"],
    }
    return nt.issue(work, "supplement", unit_code=item.unit, fields=fields, on=on, subject=row_like["case_no"],
                    case_id=row_like["id"], joint=item.case_type == "joint")


# -- actions ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    case: Case
    notices: tuple[nt.Notice, ...]

    def to_dict(self) -> dict:
        return dict(self.case.to_dict(), notices=[n.to_dict() for n in self.notices])


@retrying
def receive(session: Session, *, item_code: str, applicant: Applicant, materials: list[str],
            received_on=None, defects: dict[str, str] | None = None, defer: bool = False) -> Result:
    """Receive an application and decide at the window (art. 32).

    Complete materials → accepted with a receipt notice; otherwise one supplement notice
    listing everything missing or defective. A 补办件 (pending-materials case) is accepted
    with the missing materials listed as pending. With ``defer`` the materials are taken in
    for review (status ``received``) and the 5-working-day supplement window starts.
    """
    access.require(session, "case.receive")
    received_day = _check_on(received_on, "收件日期", session)
    with session.store.read() as conn:
        item = get_item(conn, item_code)
    access.require(session, "case.receive", unit=item.unit)
    received = _material_codes(item, materials)
    defect_map = _defects(item, defects)
    missing = _missing(item, received, defect_map)
    unit = session.ws.unit(item.unit)
    calendar = session.calendar
    window_end = calendar.add_workdays(received_day, int(session.ws.get("supplement_window_days")))
    if defer:
        status, due = "received", None
    elif not missing or item.case_type == "pending_materials":
        status, due = "accepted", calendar.add_workdays(received_day, item.promised_days)
    else:
        status, due = "needs_supplement", None
    now = session.now()
    with session.work() as work:
        seq = st.next_number(work.conn, f"case:{unit['code']}:{received_day.isoformat()}")
        case_no = session.ws.get("case_number_format").format(unit=unit["code"].upper(), date=received_day, seq=seq)
        values = dict(
            case_no=case_no, item_code=item.code, unit=item.unit, case_type=item.case_type,
            applicant=applicant.to_dict(), status=status, materials=received, defects=defect_map, missing=missing,
            received_on=received_day, check_due_on=window_end, accepted_on=received_day if status == "accepted" else None,
            deemed_accepted=False, due_on=due, promised_days=item.promised_days, statutory_days=item.statutory_days,
            paused_workdays=0, extended_days=0, created_at=now, updated_at=now,
        )
        case_id = work.conn.execute(st.cases.insert(), values).inserted_primary_key[0]
        values["id"] = case_id
        work.new_case_ids.add(case_id)
        work.touch("case", case_no)
        session.log(work, "receive", case_no, case_id=case_id, effective_on=received_day, item=item.code,
                    materials=received, missing=missing, status=status)
        issued = []
        pending_due = {}
        if status == "accepted":
            pending_due = _pending_due(session, item, received_day, missing) if missing else {}
            if pending_due:
                _update(work, _load_row(work.conn, case_no), pending_due=pending_due)
            issued.append(_issue_receipt(work, item, values, accepted_on=received_day, due_on=due,
                                         received=received, pending_due=pending_due))
        elif status == "needs_supplement":
            issued.append(_issue_supplement(work, item, values, on=received_day, received=received,
                                            defects=defect_map))
        if pending_due:  # the row changed after its insert
            row = _load_row(work.conn, case_no)
        else:  # as inserted: three of the twenty statements of a receive fewer
            row = SimpleNamespace(**({column.name: None for column in st.cases.columns} | values))
        case = _case_from_row(session, work.conn, row, item_names={item.code: item.name},
                              issued=None if pending_due else tuple(issued))
    return Result(case, tuple(issued))


@retrying
def examine(session: Session, case_no: str, *, on=None) -> Result:
    """Decide on a case taken in for review (``received``) within the 5-day window.

    After the window the law deems the case accepted from the day of receipt.
    """
    access.require(session, "case.handle")
    sweep_deemed(session)
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.handle", lock=True)
        if row.status != "received":
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，无需再审查", field="case")
        day = _check_on(on, "审查日期", session, row.received_on)
        item = get_item(work.conn, row.item_code)
        values = dict(row._mapping)
        missing = list(row.missing)
        if not missing or item.case_type == "pending_materials":
            due = session.calendar.add_workdays(day, item.promised_days)
            pending_due = _pending_due(session, item, day, missing) if missing else {}
            _update(work, row, status="accepted", accepted_on=day, due_on=due, pending_due=pending_due or None)
            session.log(work, "accept", case_no, case_id=row.id, effective_on=day, on=day.isoformat())
            notice = _issue_receipt(work, item, values, accepted_on=day, due_on=due, received=list(row.materials),
                                    pending_due=pending_due)
        else:
            _update(work, row, status="needs_supplement")
            session.log(work, "request_supplement", case_no, case_id=row.id, effective_on=day, missing=missing)
            notice = _issue_supplement(work, item, values, on=day, received=list(row.materials),
                                       defects=dict(row.defects))
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def sweep_deemed(session: Session) -> list[str]:
    """Record the deemed acceptance (art. 32(4)) of every case whose supplement window passed."""
    today = session.today
    with session.store.read() as conn:
        late = conn.execute(select(st.cases.c.case_no).where(st.cases.c.status == "received",
                                                             st.cases.c.check_due_on < today)).scalars().all()
    if not late:
        return []
    done = []
    with session.work() as work:
        for case_no in late:
            row = _load_row(work.conn, case_no, lock=True)
            if row.status != "received":
                continue
            item = get_item(work.conn, row.item_code)
            due = session.calendar.add_workdays(row.received_on, item.promised_days)
            # The applicant learns of what is still owed only now: the limit runs from today.
            pending_due = _pending_due(session, item, today, list(row.missing)) if row.missing else {}
            _update(work, row, status="accepted", accepted_on=row.received_on, due_on=due, deemed_accepted=True,
                    pending_due=pending_due or None)
            session.log(work, "deemed_accepted", case_no, case_id=row.id, effective_on=row.received_on,
                        reason="五个工作日内未一次告知补正内容，自收到材料之日起即为受理")
            _issue_receipt(work, item, dict(row._mapping), accepted_on=row.received_on, due_on=due,
                           received=list(row.materials), pending_due=pending_due, deemed=True, issued_on=today)
            done.append(case_no)
    return done


@retrying
def supplement(session: Session, case_no: str, *, materials: list[str], on=None) -> Result:
    """Record supplementary materials; when complete, accept with the clock starting that day.

    For an accepted case that still owes materials (a 补办件, or a deemed acceptance) the
    materials handed in are recorded against what it owes; no notice is issued.
    """
    access.require(session, "case.handle")
    if not any(str(code or "").strip(" ,，、") for code in materials or ()):
        raise InputError("没有填写补交的材料编码：补正须登记至少一项材料，如 M03,M04", field="materials")
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.handle", lock=True)
        owes = row.status in ("accepted", "paused") and bool(row.missing)
        if row.status not in ("needs_supplement", "received") and not owes:
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，不能补正材料", field="case")
        day = _check_on(on, "补正日期", session, row.received_on)
        item = get_item(work.conn, row.item_code)
        added = _material_codes(item, materials)
        received = list(dict.fromkeys(list(row.materials) + added))
        defects = {code: problem for code, problem in row.defects.items() if code not in added}
        missing = _missing(item, received, defects)
        values = dict(row._mapping)
        session.log(work, "supplement", case_no, case_id=row.id, effective_on=day, materials=added,
                    on=day.isoformat(), missing=missing)
        if owes:
            _update(work, row, materials=received, defects=defects, missing=missing)
            case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
            return Result(case, ())
        if not missing:
            due = session.calendar.add_workdays(day, item.promised_days)
            _update(work, row, status="accepted", materials=received, defects=defects, missing=[],
                    accepted_on=day, due_on=due)
            notice = _issue_receipt(work, item, values, accepted_on=day, due_on=due, received=received)
        else:
            _update(work, row, status="needs_supplement", materials=received, defects=defects, missing=missing)
            notice = _issue_supplement(work, item, dict(values, materials=received), on=day, received=received,
                                       defects=defects)
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def reject(session: Session, case_no: str, *, ground: str, reason: str, competent_organ: str | None = None,
           on=None) -> Result:
    """Refuse to accept (art. 32(1) or (2)) with a rejection notice carrying appeal rights."""
    access.require(session, "case.reject")
    if ground not in GROUNDS:
        raise InputError(f"不予受理的理由类别“{ground}”无效，可选：not-required（不需要许可）、out-of-scope（不属于本机关职权）",
                         field="ground")
    reason = check_text(reason, "不予受理的具体理由", max_length=1000)
    organ = check_text(competent_organ, "有权机关", required=ground == "out-of-scope", max_length=200)
    if ground == "not-required" and organ:
        raise InputError("事项不需要许可时不应填写有权机关", field="competent_organ")
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.reject", lock=True)
        if row.status not in ("received", "needs_supplement"):
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，不能作出不予受理决定"
                             "（已受理的办件请用 case conclude --decision denied）", field="case")
        day = _check_on(on, "决定日期", session, row.received_on)
        item = get_item(work.conn, row.item_code)
        unit = session.ws.unit(item.unit)
        _update(work, row, status="not_accepted", decision="not_accepted", decision_reason=reason,
                concluded_on=day, sealed_at=session.now())
        session.log(work, "reject", case_no, case_id=row.id, effective_on=day, ground=ground, reason=reason,
                    competent_organ=organ)
        fields = {
            **_common(case_no, item, Applicant(**row.applicant)),
            "received_on": format_cn_date(row.received_on),
            "ground_text": GROUND_TEXT[ground],
            "reasons": wording.sentence(reason),
            "legal_basis": wording.legal_basis(session.ws, ground),
            "competent_organ": wording.phrase(organ or ""),
            "reconsideration_body": unit["reconsideration_body"],
            "court": unit["court"],
        }
        notice = nt.issue(work, "rejection", unit_code=item.unit, fields=fields, on=day, subject=case_no,
                          case_id=row.id, joint=item.case_type == "joint")
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def pause(session: Session, case_no: str, *, reason: str, on=None, expected_days: int | None = None) -> Result:
    """Stop the clock for excluded time (art. 45) and issue the excluded-time notice."""
    access.require(session, "case.handle")
    reason = check_text(reason, "除外时间事由", max_length=500)
    if expected_days is not None:
        expected_days = check_positive_int(expected_days, "预计工作日数", maximum=365)
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.handle", lock=True)
        if row.status != "accepted":
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，只有已受理的办件可以暂停计时", field="case")
        day = _check_on(on, "暂停日期", session, row.accepted_on)
        item = get_item(work.conn, row.item_code)
        # The clock resumes after ``expected_days`` working days counted as resume() counts
        # the pause, so the notice, case show and the register agree.
        until = session.calendar.add_workdays(day, expected_days) if expected_days else None
        _update(work, row, status="paused", paused_on=day, pause_expected_days=expected_days)
        session.log(work, "pause", case_no, case_id=row.id, effective_on=day, reason=reason, on=day.isoformat(),
                    expected_days=expected_days, expected_until=until.isoformat() if until else None)
        fields = {
            **_common(case_no, item, Applicant(**row.applicant)),
            "received_on": format_cn_date(row.received_on),
            "accepted_on": format_cn_date(row.accepted_on),
            "reason": wording.phrase(reason),
            "paused_on": format_cn_date(day),
            "expected_days": expected_days,
            "expected_until": format_cn_date(until) if until else "",
            "legal_basis": wording.legal_basis(session.ws, "excluded_time"),
        }
        notice = nt.issue(work, "excluded_time", unit_code=item.unit, fields=fields, on=day, subject=case_no,
                          case_id=row.id, joint=item.case_type == "joint")
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def resume(session: Session, case_no: str, *, on=None) -> Result:
    """Restart the clock; the due date moves by the working days the case was paused."""
    access.require(session, "case.handle")
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.handle", lock=True)
        if row.status != "paused":
            raise StateError(f"办件{case_no}未处于暂停计时状态", field="case")
        day = _check_on(on, "恢复日期", session, row.paused_on)
        paused = session.calendar.workdays_between(row.paused_on, day)
        due = session.calendar.add_workdays(row.due_on, paused) if paused else row.due_on
        _update(work, row, status="accepted", paused_on=None, paused_workdays=row.paused_workdays + paused,
                due_on=due)
        session.log(work, "resume", case_no, case_id=row.id, effective_on=day, on=day.isoformat(),
                    paused_workdays=paused, expected_days=row.pause_expected_days, due_on=due.isoformat())
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, ())


def _approver(session: Session, action: str, unit: str) -> str | None:
    """The acting account's name when it may approve ``action`` for ``unit``; None otherwise.

    Only an account approves: the installation's superuser on the server's shell is nobody's
    signature on a notice.
    """
    from ..core.errors import ForbiddenError

    if session.user is None:
        return None
    try:
        access.require(session, action, unit=unit)
    except ForbiddenError:
        return None
    return session.operator


def _check_extendable(session: Session, row, days, day: dt.date, what: str) -> int:
    """The working days asked for, when the case may still be extended on ``day`` (else why not)."""
    limit = MAX_EXTENSION.get(row.case_type, DEFAULT_MAX_EXTENSION)
    days = check_positive_int(days, "延长工作日数", maximum=limit)
    if row.status != "accepted":
        raise StateError(f"办件{row.case_no}当前状态为“{STATUSES[row.status]}”，只有已受理（未暂停）的办件可以延期",
                         field="case")
    if row.extended_days:
        raise StateError(f"办件{row.case_no}已经延期过一次，依法只能延长一次", field="case")
    if row.due_on and day > row.due_on:
        raise StateError(f"办件{row.case_no}的办结期限已于{format_cn_date(row.due_on)}届满，不能再{what}延期："
                         "延期须在办理期限届满前决定（行政许可法第四十二条）", field="case",
                         hint="逾期未办结的办件请尽快办结")
    return days


def _apply_extension(work: Work, row, *, days: int, reason: str, approver: str, day: dt.date,
                     clerk: str) -> nt.Notice:
    """Move the due date by ``days`` and issue the extension notice naming ``approver``;
    the clerk who asked stays the notice's 经办人."""
    session = work.session
    item = get_item(work.conn, row.item_code)
    new_due = session.calendar.add_workdays(row.due_on, days)
    _update(work, row, due_on=new_due, extended_days=days)
    session.log(work, "extend", row.case_no, case_id=row.id, effective_on=day, days=days, reason=reason,
                approver=approver, due_on=new_due.isoformat())
    fields = {
        **_common(row.case_no, item, Applicant(**row.applicant)),
        "received_on": format_cn_date(row.received_on),
        "accepted_on": format_cn_date(row.accepted_on),
        "original_due_on": format_cn_date(row.due_on),
        "extra_days": days,
        "new_due_on": format_cn_date(new_due),
        "reason": wording.phrase(reason),
        "approver": approver,
        "legal_basis": wording.legal_basis(session.ws, "extension"),
        "clerk": {"name": clerk, "phone": session.ws.unit(item.unit).get("phone", "")},
    }
    return nt.issue(work, "extension", unit_code=item.unit, fields=fields, on=day, subject=row.case_no,
                    case_id=row.id, joint=item.case_type == "joint")


def _deciding(work: Work, case_no: str, verb: str):
    """(case row, its pending request, the deciding head's name), both rows locked; refused
    for a case outside the account's units (as if missing), with nothing pending, for a
    session that is not a head's own account, or for the head's own request."""
    from ..core.errors import ForbiddenError

    session = work.session
    row = _load_for(session, work.conn, case_no, "case.approve_extension", lock=True)
    request = work.conn.execute(select(st.extension_requests).where(_X.case_id == row.id, _X.status == "pending")
                                .with_for_update()).first()
    if request is None:
        raise StateError(f"办件{row.case_no}没有待批准的延期申请", field="case")
    me = _approver(session, "case.approve_extension", row.unit)
    if me is None:
        raise ForbiddenError(f"{verb}延期须由负责人用自己的账户登录后办理", field="operator")
    if request.requested_by == me:
        raise ForbiddenError(f"{me}不能{verb}自己提出的延期申请，须由本单位其他负责人{verb}", field="case")
    return row, request, me


@retrying
def extend(session: Session, case_no: str, *, days: int, reason: str, on=None) -> Result:
    """Ask for the one extension of the limit (art. 42): the case shows 延期待批 until a head
    of its unit decides (:func:`approve_extension`, :func:`refuse_extension`).

    An account that may itself approve extensions for the case's unit (a unit head) is
    approved at once: the due date moves and the extension notice names that account.
    Refused once extended, while paused or not accepted, beyond the statutory extension,
    after the due date, or while another request waits.
    """
    access.require(session, "case.extend")
    reason = check_text(reason, "延期理由", max_length=500)
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.extend", lock=True)
        day = _check_on(on, "申请日期", session, row.accepted_on)
        days = _check_extendable(session, row, days, day, "申请")
        waiting = work.conn.execute(select(_X.requested_by).where(_X.case_id == row.id, _X.status == "pending")).first()
        if waiting:
            raise StateError(f"办件{row.case_no}已有一份延期申请（{waiting.requested_by}提出）等待负责人审批，无须重复申请",
                             field="case")
        approver = _approver(session, "case.approve_extension", row.unit)
        now = session.now()
        work.conn.execute(st.extension_requests.insert().values(
            case_id=row.id, days=days, reason=reason, status="approved" if approver else "pending",
            requested_on=day, requested_at=now, requested_by=session.operator,
            decided_on=day if approver else None, decided_at=now if approver else None, decided_by=approver))
        issued = ()
        if approver:
            issued = (_apply_extension(work, row, days=days, reason=reason, approver=approver, day=day,
                                       clerk=approver),)
        else:
            _update(work, row)  # the case page and the index show 延期待批
            session.log(work, "extension_request", case_no, case_id=row.id, effective_on=day, days=days,
                        reason=reason)
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, issued)


@retrying
def approve_extension(session: Session, case_no: str, *, on=None) -> Result:
    """Approve the case's pending extension request as the signed-in head of its unit.

    The due date moves and the extension notice is issued naming this account as the
    approver. Nobody approves their own request; after the due date it is too late.
    """
    access.require(session, "case.approve_extension")
    with session.work() as work:
        row, request, me = _deciding(work, case_no, "批准")
        day = _check_on(on, "批准日期", session, request.requested_on)
        days = _check_extendable(session, row, request.days, day, "批准")
        work.conn.execute(st.extension_requests.update().where(_X.id == request.id).values(
            status="approved", decided_on=day, decided_at=session.now(), decided_by=me))
        notice = _apply_extension(work, row, days=days, reason=request.reason, approver=me, day=day,
                                  clerk=request.requested_by)
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def refuse_extension(session: Session, case_no: str, *, reason: str, on=None) -> Result:
    """Refuse the case's pending extension request, with the reason, as the signed-in head.

    The case keeps its due date; the clerk may ask again.
    """
    access.require(session, "case.approve_extension")
    with session.work() as work:
        row, request, me = _deciding(work, case_no, "审批")
        reason = check_text(reason, "不批准的理由", max_length=500)
        day = _check_on(on, "审批日期", session, request.requested_on)
        work.conn.execute(st.extension_requests.update().where(_X.id == request.id).values(
            status="refused", decided_on=day, decided_at=session.now(), decided_by=me, refusal=reason))
        _update(work, row)
        session.log(work, "extension_refuse", case_no, case_id=row.id, effective_on=day, days=request.days,
                    reason=reason, requested_by=request.requested_by)
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, ())


def pending_extensions(session: Session) -> list[ExtensionRequest]:
    """Extension requests waiting for the signed-in head, oldest first: those of the units
    the account may approve for, never the account's own."""
    access.require(session, "case.approve_extension")
    user = session.user
    query = _EXTENSION_QUERY.where(_X.status == "pending").order_by(_X.requested_at, _X.id)
    if user is not None and user.units:
        query = query.where(st.cases.c.unit.in_(user.units))
    with session.store.read() as conn:
        rows = conn.execute(query).all()
    me = session.operator_name
    return [_extension_value(r) for r in rows if r.requested_by != me and access.sees_unit(session, r.unit)]


@retrying
def conclude(session: Session, case_no: str, *, decision: str, reason: str | None = None, on=None) -> Result:
    """Conclude an accepted case; a denial produces the 不予许可决定书 with appeal rights.

    A conclusion by an account that may approve conclusions for the case's unit (a unit
    head) is approved by that account: the 办结审批单 prints it and the approval date (the
    conclusion date). A clerk's conclusion carries no approver. An approval is refused while
    the case still owes materials (a 补办件's pending materials). An extension request still
    waiting lapses.
    """
    access.require(session, "case.conclude")
    if decision not in DECISIONS:
        raise InputError(f"办结结果“{decision}”无效，可选：approved（准予许可）、denied（不予许可）", field="decision")
    reason = check_text(reason, "不予许可的理由", required=decision == "denied", max_length=1000)
    with session.work() as work:
        row = _load_for(session, work.conn, case_no, "case.conclude", lock=True)
        approver = _approver(session, "case.approve_conclusion", row.unit)
        if row.status != "accepted":
            hint = "，请先恢复计时（case resume）" if row.status == "paused" else ""
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，不能办结{hint}", field="case")
        if decision == "approved" and row.missing:
            raise StateError(f"办件{case_no}尚有待补交材料（{'、'.join(row.missing)}），材料补齐前不能准予许可",
                             field="case", hint=f"材料交齐后先登记：archive case supplement {case_no} --materials …")
        day = _check_on(on, "办结日期", session, row.accepted_on)
        item = get_item(work.conn, row.item_code)
        _update(work, row, status="concluded", decision=decision, decision_reason=reason or None,
                concluded_on=day, sealed_at=session.now(), approver=approver, approved_on=day if approver else None)
        work.conn.execute(st.extension_requests.update().where(_X.case_id == row.id, _X.status == "pending")
                          .values(status="lapsed"))
        session.log(work, "conclude", case_no, case_id=row.id, effective_on=day, decision=decision, reason=reason,
                    on=day.isoformat(), approver=approver)
        issued = ()
        if decision == "denied":
            unit = session.ws.unit(item.unit)
            fields = {
                **_common(case_no, item, Applicant(**row.applicant)),
                "received_on": format_cn_date(row.received_on),
                "reasons": wording.sentence(reason),
                "legal_basis": wording.join_citations(
                    wording.citations(item.legal_basis) + [wording.legal_basis(session.ws, "denial")]),
                "reconsideration_body": unit["reconsideration_body"],
                "court": unit["court"],
            }
            issued = (nt.issue(work, "denial", unit_code=item.unit, fields=fields, on=day, subject=case_no,
                               case_id=row.id, joint=item.case_type == "joint"),)
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, issued)


def case_type_name(key: str) -> str:
    return CASE_TYPES.get(key, key)


# -- the clerk's desk -------------------------------------------------------------------------

OPEN_STATUSES = ("received", "needs_supplement", "accepted", "paused")
ACTION_TEXT = {
    "receive": "收件", "accept": "受理", "request_supplement": "一次性告知补正", "supplement": "补正材料",
    "deemed_accepted": "逾期未告知补正，视为受理", "reject": "不予受理", "pause": "中止计时（除外时间）",
    "resume": "恢复计时", "extend": "延期", "conclude": "办结", "notice": "出具文书", "reprint": "补打文书",
    "extension_request": "申请延期（待负责人批准）", "extension_refuse": "不批准延期",
}
audit.label_actions(ACTION_TEXT)


@dataclass(frozen=True)
class DueMark:
    """How urgent an open case is: ``red`` overdue, ``yellow`` due today, ``blue`` within
    ``due_blue_days`` working days, None otherwise (the supervision colours)."""

    state: str | None
    days_left: int | None
    text: str


def due_mark(session: Session, case: Case) -> DueMark:
    """The due-state colour of a case as of today (thresholds in settings)."""
    today = session.today
    if case.status == "received" and case.check_due_on:
        due, what = case.check_due_on, "补正告知期限"
    elif case.status == "accepted" and case.due_on:
        due, what = case.due_on, "承诺办结"
    else:
        return DueMark(None, None, STATUSES[case.status])
    try:
        if today > due:
            late = session.calendar.workdays_between(due, today)
            return DueMark("red", -late, f"已超期{late}个工作日（{what}{format_cn_date(due)}）")
        if today == due:
            return DueMark("yellow", 0, f"今天是最后一天（{what}）")
        left = session.calendar.workdays_between(today, due)
    except InputError as exc:
        return DueMark(None, None, str(exc))
    blue = int(session.ws.get("due_blue_days"))
    return DueMark("blue" if left <= blue else None, left, f"还剩{left}个工作日（{what}{format_cn_date(due)}）")


def desk_cases(session: Session, *, status: str | None = None) -> list[tuple[Case, DueMark]]:
    """The open cases of the acting account's units, most urgent first, each with its due mark."""
    found = [c for c in list_cases(session, status=status) if status or c.status in OPEN_STATUSES]
    marked = [(c, due_mark(session, c)) for c in found]
    order = {"red": 0, "yellow": 1, "blue": 2, None: 3}
    return sorted(marked, key=lambda cm: (order[cm[1].state], cm[1].days_left if cm[1].days_left is not None else 999,
                                          cm[0].case_no))


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    action: str
    text: str
    operator: str
    detail: dict


def timeline(session: Session, case_no: str) -> list[Step]:
    """What happened to a case, oldest first (who, when, what)."""
    with session.store.read() as conn:
        row = _load_for(session, conn, case_no, "case.read")
        events = conn.execute(select(st.events).where(st.events.c.case_id == row.id).order_by(st.events.c.id)).all()
    out = []
    for e in events:
        text = ACTION_TEXT.get(e.action, e.action)
        if e.action in ("notice", "reprint") and e.detail.get("number"):
            text = f"{text}：{e.detail['number']}"
        elif e.action in ("extend", "extension_request") and e.detail.get("days"):
            text = f"{text}：{e.detail['days']}个工作日，{e.detail.get('reason', '')}"
            if e.action == "extend" and e.detail.get("approver"):
                text += f"（批准人 {e.detail['approver']}）"
        elif e.action == "extension_refuse":
            text = f"{text}：{e.detail.get('reason', '')}"
        out.append(Step(at=e.at, action=e.action, text=text, operator=e.operator, detail=dict(e.detail)))
    return out
