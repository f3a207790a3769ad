"""The command line speaks Chinese throughout: click's own messages, help, choices, errors.

With ``--json`` every error is JSON on stdout, ``{"error": {"code", "field", "message",
"hint"}}``, with the same exit code as without.
"""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from cli import main

from .conftest import PERSON_ID

# Words click prints when its messages are not translated.
ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message", "Show the version", "[required]", "[default:",
           "[OPTIONS]", "COMMAND [ARGS]", " TEXT", " INTEGER", " PATH", " FILE", "Error:", "Missing", "No such",
           "is not one of", "Try '", "Aborted", "Invalid value", "CASE_NO", "DIRECTORY")


ARCHIVE_COMMANDS = {"borrower", "lend", "return", "renew", "inspect", "overdue", "copy", "register", "file",
                    "volume", "catalogue", "verify", "appraise", "destroy"}


def operator_for(args) -> str:
    """The account a command is run as: the archivist 陈静 at the archive, the system
    administrator 冯涛 for the index, else the clerk 王芳."""
    if args and args[0] == "reindex":
        return "冯涛"
    return "陈静" if args and args[0] in ARCHIVE_COMMANDS else "王芳"


def run(home, *args, input=None):
    return CliRunner().invoke(main, list(args), env={"ARCHIVE_HOME": str(home), "ARCHIVE_OPERATOR": operator_for(args)},
                              input=input)


