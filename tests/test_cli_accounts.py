"""`archive user …` (the installation's superuser on the server's shell) and `archive audit …`."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from cli import main

from .conftest import TEST_PASSWORD, drop_trigger


def run(home, *args, operator=None, stdin=None):
    env = {"ARCHIVE_HOME": str(home)}
    if operator:
        env["ARCHIVE_OPERATOR"] = operator
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def test_user_add_list_passwd_disable(home):
    added = run(home, "user", "add", "李四", "--role", "clerk", "--unit", "SJ", "--password-stdin", "--json",
                stdin=TEST_PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) | {"created_at": None} == {
        "name": "李四", "role": "clerk", "units": ["SJ"], "fonds": [], "active": True, "must_change": True,
        "locked_until": None, "created_at": None}
    listed = json.loads(run(home, "user", "list", "--json").stdout)
    assert [u["name"] for u in listed][-1] == "李四" and "王芳" in [u["name"] for u in listed]
    assert run(home, "user", "passwd", "李四", "--password-stdin", stdin="Xin-de-mi-ma-2026!\n").exit_code == 0
    assert "已停用账户：李四" in run(home, "user", "disable", "李四").output
    refused = run(home, "case", "list", operator="李四")
    assert refused.exit_code == 2 and "已停用" in refused.output


def test_user_add_refuses_a_weak_password_and_an_unknown_role(home):
    weak = run(home, "user", "add", "李四", "--role", "clerk", "--password-stdin", stdin="1234567890\n")
    assert weak.exit_code == 2 and "常见" in weak.output
    unknown = run(home, "user", "add", "李四", "--role", "boss", "--password-stdin", stdin=TEST_PASSWORD + "\n")
    assert unknown.exit_code == 2 and "角色“boss”不存在" in unknown.output


def test_the_operator_must_be_an_account_and_acts_with_its_role(home):
    assert run(home, "case", "list", operator="赵立新").exit_code == 0  # any typed name used to act as anyone
    stranger = run(home, "case", "list", operator="路人甲")
    assert stranger.exit_code == 2 and "不是本系统的账户" in stranger.output
    public = run(home, "case", "list", operator="郑洁")
    assert public.exit_code == 2 and "无权查看办件" in public.output


def test_audit_verify_and_list(home):
    ok = run(home, "audit", "verify", operator="韩梅")
    assert ok.exit_code == 0 and "审计日志完好" in ok.output
    listed = json.loads(run(home, "audit", "list", "--json", "--limit", "3", operator="韩梅").stdout)
    assert len(listed) == 3 and listed[0]["seq"] > listed[1]["seq"]
    assert run(home, "audit", "verify", operator="王芳").exit_code == 2  # only the auditor reads the trail

    from archive.core.config import open_workspace
    from archive.core.session import Session

    with Session(open_workspace(home)) as s, s.store.write() as conn:
        drop_trigger(conn, "audit_log_no_update", "audit_log")
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE seq = 2"))
    broken = run(home, "audit", "verify", operator="韩梅")
    assert broken.exit_code == 1 and "第 2 条" in broken.output
