"""Cases (办件): receipt, supplement, rejection, excluded time, extension and conclusion.

The outcome at the window follows 行政许可法 art. 32: complete materials are accepted with
a receipt notice; incomplete ones get one supplement notice listing everything missing or
defective; matters that need no licence or lie outside the organ's competence get a
rejection notice. Every limit is counted in working days with the day of receipt not
counted (art. 42, 82); excluded time (art. 45) pauses the clock; one extension (art. 42)
moves the due date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from . import notices as nt
from ..core import store as st
from .catalog import CASE_TYPES, ServiceItem, get_item
from ..core.errors import InputError, NotFoundError, StateError
from ..core.session import Session, Work, retrying
from ..core.validate import (
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
DECISIONS = {"approved": "准予许可", "denied": "不予许可"}
MAX_EXTENSION = {"joint": 15}
DEFAULT_MAX_EXTENSION = 10


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
        return cls("organisation", check_text(name, "申请单位名称", max_length=200), check_credit_code(credit_code),
                   check_phone(phone), check_text(legal_rep, "法定代表人", max_length=100))

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
    notices: tuple[nt.Notice, ...] = ()
    warnings: tuple[str, ...] = ()
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
            "materials": list(self.materials),
            "missing": list(self.missing),
            "notices": [n.to_dict() for n in self.notices],
            "warnings": list(self.warnings),
        }


# -- reading ---------------------------------------------------------------------------

def _case_from_row(session: Session, conn, row, *, with_notices: bool = True) -> Case:
    item_name = conn.execute(select(st.items.c.name).where(st.items.c.code == row.item_code)).scalar() or ""
    case = Case(
        case_no=row.case_no, item_code=row.item_code, item_name=item_name, unit=row.unit, case_type=row.case_type,
        applicant=Applicant(**row.applicant), status=row.status, materials=tuple(row.materials),
        missing=tuple(row.missing), received_on=row.received_on, accepted_on=row.accepted_on, due_on=row.due_on,
        check_due_on=row.check_due_on, deemed_accepted=bool(row.deemed_accepted), promised_days=row.promised_days,
        statutory_days=row.statutory_days, paused_on=row.paused_on, paused_workdays=row.paused_workdays,
        extended_days=row.extended_days, decision=row.decision, concluded_on=row.concluded_on,
        sealed_at=row.sealed_at, id=row.id,
        notices=tuple(nt.for_case(session, conn, row.id, row.case_no)) if with_notices else (),
    )
    return replace(case, warnings=tuple(_warnings(session, case)))


def _warnings(session: Session, case: Case) -> list[str]:
    today = session.today
    out = []
    try:
        if case.status == "received" and case.check_due_on:
            left = session.calendar.workdays_between(today, case.check_due_on)
            if today <= case.check_due_on:
                out.append(f"补正告知期限至{format_cn_date(case.check_due_on)}，还剩{left}个工作日；"
                           "逾期未告知的，自收到材料之日起即为受理")
        if case.status == "accepted" and case.due_on:
            if today > case.due_on:
                late = session.calendar.workdays_between(case.due_on, today)
                out.append(f"已超过承诺办结日期{format_cn_date(case.due_on)}（超期{late}个工作日）")
            elif session.calendar.workdays_between(today, case.due_on) <= 1:
                out.append(f"承诺办结日期{format_cn_date(case.due_on)}即将届满")
    except InputError as exc:  # a missing calendar year must not hide the case itself
        out.append(str(exc))
    return out


def _load_row(conn, case_no: str, *, lock: bool = False):
    """The case's row; with ``lock`` (a write that checks the case's state before changing
    it) the row stays locked until the commit, so a second writer waits and sees the change."""
    case_no = check_text(case_no, "办件编号", max_length=64)
    query = select(st.cases).where(st.cases.c.case_no == case_no)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"找不到办件编号为“{case_no}”的办件", field="case")
    return row


def show(session: Session, case_no: str) -> Case:
    """One case with its notices and warnings (records a deemed acceptance that has occurred)."""
    sweep_deemed(session)
    with session.store.read() as conn:
        return _case_from_row(session, conn, _load_row(conn, case_no))


def list_cases(session: Session, *, status: str | None = None, due_within: int | None = None,
               overdue: bool = False, unit: str | None = None) -> list[Case]:
    """Cases filtered by status, unit, due within N working days, or overdue (as of today)."""
    sweep_deemed(session)
    query = select(st.cases).order_by(st.cases.c.id)
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
        return [_case_from_row(session, conn, row, with_notices=False) for row in conn.execute(query)]


# -- helpers ----------------------------------------------------------------------------

def _material_codes(item: ServiceItem, codes, field_name: str = "materials") -> list[str]:
    known = {m.code: m for m in item.materials}
    out = []
    for raw in codes:
        code = check_text(raw, "材料编码", max_length=32).upper()
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
    return {"case_no": case_no, "item": _item_context(item), "applicant": applicant.to_context()}


def _materials_context(item: ServiceItem, received: list[str], pending: list[str] = ()) -> list[dict]:
    rows = [{"name": m.name, "copies": m.copies, "form": m.form} for m in item.materials if m.code in received]
    rows += [{"name": f"{m.name}（待补交）", "copies": m.copies, "form": m.form}
             for m in item.materials if m.code in pending]
    return rows


def _update(work: Work, row, **values) -> None:
    """Change the case ``row`` (as loaded in this transaction) and say the index must follow."""
    values["updated_at"] = work.session.now()
    work.conn.execute(st.cases.update().where(st.cases.c.id == row.id).values(**values))
    work.touch("case", row.case_no)


def _issue_receipt(work: Work, item: ServiceItem, row_like: dict, *, accepted_on: dt.date, due_on: dt.date,
                   received: list[str], pending: list[str] = (), deemed: bool = False) -> nt.Notice:
    applicant = Applicant(**row_like["applicant"])
    basis = "根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，你（单位）的申请材料齐全、符合法定形式，本机关决定予以受理。"
    if deemed:
        basis = ("根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，本机关未在五个工作日内一次告知需要补正的全部内容，"
                 "自收到申请材料之日起即为受理。")
    if pending:
        basis += "所列待补交材料须在办结前补齐。"
    fields = {
        **_common(row_like["case_no"], item, applicant),
        "received_on": format_cn_date(row_like["received_on"]),
        "accepted_on": format_cn_date(accepted_on),
        "legal_basis": basis,
        "materials": _materials_context(item, received, pending),
        "promised_days": item.promised_days,
        "statutory_days": item.statutory_days,
        "due_on": format_cn_date(due_on),
        "excluded_time_statement": "依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在办理期限内，本机关将书面告知。",
        "fee": item.fee,
        "progress_query": f"凭本通知书或办件编号{row_like['case_no']}在窗口、政务服务网或拨打{work.session.ws.centre.get('phone', '12345')}查询办理进度。",
        "delivery": item.delivery,
    }
    return nt.issue(work, "receipt", unit_code=item.unit, fields=fields, on=accepted_on, subject=row_like["case_no"],
                    case_id=row_like["id"], joint=item.case_type == "joint")


def _issue_supplement(work: Work, item: ServiceItem, row_like: dict, *, on: dt.date, received: list[str],
                      defects: dict[str, str]) -> nt.Notice:
    applicant = Applicant(**row_like["applicant"])
    missing_rows = []
    for m in item.materials:
        if not m.required:
            continue
        if m.code in defects:
            problem = defects[m.code]
        elif m.code not in received:
            problem = "未提交"
        else:
            continue
        missing_rows.append({"name": m.name, "problem": problem, "requirement": f"提交{m.form}{m.copies}份"})
    unit = work.session.ws.unit(item.unit)
    fields = {
        **_common(row_like["case_no"], item, applicant),
        "received_on": format_cn_date(row_like["received_on"]),
        "missing": missing_rows,
        "submit_to": f"{unit.get('address', '')}{unit.get('window', '')}".strip() or unit["name"],
        "submit_deadline_text": "请按本通知一次性补齐上述全部材料后到上述地点提交。",
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
    received_day = _check_on(received_on, "收件日期", session)
    with session.store.read() as conn:
        item = get_item(conn, item_code)
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
        case_id = work.conn.execute(st.cases.insert().values(**values)).inserted_primary_key[0]
        values["id"] = case_id
        work.touch("case", case_no)
        session.log(work, "receive", case_no, case_id=case_id, item=item.code, materials=received, missing=missing,
                    status=status)
        issued = []
        if status == "accepted":
            pending = missing if item.case_type == "pending_materials" else []
            issued.append(_issue_receipt(work, item, values, accepted_on=received_day, due_on=due,
                                         received=received, pending=pending))
        elif status == "needs_supplement":
            issued.append(_issue_supplement(work, item, values, on=received_day, received=received,
                                            defects=defect_map))
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, tuple(issued))


@retrying
def examine(session: Session, case_no: str, *, on=None) -> Result:
    """Decide on a case taken in for review (``received``) within the 5-day window.

    After the window the law deems the case accepted from the day of receipt.
    """
    sweep_deemed(session)
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        if row.status != "received":
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，无需再审查", field="case")
        day = _check_on(on, "审查日期", session, row.received_on)
        item = get_item(work.conn, row.item_code)
        values = dict(row._mapping)
        missing = list(row.missing)
        if not missing or item.case_type == "pending_materials":
            due = session.calendar.add_workdays(day, item.promised_days)
            _update(work, row, status="accepted", accepted_on=day, due_on=due)
            session.log(work, "accept", case_no, case_id=row.id, on=day.isoformat())
            notice = _issue_receipt(work, item, values, accepted_on=day, due_on=due, received=list(row.materials),
                                    pending=missing)
        else:
            _update(work, row, status="needs_supplement")
            session.log(work, "request_supplement", case_no, case_id=row.id, missing=missing)
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
            _update(work, row, status="accepted", accepted_on=row.received_on, due_on=due, deemed_accepted=True)
            session.log(work, "deemed_accepted", case_no, case_id=row.id,
                        reason="五个工作日内未一次告知补正内容，自收到材料之日起即为受理")
            _issue_receipt(work, item, dict(row._mapping), accepted_on=row.received_on, due_on=due,
                           received=list(row.materials), pending=list(row.missing), deemed=True)
            done.append(case_no)
    return done


@retrying
def supplement(session: Session, case_no: str, *, materials: list[str], on=None) -> Result:
    """Record supplementary materials; when complete, accept with the clock starting that day."""
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        if row.status not in ("needs_supplement", "received"):
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，不能补正材料", field="case")
        day = _check_on(on, "补正日期", session, row.received_on)
        item = get_item(work.conn, row.item_code)
        added = _material_codes(item, materials)
        received = list(dict.fromkeys(list(row.materials) + added))
        defects = {code: problem for code, problem in row.defects.items() if code not in added}
        missing = _missing(item, received, defects)
        values = dict(row._mapping)
        session.log(work, "supplement", case_no, case_id=row.id, materials=added, on=day.isoformat())
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
    if ground not in GROUNDS:
        raise InputError(f"不予受理的理由类别“{ground}”无效，可选：not-required（不需要许可）、out-of-scope（不属于本机关职权）",
                         field="ground")
    reason = check_text(reason, "不予受理的具体理由", max_length=1000)
    organ = check_text(competent_organ, "有权机关", required=ground == "out-of-scope", max_length=200)
    if ground == "not-required" and organ:
        raise InputError("事项不需要许可时不应填写有权机关", field="competent_organ")
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        if row.status not in ("received", "needs_supplement"):
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，不能作出不予受理决定"
                             "（已受理的办件请用 case conclude --decision denied）", field="case")
        day = _check_on(on, "决定日期", session, row.received_on)
        item = get_item(work.conn, row.item_code)
        unit = session.ws.unit(item.unit)
        _update(work, row, status="not_accepted", decision="not_accepted", decision_reason=reason,
                concluded_on=day, sealed_at=session.now())
        session.log(work, "reject", case_no, case_id=row.id, ground=ground, reason=reason, competent_organ=organ)
        fields = {
            **_common(case_no, item, Applicant(**row.applicant)),
            "received_on": format_cn_date(row.received_on),
            "ground_text": GROUNDS[ground],
            "reasons": reason,
            "legal_basis": "《中华人民共和国行政许可法》第三十二条",
            "competent_organ": organ,
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
    reason = check_text(reason, "除外时间事由", max_length=500)
    if expected_days is not None:
        expected_days = check_positive_int(expected_days, "预计工作日数", maximum=365)
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        if row.status != "accepted":
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，只有已受理的办件可以暂停计时", field="case")
        day = _check_on(on, "暂停日期", session, row.accepted_on)
        item = get_item(work.conn, row.item_code)
        _update(work, row, status="paused", paused_on=day)
        session.log(work, "pause", case_no, case_id=row.id, reason=reason, on=day.isoformat(),
                    expected_days=expected_days)
        fields = {
            **_common(case_no, item, Applicant(**row.applicant)),
            "accepted_on": format_cn_date(row.accepted_on),
            "reason": reason,
            "paused_on": format_cn_date(day),
            "expected_days": expected_days,
            "legal_basis": "《中华人民共和国行政许可法》第四十五条",
        }
        notice = nt.issue(work, "excluded_time", unit_code=item.unit, fields=fields, on=day, subject=case_no,
                          case_id=row.id, joint=item.case_type == "joint")
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def resume(session: Session, case_no: str, *, on=None) -> Result:
    """Restart the clock; the due date moves by the working days the case was paused."""
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        if row.status != "paused":
            raise StateError(f"办件{case_no}未处于暂停计时状态", field="case")
        day = _check_on(on, "恢复日期", session, row.paused_on)
        paused = session.calendar.workdays_between(row.paused_on, day)
        due = session.calendar.add_workdays(row.due_on, paused) if paused else row.due_on
        _update(work, row, status="accepted", paused_on=None, paused_workdays=row.paused_workdays + paused,
                due_on=due)
        session.log(work, "resume", case_no, case_id=row.id, on=day.isoformat(), paused_workdays=paused,
                    due_on=due.isoformat())
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, ())


@retrying
def extend(session: Session, case_no: str, *, days: int, reason: str, approver: str, on=None) -> Result:
    """Extend the limit once with the head's approval (art. 42) and issue the extension notice."""
    reason = check_text(reason, "延期理由", max_length=500)
    approver = check_text(approver, "批准人", max_length=50)
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        limit = MAX_EXTENSION.get(row.case_type, DEFAULT_MAX_EXTENSION)
        days = check_positive_int(days, "延长工作日数", maximum=limit)
        if row.status != "accepted":
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，只有已受理（未暂停）的办件可以延期", field="case")
        if row.extended_days:
            raise StateError(f"办件{case_no}已经延期过一次，依法只能延长一次", field="case")
        day = _check_on(on, "决定日期", session, row.accepted_on)
        item = get_item(work.conn, row.item_code)
        new_due = session.calendar.add_workdays(row.due_on, days)
        _update(work, row, due_on=new_due, extended_days=days)
        session.log(work, "extend", case_no, case_id=row.id, days=days, reason=reason, approver=approver,
                    due_on=new_due.isoformat())
        fields = {
            **_common(case_no, item, Applicant(**row.applicant)),
            "accepted_on": format_cn_date(row.accepted_on),
            "original_due_on": format_cn_date(row.due_on),
            "extra_days": days,
            "new_due_on": format_cn_date(new_due),
            "reason": reason,
            "approver": approver,
            "legal_basis": "《中华人民共和国行政许可法》第四十二条",
        }
        notice = nt.issue(work, "extension", unit_code=item.unit, fields=fields, on=day, subject=case_no,
                          case_id=row.id, joint=item.case_type == "joint")
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, (notice,))


