"""Full-text search: Chinese analysis, query syntax, following the store, access, concurrency."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from archive.window import cases
from archive.search import index as search
from archive.search import indexer
from archive.core import store as st
from archive.core.access import BUILT_IN
from archive.window.cases import Applicant
from archive.core.errors import InputError
from archive.search.index import IndexMissingError, fold, gram_tokens, parse_query, snippet

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID, add_account, at_archive
from .test_cases import make_case

ROOT = Path(__file__).resolve().parent.parent
EVERYONE = BUILT_IN["principal"]
ZR_ALL = ["M01", "M02", "M03", "M04", "M05"]  # ZR-QR-001 不动产转移登记（存量房买卖）


def keys(result) -> list[str]:
    return [hit.case for hit in result.hits]


def caught_up(session, result=None):
    """What a clerk's command does before it exits: apply the change log to the index."""
    indexer.catch_up(session)
    return result


def receive_org(session, name="江州市鑫源餐饮管理有限公司", code=ORG_CODE, item="SJ-XK-003"):
    return caught_up(session, make_case(session, item_code=item,
                                        applicant=Applicant.organisation(name, code, "刘强", "0792-85123456")))


def receive_land(session, name="李梅", id_number="110101199003071233"):
    return caught_up(session, make_case(session, item_code="ZR-QR-001", materials=ZR_ALL,
                                        applicant=Applicant.person(name, id_number, "13800138000")))


def concluded(session, result) -> str:
    case_no = result.case.case_no
    cases.conclude(session, case_no, decision="approved", on=dt.date(2026, 9, 30))
    return case_no


def filed(session, result) -> str:
    from archive.shelf import volumes

    return caught_up(session, volumes.file_case(at_archive(session), concluded(session, result)).archival_code)


def set_volume(session, code: str, **values) -> None:
    """Change a volume row the way a later archive action would: in a unit of work that says so."""
    with session.work() as work:
        work.conn.execute(update(st.volumes).where(st.volumes.c.archival_code == code).values(**values))
        work.touch("volume", code)
    caught_up(session)


@pytest.fixture
def indexed(session):
    """The sample session with three cases received and the index built."""
    made = {
        "person": make_case(session).case.case_no,  # 张三, 食品经营许可（新办）
        "org": receive_org(session).case.case_no,
        "land": receive_land(session).case.case_no,
    }
    search.reindex(session)
    return made


# -- folding and tokens ---------------------------------------------------------------------

def test_fold_converts_traditional_width_and_case():
    assert fold("審批與發證ＡＢＣ１２３Led") == "审批与发证abc123led"


def test_grams_cover_every_pair_and_the_last_character_of_each_run():
    assert gram_tokens("不动产登记，SJ-2026") == ["不动", "动产", "产登", "登记", "记", "sj", "2026"]
    assert gram_tokens("江州 市\n人民") == ["江州", "州市", "市人", "人民", "民"]  # layout gaps are bridged


def test_long_words_are_jiebas_own(tmp_path):
    """The build's segmentation (index._jieba_long_words) gives what jieba.cut_for_search gives."""
    search.use_jieba_cache(tmp_path)
    search.add_words(["不动产转移登记", "江州市自然资源和规划局", "江州市鑫源餐饮管理有限公司"])
    jieba = search._jieba()
    runs = ["申请人对审批结果有异议的可以依法申请覆核", "江州市自然资源和规划局不动产转移登记", "委托张伟办理不动产转移登记",
            "中华人民共和国行政许可法第三十二条", "江州市鑫源餐饮管理有限公司作为相关方", "王芳于", "〇一二三四", "一㐀不动产登记",
            "经营项目包括预包装食品销售散装食品销售和热食类食品制售", "档案已按一案一卷整理归档保管期限为定期三十年", "研究生命起源"]
    for run in runs:
        assert search._jieba_long_words(run) == [w for w in jieba.cut_for_search(run, HMM=False) if len(w) >= 3], run
    search.add_words(["命起源"])  # a word added later changes the route
    assert search._jieba_long_words("研究生命起源") == [w for w in jieba.cut_for_search("研究生命起源", HMM=False)
                                                     if len(w) >= 3]


def test_parse_query_syntax():
    parsed = parse_query('不动产 applicant:张三 "不予受理 决定书" 食品 OR 药品 -注销 code:Z023-XK* 申请人：李梅')
    clauses = parsed.clauses
    assert [(c.field, c.value, c.phrase, c.negated, c.prefix) for c in clauses] == [
        (None, "不动产", False, False, False),
        ("applicant", "张三", False, False, False),
        (None, "不予受理 决定书", True, False, False),
        (None, "食品", False, False, False),
        (None, "药品", False, False, False),
        (None, "注销", False, True, False),
        ("code", "Z023-XK", False, False, True),
        ("applicant", "李梅", False, False, False),
    ]
    assert [len(g) for g in parsed.groups] == [1, 1, 1, 2, 1, 1, 1]


