"""The window register (办件登记簿) and the print layout of every .xlsx the product writes."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from click.testing import CliRunner

from archive.commands.main import main
from archive.window import cases, registers

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID
from .test_cases import make_case


def assert_prints_one_page_wide(path, header_row: int):
    """Fit to one page wide, header rows repeated and frozen, autofilter, a CJK font."""
    workbook = openpyxl.load_workbook(path)
    for ws in workbook.worksheets:
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.fitToWidth == 1 and setup.fitToHeight == 0, ws.title
        assert int(setup.paperSize) == int(ws.PAPERSIZE_A4)
        assert ws.print_title_rows and ws.print_title_rows.startswith("$1:"), ws.title
        assert ws.auto_filter.ref, ws.title
        assert ws.freeze_panes is not None, ws.title
        fonts = {cell.font.name for row in ws.iter_rows() for cell in row if cell.value is not None}
        assert fonts == {"宋体"}, (ws.title, fonts)
        widths = sum(ws.column_dimensions[c].width or 8.43 for c in
                     (openpyxl.utils.get_column_letter(i) for i in range(1, ws.max_column + 1)))
        if widths > 95:
            assert setup.orientation == "landscape", ws.title
    return workbook


def make_register(session):
    spot = make_case(session, item_code="SJ-XK-001", materials=["M01", "M02", "M03", "M04", "M05"]).case
    cases.conclude(session, spot.case_no, decision="approved", on=DEMO_DAY)
    late = make_case(session).case  # 5 working days promised
    cases.pause(session, late.case_no, reason="需要组织专家评审", expected_days=2, on=dt.date(2026, 9, 29))
    cases.resume(session, late.case_no, on=dt.date(2026, 10, 9))
    refused = make_case(session, materials=[]).case
    cases.reject(session, refused.case_no, ground="out-of-scope", reason="不属于本机关职权",
                 competent_organ="江州市卫生健康委员会", on=DEMO_DAY)
    from archive.window.cases import Applicant

    org = make_case(session, applicant=Applicant.organisation("江州市某某餐饮有限公司", ORG_CODE, "李四",
                                                              "0792-88886666")).case
    return spot, late, refused, org


def test_register_rows(session):
    spot, late, refused, org = make_register(session)
    session.today = dt.date(2026, 10, 30)
    register = registers.cases_register(session, date_from="2026-09-01", date_to="2026-09-30")
    rows = {r.case_no: r for r in register.rows}
    assert list(rows) == [spot.case_no, late.case_no, refused.case_no, org.case_no]
    assert rows[spot.case_no].on_time == "当场办结" and rows[spot.case_no].workdays == 0
    assert rows[spot.case_no].id_number == "110105********002X"  # a person's ID number is masked
    assert rows[org.case_no].id_number == ORG_CODE  # a credit code is public
    assert rows[refused.case_no].outcome == "不予受理" and rows[refused.case_no].workdays is None
    # Paused (excluded) working days are not used days.
    shown = cases.show(session, late.case_no)
    expected = session.calendar.workdays_between(shown.accepted_on, session.today) - shown.paused_workdays
    assert rows[late.case_no].workdays == expected and rows[late.case_no].on_time.startswith("已超期")
    assert all(r.clerk == "王芳" for r in register.rows)
    assert registers.cases_register(session, date_from="2026-09-01", date_to="2026-09-30", unit="ZR").rows == ()


def test_register_command_prints_and_writes_xlsx(session, home, tmp_path):
    make_register(session)
    env = {"ARCHIVE_HOME": str(home), "ARCHIVE_OPERATOR": "王芳"}
    result = CliRunner().invoke(main, ["register", "cases", "--from", "2026-09-01", "--to", "2026-09-30", "--json"],
                                env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["count"] == 4 and data["rows"][0]["on_time"] == "当场办结"
    out = tmp_path / "办件登记簿.xlsx"
    result = CliRunner().invoke(main, ["register", "cases", "--from", "2026-09-01", "--to", "2026-09-30",
                                       "--out", str(out)], env=env)
    assert result.exit_code == 0 and str(out) in result.output
    ws = assert_prints_one_page_wide(out, header_row=3).active
    header = [c.value for c in ws[3]]
    assert header == [name for name, _ in registers.COLUMNS]
    assert ws.print_title_rows == "$1:$3" and ws.freeze_panes == "A4"
    assert ws.page_setup.orientation == "landscape"
    assert ws.cell(row=4, column=6).value == "110105********002X"
    again = CliRunner().invoke(main, ["register", "cases", "--out", str(out)], env=env)
    assert again.exit_code != 0 and "已存在" in again.output  # never overwritten
    bad = CliRunner().invoke(main, ["register", "cases", "--from", "2026-13-01"], env=env)
    assert bad.exit_code == 2 and "--from" in bad.output


def test_every_workbook_the_product_writes_prints_one_page_wide(session, home, tmp_path):
    """The item catalogue, the catalogue of volumes and the lending register too."""
    from archive.lending import registers as lending_registers
    from archive.shelf import catalogues, volumes
    from archive.window import catalog

    items = catalog.list_items(session)
    path = catalog.write_catalog_xlsx(items, tmp_path / "事项目录.xlsx", units=session.ws.units.values())
    assert_prints_one_page_wide(path, header_row=1)
    case_no = make_case(session).case.case_no
    cases.conclude(session, case_no, decision="approved", on=DEMO_DAY)
    archivist = session.as_operator("陈静")  # filing, catalogues and the lending register are the archive's
    volumes.file_case(archivist, case_no)
    path, _sheets = catalogues.export(archivist, fmt="xlsx", out=tmp_path / "案卷目录.xlsx")
    assert_prints_one_page_wide(path, header_row=3)
    exported = lending_registers.export_register(archivist, date_from="2026-01-01", date_to="2026-12-31",
                                                 out=tmp_path / "借阅登记表.xlsx")
    assert_prints_one_page_wide(exported.path, header_row=2)
    # The item catalogue still reads back unchanged after its layout.
    assert [i.code for i in catalog.read_catalog_file(tmp_path / "事项目录.xlsx", units=list(session.ws.units.values()))] == \
        [i.code for i in items]


@pytest.mark.parametrize("status", ["needs_supplement"])
def test_unfinished_cases_are_in_the_register_as_open(session, status):
    case = make_case(session, materials=["M01"]).case
    assert case.status == status
    [row] = registers.cases_register(session, date_from=DEMO_DAY, date_to=DEMO_DAY).rows
    assert row.outcome == "待补正" and row.concluded_on is None
    assert PERSON_ID not in json.dumps(row.to_dict())