@retrying
def conclude(session: Session, case_no: str, *, decision: str, reason: str | None = None, on=None) -> Result:
    """Conclude an accepted case; a denial produces the 不予许可决定书 with appeal rights."""
    if decision not in DECISIONS:
        raise InputError(f"办结结果“{decision}”无效，可选：approved（准予许可）、denied（不予许可）", field="decision")
    reason = check_text(reason, "不予许可的理由", required=decision == "denied", max_length=1000)
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        if row.status != "accepted":
            hint = "，请先恢复计时（case resume）" if row.status == "paused" else ""
            raise StateError(f"办件{case_no}当前状态为“{STATUSES[row.status]}”，不能办结{hint}", field="case")
        day = _check_on(on, "办结日期", session, row.accepted_on)
        item = get_item(work.conn, row.item_code)
        _update(work, row, status="concluded", decision=decision, decision_reason=reason or None,
                concluded_on=day, sealed_at=session.now())
        session.log(work, "conclude", case_no, case_id=row.id, decision=decision, reason=reason, on=day.isoformat())
        issued = ()
        if decision == "denied":
            unit = session.ws.unit(item.unit)
            fields = {
                **_common(case_no, item, Applicant(**row.applicant)),
                "received_on": format_cn_date(row.received_on),
                "accepted_on": format_cn_date(row.accepted_on),
                "decided_on": format_cn_date(day),
                "reasons": reason,
                "legal_basis": f"《中华人民共和国行政许可法》第三十八条第二款；{item.legal_basis}",
                "reconsideration_body": unit["reconsideration_body"],
                "court": unit["court"],
            }
            issued = (nt.issue(work, "denial", unit_code=item.unit, fields=fields, on=day, subject=case_no,
                               case_id=row.id, joint=item.case_type == "joint"),)
        case = _case_from_row(session, work.conn, _load_row(work.conn, case_no))
    return Result(case, issued)


def case_type_name(key: str) -> str:
    return CASE_TYPES.get(key, key)