@pytest.mark.parametrize("query, message", [
    ('"不动产 登记', "引号不成对"),
    ("'不动产 登记", "检索式“'不动产 登记”中的引号不成对"),
    ("不动产’", "检索式“不动产’”中的引号不成对"),
    ("不动产”", "引号不成对"),
    ("colour:红", "未知的检索字段“colour”"),
    ("applicant:", "字段“applicant”后缺少检索词"),
    ("OR 不动产", "OR 的两边都要有检索词"),
    ("不动产 OR", "OR 的两边都要有检索词"),
    ("-注销", "检索式不能只有排除条件"),
    ("不动产 NOT", "NOT 后缺少检索词"),
])
def test_malformed_queries_name_the_problem(query, message):
    with pytest.raises(InputError) as err:
        parse_query(query)
    assert message in err.value.message
    assert err.value.exit_code == 2 and err.value.field == "query"


def test_single_quotes_mark_a_phrase_like_double_quotes():
    for query in ("'不予受理 决定书'", "‘不予受理 决定书’", '"不予受理 决定书"', "“不予受理 决定书”"):
        assert [(c.value, c.phrase) for c in parse_query(query).clauses] == [("不予受理 决定书", True)], query


def test_snippet_marks_terms_and_keeps_the_original_characters():
    text = "前言" * 60 + "本局對不動產登記申請作出受理決定" + "后记" * 60
    out = snippet(text, ["不动产", "登记"], width=40)
    assert "對【不動產登記】申請" in out
    assert out.startswith("…") and out.endswith("…")


# -- searching ------------------------------------------------------------------------------

def test_a_word_inside_a_longer_word_is_found(session, indexed):
    result = search.search(session, "不动产", role=EVERYONE)
    assert keys(result) == [indexed["land"]]
    assert "【不动产】" in result.hits[0].snippet
    assert result.hits[0].title == "李梅不动产转移登记（存量房买卖）申请"


def test_any_substring_of_two_characters_or_more_finds_the_document(session, indexed):
    # cut across jieba's word boundaries: 产转, 转移登, 动产转移登记
    for query in ("产转", "转移登", "动产转移登记", "存量房买"):
        assert indexed["land"] in keys(search.search(session, query, role=EVERYONE)), query


def test_traditional_characters_find_simplified_text(session, indexed):
    assert keys(search.search(session, "不動產", role=EVERYONE)) == [indexed["land"]]
    assert len(keys(search.search(session, "材料齊全", role=EVERYONE))) == 3  # 材料齐全 occurs in every receipt


def test_single_character_and_ascii_case_folding(session, indexed):
    assert indexed["land"] in keys(search.search(session, "梅", role=EVERYONE))
    assert keys(search.search(session, "zr-qr-001", role=EVERYONE)) == [indexed["land"]]


def test_codes_are_found_whole_and_by_prefix(session, indexed):
    for query in (ORG_CODE, ORG_CODE[:8], ORG_CODE.lower(), f"id:{ORG_CODE[:6]}*"):
        assert keys(search.search(session, query, role=EVERYONE)) == [indexed["org"]], query
    assert keys(search.search(session, indexed["land"], role=EVERYONE)) == [indexed["land"]]
    assert keys(search.search(session, f"case:{indexed['land'][:6]}", role=EVERYONE)) == [indexed["land"]]
    assert set(keys(search.search(session, PERSON_ID[:6], role=EVERYONE))) == {indexed["person"]}


def test_field_queries(session, indexed):
    assert keys(search.search(session, "applicant:张三", role=EVERYONE)) == [indexed["person"]]
    assert keys(search.search(session, "申请人：鑫源", role=EVERYONE)) == [indexed["org"]]
    assert keys(search.search(session, "applicant:食品", role=EVERYONE)) == []
    assert set(keys(search.search(session, "item:SJ-XK-003", role=EVERYONE))) == {indexed["person"], indexed["org"]}
    assert keys(search.search(session, "item:存量房", role=EVERYONE)) == [indexed["land"]]
    assert keys(search.search(session, "unit:ZR", role=EVERYONE)) == [indexed["land"]]
    assert search.search(session, "year:2026", role=EVERYONE).total == 3
    assert search.search(session, "year:2020-2025", role=EVERYONE).total == 0
    assert search.search(session, "status:accepted", role=EVERYONE).total == 3


def test_words_are_anded_or_ored_and_excluded(session, indexed):
    assert keys(search.search(session, "食品 张三", role=EVERYONE)) == [indexed["person"]]
    assert set(keys(search.search(session, "张三 OR 李梅", role=EVERYONE))) == {indexed["person"], indexed["land"]}
    assert keys(search.search(session, "食品经营 -张三", role=EVERYONE)) == [indexed["org"]]
    assert keys(search.search(session, "食品经营 NOT 鑫源", role=EVERYONE)) == [indexed["person"]]


