"""The lending register (借阅登记表) and the yearly lending statistics.

:func:`export_register` writes every use lent in a date range to an .xlsx workbook (or
.csv) with the register's columns (``domain.md`` §5): date, borrower, unit, contact,
archival code, title, pages, purpose, mode, approver, due date, renewals, return date,
return inspection, effect of use — plus the loan number and the operator. The file is
written atomically and never replaces an existing one.

:func:`lending_report` counts a year's uses by purpose, mode, borrower type and unit,
the overdue ones, and the average loan days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, func, select

from . import rules as rl
from ..core import store as st
from ..core.errors import InputError
from .loans import PURPOSES
from ..core.session import Session, retrying
from ..core.validate import parse_date

COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("借阅日期", 12), ("借阅单号", 14), ("借阅人", 10), ("单位", 22), ("联系电话", 14),
    ("档号", 30), ("案卷题名", 36), ("页数", 6), ("利用目的", 10), ("利用方式", 9), ("批准人", 18),
    ("应还日期", 12), ("续借", 18), ("归还日期", 12), ("归还检查", 30), ("利用效果", 24), ("经办人", 10),
)
FORMATS = ("xlsx", "csv")
SHEET = "借阅登记表"


@dataclass(frozen=True)
class RegisterExport:
    path: str
    date_from: dt.date
    date_to: dt.date
    rows: int
    format: str

    def to_dict(self) -> dict:
        return {"path": self.path, "from": self.date_from.isoformat(), "to": self.date_to.isoformat(),
                "rows": self.rows, "format": self.format}


def _approver(row) -> str:
    if not row.approved_by:
        return ""
    return f"{row.approved_by}（{rl.APPROVALS.get(row.approver_level, row.approver_level)}）"


def _renewals(renewals) -> str:
    if not renewals:
        return ""
    last = renewals[-1]
    return f"{len(renewals)}次，续借至{last['due_on']}"


def _inspection(row) -> str:
    if row.returned_on is None:
        return "未归还"
    if row.discrepancy:
        return f"清点{row.pages_counted}页（应为{row.pages_expected}页）；{row.discrepancy}"
    return f"完好，{row.pages_counted}页，与卷内目录相符"


def register_rows(session: Session, date_from: dt.date, date_to: dt.date) -> list[list]:
    """The register's rows for uses lent from ``date_from`` to ``date_to`` (inclusive)."""
    from ..core.access import require

    require(session, "lending.lend")
    L, V, B = st.loans.c, st.volumes.c, st.borrowers.c
    stmt = (
        select(L.lent_on, L.number, B.name, B.unit, B.phone, V.archival_code, V.title, V.pages, L.purpose, L.mode,
               L.approved_by, L.approver_level, L.due_on, L.renewals, L.returned_on, L.pages_counted,
               L.pages_expected, L.discrepancy, L.effect, L.lent_by)
        .select_from(st.loans.join(st.volumes, V.id == L.volume_id).join(st.borrowers, B.id == L.borrower_id))
        .where(and_(L.lent_on >= date_from, L.lent_on <= date_to))
        .order_by(L.lent_on, L.id)
    )
    with session.store.read() as conn:
        rows = conn.execute(stmt).all()
    return [
        [i, r.lent_on, r.number, r.name, r.unit, r.phone, r.archival_code, r.title, r.pages, r.purpose,
         rl.MODES[r.mode], _approver(r), r.due_on, _renewals(r.renewals), r.returned_on, _inspection(r),
         r.effect or "", r.lent_by]
        for i, r in enumerate(rows, start=1)
    ]


def _xlsx(rows: list[list], date_from: dt.date, date_to: dt.date, centre: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([f"{centre}借阅登记表（{date_from.isoformat()} 至 {date_to.isoformat()}）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    ws["A1"].font = Font(name="宋体", size=14, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([name for name, _ in COLUMNS])
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in ws[2]:
        cell.font = Font(name="宋体", bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    date_columns = {i for i, (name, _) in enumerate(COLUMNS) if name.endswith("日期")}
    for row in rows:
        ws.append(row)
        for i, cell in enumerate(ws[ws.max_row]):
            cell.border = border
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            if i in date_columns and cell.value is not None:
                cell.number_format = "yyyy-mm-dd"
    for i, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    from ..documents.sheets import print_layout

    print_layout(ws, header_row=2)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _ in COLUMNS])
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row])
    # A byte-order mark, so that Excel opens the Chinese text as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@retrying
