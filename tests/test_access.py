"""Roles: built-in and configured, the operator's role, who may see what."""

import json

import pytest

from archive.core.access import BUILT_IN, Role, can_see, get_role, narrowed_role, role_of, roles
from archive.core.config import open_workspace, validate_against
from archive.core.errors import AuthError, ConfigError, InputError, RuleError
from archive.core.session import Session


def session_with(home, section=None, operator=None):
    """A session on the sample workspace with its roles section replaced (None: removed)."""
    path = home / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if section is None:
        data.pop("roles", None)
    else:
        data["roles"] = section
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return Session(open_workspace(home), operator=operator)


@pytest.mark.parametrize("role, access_status, level, expected", [
    ("public", "开放", None, True),
    ("public", "控制", None, False),
    ("public", "未审核", None, False),
    ("public", "开放", "秘密", False),
    ("staff", "控制", None, True),
    ("staff", "延期开放", None, False),
    ("staff", "开放", "秘密", False),
    ("archivist", "延期开放", None, True),
    ("archivist", "未审核", "机密", True),
    ("archivist", "开放", "绝密", False),
    ("principal", "控制", "绝密", True),
    ("principal", "开放", "内部", False),  # an unknown level is not visible
    ("principal", "待定", None, False),  # nor an unknown access status
])
def test_can_see(role, access_status, level, expected):
    assert can_see(BUILT_IN[role], access_status, level) is expected


def test_the_sample_workspace_has_the_sample_roles(session):
    known = roles(session)
    assert set(known) == {"clerk", "unit_head", "archivist", "archive_head", "principal", "staff", "reader", "public",
                          "sysadmin", "secadmin", "auditor"}
    assert known["staff"] == BUILT_IN["staff"]
    assert known["staff"].may_see == frozenset({"开放", "控制"}) and known["staff"].max_security is None
    assert known["archivist"].max_security == "机密"
    assert known == BUILT_IN  # the sample spells out the built-in roles


def test_without_a_roles_section_the_built_in_roles_apply(home):
    with session_with(home, None, operator="王芳") as s:
        assert roles(s) == BUILT_IN
        assert role_of(s).name == "clerk"


def test_the_operator_acts_with_the_role_of_their_account(home):
    with Session(open_workspace(home), operator="陈静") as s:
        assert role_of(s).name == "archivist"
    with Session(open_workspace(home), operator="路人甲") as s:  # a typed name is not identity
        with pytest.raises(AuthError) as err:
            role_of(s)
        assert "路人甲" in str(err.value) and err.value.field == "operator"
    with Session(open_workspace(home)) as s:  # reading without an account reads as the default role
        assert role_of(s).name == "public"


def test_role_of_accepts_an_account_or_a_role_name(session):
    assert role_of(session, "赵立新").name == "principal"
    assert role_of(session, "staff").name == "staff"
    with pytest.raises(InputError):
        role_of(session, "不在名单的人")
    with pytest.raises(InputError) as err:
        role_of(session, "boss")
    assert "角色“boss”不存在" in str(err.value) and "staff（机关工作人员）" in str(err.value)


def test_configured_roles_replace_the_built_in_ones(home):
    section = {"roles": {"reader": {"label": "查阅人", "may_see": ["开放", "控制"], "max_security": "秘密"}},
               "default_role": "reader"}
    with session_with(home, section) as s:
        assert list(roles(s)) == ["reader"]
        assert role_of(s) == Role("reader", "查阅人", frozenset({"开放", "控制"}), "秘密",
                                  BUILT_IN["reader"].permissions)


def test_a_default_role_that_does_not_exist_is_a_config_error(home):
    section = {"roles": {"reader": {"label": "查阅人", "may_see": ["开放"]}}}
    with session_with(home, section) as s:
        with pytest.raises(ConfigError) as err:
            role_of(s)
    assert err.value.field == "roles.default_role"


def test_an_account_whose_role_is_no_longer_configured_is_a_config_error(home):
    section = {"roles": {"public": {"label": "社会公众", "may_see": ["开放"]}}}
    with session_with(home, section, operator="王芳") as s:
        with pytest.raises(ConfigError) as err:
            role_of(s)
    assert "clerk" in str(err.value)


def test_no_role_holds_two_administrators_permissions(home):
    section = {"roles": {"boss": {"label": "大管家", "may_see": [], "permissions": ["user.manage", "audit.read"]}},
               "default_role": "boss"}
    with session_with(home, section) as s:
        with pytest.raises(ConfigError) as err:
            roles(s)
    assert "三员分立" in str(err.value) and err.value.field == "roles.roles.boss.permissions"


def test_an_unknown_permission_is_a_config_error(home):
    section = {"roles": {"x": {"label": "x", "may_see": [], "permissions": ["fly"]}}, "default_role": "x"}
    with session_with(home, section) as s:
        with pytest.raises(ConfigError) as err:
            roles(s)
    assert "fly" in str(err.value)


@pytest.mark.parametrize("section, where", [
    ({"roles": {"Reader": {"label": "x", "may_see": ["开放"]}}}, "roles"),
    ({"roles": {"reader": {"label": "x", "may_see": ["公开"]}}}, "roles.reader.may_see[0]"),
    ({"roles": {"reader": {"label": "x", "may_see": ["开放"], "max_security": "内部"}}}, "roles.reader.max_security"),
    ({"roles": {"reader": {"may_see": ["开放"]}}}, "roles.reader.label"),
    ({"roles": {"reader": {"label": "x", "may_see": ["开放"], "permissions": ["Fly!"]}}}, "roles.reader.permissions[0]"),
    ({"colour": "red"}, "colour"),
])
def test_the_schema_names_the_bad_field(section, where):
    with pytest.raises(ConfigError) as err:
        validate_against("roles", section, "角色配置")
    assert err.value.field == where


def test_the_sample_roles_file_validates():
    from archive.window.catalog import DATA_DIR

    data = json.loads((DATA_DIR / "sample_roles.json").read_text(encoding="utf-8"))
    validate_against("roles", data, "角色配置")
    assert data["default_role"] == "public"


def test_get_role(session):
    assert get_role(session, "principal").max_security == "绝密"
    with pytest.raises(InputError) as err:
        get_role(session, "root")
    assert err.value.field == "role"


def test_a_chosen_role_may_narrow_but_never_widen(home):
    with Session(open_workspace(home), operator="陈静") as s:  # archivist
        assert narrowed_role(s, None).name == "archivist"
        assert narrowed_role(s, "public").name == "public"
        assert narrowed_role(s, "staff").name == "staff"
        with pytest.raises(RuleError) as err:
            narrowed_role(s, "principal")
    assert "超出" in str(err.value) and err.value.exit_code == 2
