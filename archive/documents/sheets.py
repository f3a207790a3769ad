"""Spreadsheets the product writes (registers, catalogues, the item catalogue): one look.

Every .xlsx is printed by someone at a window or in the archive room, usually on A4. So
each sheet:

* uses a Chinese font (宋体) for every cell, so Excel and WPS do not fall back to a Latin
  face and LibreOffice to a Japanese one;
* freezes its header rows and puts an autofilter on the header;
* prints one page wide: fit to width (any number of pages tall), the header rows repeated
  on every page, A4, landscape when the columns are wider than a portrait page holds,
  centred with narrow margins.

:func:`print_layout` does all of that to a finished sheet; the writers only fill cells and
set column widths.
"""

from __future__ import annotations

import copy
from typing import Any

CJK_FONT = "宋体"
# Column widths (Excel character units) a portrait A4 page holds at 100 %; wider sheets
# print landscape (they are fitted to the page width either way).
PORTRAIT_WIDTH = 95


def print_layout(ws: Any, *, header_row: int, landscape: bool | None = None, title_rows: int | None = None) -> None:
    """Give ``ws`` the product's font, frozen header, autofilter and one-page-wide printing.

    ``header_row`` is the (1-based) row holding the column names; the rows above it are
    titles. ``title_rows`` (default: down to the header row) repeat on every printed page.
    ``landscape`` defaults to whether the columns are wider than a portrait page.
    """
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    for row in ws.iter_rows():
        for cell in row:
            if cell.font.name != CJK_FONT:
                font = copy.copy(cell.font)
                font.name = CJK_FONT
                cell.font = font
    last_column = get_column_letter(max(ws.max_column, 1))
    ws.freeze_panes = f"A{header_row + 1}"
    ws.auto_filter.ref = f"A{header_row}:{last_column}{max(ws.max_row, header_row)}"
    ws.print_title_rows = f"1:{title_rows or header_row}"
    widths = sum((ws.column_dimensions[get_column_letter(i)].width or 8.43) for i in range(1, ws.max_column + 1))
    if landscape is None:
        landscape = widths > PORTRAIT_WIDTH
    setup = ws.page_setup
    setup.paperSize = ws.PAPERSIZE_A4
    setup.orientation = "landscape" if landscape else "portrait"
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    margins = ws.page_margins
    margins.left = margins.right = 0.4
    margins.top = margins.bottom = 0.6
    margins.header = margins.footer = 0.3
