import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from archive.commands import filing

from .conftest import add_account
from .test_cases import docx_text, make_case
from .test_volumes import make_concluded, make_pdf

ROOT = Path(__file__).resolve().parent.parent
CODE = "Z023-XK·JY·2026·D30-003-0001"


@pytest.fixture(autouse=True)
def _archivist(home):
    """The archivist these tests act as: an account, since typed names are not identity."""
    add_account(home, "档案员", "archivist")


def run(*args, home, operator="档案员"):
    env = {"ARCHIVE_HOME": str(home)}
    if operator:
        env["ARCHIVE_OPERATOR"] = operator
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def run_json(*args, home, code=0, operator="档案员"):
    result = run(*args, "--json", home=home, operator=operator)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_file_json_has_the_fields_the_issue_lists(session, home):
    case_no = make_concluded(session)
    data = run_json("file", case_no, home=home)
    assert {"archival_code", "fonds", "classification", "catalogue", "volume_no", "retention", "year", "case",
            "pages", "items"} <= set(data)
    assert (data["archival_code"], data["fonds"], data["classification"], data["catalogue"], data["volume_no"],
            data["retention"], data["year"], data["case"]) == (CODE, "Z023", "XK·JY", 3, 1, "D30", 2026, case_no)
    assert data["pages"] == sum(i["pages"] for i in data["items"])
    for number, item in enumerate(data["items"], start=1):
        assert {"number", "title", "date", "pages", "sha256", "path"} <= set(item)
        assert item["number"] == number and len(item["sha256"]) == 64 and Path(item["path"]).is_file()
    assert data["items"][0]["date"] == "2026-09-28"


def test_file_text_output_and_dry_run(session, home):
    case_no = make_concluded(session)
    preview = run("file", case_no, "--dry-run", home=home)
    assert preview.exit_code == 0 and f"档号：{CODE}（预演，未归档）" in preview.output
    assert run_json("volume", "list", home=home) == []
    done = run("file", case_no, home=home)
    assert done.exit_code == 0 and f"档号：{CODE}\n" in done.output and "卷内文件：" in done.output


def test_file_all_due_with_progress(session, home):
    for _ in range(3):
        make_concluded(session)
    result = run("file", "--all-due", home=home)
    assert result.exit_code == 0, result.output
    assert "已归档 3 卷" in result.stdout
    data = run_json("file", "--all-due", home=home)
    assert data == {"filed": [], "failed": [], "dry_run": False}


def test_volume_show_json_adds_state_and_notes(session, home):
    case_no = make_concluded(session)
    filed = run_json("file", case_no, home=home)
    assert run("volume", "note", CODE, "--text", "复核无误", home=home).exit_code == 0
    shown = run_json("volume", "show", CODE, home=home)
    assert shown["state"] == "on_shelf" and shown["state_text"] == "在架"
    assert [n["text"] for n in shown["notes"]] == ["复核无误"] and shown["notes"][0]["operator"] == "档案员"
    for key in ("archival_code", "fonds", "classification", "catalogue", "volume_no", "retention", "year", "case",
                "pages", "items"):
        assert shown[key] == filed[key]
    text = run("volume", "show", CODE, home=home)  # a person's volume is 控制: the archivist's to read
    assert text.exit_code == 0 and "状态：在架" in text.output and "备考：" in text.output, text.output


def test_volume_list_filters(session, home):
    volume_code = run_json("file", make_concluded(session), home=home)["archival_code"]
    assert [v["archival_code"] for v in run_json("volume", "list", "--class", "XK·JY", home=home)] == [volume_code]
    assert run_json("volume", "list", "--year", "2025", home=home) == []
    result = run("volume", "list", "--class", "NO·SUCH", home=home)
    assert result.exit_code == 2 and "错误：" in result.output and "分类号" in result.output


def test_verify_json_is_exactly_checked_and_problems(session, home):
    data = run_json("file", make_concluded(session), home=home)
    clean = run_json("verify", home=home)
    assert clean == {"checked": len(data["items"]) + 3, "problems": []}
    Path(data["items"][0]["path"]).unlink()
    bad = run_json("verify", home=home, code=1)
    assert set(bad) == {"checked", "problems"}
    assert bad["problems"] == [{"archival_code": CODE, "path": data["items"][0]["path"], "problem": "missing"}]
    text = run("verify", CODE, home=home)
    assert text.exit_code == 1 and "缺失" in text.output
    last = run("verify", "--last", home=home)
    assert last.exit_code == 0 and "发现问题 1 处" in last.output


