import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from cli import main

from .conftest import ORG_CODE, PERSON_ID
from .test_cases import docx_text

FOOD_ALL = "M01,M02,M03,M04,M05,M06"


def run(*args, home=None, operator="王芳"):
    env = {"ARCHIVE_OPERATOR": operator} if operator else {}
    if home is not None:
        env["ARCHIVE_HOME"] = str(home)
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def receive(home, *extra, materials=FOOD_ALL, operator="王芳"):
    return run("case", "receive", "--item", "SJ-XK-003", "--applicant", "张三", "--id-number", PERSON_ID,
               "--phone", "13800138000", "--materials", materials, "--received-on", "2026-09-28", "--json", *extra,
               home=home, operator=operator)


def state(home):
    from .conftest import store_contents

    files = sorted(p.relative_to(home) for p in (home / "documents").rglob("*") if p.is_file())
    return files, store_contents(home)


def test_receive_json_shape(home):
    result = receive(home)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "accepted"
    assert data["received_on"] == "2026-09-28" and data["accepted_on"] == "2026-09-28"
    assert data["due_on"] and data["missing"] == []
    [notice] = data["notices"]
    assert notice["kind"] == "receipt" and notice["docx"].endswith(".docx") and notice["pdf"] is None
    assert set(data) >= {"case", "status", "received_on", "accepted_on", "due_on", "missing", "notices"}


def test_the_text_output_says_why_there_is_no_pdf(home, monkeypatch):
    args = ("case", "receive", "--item", "SJ-XK-003", "--applicant", "张三", "--id-number", PERSON_ID,
            "--phone", "13800138000", "--materials", FOOD_ALL, "--received-on", "2026-09-28")
    monkeypatch.setenv("ARCHIVE_PDF", "never")  # switched off, whether or not LibreOffice is installed
    assert "已设置为不生成 PDF" in run(*args, home=home).output
    monkeypatch.setenv("ARCHIVE_PDF", "auto")
    monkeypatch.setattr("archive.documents.office.libreoffice_available", lambda: False)
    assert "未安装 LibreOffice" in run(*args, home=home).output


def test_supplement_flow_via_cli(home):
    first = json.loads(receive(home, materials="M01,M02").output)
    assert first["status"] == "needs_supplement" and first["due_on"] is None
    assert first["missing"] == ["M03", "M04", "M05", "M06"]
    second = run("case", "supplement", first["case"], "--materials", "M03,M04,M05,M06", "--on", "2026-09-29",
                 "--json", home=home)
    data = json.loads(second.output)
    assert data["status"] == "accepted" and data["accepted_on"] == "2026-09-29"


@pytest.mark.parametrize("option,value,field", [
    ("--id-number", "110105194912310021", "身份证号码"),
    ("--received-on", "2026-02-30", "收件日期"),
    ("--phone", "12", "联系电话"),
    ("--applicant", "张\x07三", "申请人姓名"),
    ("--materials", "M01,M77", "材料"),
])
def test_bad_input_exits_2_names_field_and_writes_nothing(home, option, value, field):
    before = state(home)
    args = {"--id-number": PERSON_ID, "--received-on": "2026-09-28", "--phone": "13800138000", "--applicant": "张三",
            "--materials": FOOD_ALL}
    args[option] = value
    flat = [x for k, v in args.items() for x in (k, v)]
    result = run("case", "receive", "--item", "SJ-XK-003", *flat, home=home)
    assert result.exit_code == 2
    assert field in result.output
    assert result.output.startswith("错误：")
    assert state(home) == before


def test_unknown_item_exits_2(home):
    result = run("case", "receive", "--item", "XX-1", "--applicant", "张三", "--id-number", PERSON_ID,
                 "--phone", "13800138000", home=home)
    assert result.exit_code == 2 and "XX-1" in result.output


def test_organisation_needs_valid_credit_code(home):
    result = run("case", "receive", "--item", "SJ-XK-003", "--applicant", "甲公司", "--credit-code", ORG_CODE[:-1] + "0",
                 "--legal-rep", "李四", "--phone", "13800138000", "--materials", FOOD_ALL, home=home)
    assert result.exit_code == 2 and "统一社会信用代码" in result.output


