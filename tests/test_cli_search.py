"""The search commands: archive search, archive reindex."""

import json

import pytest
from click.testing import CliRunner

from cli import main

from .test_cases import make_case
from .test_search import receive_land, receive_org


def run(*args, operator="王芳"):
    """The clerk searches by default: cases not yet filed are for those who handle cases."""
    env = {"ARCHIVE_OPERATOR": operator} if operator else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def made(session):
    out = {"person": make_case(session).case.case_no, "org": receive_org(session).case.case_no,
           "land": receive_land(session).case.case_no}
    session.close()
    return out


def test_reindex_then_search(home, made):
    result = run("reindex", "--progress", "--home", str(home), operator=None)  # the installation, on its shell
    assert result.exit_code == 0, result.output
    assert "检索索引已重建：3 件" in result.output
    assert f"索引目录 {home / 'index' / 'v0002'}" in result.output  # v0001: the empty index of `archive init`
    assert "建立检索索引：3/3" in result.output  # progress, on stderr
    result = run("search", "不动产", "--home", str(home))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "共找到 1 件，显示第 1—1 件"
    assert lines[1] == f"1. {made['land']}  2026年  自然资源和规划局"
    assert lines[2] == "   李梅不动产转移登记（存量房买卖）申请"
    assert "【不动产】" in lines[3]
    assert lines[-1] == "分布：年度：2026（1）；单位：自然资源和规划局（1）"


def test_search_json_has_exactly_the_documented_keys(home, made):
    run("reindex", "--home", str(home), operator=None)
    result = run("search", "applicant:张三", "--json", "--home", str(home))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["total", "hits", "facets", "lag"]
    assert data["total"] == 1 and data["lag"] == {"changes": 0, "seconds": 0.0}
    assert list(data["hits"][0]) == ["case", "archival_code", "title", "applicant", "year", "score", "snippet"]
    assert data["hits"][0]["case"] == made["person"] and data["hits"][0]["applicant"] == "张三"
    assert data["facets"] == {"year": {"2026": 1}, "unit": {"SJ": 1}, "class": {}}


def test_words_and_options(home, made):
    run("reindex", "--home", str(home), operator=None)
    result = run("search", "食品", "-鑫源", "--unit", "SJ", "--year", "2020-2026", "--sort", "date", "--limit", "5",
                 "--json", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert [h["case"] for h in json.loads(result.output)["hits"]] == [made["person"]]
    traditional = json.loads(run("search", "不動產", "--json", "--home", str(home)).output)
    assert [h["case"] for h in traditional["hits"]] == [made["land"]]
    prefix = json.loads(run("search", "91350100", "--json", "--home", str(home)).output)
    assert [h["case"] for h in prefix["hits"]] == [made["org"]]


def test_nothing_found(home, made):
    run("reindex", "--home", str(home), operator=None)
    result = run("search", "火星基地", "--home", str(home))
    assert (result.exit_code, result.output) == (0, "没有找到符合条件的办件或案卷\n")


@pytest.mark.parametrize("args, message", [
    (["\"不动产"], "引号不成对"),
    (["colour:红"], "未知的检索字段“colour”"),
    (["食品", "--year", "去年"], "年度“去年”无效"),
    (["食品", "--unit", "XX"], "未知的单位“XX”"),
    (["--", "-食品"], "检索式不能只有排除条件"),
    (["食品", "--role", "principal"], "超出"),
])
def test_bad_input_is_exit_2_with_a_chinese_message(home, made, args, message):
    run("reindex", "--home", str(home), operator=None)
    result = run("search", "--home", str(home), *args, operator="王芳")
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.startswith("错误：")


def test_an_unknown_long_option_is_still_refused(home, made):
    run("reindex", "--home", str(home), operator=None)
    result = run("search", "食品", "--yaer", "2026", "--home", str(home))
    assert result.exit_code == 2
    assert "--yaer" in result.output


def test_a_missing_index_says_to_reindex_with_exit_1(home, made):
    import shutil

    shutil.rmtree(home / "index")
    result = run("search", "食品", "--home", str(home))
    assert result.exit_code == 1
    assert "尚未建立检索索引" in result.output and "archive reindex" in result.output


def test_an_index_behind_the_store_answers_with_a_note_and_lag_in_json(home, made):
    run("reindex", "--home", str(home), operator=None)
    from archive.core.config import open_workspace
    from archive.core.session import Session

    with Session(open_workspace(home), operator="王芳") as s:  # a library write: nothing applies the log
        make_case(s, item_code="SJ-XK-003")
    result = run("search", "食品", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "检索索引尚有 1 项变更未应用" in result.output and "archive indexer" in result.output
    data = json.loads(run("search", "食品", "--json", "--home", str(home)).output)
    assert data["lag"]["changes"] == 1 and data["total"] == 2
    result = run("case", "show", made["person"], "--home", str(home))  # a read: applies nothing
    data = json.loads(run("search", "食品", "--json", "--home", str(home)).output)
    assert data["lag"]["changes"] == 1


def test_role_narrowing_from_the_command_line(home, made):
    run("reindex", "--home", str(home), operator=None)
    result = run("search", "不动产", "--json", "--home", str(home), operator="陈静")
    assert result.exit_code == 0 and json.loads(result.output)["total"] == 1
    # A case not yet filed is for those who handle cases (case.read), never for the public.
    result = run("search", "不动产", "--role", "public", "--json", "--home", str(home), operator="陈静")
    assert result.exit_code == 0 and json.loads(result.output)["total"] == 0
    result = run("search", "不动产", "--json", "--home", str(home), operator=None)
    assert result.exit_code == 0 and json.loads(result.output)["total"] == 0


@pytest.mark.parametrize("command", ["search", "reindex"])
def test_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "示例：" in result.output and f"archive {command}" in result.output