def test_appraise_and_destroy_via_cli(session, home):
    run_json("file", make_concluded(session, decision="denied"), home=home)
    appraised = run_json("appraise", "--as-of", "2037-01-01", home=home)
    assert appraised["list"] == 1 and appraised["total_volumes"] == 1 and appraised["status"] == "draft"
    assert appraised["volumes"][0]["archival_code"] == "Z023-XK·JY·2026·D10-004-0001"
    assert Path(appraised["path"]).is_file()
    early = run("destroy", "--list", "1", "--witness", "--yes", home=home)
    assert early.exit_code == 2 and "尚未批准" in early.output
    mine = run("destroy", "--list", "1", "--approve", home=home)
    assert mine.exit_code == 2 and "无权批准销毁清册" in mine.output  # the archivist does not approve
    approved = run("destroy", "--list", "1", "--approve", "--json", home=home, operator="周敏")
    assert approved.exit_code == 0 and json.loads(approved.stdout)["approver"] == "周敏"
    again = run("destroy", "--list", "1", "--witness", home=home, operator="周敏")
    assert again.exit_code == 2 and "不能同时担任监销人" in again.output
    first = run("destroy", "--list", "1", "--witness", "--json", home=home)
    assert first.exit_code == 0 and json.loads(first.stdout)["status"] == "draft"
    short = run_json("destroy", "--list", "1", "--dry-run", home=home, code=2)
    assert "两名监销人" in short["error"]["message"]
    piped = CliRunner().invoke(main, ["destroy", "--list", "1", "--witness"], input="n\n",
                               env={"ARCHIVE_HOME": str(home), "ARCHIVE_OPERATOR": "赵立新"})
    assert piped.exit_code == 2 and "--yes" in piped.output  # no terminal: no confirmation, nothing destroyed
    assert run_json("volume", "show", "Z023-XK·JY·2026·D10-004-0001", home=home)["state"] == "on_shelf"
    done = run("destroy", "--list", "1", "--witness", "--yes", "--json", home=home, operator="赵立新")
    assert done.exit_code == 0, done.output
    done = json.loads(done.stdout)
    assert done["status"] == "executed" and done["witnesses"] == ["档案员", "赵立新"] and done["approver"] == "周敏"
    shown = run_json("volume", "show", "Z023-XK·JY·2026·D10-004-0001", home=home)
    assert shown["state"] == "destroyed" and shown["destruction_list"] == 1


def test_catalogue_show_and_export(session, home):
    from openpyxl import load_workbook

    run_json("file", make_concluded(session), home=home)
    shown = run_json("catalogue", "show", "--year", "2026", home=home)
    assert [(s["catalogue"], s["year"], s["volumes"]) for s in shown] == [(3, 2026, 1)]
    out = home / "目录.xlsx"
    exported = run_json("catalogue", "export", "--format", "xlsx", "--out", str(out), home=home)
    assert exported["path"] == str(out)
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[3]] == ["案卷号", "档号", "案卷题名", "起止日期", "页数", "保管期限", "备注"]
    assert sheet["B4"].value == CODE and sheet["A4"].value == "0001" and sheet["F4"].value == "定期30年"
    again = run("catalogue", "export", "--format", "xlsx", "--out", str(out), home=home)
    assert again.exit_code == 2 and "已存在" in again.output
    doc = run_json("catalogue", "export", "--format", "docx", "--class", "XK·JY", home=home)
    text = docx_text(doc["path"])
    assert "案卷目录" in text and CODE in text and "目录号：003" in text
    second = run_json("catalogue", "export", "--format", "docx", "--class", "XK·JY", home=home)
    assert second["path"] != doc["path"]  # a new name: the earlier export is kept


@pytest.mark.parametrize("args, field", [
    (["catalogue", "show", "--catalogue", "99"], "目录号"),
    (["catalogue", "show", "--class", "XX"], "分类号"),
    (["catalogue", "show", "--fonds", "Z999"], "全宗号"),
    (["volume", "show", "Z023-XX-0001"], "档号"),
    (["appraise", "--as-of", "2037-02-30"], "--as-of"),
    (["file"], "办件编号"),
])
def test_bad_input_exits_2_with_a_chinese_message(home, args, field):
    result = run(*args, home=home)
    assert result.exit_code == 2 and result.output.startswith("错误：") and field in result.output