def test_operator_is_required(home):
    result = receive(home, operator=None)
    assert result.exit_code == 2 and "经办人" in result.output


def test_uninitialised_workspace_says_how_to_fix(tmp_path):
    result = run("case", "list", home=tmp_path / "nothing")
    assert result.exit_code == 1 and "archive init" in result.output


def test_case_show_and_list_json(home):
    case = json.loads(receive(home).output)["case"]
    shown = json.loads(run("case", "show", case, "--json", home=home).output)
    assert shown["case"] == case and shown["notices"][0]["kind"] == "receipt"
    listed = json.loads(run("case", "list", "--status", "accepted", "--json", home=home).output)
    assert [c["case"] for c in listed] == [case]


def test_catalog_list_json_shape(home):
    data = json.loads(run("catalog", "list", "--json", home=home).output)
    assert len(data) >= 12
    first = data[0]
    assert set(first) >= {"code", "name", "unit", "case_type", "promised_days", "statutory_days", "materials"}
    assert set(first["materials"][0]) >= {"code", "name", "required"}


def test_appointment_book_json(home):
    result = run("appointment", "book", "--name", "张三", "--phone", "13800138000", "--with", "赵局长",
                 "--at", "2030-01-07 09:30", "--place", "三楼接待室", "--matter", "咨询", "--json", home=home)
    # 2030 has no holiday calendar loaded: a clear error naming the year, exit 2
    assert result.exit_code == 2 and "2030" in result.output


def test_reject_via_cli(home):
    case = json.loads(receive(home, materials="M01").output)["case"]
    result = run("case", "reject", case, "--ground", "out-of-scope", "--reason", "区级实施",
                 "--competent-organ", "江城区市场监督管理局", "--on", "2026-09-28", "--json", home=home)
    data = json.loads(result.output)
    assert data["status"] == "not_accepted" and data["notices"][0]["kind"] == "rejection"


def test_calendar_load_bad_file_exits_2(home, tmp_path):
    bad = tmp_path / "2027.json"
    bad.write_text('{"year": 2027, "source": "测试", "holidays": [{"date": "2027-02-30", "name": "春节"}], "workdays": []}', encoding="utf-8")
    result = run("calendar", "load", str(bad), home=home)
    assert result.exit_code == 2 and "2027-02-30" in result.output


def _all_commands(group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


@pytest.mark.parametrize("path,command", list(_all_commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_chinese_help_with_an_example(path, command):
    assert "示例" in (command.help or ""), f"archive {' '.join(path)} 的帮助缺少示例"
    if path not in (("demo",), ("init",), ("serve",)):
        assert any(p.name == "as_json" for p in command.params) or path[-1] in ("export",), f"{path} 缺少 --json"


def test_library_does_not_import_click():
    code = "import archive, archive.window.cases, archive.window.notices, archive.core.session, sys; assert 'click' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_appointment_book_list_cancel(home, session):
    from archive.window import appointments

    booked = appointments.book(session, name="张三", phone="13800138000", id_number=PERSON_ID, with_whom="赵局长",
                               at="2026-09-30 09:30", place="三楼接待室", matter="咨询不动产登记")
    data = {"card": booked.card, "notices": [n.to_dict() for n in booked.notices]}
    assert data["notices"][0]["kind"] == "appointment"
    text = docx_text(data["notices"][0]["docx"])
    assert data["card"] == data["notices"][0]["number"]
    assert "110105********002X" in text and PERSON_ID not in text  # the card shows a masked ID only
    listed = json.loads(run("appointment", "list", "--json", home=home).output)
    assert [a["card"] for a in listed] == [data["card"]]
    cancelled = run("appointment", "cancel", data["card"], "--reason", "改期", "--json", home=home)
    assert json.loads(cancelled.output)["status"] == "cancelled"
    again = run("appointment", "cancel", data["card"], "--reason", "改期", home=home)
    assert again.exit_code == 2


def test_appointment_in_the_past_is_refused(home):
    result = run("appointment", "book", "--name", "张三", "--phone", "13800138000", "--with", "赵局长",
                 "--at", "2026-09-01 09:30", "--place", "三楼", "--matter", "咨询", home=home)
    assert result.exit_code == 2 and "已经过去" in result.output
