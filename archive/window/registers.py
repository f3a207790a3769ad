"""The window register (办件登记簿): every case received in a period, as rows or a workbook.

One row per case, in the order received: case number, item, applicant (a person's ID
number masked), received, accepted, due and concluded dates, outcome, working days used
(from acceptance to conclusion, or to today while open, less excluded time), whether it
was on time, and the clerk who received it. ``archive register cases`` prints it or writes
``.xlsx`` (one page wide, see :mod:`archive.documents.sheets`).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..core import store as st
from ..core.errors import InputError
from ..core.session import Session
from ..core.validate import format_cn_date, mask_id, parse_date
from .catalog import CASE_TYPES

# (column, width in Excel character units)
COLUMNS = (("序号", 6), ("办件编号", 17), ("事项", 28), ("办件类型", 8), ("申请人", 20), ("证件号码", 21),
           ("收件日期", 11), ("受理日期", 11), ("承诺办结日期", 12), ("办结日期", 11), ("办理结果", 10),
           ("已用工作日", 9), ("是否按时", 10), ("经办人", 9))
OUTCOMES = {"approved": "准予许可", "denied": "不予许可", "not_accepted": "不予受理"}
OPEN = {"received": "收件待审查", "needs_supplement": "待补正", "accepted": "办理中", "paused": "暂停计时"}


@dataclass(frozen=True)
class Row:
    """One case as the register shows it."""

    case_no: str
    item: str
    case_type: str
    applicant: str
    id_number: str
    received_on: dt.date
    accepted_on: dt.date | None
    due_on: dt.date | None
    concluded_on: dt.date | None
    outcome: str
    workdays: int | None
    on_time: str
    clerk: str

    def to_dict(self) -> dict:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"case": self.case_no, "item": self.item, "case_type": self.case_type, "applicant": self.applicant,
                "id_number": self.id_number, "received_on": iso(self.received_on), "accepted_on": iso(self.accepted_on),
                "due_on": iso(self.due_on), "concluded_on": iso(self.concluded_on), "outcome": self.outcome,
                "workdays": self.workdays, "on_time": self.on_time, "clerk": self.clerk}


@dataclass(frozen=True)
class Register:
    date_from: dt.date
    date_to: dt.date
    unit: str | None
    rows: tuple[Row, ...]
    path: str | None = None

    def to_dict(self) -> dict:
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat(), "unit": self.unit,
                "path": self.path, "count": len(self.rows), "rows": [r.to_dict() for r in self.rows]}


def _period(session: Session, date_from, date_to) -> tuple[dt.date, dt.date]:
    today = session.today
    start = parse_date(date_from, "--from") if date_from else today.replace(day=1)
    end = parse_date(date_to, "--to") if date_to else today
    if end < start:
        raise InputError(f"截止日期 {end.isoformat()} 早于起始日期 {start.isoformat()}", field="to")
    return start, end


def _timing(session: Session, row, today: dt.date) -> tuple[int | None, str]:
    """Working days used (excluded time not counted) and whether the case is on time."""
    if row.status == "not_accepted" or row.accepted_on is None:
        return None, "—"
    end = row.concluded_on or today
    if row.case_type == "on_the_spot":  # settled on the spot: no countdown
        if row.concluded_on is not None and row.concluded_on <= row.accepted_on:
            return 0, "当场办结"
        late = session.calendar.workdays_between(row.accepted_on, end)
        return late, "办理中" if row.concluded_on is None and today <= row.accepted_on else "未当场办结"
    used = max(session.calendar.workdays_between(row.accepted_on, end) - (row.paused_workdays or 0), 0)
    if row.due_on is None:
        return used, "—"
    if row.concluded_on is not None:
        if row.concluded_on <= row.due_on:
            return used, "按时"
        return used, f"超期{session.calendar.workdays_between(row.due_on, row.concluded_on)}日"
    if row.status == "paused" or today <= row.due_on:
        return used, "办理中"
    return used, f"已超期{session.calendar.workdays_between(row.due_on, today)}日"


def cases_register(session: Session, *, date_from=None, date_to=None, unit: str | None = None) -> Register:
    """The cases received from ``date_from`` (default: the 1st of this month) to ``date_to``
    (default: today), of one unit or all."""
    start, end = _period(session, date_from, date_to)
    if unit:
        session.ws.unit(unit)  # an unknown unit names the configured ones
    query = (select(st.cases, st.items.c.name.label("item_name"))
             .join(st.items, st.items.c.code == st.cases.c.item_code)
             .where(st.cases.c.received_on >= start, st.cases.c.received_on <= end)
             .order_by(st.cases.c.received_on, st.cases.c.id))
    if unit:
        query = query.where(st.cases.c.unit == unit)
    today = session.today
    with session.store.read() as conn:
        rows = conn.execute(query).all()
        clerks = dict(conn.execute(select(st.events.c.case_id, st.events.c.operator).where(
            st.events.c.action == "receive", st.events.c.case_id.in_([r.id for r in rows]))).all()) if rows else {}
    out = []
    for r in rows:
        applicant = r.applicant
        person = applicant.get("kind") == "person"
        workdays, on_time = _timing(session, r, today)
        outcome = OUTCOMES.get(r.decision or "", "") if r.status in ("concluded", "not_accepted") \
            else OPEN.get(r.status, r.status)
        out.append(Row(case_no=r.case_no, item=r.item_name, case_type=CASE_TYPES.get(r.case_type, r.case_type),
                       applicant=applicant["name"],
                       id_number=mask_id(applicant["id_number"]) if person else applicant["id_number"],
                       received_on=r.received_on, accepted_on=r.accepted_on, due_on=r.due_on,
                       concluded_on=r.concluded_on, outcome=outcome, workdays=workdays, on_time=on_time,
                       clerk=clerks.get(r.id, "")))
    return Register(date_from=start, date_to=end, unit=unit, rows=tuple(out))


def _xlsx(register: Register, centre: str, unit_name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    from ..documents.sheets import print_layout

    wb = Workbook()
    ws = wb.active
    ws.title = "办件登记簿"
    ws.append([f"{centre}办件登记簿"])
    ws.append([f"{unit_name}　收件日期：{format_cn_date(register.date_from)}至{format_cn_date(register.date_to)}"
               f"　共{len(register.rows)}件"])
    for number in (1, 2):
        ws.merge_cells(start_row=number, start_column=1, end_row=number, end_column=len(COLUMNS))
    ws["A1"].font = Font(size=14, bold=True)
    ws["A1"].alignment = ws["A2"].alignment = Alignment(horizontal="center")
    ws.append([name for name, _ in COLUMNS])
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    dates = {i for i, (name, _) in enumerate(COLUMNS) if name.endswith("日期")}
    for number, r in enumerate(register.rows, start=1):
        ws.append([number, r.case_no, r.item, r.case_type, r.applicant, r.id_number, r.received_on, r.accepted_on,
                   r.due_on, r.concluded_on, r.outcome, r.workdays, r.on_time, r.clerk])
        for i, cell in enumerate(ws[ws.max_row]):
            cell.border = border
            cell.alignment = Alignment(vertical="center", wrap_text=i in (2, 4))
            if i in dates and cell.value is not None:
                cell.number_format = "yyyy-mm-dd"
            if i in (1, 5):
                cell.number_format = "@"  # identifiers are text, never numbers in E notation
    for i, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    print_layout(ws, header_row=3)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def export(session: Session, register: Register, out) -> Register:
    """Write ``register`` as a workbook at ``out`` (never replacing a file)."""
    from ..documents.render import atomic_write_bytes

    path = Path(out)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"输出文件 {path.name} 的扩展名应为 .xlsx", field="out")
    unit_name = session.ws.unit(register.unit)["name"] if register.unit else "全部单位"
    data = _xlsx(register, session.ws.centre.get("name", ""), unit_name)
    atomic_write_bytes(path, data, fsync=False, field="out")
    return Register(date_from=register.date_from, date_to=register.date_to, unit=register.unit,
                    rows=register.rows, path=str(path))