def test_filing_a_case_that_is_not_concluded_or_already_filed_exits_2(session, home):
    open_case = make_case(session).case.case_no
    result = run("file", open_case, home=home)
    assert result.exit_code == 2 and "只有已办结" in result.output
    done = make_concluded(session)
    assert run("file", done, home=home).exit_code == 0
    again = run("file", done, home=home)
    assert again.exit_code == 2 and "已经归档" in again.output


def test_attach_via_the_case_group(session, home, tmp_path):
    case_no = make_case(session).case.case_no
    data = run_json("case", "attach", case_no, str(make_pdf(tmp_path / "a.pdf", pages=3)), "--title", "营业执照复印件",
                    home=home)
    assert (data["kind"], data["pages"], data["title"]) == ("pdf", 3, "营业执照复印件")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(make_pdf(tmp_path / "c.pdf").read_bytes()[:50])
    result = run("case", "attach", case_no, str(bad), "--title", "坏文件", home=home)
    assert result.exit_code == 2 and "错误：" in result.output
    encrypted = make_pdf(tmp_path / "e.pdf", password="x")
    result = run("case", "attach", case_no, str(encrypted), "--title", "加密文件", home=home)
    assert result.exit_code == 2 and "加密" in result.output


def test_a_scheme_that_does_not_validate_exits_2(home):
    config = json.loads((home / "config.json").read_text(encoding="utf-8"))
    config["archive"]["classes"][0]["retention"]["approved"] = "D"
    (home / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    result = run("scheme", "check", home=home)
    assert result.exit_code == 2 and "retention.approved" in result.output


def test_scheme_check_reports_an_unclassified_item_and_exits_1(home):
    config = json.loads((home / "config.json").read_text(encoding="utf-8"))
    config["archive"]["classes"][0]["items"].remove("SJ-XK-002")
    (home / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    result = run("scheme", "check", "--json", home=home)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert not data["ok"] and data["problems"][0]["subject"] == "SJ-XK-002"
    assert run("scheme", "check", home=home).output.count("未归入任何类目") == 1


def test_sample_scheme_checks_clean(home):
    result = run("scheme", "check", home=home)
    assert result.exit_code == 0 and "分类方案完整" in result.output


def _commands():
    for command in filing.COMMANDS:
        if hasattr(command, "commands"):
            for sub in command.commands.values():
                yield f"{command.name} {sub.name}", sub
        else:
            yield command.name, command
    yield "case attach", filing.attach_command


@pytest.mark.parametrize("name, command", list(_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_archive_command_has_help_with_an_example(name, command):
    assert "示例" in (command.help or "") and f"archive {name}" in command.help


def test_the_library_does_not_import_click():
    code = ("import sys; import archive.shelf.volumes, archive.shelf.fixity, archive.shelf.disposal, archive.shelf.catalogues, "
            "archive.shelf.scheme, archive.documents.pdfstamp; assert 'click' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_access_change_via_cli_takes_two_accounts(session, home):
    run_json("file", make_concluded(session), home=home)  # a person's case: filed 控制
    missing = run("volume", "access", CODE, "--access", "开放", home=home)
    assert missing.exit_code == 2 and "--reason" in missing.output
    bad = run_json("volume", "access", CODE, "--access", "公开", "--reason", "审核", home=home, code=2)
    assert bad["error"]["field"] == "--access"
    proposed = run_json("volume", "access", CODE, "--access", "开放", "--reason", "经开放审核", home=home)
    assert proposed["status"] == "pending" and proposed["number"] == 1
    assert run_json("volume", "show", CODE, home=home)["access"] == "控制"
    mine = run("volume", "approve-access", "1", home=home)
    assert mine.exit_code == 2 and "无权批准开放标识与密级的调整" in mine.output  # the archivist proposes only
    listed = run_json("volume", "access-changes", home=home, operator="周敏")
    assert [c["number"] for c in listed] == [1]
    no_reason = run_json("volume", "refuse-access", "1", "--reason", " ", home=home, operator="周敏", code=2)
    assert no_reason["error"]["field"] == "--reason"
    approved = run_json("volume", "approve-access", "1", home=home, operator="周敏")
    assert approved["status"] == "approved" and approved["decided_by"] == "周敏"
    assert run_json("volume", "show", CODE, home=home)["access"] == "开放"
