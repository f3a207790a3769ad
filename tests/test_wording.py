"""archive.window.wording: citations as data, and the small rules of the notices' prose."""

from __future__ import annotations

import pytest

from archive.window import wording


@pytest.mark.parametrize("text, expected", [
    ("申请人不具备法定条件", "申请人不具备法定条件。"),
    ("申请人不具备法定条件。", "申请人不具备法定条件。"),
    ("申请人不具备法定条件，", "申请人不具备法定条件。"),
    ("  场所不符；\u3000", "场所不符。"),
    ("是否属实？", "是否属实？"),
    ("", ""),
])
def test_a_clerks_reason_gets_its_full_stop(text, expected):
    assert wording.sentence(text) == expected


def test_a_phrase_loses_its_closing_punctuation():
    assert wording.phrase("需要组织专家评审。") == "需要组织专家评审"
    assert wording.phrase("不收费；") == "不收费"


@pytest.mark.parametrize("name, expected", [
    ("食品经营许可（新办）", "食品经营许可（新办）申请"),
    ("政府信息公开申请（依申请公开）", "政府信息公开申请（依申请公开）"),
    ("政府信息公开申请", "政府信息公开申请"),
])
def test_no_doubled_application(name, expected):
    assert wording.application(name) == expected
    assert "申请申请" not in wording.application(name) + "，"


def test_you_or_your_organisation():
    assert wording.pronoun("person") == "你"
    assert wording.pronoun("organisation") == "你单位"


def test_citations_are_data_and_joined_by_law():
    item = ("《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》（国家市场监督管理总局令第78号）；"
            "根据《中华人民共和国行政许可法》第二十六条的规定")
    cited = wording.citations(item)
    assert cited == ["《中华人民共和国食品安全法》第三十五条", "《食品经营许可和备案管理办法》",
                     "《中华人民共和国行政许可法》第二十六条"]
    joined = wording.join_citations(cited + [wording.LEGAL_BASES["denial"]])
    assert joined == ("《中华人民共和国食品安全法》第三十五条、《食品经营许可和备案管理办法》和"
                      "《中华人民共和国行政许可法》第二十六条、第三十八条第二款")
    assert wording.join_citations([wording.LEGAL_BASES["denial"]] * 2) == "《中华人民共和国行政许可法》第三十八条第二款"


def test_a_centre_may_cite_its_own_basis(session):
    assert wording.legal_basis(session.ws, "out-of-scope") == "《中华人民共和国行政许可法》第三十二条第一款第（二）项"
    session.ws.data.setdefault("settings", {})["legal_bases"] = {
        "out-of-scope": "根据《中华人民共和国行政许可法》第三十二条第一款第（二）项和《某省行政审批条例》第九条的规定。"}
    assert wording.legal_basis(session.ws, "out-of-scope") == \
        "《中华人民共和国行政许可法》第三十二条第一款第（二）项和《某省行政审批条例》第九条"
