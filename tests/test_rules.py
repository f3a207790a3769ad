"""The lending rules table: schema, most-specific matching per field, the defaults of domain.md §5."""

from __future__ import annotations

import copy
import json

import pytest

from archive.lending import rules
from archive.core.config import validate_against
from archive.core.errors import ConfigError, InputError


@pytest.fixture
def table():
    return rules.parse(rules.default_section())


def decide(table, borrower_type="internal", access="开放", security=None, mode="read"):
    return table.decide(borrower_type, access, security, mode)


def test_sample_lending_section_is_valid_and_is_what_init_installs(home):
    section = rules.default_section()
    validate_against("config", {"centre": {"name": "x"}, "units": [], "lending": section}, "config")
    installed = json.loads((home / "config.json").read_text(encoding="utf-8"))["lending"]
    assert installed == section


# The defaults of the issue and domain.md §5, as a table:
# borrower type, access, security, mode -> allowed, approval, loan days, renewals, renewal approval
DEFAULTS = [
    ("internal", "开放", None, "read", True, "none", 0, 0),  # originals are read in the room
    ("internal", "开放", None, "excerpt", True, "none", 0, 0),
    ("internal", "开放", None, "copy", True, "head-in-charge", 0, 0),  # copies by the archive, with approval
    ("internal", "开放", None, "loan", True, "head-in-charge", 7, 1),  # 外借 7 days with approval, one renewal
    ("agency", "开放", None, "loan", True, "head-in-charge", 7, 1),
    ("internal", "控制", None, "read", True, "head-in-charge", 0, 0),
    ("internal", "开放", "秘密", "read", True, "principal-head", 0, 0),  # classified: principal head
    ("internal", "控制", "机密", "loan", True, "principal-head", 7, 0),
    ("public", "开放", None, "read", True, "none", 0, 0),  # public: read open volumes only
    ("public", "开放", None, "excerpt", False, "none", 0, 0),
    ("public", "开放", None, "loan", False, "head-in-charge", 7, 1),
    ("public", "控制", None, "read", False, "head-in-charge", 0, 0),
]


@pytest.mark.parametrize("borrower_type, access, security, mode, allowed, approval, days, renewals", DEFAULTS)
def test_default_rules(table, borrower_type, access, security, mode, allowed, approval, days, renewals):
    d = table.decide(borrower_type, access, security, mode)
    assert (d.allowed, d.approval, d.loan_days, d.renewals) == (allowed, approval, days, renewals)


def test_each_field_comes_from_the_most_specific_rule_that_sets_it(table):
    d = decide(table, security="机密", mode="loan")
    # R07 (classified × loan) is more specific than R06 (classified) and R04 (loan) …
    assert d.sources["approval"] == "R07" and d.sources["renewals"] == "R07"
    # … but does not set the loan period, which R04 does; R06 sets the renewal approval.
    assert d.sources["loan_days"] == "R04" and d.loan_days == 7
    assert d.sources["renewal_approval"] == "R06" and d.renewal_approval == "principal-head"
    assert d.sources["max_out"] == "R04" and d.max_out == 3
    assert "R07" in d.source("approval") and "主要负责人" in d.source("approval")


def test_ties_go_to_borrower_type_then_security_then_access_then_mode(table):
    # R08 (public) and R01 (read) both name one key: the borrower type wins.
    assert decide(table, "public", "控制", None, "read").sources["allowed"] == "R08"
    # R06 (classified) and R04 (loan) both name one key: the security level wins.
    section = rules.default_section()
    section["rules"] = [r for r in section["rules"] if r["id"] != "R07"]
    d = decide(rules.parse(section), security="秘密", mode="loan")
    assert d.sources["approval"] == "R06"
    # R05 (控制) against R03 (copy): the access status wins over the mode.
    assert decide(table, access="控制", mode="copy").sources["approval"] == "R05"


def test_exact_security_level_is_more_specific_than_classified():
    section = rules.default_section()
    section["rules"].append({"id": "R20", "name": "绝密档案不提供利用", "security": "绝密", "allowed": False})
    table = rules.parse(section)
    assert decide(table, security="绝密").allowed is False
    assert decide(table, security="绝密").source("allowed").startswith("规则 R20（绝密档案不提供利用）")
    assert decide(table, security="机密").allowed is True


def test_fields_no_rule_sets_come_from_the_defaults(table):
    d = decide(table, mode="read")
    assert d.sources["max_out"] == "defaults" and d.max_out == 5
    assert "lending.defaults" in d.source("max_out")
    section = {"rules": [{"id": "A", "name": "只允许阅览", "mode": "read", "allowed": True}]}
    bare = rules.parse(section)
    assert decide(bare, mode="loan").allowed is False  # nothing allows it: refuse
    assert decide(bare, mode="read").allowed is True


def test_chinese_mode_words_in_the_table():
    section = {"rules": [{"id": "A", "name": "外借七天", "mode": "外借", "allowed": True, "loan_days": 7}]}
    assert decide(rules.parse(section), mode="loan").loan_days == 7


def test_duplicate_ids_and_duplicate_keys_are_refused():
    section = rules.default_section()
    section["rules"].append(dict(section["rules"][0]))
    with pytest.raises(ConfigError) as exc:
        rules.parse(section)
    assert exc.value.field == "lending.rules[9].id"
    section["rules"][-1]["id"] = "R99"
    with pytest.raises(ConfigError) as exc:
        rules.parse(section)
    assert exc.value.field == "lending.rules[9]" and "完全相同" in exc.value.message


@pytest.mark.parametrize("change, where", [
    (lambda s: s["rules"][0].update(mode="借走"), "lending.rules[0].mode"),
    (lambda s: s["rules"][0].update(approval="局长"), "lending.rules[0].approval"),
    (lambda s: s["rules"][0].update(loan_days=-1), "lending.rules[0].loan_days"),
    (lambda s: s["rules"].append({"id": "X", "name": "什么都不设定"}), "lending.rules[9]"),
    (lambda s: s.update(issuing_unit="sj"), "lending.issuing_unit"),
    (lambda s: s["defaults"].update(max_out=0), "lending.defaults.max_out"),
])
def test_schema_errors_name_the_field(change, where):
    section = copy.deepcopy(rules.default_section())
    change(section)
    with pytest.raises(ConfigError) as exc:
        validate_against("config", {"centre": {"name": "x"}, "units": [], "lending": section}, "配置文件")
    assert exc.value.field == where


def test_workspace_without_a_lending_section_uses_the_packaged_rules(tmp_path):
    from archive import centre

    with centre.init(tmp_path / "bare") as session:
        assert "lending" not in session.ws.data
        assert rules.decide(session, "internal", "开放", None, "loan").approval == "head-in-charge"


def test_the_table_is_parsed_once_per_configuration(session):
    assert rules.table(session) is rules.table(session)
    first = rules.decide(session, "internal", "开放", None, "loan")
    assert rules.decide(session, "internal", "开放", None, "loan") is first


@pytest.mark.parametrize("word, key", [("read", "read"), ("阅览", "read"), ("摘抄", "excerpt"), ("复制", "copy"),
                                       ("外借", "loan"), (" LOAN ", "loan")])
def test_mode_words(word, key):
    assert rules.mode_key(word) == key


def test_bad_words_name_their_field():
    with pytest.raises(InputError) as exc:
        rules.mode_key("借")
    assert exc.value.field == "mode"
    with pytest.raises(InputError) as exc:
        rules.approval_key("局长")
    assert exc.value.field == "approver_level"
    assert rules.approval_key("主要负责人") == "principal-head"
    assert rules.borrower_type_key("社会公众") == "public"