def every_command(group=main, path=()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


@pytest.mark.parametrize("path", [p for p, _c in every_command()] + [()], ids=lambda p: " ".join(p) or "archive")
def test_every_help_page_is_chinese(tmp_path, path):
    result = run(tmp_path, *path, "--help")
    assert result.exit_code == 0, result.output
    assert "用法：" in result.output and "显示本帮助并退出" in result.output
    for word in ENGLISH:
        assert word not in result.output, (word, result.output)


@pytest.mark.parametrize("path", [(), ("case",)])
def test_a_group_alone_shows_its_help_not_an_error(tmp_path, path):
    result = run(tmp_path, *path)
    assert result.output.startswith("用法：") and "错误" not in result.output
    assert result.exit_code == 2


def test_a_missing_option_names_it_with_its_chinese_name(home):
    result = run(home, "case", "receive", "--item", "SJ-XK-001", "--applicant", "张三", "--id-number", PERSON_ID)
    assert result.exit_code == 2
    assert result.output.startswith("错误：缺少必填选项 --phone（联系电话）\n")
    assert "提示：运行“" in result.output and "--help”查看用法和示例" in result.output


@pytest.mark.parametrize("args, words", [
    (("case", "recieve"), "没有这个命令：recieve。是不是要输入 receive？"),
    (("frobnicate",), "没有这个命令：frobnicate。"),
    (("case", "list", "--stat", "x"), "没有这个选项：--stat。"),
    (("case", "conclude", "X", "--decision", "好"), "--decision 的值无效：“好”不是可选值，可选：approved（准予许可）、denied（不予许可）"),
    (("case", "extend", "X", "--days", "十", "--reason", "r"), "--days 的值无效：“十”不是整数"),
    (("case", "receive", "--phone"), "选项 --phone 后面要跟一个值"),
    (("case", "show"), "缺少参数：办件编号"),
    (("case", "show", "A", "B"), "多余的参数：B"),
    (("catalog", "import", "/nonexistent.xlsx"), "文件“/nonexistent.xlsx”不存在"),
    (("search", "x", "--limit", "0"), "超出了允许的范围"),
])
def test_clicks_own_errors_are_chinese_exit_2(home, args, words):
    result = run(home, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output
    for word in ENGLISH:
        assert word not in result.output, (word, result.output)


@pytest.mark.parametrize("args", [
    ("case", "conclude", "SJ209901010001", "--decision", "准予"),
    ("case", "conclude", "SJ209901010001", "--decision", "不予许可", "--reason", "不符合条件"),
    ("case", "reject", "SJ209901010001", "--ground", "不属于本机关职权", "--reason", "r", "--competent-organ", "某局"),
    ("case", "list", "--status", "已受理"),
    ("appointment", "list", "--status", "已预约"),
    ("volume", "list", "--state", "在架"),
    ("search", "不动产", "--sort", "日期"),
    ("catalogue", "export", "--format", "Word 文档"),
])
def test_option_values_accept_chinese_as_well_as_english(home, args):
    result = run(home, *args)
    assert "不是可选值" not in result.output, result.output
    assert result.exit_code in (0, 1, 2)


def test_help_lists_both_the_english_key_and_the_chinese_name(tmp_path):
    text = run(tmp_path, "case", "conclude", "--help").output
    assert "approved" in text and "准予许可" in text and "denied" in text and "不予许可" in text
    text = run(tmp_path, "borrower", "add", "--help").output
    assert "internal（内部人员）" in text


def test_errors_name_the_option_typed_not_the_librarys_key(home):
    result = run(home, "borrower", "add", "--name", "李四", "--unit", "某局", "--type", "internal",
                 "--id-number", "110105194912310021", "--phone", "13800138000")
    assert result.exit_code == 2 and result.output.startswith("错误：--id-number：身份证号码校验位错误")
    result = run(home, "borrower", "add", "--name", "李四", "--type", "内部人员", "--id-number", PERSON_ID,
                 "--phone", "13800138000")
    assert result.exit_code == 2 and result.output.startswith("错误：--unit：借阅人单位不能为空")
    result = run(home, "case", "receive", "--item", "SJ-XK-001", "--applicant", "张\u202e三", "--id-number", PERSON_ID,
                 "--phone", "13800138000")
    assert result.exit_code == 2 and result.output.startswith("错误：--applicant：申请人姓名含有不可见的格式字符")
    result = run(home, "lend", "Z023-无此档号", "--borrower", "JZ9999", "--purpose", "工作查考", "--mode", "阅览")
    assert result.exit_code == 2
    assert not re.search(r"\b(archival_code|approved_by|id_number|borrower)\b", result.output), result.output


@pytest.mark.parametrize("args, code, field, exit_code", [
    (("borrower", "add", "--name", "李四", "--unit", "某局", "--type", "internal", "--id-number",
      "110105194912310021", "--phone", "13800138000"), "bad_input", "--id-number", 2),
    (("case", "show", "SJ209901010001"), "not_found", "办件编号", 2),
    (("case", "receive", "--item", "SJ-XK-001", "--applicant", "张三"), "usage", "--phone", 2),
    (("case", "recieve",), "usage", None, 2),
    (("case", "conclude", "X", "--decision", "好"), "usage", "--decision", 2),
])
def test_json_errors_are_json_on_stdout_with_the_same_exit_code(home, args, code, field, exit_code):
    result = CliRunner().invoke(main, [*args, "--json"], env={"ARCHIVE_HOME": str(home),
                                                              "ARCHIVE_OPERATOR": operator_for(args)})
    plain = run(home, *args)
    assert result.exit_code == plain.exit_code == exit_code
    data = json.loads(result.stdout)
    assert set(data) == {"error"} and set(data["error"]) == {"code", "field", "message", "hint"}
    assert data["error"]["code"] == code and data["error"]["field"] == field
    assert data["error"]["message"] and not data["error"]["message"].startswith("错误：")
    assert result.stderr == ""


def test_lists_have_header_rows_and_limits_say_working_days(home):
    catalog = run(home, "catalog", "list").output.splitlines()
    assert catalog[0].split("\t") == ["事项编码", "事项名称", "单位", "办件类型", "承诺期限", "法定期限"]
    assert "承诺0日" not in "\n".join(catalog)
    assert any(line.endswith("\t5个工作日\t10个工作日") for line in catalog)
    assert any("\t当场办结\t" in line for line in catalog)
    assert run(home, "case", "receive", "--item", "SJ-XK-003", "--applicant", "张三", "--id-number", PERSON_ID,
               "--phone", "13800138000", "--materials", "M01").exit_code == 0
    cases = run(home, "case", "list").output.splitlines()
    assert cases[0].split("\t") == ["办件编号", "事项", "申请人", "状态", "承诺办结日期"] and len(cases) == 2


def test_file_all_due_says_why_it_files_nothing(home):
    result = run(home, "file", "--all-due")
    assert result.exit_code == 0 and "没有可归档的办件：还没有办件" in result.output
    run(home, "case", "receive", "--item", "SJ-XK-003", "--applicant", "张三", "--id-number", PERSON_ID,
        "--phone", "13800138000", "--materials", "M01")
    result = run(home, "file", "--all-due")
    assert result.output.strip().splitlines()[-1].startswith("没有可归档的办件：只有办结或不予受理的办件才能归档")
    assert "待补正 1 件" in result.output and "archive case conclude" in result.output


def test_progress_is_not_printed_when_output_is_not_a_terminal(home):
    result = run(home, "reindex")
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("检索索引已重建：")
