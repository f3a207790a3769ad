"""Accounts, permissions and the audit trail in the library (core/accounts, core/access, core/audit)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text, update

from archive.core import accounts, audit
from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.errors import AuthError, ForbiddenError, InputError, LockedError, NotFoundError
from archive.core.session import Session

from .conftest import DEMO_DAY, PERSON_ID, TEST_PASSWORD, add_account, drop_trigger


def superuser(home):
    return Session(open_workspace(home), superuser=True, client="测试")


def as_user(home, name):
    return Session(open_workspace(home), operator=name, today=DEMO_DAY)


def test_the_sample_centre_has_an_account_per_role(session):
    with superuser(session.ws.home) as su:
        users = {u.name: u for u in accounts.list_users(su)}
    assert {u.role for u in users.values()} == {"clerk", "unit_head", "archivist", "archive_head", "principal",
                                                "staff", "reader", "public", "sysadmin", "secadmin", "auditor"}
    assert users["王芳"].role == "clerk" and users["陈静"].role == "archivist" and users["赵立新"].role == "principal"
    assert all(u.must_change and u.active for u in users.values())


@pytest.mark.parametrize("password, words", [
    ("short", "至少 10 个"), ("qwertyuiop123", "常见"), ("aaaaaaaaaaaa", "常见"), ("李四李四-2026-ok", "用户名"),
])
def test_passwords_must_be_long_and_uncommon(home, password, words):
    with superuser(home) as su:
        with pytest.raises(InputError) as exc:
            accounts.add(su, "李四", role="clerk", password=password)
    assert words in exc.value.message and exc.value.field == "password"
    assert accounts.find_user(Session(open_workspace(home)), "李四") is None


def test_passwords_are_argon2id_and_rehashed_when_the_parameters_change(home, monkeypatch):
    add_account(home, "李四", "clerk")
    with Session(open_workspace(home)) as s, s.store.read() as conn:
        digest = conn.execute(select(st.users.c.password_hash).where(st.users.c.name == "李四")).scalar()
    assert digest.startswith("$argon2id$") and "m=8192,t=1" in digest
    monkeypatch.setenv("ARCHIVE_PASSWORD_HASH_TIME_COST", "2")
    with Session(open_workspace(home)) as s:
        accounts.authenticate(s, "李四", TEST_PASSWORD)
        with s.store.read() as conn:
            again = conn.execute(select(st.users.c.password_hash).where(st.users.c.name == "李四")).scalar()
    assert "m=8192,t=2" in again and again != digest
    rows = [r for r in audit.entries(superuser(home), action="login") if r.actor == "李四"]
    assert rows[0].detail["rehashed"] is True


def test_a_login_under_a_name_no_account_has_is_audited_without_an_actor(home):
    add_account(home, "李四", "clerk")
    with Session(open_workspace(home), client="10.0.0.9") as s:
        for typed in ("赵立新\n2026-11-30 登录成功", "李四\u202e", "李四"):
            with pytest.raises(AuthError):
                accounts.authenticate(s, typed, "wrong-password")
    rows = list(reversed(audit.entries(superuser(home), action="login")))[-3:]
    # A typed name is not an identity: no entry is filed under 赵立新 or a look-alike of 李四.
    assert [(r.actor, r.subject, r.outcome) for r in rows] == [
        (accounts.UNKNOWN_ACTOR, "赵立新\\u000a2026-11-30 登录成功", "failed"),
        (accounts.UNKNOWN_ACTOR, "李四\\u202e", "failed"),
        ("李四", "李四", "failed"),
    ]
    assert [r.detail["reason"] for r in rows] == ["unknown", "unknown", "password"]
    assert audit.verify(superuser(home)).ok


def test_lockout_after_five_failures_even_for_the_right_password(home):
    add_account(home, "李四", "clerk")
    with Session(open_workspace(home), client="10.0.0.7") as s:
        for _ in range(4):
            with pytest.raises(AuthError) as exc:
                accounts.authenticate(s, "李四", "wrong-password")
            assert exc.value.message == "用户名或密码错误"
        with pytest.raises(LockedError):
            accounts.authenticate(s, "李四", "wrong-password")
        with pytest.raises(LockedError):
            accounts.authenticate(s, "李四", TEST_PASSWORD)
        with s.store.write() as conn:
            conn.execute(update(st.users).values(locked_until=dt.datetime.now() - dt.timedelta(seconds=1)))
        assert accounts.authenticate(s, "李四", TEST_PASSWORD).name == "李四"
    logins = [r for r in audit.entries(superuser(home), action="login") if r.actor == "李四"]
    assert [r.outcome for r in reversed(logins)] == ["failed"] * 5 + ["denied", "ok"]
    assert {r.client for r in logins} == {"10.0.0.7"}


def test_the_operator_must_be_an_active_account(home):
    from archive.window import cases
    from archive.window.cases import Applicant

    who = Applicant.person("张三", PERSON_ID, "13800138000")
    with as_user(home, "路人甲") as s, pytest.raises(AuthError) as exc:
        cases.receive(s, item_code="SJ-XK-001", applicant=who, materials=["M01", "M02", "M03"])
    assert exc.value.field == "operator" and "路人甲" in exc.value.message
    with superuser(home) as su:
        accounts.disable(su, "王芳")
    with as_user(home, "王芳") as s, pytest.raises(AuthError) as exc:
        cases.receive(s, item_code="SJ-XK-001", applicant=who, materials=["M01", "M02", "M03"])
    assert "已停用" in exc.value.message


def test_actions_need_the_permission_and_the_unit(home):
    from archive.window import cases
    from archive.window.cases import Applicant

    who = Applicant.person("张三", PERSON_ID, "13800138000")
    with as_user(home, "陈静") as archivist, pytest.raises(ForbiddenError) as exc:
        cases.receive(archivist, item_code="SJ-XK-001", applicant=who, materials=["M01", "M02", "M03"])
    assert "无权收件受理" in exc.value.message
    with as_user(home, "钱进") as head:  # 钱进, unit head of SJ
        made = cases.receive(head, item_code="SJ-XK-001", applicant=who, materials=["M01", "M02", "M03"])
        with pytest.raises(ForbiddenError):
            cases.receive(head, item_code="ZR-QR-001", applicant=who, materials=["M01"])
    with as_user(home, "王芳") as clerk:
        other = cases.receive(clerk, item_code="ZR-QR-001", applicant=who,
                              materials=["M01", "M02", "M03", "M04", "M05"]).case.case_no
    with as_user(home, "钱进") as head:
        assert [c.case_no for c in cases.list_cases(head)] == [made.case.case_no]
        with pytest.raises(NotFoundError) as exc:
            cases.show(head, other)
        assert exc.value.message == f"找不到办件编号为“{other}”的办件"
        with pytest.raises(NotFoundError):
            cases.conclude(head, other, decision="approved")
    with as_user(home, "郑洁") as public, pytest.raises(ForbiddenError):
        cases.list_cases(public)


def test_the_administrators_are_kept_apart(home):
    with superuser(home) as su:
        accounts.add(su, "李四", role="public", password=TEST_PASSWORD)
    with as_user(home, "冯涛") as sysadmin:  # accounts, not roles
        accounts.add(sysadmin, "王五", role="public", password=TEST_PASSWORD)
        with pytest.raises(ForbiddenError):
            accounts.add(sysadmin, "赵六", role="clerk", password=TEST_PASSWORD)
        with pytest.raises(ForbiddenError):
            accounts.grant(sysadmin, "李四", role="clerk")
        with pytest.raises(ForbiddenError):
            audit.entries(sysadmin)
    with as_user(home, "蒋丽") as secadmin:  # roles, not accounts, never an administrator's role
        assert accounts.grant(secadmin, "李四", role="clerk", units=["SJ"]).role == "clerk"
        with pytest.raises(ForbiddenError):
            accounts.grant(secadmin, "王五", role="auditor")
        with pytest.raises(ForbiddenError):
            accounts.disable(secadmin, "李四")
    with as_user(home, "韩梅") as auditor:  # reads the trail only
        assert audit.verify(auditor).ok
        with pytest.raises(ForbiddenError):
            accounts.list_users(auditor)
    grants = [e for e in audit.entries(superuser(home), action="user.grant")]
    assert [(e.actor, e.subject, e.detail["role"]) for e in grants] == [("蒋丽", "李四", "clerk")]


def test_the_superuser_is_recorded_as_such(home):
    with superuser(home) as su:
        accounts.add(su, "李四", role="clerk", password=TEST_PASSWORD)
        last = audit.entries(su, limit=1)[0]
    assert (last.actor, last.role, last.action, last.subject, last.client) == (
        "超级用户（服务器命令行）", "superuser", "user.add", "李四", "测试")


def test_the_audit_chain_finds_an_edited_a_deleted_and_a_truncated_entry(home):
    with superuser(home) as su:
        assert audit.verify(su).ok
        total = audit.verify(su).checked
        with su.store.write() as conn:
            with pytest.raises(Exception):  # append-only
                conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        with su.store.write() as conn:
            drop_trigger(conn, "audit_log_no_update", "audit_log")
            drop_trigger(conn, "audit_log_no_delete", "audit_log")
            conn.execute(text("UPDATE audit_log SET subject = '篡改' WHERE seq = 4"))
        broken = audit.verify(su)
        assert (broken.ok, broken.broken_at) == (False, 4) and "被修改" in broken.reason
    home2 = home
    with superuser(home2) as su:
        with su.store.write() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
        tail = audit.verify(su)
    assert tail.broken_at == 4 and "末尾被删除" in tail.reason and total >= 4


def test_a_deleted_middle_entry_is_found(home):
    with superuser(home) as su:
        with su.store.write() as conn:
            drop_trigger(conn, "audit_log_no_delete", "audit_log")
            conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
        broken = audit.verify(su)
    assert broken.broken_at == 5 and "缺失" in broken.reason


def test_every_write_is_in_the_audit_trail(session):
    from archive.window import cases
    from archive.window.cases import Applicant

    made = cases.receive(session, item_code="SJ-XK-001", applicant=Applicant.person("张三", PERSON_ID, "13800138000"),
                         materials=["M01", "M02", "M03"], received_on=DEMO_DAY)
    cases.conclude(session, made.case.case_no, decision="approved", on=DEMO_DAY)
    with superuser(session.ws.home) as su:
        rows = [e for e in audit.entries(su) if e.subject == made.case.case_no]
    assert [e.action for e in reversed(rows)] == ["receive", "notice", "conclude"]
    assert {e.actor for e in rows} == {"王芳"} and all(e.at.startswith(str(dt.date.today().year)) for e in rows)


def test_concurrent_writers_keep_the_audit_chain_whole(home):
    """Four writers, each unit of work with two entries written together as it ends: the
    numbers have no gap and every entry links to the one before (on PostgreSQL a writer
    waiting for the chain's counter must read the hash its predecessor just committed)."""
    import threading

    def write(n):
        with Session(open_workspace(home), superuser=True) as su:
            for i in range(6):
                with su.work() as work:
                    su.log(work, "test.first", f"写入{n}-{i}")
                    su.log(work, "test.second", f"写入{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with superuser(home) as su:
        checked = audit.verify(su)
        ours = [e for e in audit.entries(su, limit=1000) if e.action.startswith("test.")]
    assert checked.ok, checked.reason
    assert len(ours) == 48
    for first, second in zip(sorted(ours, key=lambda e: e.seq)[::2], sorted(ours, key=lambda e: e.seq)[1::2]):
        assert (first.action, second.action, second.seq, second.subject) == \
            ("test.first", "test.second", first.seq + 1, first.subject)
