"""The window report as a formatted workbook (.xlsx) for the centre's office.

Sheets 汇总 (the centre's figures, each rate with the counts it comes from), 单位, 事项,
工作人员 and 红牌. Every table prints one page wide in landscape A4 with its header
repeated, is frozen below the header and has an autofilter; text is set in 宋体, the CJK
face every Chinese Office installation has (LibreOffice substitutes Noto CJK).
"""

from __future__ import annotations

import io

from . import alerts
from .figures import LABELS, RATES

FONT = "宋体"

# The columns of the unit, item and clerk tables: (figure, width).
COLUMNS = (
    ("received", 6), ("accepted", 6), ("not_accepted", 7), ("concluded", 6), ("on_the_spot", 7),
    ("on_the_spot_rate", 7), ("on_time", 7), ("on_time_rate", 8), ("early", 7), ("early_rate", 8),
    ("overdue", 6), ("overdue_workdays", 8), ("open", 6), ("open_blue", 6), ("open_yellow", 6),
    ("open_red", 7), ("open_paused", 7), ("deemed_accepted", 8), ("paused", 7), ("paused_workdays", 8),
    ("supplement_notices", 7), ("avg_workdays_used", 8), ("avg_promised_days", 8), ("avg_statutory_days", 8),
    ("ratings", 6), ("satisfaction_rate", 7), ("bad_ratings", 6), ("rectifications_late", 7), ("red_cards", 6),
)
SHORT = {  # column headings short enough for one landscape page
    "open_red": "在办红牌", "open_blue": "在办蓝牌", "open_yellow": "在办黄牌", "open_paused": "在办暂停",
    "on_the_spot": "即办件", "deemed_accepted": "视为受理", "satisfied": "满意评价",
}
PERCENT = set(RATES)
DECIMAL = {"avg_workdays_used", "avg_promised_days", "avg_statutory_days", "supplements_per_case"}


def _heading(name: str) -> str:
    return SHORT.get(name, LABELS[name].split("（")[0])


def workbook_bytes(report) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    _summary(summary, report)
    for title, rows, lead in (
        ("单位", report.units, (("单位代码", 8, lambda r: r.code), ("单位名称", 24, lambda r: r.name))),
        ("事项", report.items, (("事项编码", 12, lambda r: r.code), ("事项名称", 30, lambda r: r.name),
                               ("单位", 6, lambda r: r.unit))),
        ("工作人员", report.clerks, (("工作人员", 10, lambda r: r.code), ("单位", 6, lambda r: r.unit))),
    ):
        _table(book.create_sheet(title), report, title, rows, lead)
    _cards(book.create_sheet("红牌"), report)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return {
        "title": Font(name=FONT, size=14, bold=True),
        "note": Font(name=FONT, size=9, color="555555"),
        "head": Font(name=FONT, size=10, bold=True),
        "body": Font(name=FONT, size=10),
        "fill": PatternFill("solid", fgColor="DDE6F0"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": Alignment(wrap_text=True, vertical="center", horizontal="center"),
        "left": Alignment(vertical="center"),
    }


def _page(sheet, header_row: int, last_col: int, last_row: int, frozen_cols: int = 0) -> None:
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=frozen_cols + 1)
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(last_col)}{max(last_row, header_row)}"
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4


def _head(sheet, report, title: str, width: int) -> int:
    s = _styles()
    sheet.cell(row=1, column=1, value=f"{report.title}　{title}").font = s["title"]
    scope = "全中心" if report.scope is None else "、".join(sorted(report.scope))
    per = report.period
    sheet.cell(row=2, column=1, value=(f"统计期间 {per.start.isoformat()} 至 {per.end.isoformat()}；在办件截至 "
                                       f"{per.as_of.isoformat()}；范围：{scope}；蓝牌：剩余≤{report.thresholds[1]}个工作日，"
                                       f"黄牌：剩余≤{report.thresholds[0]}个工作日")).font = s["note"]
    return 3


def _summary(sheet, report) -> None:
    s = _styles()
    header = _head(sheet, report, "汇总", 4)
    for col, (text, width) in enumerate((("指标", 30), ("数值", 12), ("计算依据", 40), ("字段", 24)), start=1):
        cell = sheet.cell(row=header, column=col, value=text)
        cell.font, cell.fill, cell.border, cell.alignment = s["head"], s["fill"], s["border"], s["wrap"]
        sheet.column_dimensions[cell.column_letter].width = width
    totals = report.totals.to_dict()
    row = header
    for name, label in LABELS.items():
        row += 1
        basis = ""
        if name in RATES:
            part, whole = RATES[name]
            basis = f"{LABELS[part]} {totals[part]} ÷ {LABELS[whole]} {totals[whole]}"
        values = (label, totals[name], basis, name)
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=col, value=value)
            cell.font, cell.border = s["body"], s["border"]
        number = sheet.cell(row=row, column=2)
        if name in PERCENT:
            number.number_format = "0.0%"
        elif name in DECIMAL:
            number.number_format = "0.00"
    _page(sheet, header, 4, row)


def _table(sheet, report, title: str, rows, lead) -> None:
    s = _styles()
    header = _head(sheet, report, title, len(lead) + len(COLUMNS))
    headings = [(text, width) for text, width, _ in lead] + [(_heading(name), width) for name, width in COLUMNS]
    for col, (text, width) in enumerate(headings, start=1):
        cell = sheet.cell(row=header, column=col, value=text)
        cell.font, cell.fill, cell.border, cell.alignment = s["head"], s["fill"], s["border"], s["wrap"]
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.row_dimensions[header].height = 42
    number = header
    for number, item in enumerate(rows, start=header + 1):
        figures = item.figures.to_dict()
        values = [get(item) for _, _, get in lead] + [figures[name] for name, _ in COLUMNS]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=col, value=value)
            cell.font, cell.border = s["body"], s["border"]
            name = COLUMNS[col - len(lead) - 1][0] if col > len(lead) else None
            if name in PERCENT:
                cell.number_format = "0.0%"
            elif name in DECIMAL:
                cell.number_format = "0.00"
    _page(sheet, header, len(headings), number, frozen_cols=len(lead))


def _cards(sheet, report) -> None:
    s = _styles()
    header = _head(sheet, report, "红牌", 9)
    headings = (("类别", 12), ("办件编号", 18), ("单位", 8), ("事项编码", 12), ("工作人员", 10), ("期限", 12),
                ("亮牌日期", 12), ("超期工作日", 10), ("办结/整改日期", 14))
    for col, (text, width) in enumerate(headings, start=1):
        cell = sheet.cell(row=header, column=col, value=text)
        cell.font, cell.fill, cell.border, cell.alignment = s["head"], s["fill"], s["border"], s["wrap"]
        sheet.column_dimensions[cell.column_letter].width = width
    number = header
    for number, card in enumerate(report.red_cards, start=header + 1):
        values = (alerts.CARD_KINDS[card.kind], card.case_no, card.unit, card.item_code, card.clerk,
                  card.due_on, card.raised_on, card.days_over, card.closed_on or "未办结")
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=col, value=value)
            cell.font, cell.border = s["body"], s["border"]
            if hasattr(value, "isoformat"):
                cell.number_format = "yyyy-mm-dd"
    _page(sheet, header, len(headings), number, frozen_cols=2)
