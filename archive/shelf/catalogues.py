"""Catalogues (案卷目录): the register of volumes by catalogue number, as a sheet or a document.

A catalogue lists, for one catalogue number and year, every volume in volume-number order
with 案卷号, 档号, 案卷题名, 起止日期, 页数, 保管期限 and 备注. Destroyed volumes stay in it,
marked in 备注 with the date and the destruction list. :func:`sheets` selects by fonds,
year, class and catalogue number; :func:`export` writes an Excel workbook (one sheet per
catalogue) or a printable .docx (``templates/catalogue.docx``, one table per catalogue).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..core import access
from ..core import store as st
from ..core.errors import InputError
from .scheme import load as load_scheme, retention_text
from ..core.session import Session
from ..core.validate import check_positive_int, format_cn_date

COLUMNS = ("案卷号", "档号", "案卷题名", "起止日期", "页数", "保管期限", "备注")
FORMATS = ("xlsx", "docx")


@dataclass(frozen=True)
class Row:
    volume_no: int
    archival_code: str
    title: str
    start_date: object
    end_date: object
    pages: int
    retention: str
    remark: str

    @property
    def dates(self) -> str:
        return f"{self.start_date:%Y%m%d}-{self.end_date:%Y%m%d}"

    def to_dict(self) -> dict:
        return {"volume_no": self.volume_no, "archival_code": self.archival_code, "title": self.title,
                "start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat(),
                "pages": self.pages, "retention": self.retention, "remark": self.remark}

    def cells(self) -> tuple:
        return (f"{self.volume_no:04d}", self.archival_code, self.title, self.dates, self.pages,
                retention_text(self.retention), self.remark)


@dataclass(frozen=True)
class Sheet:
    """One catalogue number in one year."""

    number: int
    class_code: str
    class_name: str
    retention: str
    year: int
    title: str
    rows: tuple[Row, ...] = field(default=())

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.rows)

    def heading(self, fonds_code: str, fonds_name: str) -> str:
        return (f"全宗：{fonds_code} {fonds_name}　目录号：{self.number:03d}　分类：{self.class_code} {self.class_name}"
                f"　保管期限：{retention_text(self.retention)}　年度：{self.year}")

    def to_dict(self) -> dict:
        return {"catalogue": self.number, "class": self.class_code, "class_name": self.class_name,
                "retention": self.retention, "year": self.year, "title": self.title, "volumes": len(self.rows),
                "pages": self.pages, "rows": [r.to_dict() for r in self.rows]}


def _remark(row) -> str:
    if row.state == "destroyed":
        when = format_cn_date(row.destroyed_at.date()) if row.destroyed_at else ""
        number = row.destruction_list_id
        return f"已销毁（{when}，销毁清册第{number}号）" if number else f"已销毁（{when}）"
    if row.access != "开放":
        return row.access
    return ""


def sheets(session: Session, *, fonds: str | None = None, year: int | None = None, class_code: str | None = None,
           catalogue: int | None = None) -> list[Sheet]:
    """The catalogues selected, each with its volumes; unknown fonds, class or catalogue is exit 2.

    Needs ``catalogue.read``; volumes the acting account may not see are left out.
    """
    access.require(session, "catalogue.read")
    scheme = load_scheme(session)
    if fonds and fonds != scheme.fonds_code:
        raise InputError(f"全宗号“{fonds}”不是本工作区的全宗（{scheme.fonds_code} {scheme.fonds_name}）", field="fonds")
    query = select(st.volumes).where(st.volumes.c.fonds == scheme.fonds_code)
    if class_code:
        scheme.get_class(class_code)
        query = query.where(st.volumes.c.classification == class_code)
    if catalogue is not None:
        scheme.catalogue(check_positive_int(catalogue, "--catalogue", maximum=999))
        query = query.where(st.volumes.c.catalogue == catalogue)
    if year is not None:
        year = check_positive_int(year, "--year", minimum=1949, maximum=2999)
        query = query.where(st.volumes.c.year == year)
    query = query.order_by(st.volumes.c.catalogue, st.volumes.c.year, st.volumes.c.volume_no)
    with session.store.read() as conn:
        rows = [r for r in conn.execute(query) if access.visible_to(session, r.access, r.security_level, r.fonds)]
    groups: dict[tuple[int, int], list] = {}
    for r in rows:
        groups.setdefault((r.catalogue, r.year), []).append(r)
    out = []
    for (number, yr), members in groups.items():
        first = members[0]
        cat = next((c for c in scheme.catalogues if c.number == number), None)
        try:
            class_name = scheme.get_class(first.classification).name
        except InputError:
            class_name = ""
        out.append(Sheet(number=number, class_code=first.classification, class_name=class_name,
                         retention=first.retention, year=yr, title=cat.title if cat else "",
                         rows=tuple(Row(volume_no=r.volume_no, archival_code=r.archival_code, title=r.title,
                                        start_date=r.start_date, end_date=r.end_date, pages=r.pages,
                                        retention=r.retention, remark=_remark(r)) for r in members)))
    return out


def _default_path(session: Session, fmt: str, fonds: str, class_code, year, catalogue) -> Path:
    from .volumes import safe_name

    parts = ["案卷目录", fonds]
    if class_code:
        parts.append(class_code)
    if catalogue is not None:
        parts.append(f"{catalogue:03d}")
    if year is not None:
        parts.append(str(year))
    parts.append(f"{session.today:%Y%m%d}")
    stem = safe_name("-".join(parts), 120)
    folder = session.ws.documents_dir / "catalogues"
    path = folder / f"{stem}.{fmt}"
    n = 2
    while path.exists():  # a new name each time: earlier exports are never replaced
        path = folder / f"{stem}-{n}.{fmt}"
        n += 1
    return path


def export(session: Session, *, fmt: str, out=None, fonds: str | None = None, year: int | None = None,
           class_code: str | None = None, catalogue: int | None = None) -> tuple[Path, list[Sheet]]:
    """Write the catalogues selected to ``out`` (default: ``documents/catalogues/``) as xlsx or docx.

    An existing ``out`` is refused; without ``out`` a new file name is chosen.
    """
    from ..documents.render import atomic_write_bytes, render_document

    if fmt not in FORMATS:
        raise InputError(f"目录格式“{fmt}”无效，可选：xlsx、docx", field="format")
    found = sheets(session, fonds=fonds, year=year, class_code=class_code, catalogue=catalogue)
    if not found:
        raise InputError("没有符合条件的案卷，未生成案卷目录", field=None,
                         hint="用 archive volume list 查看已归档的案卷")
    scheme = load_scheme(session)
    path = Path(out) if out else _default_path(session, fmt, scheme.fonds_code, class_code, year, catalogue)
    if path.suffix.lower() != f".{fmt}":
        raise InputError(f"输出文件 {path.name} 的扩展名应为 .{fmt}", field="out")
    if fmt == "xlsx":
        atomic_write_bytes(path, _xlsx(found, scheme), fsync=False, field="out" if out else "out_path")
    else:
        context = {
            "fonds": {"code": scheme.fonds_code, "name": scheme.fonds_name},
            "printed_on": format_cn_date(session.today),
            "catalogues": [{
                "number": f"{s.number:03d}", "class_code": s.class_code, "class_name": s.class_name,
                "retention": retention_text(s.retention), "year": s.year, "pages": s.pages,
                "rows": [dict(zip(("volume_no", "archival_code", "title", "dates", "pages", "retention", "remark"),
                                  r.cells())) for r in s.rows],
            } for s in found],
        }
        render_document("catalogue", context, path, field="out" if out else "out_path")
    return path, found


def _xlsx(found: list[Sheet], scheme) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    from ..documents.sheets import print_layout

    workbook = Workbook()
    workbook.remove(workbook.active)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    widths = (8, 34, 60, 22, 7, 11, 24)
    for sheet in found:
        ws = workbook.create_sheet(f"{sheet.number:03d}-{sheet.year}")
        ws.append(["案卷目录"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
        ws["A1"].font = Font(name="黑体", size=16, bold=True)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append([sheet.heading(scheme.fonds_code, scheme.fonds_name)])
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(COLUMNS))
        ws["A2"].font = Font(name="仿宋", size=11)
        ws.append(list(COLUMNS))
        for cell in ws[3]:
            cell.font = Font(name="黑体", size=11)
            cell.alignment = Alignment(horizontal="center", vertical="center")
            cell.border = border
        for row in sheet.rows:
            ws.append(list(row.cells()))
            for cell in ws[ws.max_row]:
                cell.font = Font(name="仿宋", size=11)
                cell.border = border
                cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.append(["合计", f"{len(sheet.rows)}卷", "", "", sheet.pages, "", ""])
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        print_layout(ws, header_row=3, landscape=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
