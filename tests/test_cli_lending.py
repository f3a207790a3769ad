"""The lending commands as a user runs them: output, JSON shapes, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from archive.core import store as st
from cli import main

from .conftest import PERSON_ID
from .test_loans import id_number, make_volume

LEND = ("--purpose", "工作查考", "--on", "2026-09-28")


def run(home, *args, operator="陈静"):
    env = {"ARCHIVE_HOME": str(home)}
    if operator:
        env["ARCHIVE_OPERATOR"] = operator
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def ok(home, *args) -> dict:
    result = run(home, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def add_borrower(home, name="李四", n=1, *extra):
    return ok(home, "borrower", "add", "--name", name, "--unit", "江州市市场监督管理局", "--type", "internal",
              "--id-number", id_number(n), "--phone", "13800138000", *extra)


def loans_count(home, session):
    with session.store.read() as conn:
        return conn.execute(select(func.count()).select_from(st.loans)).scalar()


def test_borrower_commands(home):
    data = add_borrower(home)
    assert data["borrower"] == "JZ0001" and data["role"] == "staff" and data["type"] == "internal"
    result = run(home, "borrower", "add", "--name", "王五", "--type", "public", "--id-number", PERSON_ID,
                 "--phone", "13900139000")
    assert result.exit_code == 0
    assert result.output == ("已登记借阅人\n借阅证号：JZ0002\n姓名：王五　单位：个人\n类型：社会公众　角色：public\n"
                             "身份证号码：110105********002X　联系电话：13900139000\n状态：可借阅\n")
    assert [b["borrower"] for b in ok(home, "borrower", "list")] == ["JZ0001", "JZ0002"]
    assert run(home, "borrower", "list", "--type", "public").output == "JZ0002\t王五\t个人\t社会公众\tpublic\n"
    assert ok(home, "borrower", "block", "JZ0002", "--reason", "逾期不还")["blocked"] is True
    shown = ok(home, "borrower", "show", PERSON_ID)
    assert shown["borrower"] == "JZ0002" and shown["blocked_reason"] == "逾期不还" and shown["open_loans"] == []
    assert ok(home, "borrower", "block", "JZ0002", "--unblock")["blocked"] is False


def test_borrower_add_bad_id_number_exits_2_naming_the_field(home):
    result = run(home, "borrower", "add", "--name", "李四", "--unit", "某局", "--type", "internal",
                 "--id-number", "110105194912310021", "--phone", "13800138000")
    assert result.exit_code == 2
    assert result.output.startswith("错误：--id-number：身份证号码校验位错误")  # what the user typed, not id_number


def test_lend_return_flow_with_json_shapes(home, session):
    code = make_volume(session)
    add_borrower(home)
    loan = ok(home, "lend", code, "--borrower", "JZ0001", "--mode", "外借", "--approved-by", "周敏", *LEND)
    assert {"loan", "archival_code", "borrower", "mode", "purpose", "lent_on", "due_on", "approved_by"} <= set(loan)
    assert (loan["loan"], loan["archival_code"], loan["borrower"], loan["mode"], loan["purpose"]) == \
        ("JY202600001", code, "JZ0001", "loan", "工作查考")
    assert (loan["lent_on"], loan["due_on"], loan["approved_by"]) == ("2026-09-28", "2026-10-05", "周敏")
    renewed = ok(home, "renew", loan["loan"], "--approved-by", "周敏", "--on", "2026-10-04")
    assert renewed["due_on"] == "2026-10-12" and len(renewed["renewals"]) == 1
    back = ok(home, "return", loan["loan"], "--pages", "8", "--on", "2026-10-14", "--effect", "核实了许可信息")
    assert {"loan", "returned_on", "pages_expected", "pages_counted", "discrepancy", "late_days"} <= set(back)
    assert (back["loan"], back["returned_on"], back["pages_expected"], back["pages_counted"], back["discrepancy"],
            back["late_days"]) == ("JY202600001", "2026-10-14", 8, 8, 0, 2)


def test_lend_text_output_and_dry_run(home, session):
    code = make_volume(session)
    add_borrower(home)
    dry = run(home, "lend", code, "--borrower", "JZ0001", "--mode", "read", "--dry-run", *LEND)
    assert dry.exit_code == 0 and dry.output.startswith("【预检通过，未登记】\n")
    assert loans_count(home, session) == 0
    result = run(home, "lend", code, "--borrower", "JZ0001", "--mode", "阅览", *LEND)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "借阅单号：JY202600001" and lines[1] == f"档号：{code}"
    assert lines[3] == "借阅人：JZ0001 李四（江州市市场监督管理局）"
    assert lines[4:] == ["利用方式：阅览　利用目的：工作查考", "借阅日期：2026-09-28　应还日期：2026-09-28", "审批：无需审批"]
    out = run(home, "lend", make_volume(session), "--borrower", "JZ0001", "--mode", "loan", "--approved-by", "周敏",
              *LEND).output.splitlines()
    assert out[-1] == "审批：须经分管负责人批准；批准人：周敏（分管负责人）"


@pytest.mark.parametrize("args, words", [
    (("--mode", "loan"), ("须经分管负责人批准", "R04", "--approved-by", "--approver-level head-in-charge")),
    (("--mode", "借走"), ("利用方式“借走”无效",)),
    (("--mode", "read", "--purpose", "好奇"), ("利用目的“好奇”无效", "编史修志")),
])
def test_refusals_exit_2_with_a_chinese_message_and_record_nothing(home, session, args, words):
    code = make_volume(session)
    add_borrower(home)
    base = ["lend", code, "--borrower", "JZ0001", "--on", "2026-09-28"]
    if "--purpose" not in args:
        base += ["--purpose", "工作查考"]
    result = run(home, *base, *args)
    assert result.exit_code == 2
    assert result.output.startswith("错误：")
    for word in words:
        assert word in result.output
    assert loans_count(home, session) == 0


def test_lend_needs_an_operator(home, session):
    code = make_volume(session)
    add_borrower(home)
    result = run(home, "lend", code, "--borrower", "JZ0001", "--mode", "read", *LEND, operator=None)
    assert result.exit_code == 2 and "经办人" in result.output


def test_overdue_with_notices(home, session):
    code = make_volume(session)
    add_borrower(home)
    loan = ok(home, "lend", code, "--borrower", "JZ0001", "--mode", "loan", "--approved-by", "周敏", *LEND)
    listing = ok(home, "overdue", "--as-of", "2026-10-10")
    assert listing["as_of"] == "2026-10-10"
    [entry] = listing["loans"]
    assert {"loan", "archival_code", "borrower", "due_on", "days_overdue", "reminder_level", "notice"} <= set(entry)
    assert (entry["loan"], entry["days_overdue"], entry["reminder_level"], entry["notice"]) == (loan["loan"], 5, 0, None)
    issued = ok(home, "overdue", "--as-of", "2026-10-10", "--notices")["loans"][0]
    assert issued["reminder_level"] == 1 and issued["notice"]["kind"] == "reminder"
    assert issued["notice"]["number"] == "江市监档催字〔2026〕1号" and Path(issued["notice"]["docx"]).is_file()
    text = run(home, "overdue", "--as-of", "2026-10-10").output
    assert text.startswith("截至 2026-10-10，逾期未还 1 卷\n") and "已催还 1 次" in text
    refused = run(home, "lend", make_volume(session), "--borrower", "JZ0001", "--mode", "read", "--purpose", "其他",
                  "--on", "2026-10-10")
    assert refused.exit_code == 2 and "逾期未还" in refused.output


def test_return_with_shortfall_and_inspect(home, session):
    code = make_volume(session)
    add_borrower(home)
    loan = ok(home, "lend", code, "--borrower", "JZ0001", "--mode", "read", *LEND)
    result = run(home, "return", loan["loan"], "--pages", "7", "--on", "2026-09-28")
    assert result.exit_code == 0
    assert "页数：应为 8 页，清点 7 页" in result.output and "已记入卷内备考表并标记待检查" in result.output
    done = ok(home, "inspect", code, "--result", "缺页已找回归位")
    assert done["state"] == "on_shelf"


def test_copy_command(home, session):
    code = make_volume(session)
    add_borrower(home)
    loan = ok(home, "lend", code, "--borrower", "JZ0001", "--mode", "复制", "--approved-by", "周敏", *LEND)
    made = ok(home, "copy", loan["loan"], "--pages", "2-4")
    assert made["copy"] == "JY202600001-FZ1" and made["pages"] == "2-4" and made["page_count"] == 3
    assert Path(made["path"]).is_file() and made["encrypted"] and made["marks"][0] == "仅供查阅"
    above = run(home, "copy", loan["loan"], "--pages", "2", "--certified", "--approved-by", "周敏",
                "--approver-level", "principal-head")
    assert above.exit_code == 2 and "只能以分管负责人的身份批准" in above.output  # 周敏 is no principal head
    certified = run(home, "copy", loan["loan"], "--pages", "2", "--certified", "--approved-by", "赵立新",
                    "--approver-level", "principal-head")
    assert certified.exit_code == 0 and "已制作核对一致的复制件 JY202600001-FZ2（1页）" in certified.output
    bad = run(home, "copy", loan["loan"], "--pages", "99")
    assert bad.exit_code == 2 and "超出案卷页数" in bad.output


def test_register_export_xlsx_has_the_register_columns(home, session):
    from openpyxl import load_workbook

    from archive.lending.registers import COLUMNS

    code = make_volume(session)
    add_borrower(home)
    loan = ok(home, "lend", code, "--borrower", "JZ0001", "--mode", "loan", "--approved-by", "周敏", *LEND)
    ok(home, "return", loan["loan"], "--pages", "8", "--on", "2026-10-02", "--effect", "为行政复议提供了依据")
    data = ok(home, "register", "export", "--from", "2026-09-01", "--to", "2026-09-30", "--format", "xlsx")
    assert data["rows"] == 1 and data["path"].endswith("借阅登记表_2026-09-01_2026-09-30.xlsx")
    sheet = load_workbook(data["path"])["借阅登记表"]
    rows = list(sheet.iter_rows(values_only=True))
    assert "借阅登记表" in rows[0][0]
    assert list(rows[1]) == [name for name, _ in COLUMNS]
    for column in ("借阅日期", "借阅人", "单位", "联系电话", "档号", "案卷题名", "页数", "利用目的", "利用方式",
                   "批准人", "应还日期", "续借", "归还日期", "归还检查", "利用效果"):
        assert column in rows[1]
    row = dict(zip(rows[1], rows[2]))
    assert row["档号"] == code and row["借阅人"] == "李四" and row["利用方式"] == "外借"
    assert row["批准人"] == "周敏（分管负责人）" and row["借阅日期"].date().isoformat() == "2026-09-28"
    assert row["归还日期"].date().isoformat() == "2026-10-02" and row["利用效果"] == "为行政复议提供了依据"
    assert row["归还检查"].startswith("完好") and row["经办人"] == "陈静" and row["页数"] == 8
    again = run(home, "register", "export", "--from", "2026-09-01", "--to", "2026-09-30")
    assert again.exit_code == 2 and "已存在" in again.output  # never overwritten
    csv = ok(home, "register", "export", "--from", "2026-09-01", "--to", "2026-09-30", "--format", "csv")
    assert Path(csv["path"]).read_text(encoding="utf-8-sig").splitlines()[0].startswith("序号,借阅日期,借阅单号")


def test_report_lending(home, session):
    a, b = make_volume(session), make_volume(session)
    add_borrower(home)
    ok(home, "borrower", "add", "--name", "王五", "--unit", "江州市地方志办公室", "--type", "agency", "--id-number",
       id_number(2), "--phone", "13900139000")
    first = ok(home, "lend", a, "--borrower", "JZ0001", "--mode", "loan", "--approved-by", "周敏", *LEND)
    ok(home, "return", first["loan"], "--pages", "8", "--on", "2026-10-08")  # 10 days, 3 late
    second = ok(home, "lend", b, "--borrower", "JZ0002", "--mode", "read", "--purpose", "编史修志", "--on", "2026-09-29")
    ok(home, "return", second["loan"], "--pages", "8", "--on", "2026-09-29")
    ok(home, "lend", a, "--borrower", "JZ0002", "--mode", "read", "--purpose", "学术研究", "--on", "2026-10-09")
    report = ok(home, "report", "lending", "--year", "2026")
    assert report["uses"] == 3 and report["volumes"] == 2 and report["borrowers"] == 2
    assert report["by_purpose"] == {"工作查考": 1, "编史修志": 1, "学术研究": 1, "经济建设": 0, "宣传教育": 0, "其他": 0}
    assert report["by_mode"] == {"read": 2, "excerpt": 0, "copy": 0, "loan": 1}
    assert report["by_borrower_type"] == {"internal": 1, "agency": 2, "public": 0}
    assert report["by_unit"] == {"江州市地方志办公室": 2, "江州市市场监督管理局": 1}
    assert report["overdue"]["returned_late"] == 1 and report["overdue"]["open_overdue"] == 1
    assert report["average_loan_days"] == 10.0
    text = run(home, "report", "lending", "--year", "2026").output
    assert text.startswith("2026年借阅统计：利用 3 次，2 卷，借阅人 2 人\n") and "外借平均借期：10.0 天" in text


def test_lending_rules_command(home):
    data = ok(home, "lending", "rules")
    assert [r["id"] for r in data["rules"]][:2] == ["R09", "R07"]
    assert data["defaults"]["max_out"] == 5
    assert "R04" in run(home, "lending", "rules").output


COMMANDS = [("borrower", "add"), ("borrower", "list"), ("borrower", "show"), ("borrower", "block"), ("lend",),
            ("return",), ("renew",), ("overdue",), ("inspect",), ("copy",), ("register", "export"),
            ("report", "lending"), ("lending", "rules")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_lending_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "示例" in result.output


def test_library_does_not_import_click():
    import subprocess
    import sys

    code = ("import archive.lending.loans, archive.lending.copies, archive.lending.registers, archive.lending.borrowers, archive.lending.rules, sys; "
            "assert 'click' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent).returncode == 0