def test_a_phrase_must_occur_exactly(session, indexed):
    # both words occur in the land case, but not next to each other
    assert indexed["land"] in keys(search.search(session, "转移 买卖", role=EVERYONE))
    assert keys(search.search(session, '"转移买卖"', role=EVERYONE)) == []
    assert keys(search.search(session, '"转移登记（存量房"', role=EVERYONE)) == [indexed["land"]]


def test_filters_facets_paging_and_sorting(session, indexed):
    later = make_case(session, received_on=dt.date(2026, 10, 9)).case.case_no
    search.reindex(session)
    everything = search.search(session, "", role=EVERYONE)
    assert everything.total == 4
    assert everything.facets["year"] == {"2026": 4}
    assert everything.facets["unit"] == {"SJ": 3, "ZR": 1}
    assert everything.facets["class"] == {}  # nothing filed yet
    assert search.search(session, "", unit="市场监管局", role=EVERYONE).total == 3
    assert search.search(session, "", unit="zr", role=EVERYONE).total == 1
    assert search.search(session, "", item="SJ-XK-003", role=EVERYONE).total == 3
    assert search.search(session, "", year="2027", role=EVERYONE).total == 0
    newest = search.search(session, "食品", sort="date", role=EVERYONE)
    assert newest.hits[0].case == later
    page1 = search.search(session, "食品", limit=2, role=EVERYONE)
    page2 = search.search(session, "食品", limit=2, page=2, role=EVERYONE)
    assert page1.total == page2.total == 3
    assert len(page1.hits) == 2 and len(page2.hits) == 1
    assert not set(keys(page1)) & set(keys(page2))
    assert search.search(session, "食品", page=9, role=EVERYONE).hits == ()


@pytest.mark.parametrize("options, field", [
    ({"year": "26"}, "year"), ({"year": "2026-2020"}, "year"), ({"unit": "XX"}, "unit"),
    ({"status": "lost"}, "status"), ({"sort": "name"}, "sort"), ({"limit": 0}, "limit"), ({"page": 0}, "page"),
])
def test_bad_filters_are_input_errors(session, indexed, options, field):
    with pytest.raises(InputError) as err:
        search.search(session, "食品", role=EVERYONE, **options)
    assert err.value.field == field


def test_to_dict_has_exactly_the_documented_shape(session, indexed):
    data = search.search(session, "张三", role=EVERYONE).to_dict()
    assert set(data) == {"total", "hits", "facets", "lag"}
    assert set(data["hits"][0]) == {"case", "archival_code", "title", "applicant", "year", "score", "snippet"}
    assert set(data["facets"]) == {"year", "unit", "class"}
    assert data["hits"][0]["applicant"] == "张三" and data["hits"][0]["archival_code"] is None
    json.dumps(data, ensure_ascii=False)


def test_the_title_and_applicant_rank_above_a_mention(session, indexed):
    mention = make_case(session, item_code="SJ-XK-001", materials=["M01", "M02", "M03"],
                        applicant=Applicant.person("王五", "110101199003071233", "13800138000"))
    cases.pause(session, mention.case.case_no, reason="需核实张三提供的证明材料", on=DEMO_DAY)
    caught_up(session)
    result = search.search(session, "张三", role=EVERYONE)
    assert keys(result)[0] == indexed["person"]
    assert mention.case.case_no in keys(result)


# -- following the store ----------------------------------------------------------------------

def test_without_an_index_search_says_to_reindex(session):
    shutil.rmtree(session.ws.index_dir)
    with pytest.raises(IndexMissingError) as err:
        search.search(session, "食品")
    assert "archive reindex" in str(err.value) and err.value.exit_code == 1
    make_case(session)
    assert indexer.catch_up(session) is None  # nothing to apply the log to


def test_a_new_workspace_has_an_empty_index_that_answers_at_once(session):
    assert search.status(session).exists and search.status(session).fresh
    for query, options in (("食品", {}), ("", {"sort": "date"}), ("", {"year": "2026"}), ("申请", {"unit": "SJ"})):
        result = search.search(session, query, role=EVERYONE, **options)
        assert (result.total, result.hits) == (0, ()), (query, options)
        assert result.facets == {"year": {}, "unit": {}, "class": {}}
        assert result.lag == {"changes": 0, "seconds": 0.0}
    assert search.find_all(session, "食品", role=EVERYONE) == []
    made = caught_up(session, make_case(session)).case.case_no  # the first update writes the first segment
    assert keys(search.search(session, "食品", role=EVERYONE)) == [made]