def export_register(session: Session, *, date_from=None, date_to=None, format: str = "xlsx",
                    out: str | Path | None = None, fresh_name: bool = False) -> RegisterExport:
    """Write the lending register for uses lent from ``date_from`` to ``date_to`` (inclusive).

    Default range: 1 January of the working year to the working date; default file:
    ``documents/registers/借阅登记表_<from>_<to>.<format>``, which an export refuses to
    replace, or with ``fresh_name`` (the web page: each download a new file) the next free
    name ``…-2``, ``…-3``. Earlier exports are never replaced.
    """
    from ..core.access import require
    from ..documents.render import atomic_write_bytes

    require(session, "lending.lend")
    if format not in FORMATS:
        raise InputError(f"导出格式“{format}”无效，可选：{'、'.join(FORMATS)}", field="format")
    today = session.today
    start = parse_date(date_from, "起始日期") if date_from else dt.date(today.year, 1, 1)
    end = parse_date(date_to, "截止日期") if date_to else today
    if end < start:
        raise InputError(f"截止日期 {end.isoformat()} 早于起始日期 {start.isoformat()}", field="to")
    rows = register_rows(session, start, end)
    centre = session.ws.centre.get("name", "")
    data = _xlsx(rows, start, end, centre) if format == "xlsx" else _csv(rows)
    path = Path(out) if out else (session.ws.documents_dir / "registers"
                                  / f"借阅登记表_{start.isoformat()}_{end.isoformat()}.{format}")
    n = 2
    while fresh_name and not out and path.exists():
        path = path.with_name(f"借阅登记表_{start.isoformat()}_{end.isoformat()}-{n}.{format}")
        n += 1
    with session.work() as work:
        work.track(atomic_write_bytes(path, data, field="out"))
        session.log(work, "register_export", f"{start.isoformat()}~{end.isoformat()}", path=str(path), rows=len(rows),
                    format=format)
    return RegisterExport(path=str(path), date_from=start, date_to=end, rows=len(rows), format=format)


# -- statistics ---------------------------------------------------------------------------

def lending_report(session: Session, year: int) -> dict:
    """A year's uses by purpose, mode, borrower type, borrower unit and volume unit; overdue
    counts; average days out of returned loans (外借) and of all returned uses."""
    from ..core.access import require

    require(session, "lending.lend")
    if not isinstance(year, int) or not 1900 <= year <= 2999:
        raise InputError(f"年度“{year}”无效", field="year")
    L, V, B = st.loans.c, st.volumes.c, st.borrowers.c
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    in_year = and_(L.lent_on >= start, L.lent_on <= end)
    joined = st.loans.join(st.volumes, V.id == L.volume_id).join(st.borrowers, B.id == L.borrower_id)
    as_of = min(session.today, end)

    def grouped(column):
        rows = conn.execute(select(column, func.count()).select_from(joined).where(in_year).group_by(column)
                            .order_by(func.count().desc(), column))
        return {key: count for key, count in rows}

    with session.store.read() as conn:
        total = conn.execute(select(func.count()).select_from(st.loans).where(in_year)).scalar()
        by_purpose = {purpose: 0 for purpose in PURPOSES} | grouped(L.purpose)
        by_mode = {mode: 0 for mode in rl.MODES} | grouped(L.mode)
        by_type = {kind: 0 for kind in rl.BORROWER_TYPES} | grouped(B.type)
        by_unit = grouped(B.unit)
        by_volume_unit = grouped(V.unit)
        volumes = conn.execute(select(func.count(func.distinct(L.volume_id))).where(in_year)).scalar()
        borrowers = conn.execute(select(func.count(func.distinct(L.borrower_id))).where(in_year)).scalar()
        returned_late = conn.execute(select(func.count()).select_from(st.loans)
                                     .where(in_year, L.late_days > 0)).scalar()
        open_overdue = conn.execute(select(func.count()).select_from(st.loans)
                                    .where(in_year, L.returned_on.is_(None), L.due_on < as_of)).scalar()
        reminders = conn.execute(select(st.reminders.c.level, func.count()).select_from(
            st.reminders.join(st.loans, L.id == st.reminders.c.loan_id)).where(in_year)
            .group_by(st.reminders.c.level)).all()
        spans = conn.execute(select(L.mode, L.lent_on, L.returned_on).where(in_year, L.returned_on.is_not(None))).all()
        copies = conn.execute(select(st.copies.c.certified, func.count()).select_from(
            st.copies.join(st.loans, L.id == st.copies.c.loan_id)).where(in_year)
            .group_by(st.copies.c.certified)).all()

    def average(values: list[int]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    loan_days = [(r.returned_on - r.lent_on).days for r in spans if r.mode == "loan"]
    use_days = [(r.returned_on - r.lent_on).days for r in spans]
    copy_counts = {bool(certified): n for certified, n in copies}
    level_counts = {level: n for level, n in reminders}
    return {
        "year": year,
        "uses": total,
        "volumes": volumes,
        "borrowers": borrowers,
        "by_purpose": by_purpose,
        "by_mode": by_mode,
        "by_borrower_type": by_type,
        "by_unit": by_unit,
        "by_volume_unit": by_volume_unit,
        "overdue": {"returned_late": returned_late, "open_overdue": open_overdue, "as_of": as_of.isoformat(),
                    "reminders": {"first": level_counts.get(1, 0), "second": level_counts.get(2, 0),
                                  "final": level_counts.get(3, 0)}},
        "average_loan_days": average(loan_days),
        "average_use_days": average(use_days),
        "copies": {"ordinary": copy_counts.get(False, 0), "certified": copy_counts.get(True, 0)},
    }