def test_a_new_case_is_searchable_once_the_log_is_applied(session, indexed):
    fresh = receive_org(session, name="江州市宏达商贸有限公司", code="91350100M000100Y43").case.case_no
    assert keys(search.search(session, "宏达商贸", role=EVERYONE)) == [fresh]
    assert search.status(session).fresh


def test_an_index_behind_the_log_answers_and_says_how_far_behind(session, indexed):
    before = search.search(session, "食品", role=EVERYONE).total
    late = make_case(session, item_code="SJ-XK-003", applicant=Applicant.organisation(
        "江州市迟到商贸有限公司", ORG_CODE, "刘强", "0792-85123456")).case.case_no  # not applied yet
    result = search.search(session, "食品", role=EVERYONE)
    assert result.total == before and late not in keys(result)
    assert result.lag["changes"] == 1 and result.lag["seconds"] >= 0
    assert result.to_dict()["lag"] == result.lag
    status = search.status(session)
    assert not status.fresh and status.lag["changes"] == 1
    assert indexer.catch_up(session) == 1
    result = search.search(session, "食品", role=EVERYONE)
    assert late in keys(result) and result.lag == {"changes": 0, "seconds": 0.0}


def test_a_failed_batch_is_applied_again_and_the_write_still_succeeds(session, indexed, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr(search, "_write_documents", broken)
    result = make_case(session, item_code="SJ-XK-003", applicant=Applicant.organisation(
        "江州市鑫源餐饮管理有限公司", ORG_CODE, "刘强", "0792-85123456"))
    assert result.case.status == "accepted"  # the case itself is recorded
    with pytest.raises(OSError):
        indexer.catch_up(session)
    assert search.search(session, "食品", role=EVERYONE).lag["changes"] == 1
    monkeypatch.undo()
    assert indexer.catch_up(session) == 1  # the lease was let go; the entry was still pending
    assert search.search(session, "食品", role=EVERYONE).total == 3


def test_changes_committed_during_a_rebuild_are_applied_after_the_swap(session, indexed, monkeypatch):
    real_build = search.build_index
    added = []

    def build_and_meanwhile_receive(*args, **kwargs):
        built = real_build(*args, **kwargs)
        added.append(make_case(session, applicant=Applicant.person("重建期间", PERSON_ID, "13800138000")).case.case_no)
        return built

    monkeypatch.setattr(search, "build_index", build_and_meanwhile_receive)
    report = search.reindex(session)
    assert search.status(session).generation == report.generation
    assert search.search(session, "重建期间", role=EVERYONE).lag["changes"] == 1
    caught_up(session)
    assert keys(search.search(session, "重建期间", role=EVERYONE)) == added
    assert search.status(session).fresh


def test_reindex_swaps_versions_and_keeps_one_previous(session, indexed):
    index = session.ws.home / "index"
    first = json.loads((index / "state.json").read_text(encoding="utf-8"))["current"]
    search.reindex(session)
    search.reindex(session)
    versions = sorted(p.name for p in index.iterdir() if p.is_dir())
    state = json.loads((index / "state.json").read_text(encoding="utf-8"))
    assert first not in versions and len(versions) == 2 and state["current"] == versions[-1]
    assert not [p for p in index.iterdir() if p.name.startswith("build-")]


# -- volumes and access -----------------------------------------------------------------------

def test_filing_adds_the_volume_to_the_case_document(session, indexed):
    code = filed(session, make_case(session, applicant=Applicant.person("赵六", "110101199003071233", "13800138000")))
    result = search.search(session, "赵六", role=EVERYONE)
    assert result.hits[0].archival_code == code
    assert keys(search.search(session, f"code:{code}", role=EVERYONE)) == keys(result)
    assert keys(search.search(session, f"code:{code[:10]}*", role=EVERYONE)) == keys(result)
    assert search.search(session, "", status="filed", role=EVERYONE).total == 1
    assert search.search(session, "赵六", classification="XK", role=EVERYONE).facets["class"] == {"XK·JY": 1}
    assert "卷内【备考表】" in search.search(session, "备考表", role=EVERYONE).hits[0].snippet


def test_restricted_volumes_are_left_out_unless_the_role_allows(session, indexed):
    code = filed(session, receive_land(session, name="钱七"))  # 不动产登记 volumes are 控制
    assert search.search(session, "钱七", role=BUILT_IN["public"]).total == 0
    assert search.search(session, "钱七", role=BUILT_IN["staff"]).total == 1
    set_volume(session, code, security_level="秘密")
    assert search.search(session, "钱七", role=BUILT_IN["staff"]).total == 0
    assert search.search(session, "钱七", role=BUILT_IN["archivist"]).total == 1
    set_volume(session, code, security_level="绝密")
    assert search.search(session, "钱七", role=BUILT_IN["archivist"]).total == 0
    assert search.search(session, "钱七", role=BUILT_IN["principal"]).total == 1
    assert search.find_all(session, "钱七", role=BUILT_IN["archivist"]) == []


def test_the_operators_role_applies_by_default(home):
    from archive.core.config import open_workspace
    from archive.core.session import Session

    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as clerk:
        code = filed(clerk, receive_land(clerk, name="钱七"))
        search.reindex(clerk)
        assert search.search(clerk, "钱七").total == 1  # 王芳 is staff: 控制 is visible
        set_volume(clerk, code, access="延期开放")
        assert search.search(clerk, "钱七").total == 0
    with Session(open_workspace(home)) as anonymous:
        assert search.search(anonymous, "钱七").total == 0  # public: 延期开放 is hidden


def test_a_destroyed_volume_disappears(session, indexed):
    code = filed(session, make_case(session, applicant=Applicant.person("孙八", "110101199003071233", "13800138000")))
    assert search.search(session, "孙八", role=EVERYONE).total == 1
    set_volume(session, code, state="destroyed", destroyed_at=dt.datetime(2056, 1, 1), destroyed_by="陈静")
    assert search.search(session, "孙八", role=EVERYONE).total == 0
    search.reindex(session)
    assert search.search(session, "孙八", role=EVERYONE).total == 0


def test_a_scanned_attachment_is_indexed_by_its_title_and_reported(session, indexed, tmp_path):
    from archive.shelf import volumes

    from .test_extract import make_scan_pdf

    volumes.attach(session, indexed["person"], make_scan_pdf(tmp_path / "scan.pdf"), title="营业执照扫描件")
    report = search.reindex(session)
    assert [(x["case"], x["title"]) for x in report.no_text] == [(indexed["person"], "营业执照扫描件")]
    assert "扫描件" in report.no_text[0]["problem"]


# -- concurrency --------------------------------------------------------------------------------

CLERK = """
import datetime as dt, sys
from archive.centre import open_session
from archive.window.cases import Applicant, receive
home, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_session(home, operator=name) as session:
    session.today = dt.date(2026, 9, 28)
    for n in range(count):
        receive(session, item_code="SJ-XK-003", materials=["M01", "M02", "M03", "M04", "M05", "M06"],
                applicant=Applicant.person(f"{name}客户{n}", "11010519491231002X", "13800138000"),
                received_on=dt.date(2026, 9, 28))
"""

READER = """
import sys, time
from archive.search import index as search
from archive.core.access import BUILT_IN
from archive.core.config import open_workspace
from archive.core.session import Session
home, seconds = sys.argv[1], float(sys.argv[2])
answers = errors = 0
deadline = time.monotonic() + seconds
with Session(open_workspace(home)) as session:
    while time.monotonic() < deadline:
        search.search(session, "食品经营", role=BUILT_IN["principal"])
        answers += 1
print(answers)
"""


def test_two_clerks_write_while_a_reader_searches(session, indexed, home):
    for name in ("甲", "乙"):
        add_account(home, name, "clerk")
    env = {"PYTHONPATH": str(ROOT), "ARCHIVE_PDF": "never", "PATH": "/usr/bin:/bin"}
    if os.environ.get("ARCHIVE_DB_URL"):  # the PostgreSQL run: this test's database
        env["ARCHIVE_DB_URL"] = os.environ["ARCHIVE_DB_URL"]
    clerks = [subprocess.Popen([sys.executable, "-c", CLERK, str(home), name, "4"], cwd=ROOT, env=env,
                               stderr=subprocess.PIPE, text=True) for name in ("甲", "乙")]
    reader = subprocess.run([sys.executable, "-c", READER, str(home), "6"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    for clerk in clerks:
        _, err = clerk.communicate(timeout=120)
        assert clerk.returncode == 0, err
        assert "Lock" not in err and "Traceback" not in err
    assert reader.returncode == 0, reader.stderr
    assert int(reader.stdout) > 0
    assert search.status(session).fresh
    found = search.find_all(session, "客户", role=EVERYONE)
    assert len(found) == 8


def test_snippets_mask_identity_numbers_which_stay_searchable(session, indexed):
    result = search.search(session, PERSON_ID, role=EVERYONE)
    assert keys(result) == [indexed["person"]]
    assert PERSON_ID not in result.hits[0].snippet
    shown = search.search(session, "身份证号码 case:" + indexed["person"], role=EVERYONE)
    assert "【身份证号码】 110105***" in shown.hits[0].snippet and PERSON_ID not in shown.hits[0].snippet
    assert keys(search.search(session, f'"{PERSON_ID}"', role=EVERYONE)) == [indexed["person"]]


def test_the_snippet_shows_the_stretch_with_the_most_terms():
    text = "甲" * 50 + "不动产" + "乙" * 200 + "不动产登记在此" + "丙" * 200 + "登记"
    out = snippet(text, ["不动产", "登记"], width=30)
    assert "【不动产登记】在此" in out
    assert snippet("短文", ["没有"], width=30) == "短文"
    assert snippet("很长的一段话" * 20, ["x" * 200], width=10) == "很长的一段话很长的一…"


# -- the query engine on a larger index ----------------------------------------------------------

def synthetic(count: int, share: int, shares: int):
    """Documents where 罕见词 is in every 50th, 常见 in all, 中等 in every 3rd."""
    for i in range(share, count, shares):
        words = ["常见词语", "申请材料"] + (["罕见词汇"] if i % 50 == 0 else []) + (["中等频率"] if i % 3 == 0 else [])
        text = "，".join(words * (1 + i % 4)) + f"。编号{i}"
        yield {"key": f"K{i:05d}", "year": 2000 + i % 20, "date": 20000101 + i, "unit": "SJ", "applicant": f"申请人{i}",
               "title": f"文件{i}", "text": text, "info": {"case": f"K{i:05d}", "title": f"文件{i}", "year": 2000 + i % 20}}


def install_built(session, source, count: int) -> None:
    """Build an index of ``source``'s documents and make it the workspace's current one."""
    build = session.ws.home / "index" / "build-test"
    search.build_index(build, source, count, procs=1)
    with session.store.read() as conn:
        generation = search._store_generation(conn)
    search.install_index(session, build, generation=generation, documents=count)


def test_the_engine_agrees_with_a_scan(session):
    from functools import partial

    count = 1500
    install_built(session, partial(synthetic, count), count)
    texts = {d["key"]: fold(d["text"]) for d in synthetic(count, 0, 1)}
    for query in ("罕见词汇 常见", "罕见 申请材料 中等", "中等频率", "常见词语 -中等", "罕见 OR 中等频率", "编号1"):
        found = set(search.find_all(session, query, role=EVERYONE))
        result = search.search(session, query, role=EVERYONE, limit=5)
        assert result.total == len(found), query
        if query == "罕见词汇 常见":
            assert found == {k for k, t in texts.items() if "罕见词汇" in t}
            # more occurrences rank first: the multiples of 50 with i % 4 == 2 say it three times, the others once
            assert all(int(hit.case[1:]) % 4 == 2 for hit in result.hits[:2])
    assert len(search.find_all(session, "罕见 申请材料 中等", role=EVERYONE)) == len(range(0, count, 150))
    assert search.find_all(session, "常见词语 -中等", role=EVERYONE) == \
        sorted(f"K{i:05d}" for i in range(count) if i % 3)  # read from the key column


def test_an_index_of_an_older_format_asks_for_a_rebuild(session, indexed):
    state_path = session.ws.home / "index" / "state.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state_path.write_text(json.dumps(dict(state, format=0)), encoding="utf-8")
    with pytest.raises(IndexMissingError) as err:
        search.search(session, "食品")
    assert "旧版本" in str(err.value)
    receive_org(session)  # updates skip an index they cannot read
    search.reindex(session)
    assert search.search(session, "食品", role=EVERYONE).total == 3


def test_a_word_mixing_chinese_and_digits_must_occur_as_written(session, indexed):
    twelve = receive_org(session, name="江州市第12贸易有限公司").case.case_no
    thirteen = receive_org(session, name="江州市第13贸易有限公司").case.case_no
    assert keys(search.search(session, "第13贸易", role=EVERYONE)) == [thirteen]
    assert "【第13贸易】" in search.search(session, "第13贸易", role=EVERYONE).hits[0].snippet
    assert set(keys(search.search(session, "第 13 贸易", role=EVERYONE))) >= {thirteen}  # separate words: AND
    assert keys(search.search(session, "第12贸易", role=EVERYONE)) == [twelve]


def test_spaces_and_line_breaks_inside_chinese_text_do_not_hide_words(session, indexed):
    # text extracted from a PDF keeps its layout's gaps: 江州 市人民政府, 申 请 人
    cases.pause(session, indexed["land"], reason="需核实江州 市人民  政府的批复，申 请 人已知悉", on=DEMO_DAY)
    caught_up(session)
    assert keys(search.search(session, "江州市人民政府", role=EVERYONE)) == [indexed["land"]]
    assert keys(search.search(session, '"市人民政府的批复"', role=EVERYONE)) == [indexed["land"]]


# -- exact matching: a run of Chinese characters is a substring, a phrase occurs as written -----

def test_a_run_of_chinese_characters_must_occur_as_written(session, indexed):
    # the person's case has 咨询 and 询办, 张三 and 三丰, but neither 咨询办 nor 张三丰
    cases.pause(session, indexed["person"], reason="请到咨询台，由询办人张三与三丰公司核对", on=DEMO_DAY)
    cases.pause(session, indexed["org"], reason="已转咨询办公室，张三丰签收", on=DEMO_DAY)
    caught_up(session)
    assert keys(search.search(session, "咨询办", role=EVERYONE)) == [indexed["org"]]
    assert keys(search.search(session, "张三丰", role=EVERYONE)) == [indexed["org"]]
    assert search.find_all(session, "张三丰", role=EVERYONE) == [indexed["org"]]
    assert indexed["person"] in keys(search.search(session, "咨询 询办", role=EVERYONE))  # two words: AND
    # excluding a run excludes the documents that contain it, not those with its pairs
    assert set(keys(search.search(session, "三丰", role=EVERYONE))) == {indexed["person"], indexed["org"]}
    assert keys(search.search(session, "三丰 -咨询办", role=EVERYONE)) == [indexed["person"]]
    assert keys(search.search(session, "applicant:张三丰", role=EVERYONE)) == []


def test_a_phrase_occurs_with_its_punctuation(session, indexed):
    assert keys(search.search(session, '"转移登记（存量房"', role=EVERYONE)) == [indexed["land"]]
    assert keys(search.search(session, '"转移登记，存量房"', role=EVERYONE)) == []
    assert keys(search.search(session, '"转移登记(存量房买卖)"', role=EVERYONE)) == [indexed["land"]]


def test_a_phrase_with_an_identity_number_is_found_though_snippets_mask_it(session, indexed):
    cases.pause(session, indexed["org"], reason="经办人身份证号11010519491231002X已核验", on=DEMO_DAY)
    caught_up(session)
    result = search.search(session, '"身份证号11010519491231002X"', role=EVERYONE)
    assert keys(result) == [indexed["org"]]
    assert "11010519491231002X" not in result.hits[0].snippet
    assert keys(search.search(session, '"身份证号11010519491231002X已核验"', role=EVERYONE)) == [indexed["org"]]
    assert keys(search.search(session, '"身份证号11010519491231002"', role=EVERYONE)) == []  # whole numbers


def test_ling_is_a_chinese_character(session, indexed):
    cases.pause(session, indexed["land"], reason="于二〇二六年十月补正", on=DEMO_DAY)
    caught_up(session)
    for query in ("二〇二六年", "〇二六", "二〇", '"于二〇二六年十月"'):
        assert keys(search.search(session, query, role=EVERYONE)) == [indexed["land"]], query
    assert keys(search.search(session, "二〇二七", role=EVERYONE)) == []


def near_misses(count: int, share: int, shares: int):
    """Every document has 咨询 and 询办 (and 登记); every 7th also 咨询办, every 11th 办登记."""
    for i in range(share, count, shares):
        text = "咨询台，询办人。登记" + ("。咨询办公室" if i % 7 == 0 else "") + ("，办登记" if i % 11 == 0 else "")
        yield {"key": f"K{i:05d}", "year": 2020, "date": 20200101 + i, "unit": "SJ", "applicant": f"申请人{i}",
               "title": f"文件{i}", "text": text, "info": {"case": f"K{i:05d}", "title": f"文件{i}", "year": 2020}}


def test_exact_at_any_number_of_candidates(session, monkeypatch):
    from functools import partial

    monkeypatch.setattr(search, "SEGMENT_DOCS", 1000)  # several segments
    count = 3000
    install_built(session, partial(near_misses, count), count)

    def every(step):
        return sorted(f"K{i:05d}" for i in range(0, count, step))
    assert search.find_all(session, "咨询办", role=EVERYONE) == every(7)
    assert search.search(session, "咨询办", role=EVERYONE).total == len(every(7))
    assert search.find_all(session, "办登记", role=EVERYONE) == every(11)
    assert search.find_all(session, "咨询办 办登记", role=EVERYONE) == every(77)
    assert search.find_all(session, '"咨询办公室"', role=EVERYONE) == every(7)
    assert search.find_all(session, '"询办人。登记"', role=EVERYONE) == every(1)
    assert search.find_all(session, '"询办人。登"', role=EVERYONE) == every(1)  # ends with a single character
    assert search.find_all(session, '"询办人，登记"', role=EVERYONE) == []
    assert len(search.find_all(session, "登记 -咨询办", role=EVERYONE)) == count - len(every(7))


# -- answers remembered per state of the index -----------------------------------------------------

def test_a_remembered_query_sees_a_new_case_and_an_access_change(session, indexed):
    """A query's matches, facets and best hits are kept while the index stays the same: a new
    document or an access change opens a new state, which remembers nothing."""
    code = filed(session, receive_land(session, name="钱七"))  # 控制: staff see it, the public do not
    staff = BUILT_IN["staff"]
    first = search.search(session, "钱七", role=staff)
    assert search.search(session, "钱七", role=staff) == first and first.total == 1  # the second from memory
    receive_land(session, name="钱七", id_number="110101199003071217")  # unfiled: only case readers see it
    again = search.search(session, "钱七", role=EVERYONE)
    assert again.total == 2 and sum(again.facets["year"].values()) == 2
    assert search.search(session, "钱七", role=staff).total == 1
    set_volume(session, code, access="延期开放")
    assert search.search(session, "钱七", role=staff).total == 0
    assert search.search(session, "钱七", role=staff).facets == {"year": {}, "unit": {}, "class": {}}


def test_a_lower_clearance_never_gets_a_higher_ones_remembered_answer(session, indexed):
    code = filed(session, receive_land(session, name="钱七"))
    set_volume(session, code, security_level="秘密")
    for _ in range(2):  # the higher clearance first, then again in the other order: nothing leaks either way
        high = search.search(session, "钱七", role=BUILT_IN["archivist"])
        low = search.search(session, "钱七", role=BUILT_IN["staff"])
        public = search.search(session, "钱七", role=BUILT_IN["public"])
        assert [h.archival_code for h in high.hits] == [code] and high.facets["class"] == {"DJ·BDC": 1}
        assert low.total == public.total == 0 and low.hits == public.hits == ()
        assert low.facets == public.facets == {"year": {}, "unit": {}, "class": {}}
        assert search.search(session, "钱七", role=BUILT_IN["public"], page=2, limit=1).hits == ()


def test_unfiled_cases_are_remembered_per_unit_scope(home):
    """Two clerks of one role but different units see different unfiled cases of one query."""
    from archive.core.config import open_workspace
    from archive.core.session import Session

    add_account(home, "市监窗口", "clerk", units=("SJ",))
    add_account(home, "自然窗口", "clerk", units=("ZR",))
    with Session(open_workspace(home), superuser=True, today=DEMO_DAY) as su:
        food = make_case(su, applicant=Applicant.person("周九", PERSON_ID, "13800138000")).case.case_no
        land = receive_land(su, name="周九").case.case_no
        search.reindex(su)
    for name, mine in (("市监窗口", food), ("自然窗口", land), ("市监窗口", food)):
        with Session(open_workspace(home), operator=name, today=DEMO_DAY) as clerk:
            assert keys(search.search(clerk, "周九")) == [mine], name


def test_later_pages_beyond_those_remembered_are_ranked_afresh(session, indexed, monkeypatch):
    """Only the first REMEMBERED_HITS of a query are kept; a page further on ranks again."""
    for n in range(3):
        make_case(session, applicant=Applicant.person(f"吴十{n}", PERSON_ID, "13800138000"))
    caught_up(session)
    everything = keys(search.search(session, "食品", role=EVERYONE, limit=50))
    assert len(everything) >= 4
    monkeypatch.setattr(search, "REMEMBERED_HITS", 2)
    paged = []
    for page in range(1, len(everything) + 1):
        paged += keys(search.search(session, "食品", role=EVERYONE, limit=1, page=page))
    assert paged == everything


def test_two_threads_searching_at_once_get_what_one_alone_gets(session, indexed):
    """The server searches in a pool of threads: searches that overlap (a lock around the index's
    part, snippets outside it) give exactly the answers each gives alone."""
    import threading

    from archive.search import engine

    filed(session, receive_land(session, name="钱七"))
    queries = [("不动产", BUILT_IN["staff"]), ("钱七", BUILT_IN["public"]), ("张三", EVERYONE),
               ("食品 OR 不动产", BUILT_IN["archivist"]), ('"食品经营"', EVERYONE)]
    alone = {(q, r.name): search.search(session, q, role=r) for q, r in queries}
    failures, answers = [], []

    def searcher(offset: int):
        try:
            for n in range(40):
                if n % 10 == 0:  # forget now and then: overlapping searches fill the caches too
                    opened = search._open_engine(session, start=False)[0]
                    with opened.lock:
                        opened._results.clear()
                q, r = queries[(n + offset) % len(queries)]
                answers.append(((q, r.name), search.search(session, q, role=r)))
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=searcher, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == [] and len(answers) == 80
    assert all(got == alone[key] for key, got in answers)
    assert engine.RESULTS_KEPT > 0


def test_a_touch_that_changes_nothing_leaves_the_index_and_what_it_remembers(session, indexed):
    """A lend or a return names the volume in the change log without changing its document:
    the index is not written again, so the engine (and the answers it remembers) stays."""
    code = filed(session, receive_land(session, name="钱七"))
    staff = BUILT_IN["staff"]
    assert search.search(session, "钱七", role=staff).total == 1
    before, _ = search._open_engine(session)
    set_volume(session, code, state="on_shelf")  # touched; the document is the same
    assert search.status(session).fresh
    after, _ = search._open_engine(session)
    assert after is before and search.search(session, "钱七", role=staff).total == 1
    set_volume(session, code, title="钱七不动产登记（更正）")  # a real change is written
    assert search._open_engine(session)[0] is not before
    assert search.search(session, "更正", role=staff).total == 1
