"""The web layer in process: every route, a route × role matrix, login security, CSRF, audit.

The app is the real one (``web.app.create_app``) on a real sample workspace, driven over
ASGI by Starlette's test client; only the working date is fixed.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, text, update

from archive.core import accounts, audit
from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.session import Session

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID, TEST_PASSWORD, drop_trigger

SAMPLE = {"王芳": "clerk", "李娜": "clerk", "赵军": "clerk", "孙丽": "clerk", "钱进": "unit_head", "陈静": "archivist", "周敏": "archive_head", "赵立新": "principal",
          "孙伟": "staff", "吴刚": "reader", "郑洁": "public", "冯涛": "sysadmin", "蒋丽": "secadmin", "韩梅": "auditor"}
ONE_PER_ROLE = {name: role for name, role in SAMPLE.items() if name not in ("李娜", "赵军", "孙丽")}  # unit clerks
FOOD_ALL = ["M01", "M02", "M03", "M04", "M05", "M06"]


def _known_passwords(home):
    with Session(open_workspace(home), superuser=True) as su:
        for name in SAMPLE:
            accounts.set_password(su, name, TEST_PASSWORD)
        with su.store.write() as conn:
            conn.execute(update(st.users).values(must_change=False))


@pytest.fixture
def app(home):
    from archive.web.app import create_app

    _known_passwords(home)
    made = create_app(home, today=DEMO_DAY)
    yield made
    made.state.session.close()


def client(app):
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def login(app, name, password=TEST_PASSWORD):
    """A client signed in as ``name`` and its CSRF token."""
    c = client(app)
    r = c.post("/api/v1/login", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def receive_json(item="SJ-XK-003", materials=FOOD_ALL, **extra):
    return dict(dict(item=item, applicant="张三", id_number=PERSON_ID, phone="13800138000", materials=materials,
                     received_on=DEMO_DAY.isoformat()), **extra)


def count(home, table) -> int:
    with Session(open_workspace(home)) as s, s.store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def audit_rows(home, **where):
    with Session(open_workspace(home)) as s, s.store.read() as conn:
        query = select(st.audit_log).order_by(st.audit_log.c.seq)
        for key, value in where.items():
            query = query.where(getattr(st.audit_log.c, key) == value)
        return conn.execute(query).all()


@pytest.fixture
def cases_made(home):
    """A case of SJ (市场监管) and one of ZR (自然资源), received by 王芳, with their notices."""
    from archive.window import cases
    from archive.window.cases import Applicant

    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as s:
        sj = cases.receive(s, item_code="SJ-XK-003", applicant=Applicant.person("张三", PERSON_ID, "13800138000"),
                           materials=FOOD_ALL, received_on=DEMO_DAY)
        zr = cases.receive(s, item_code="ZR-QR-001", applicant=Applicant.person("李梅", PERSON_ID, "13800138000"),
                           materials=["M01", "M02", "M03", "M04", "M05"], received_on=DEMO_DAY)
    return {"sj": sj.case.case_no, "zr": zr.case.case_no, "sj_notice": sj.notices[0].id,
            "zr_notice": zr.notices[0].id}


# -- the matrix: every route × every role ------------------------------------------------------

READERS = {"clerk", "unit_head", "archivist", "archive_head", "principal"}  # case.read
CLERKS = {"clerk", "unit_head"}  # case.receive, appointment.book


def expected(route, role):
    """200/201 when allowed, 403 without the permission, 404 outside the account's units."""
    who, _method, _path, allowed, ok = route
    if role not in allowed:
        return 403
    if who == "zr" and role == "unit_head":  # 钱进 works for SJ only: ZR's cases do not exist for her
        return 404 if _method == "GET" else 403
    return ok


ROUTES = [
    # (which case, method, path, roles allowed, status when allowed)
    (None, "GET", "/cases", READERS, 200),
    (None, "GET", "/receive", CLERKS, 200),
    (None, "GET", "/receive/materials?item=SJ-XK-003", CLERKS, 200),
    (None, "GET", "/appointments/new", CLERKS, 200),
    (None, "GET", "/audit", {"auditor"}, 200),
    ("sj", "GET", "/cases/{sj}", READERS, 200),
    ("zr", "GET", "/cases/{zr}", READERS, 200),
    ("sj", "GET", "/api/v1/cases/{sj}", READERS, 200),
    ("zr", "GET", "/api/v1/cases/{zr}", READERS, 200),
    ("sj", "GET", "/notices/{sj_notice}.docx", READERS, 200),
    ("zr", "GET", "/notices/{zr_notice}.docx", READERS, 200),
    ("zr", "GET", "/api/v1/notices/{zr_notice}/docx", READERS, 200),
    ("sj", "POST", "/api/v1/cases", CLERKS, 201),
    ("zr", "POST", "/api/v1/cases#ZR", CLERKS, 201),
]


def _call(c, csrf, route, made):
    who, method, path, _allowed, _ok = route
    path = path.format(**made)
    if method == "GET":
        return c.get(path)
    item = "ZR-QR-001" if path.endswith("#ZR") else "SJ-XK-003"
    materials = ["M01", "M02", "M03", "M04", "M05"] if item == "ZR-QR-001" else FOOD_ALL
    return c.post(path.split("#")[0], json=receive_json(item=item, materials=materials),
                  headers={"X-CSRF-Token": csrf})


def test_every_route_for_every_role(app, cases_made):
    wrong = []
    for name, role in ONE_PER_ROLE.items():
        c, csrf = login(app, name)
        for route in ROUTES:
            got = _call(c, csrf, route, cases_made).status_code
            if got != expected(route, role):
                wrong.append(f"{name}（{role}）{route[1]} {route[2]}: {got} ≠ {expected(route, role)}")
    assert wrong == [], "\n".join(wrong)


def test_every_route_refuses_the_anonymous(app, cases_made):
    c = client(app)
    for route in ROUTES:
        r = _call(c, "", route, cases_made)
        if route[2].startswith("/api/"):
            assert r.status_code == 401, route
            assert r.json()["error"]["code"] == "unauthenticated"
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), route


def test_what_a_role_may_not_see_answers_exactly_as_if_it_did_not_exist(app, cases_made):
    c, _ = login(app, "钱进")  # 钱进, unit head of SJ
    hidden = c.get(f"/api/v1/cases/{cases_made['zr']}").json()
    missing = c.get("/api/v1/cases/ZR209912310001").json()
    assert hidden["error"]["code"] == missing["error"]["code"] == "not_found"
    assert hidden["error"]["message"].replace(cases_made["zr"], "X") == missing["error"]["message"].replace(
        "ZR209912310001", "X")


# -- login, sessions, lockout --------------------------------------------------------------------

def test_login_rotates_the_session_and_sets_safe_cookies(app):
    c, _ = login(app, "王芳")
    first = c.cookies.get("archive_session")
    r = c.post("/api/v1/login", json={"username": "王芳", "password": TEST_PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    second = c.cookies.get("archive_session")
    assert second != first
    stale = client(app)
    stale.cookies.set("archive_session", first)
    assert stale.get("/api/v1/cases/X").status_code == 401  # the old session ended at the new login


def test_secure_cookies_behind_tls(home, monkeypatch):
    from archive.web.app import create_app

    _known_passwords(home)
    monkeypatch.setenv("ARCHIVE_SECURE_COOKIES", "true")
    made = create_app(home)
    try:
        r = client(made).post("/api/v1/login", json={"username": "王芳", "password": TEST_PASSWORD})
        assert "Secure" in r.headers["set-cookie"]
    finally:
        made.state.session.close()


def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(app):
    c = client(app)
    a = c.post("/api/v1/login", json={"username": "王芳", "password": "not-the-password"})
    b = c.post("/api/v1/login", json={"username": "没有这个人", "password": TEST_PASSWORD})
    assert a.status_code == b.status_code == 401
    assert a.json()["error"]["message"] == b.json()["error"]["message"] == "用户名或密码错误"
    page = c.post("/login", data={"username": "王芳", "password": "not-the-password"})
    assert page.status_code == 401 and "用户名或密码错误" in page.text


def test_five_failures_lock_the_account_for_fifteen_minutes(app, home):
    c = client(app)
    for _ in range(4):
        assert c.post("/api/v1/login", json={"username": "王芳", "password": "wrong-password"}).status_code == 401
    fifth = c.post("/api/v1/login", json={"username": "王芳", "password": "wrong-password"})
    assert fifth.status_code == 429 and fifth.json()["error"]["code"] == "locked"
    right = c.post("/api/v1/login", json={"username": "王芳", "password": TEST_PASSWORD})
    assert right.status_code == 429  # locked: even the right password is refused
    page = c.post("/login", data={"username": "王芳", "password": TEST_PASSWORD})
    assert page.status_code == 429 and "锁定" in page.text
    failed = audit_rows(home, action="login", actor="王芳", outcome="failed")
    denied = audit_rows(home, action="login", actor="王芳", outcome="denied")
    assert len(failed) == 5 and len(denied) == 2 and failed[-1].detail["locked"] is True
    assert all(row.client == "testclient" and row.request_id for row in failed + denied)
    with Session(open_workspace(home)) as s, s.store.write() as conn:  # fifteen minutes later
        conn.execute(update(st.users).where(st.users.c.name == "王芳")
                     .values(locked_until=dt.datetime.now() - dt.timedelta(seconds=1)))
    assert c.post("/api/v1/login", json={"username": "王芳", "password": TEST_PASSWORD}).status_code == 200


@pytest.mark.parametrize("column, age", [("seen_at", dt.timedelta(minutes=31)),
                                         ("created_at", dt.timedelta(hours=12, minutes=1))])
def test_idle_and_absolute_timeouts_end_the_session(app, home, column, age):
    c, _ = login(app, "王芳")
    assert c.get("/cases").status_code == 200
    with Session(open_workspace(home)) as s, s.store.write() as conn:
        conn.execute(update(st.web_sessions).values(**{column: dt.datetime.now() - age}))
    assert c.get("/cases").status_code == 303
    assert c.get("/api/v1/cases/X").json()["error"]["message"] == "请先登录"  # the session row is gone


def test_a_disabled_account_is_signed_out(app, home):
    c, _ = login(app, "王芳")
    with Session(open_workspace(home), superuser=True) as su:
        accounts.disable(su, "王芳")
    assert c.get("/api/v1/cases/X").status_code == 401


def test_the_first_login_forces_a_password_change(app, home):
    with Session(open_workspace(home), superuser=True) as su:
        accounts.set_password(su, "王芳", TEST_PASSWORD)  # an administrator's reset: change at next login
    c = client(app)
    r = c.post("/login", data={"username": "王芳", "password": TEST_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/password"
    assert c.get("/cases").headers["location"] == "/password"
    api = c.get("/api/v1/cases/X")
    assert api.status_code == 403 and "修改密码" in api.json()["error"]["message"]
    page = c.get("/password")
    csrf = csrf_of(page.text)
    weak = c.post("/password", data={"old_password": TEST_PASSWORD, "new_password": "1234567890",
                                     "confirm": "1234567890", "csrf_token": csrf})
    assert weak.status_code == 400 and "常见" in weak.text
    done = c.post("/password", data={"old_password": TEST_PASSWORD, "new_password": "Chuang-kou-Wang-2026",
                                     "confirm": "Chuang-kou-Wang-2026", "csrf_token": csrf})
    assert done.status_code == 303
    assert c.get("/cases").status_code == 200


def test_logout_ends_the_session(app):
    c, csrf = login(app, "王芳")
    page = c.get("/cases")
    assert c.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert c.get("/cases").status_code == 303
    c2, csrf2 = login(app, "王芳")
    assert c2.post("/api/v1/logout", headers={"X-CSRF-Token": csrf2}).status_code == 204
    assert c2.get("/api/v1/cases/X").status_code == 401


# -- CSRF ---------------------------------------------------------------------------------------

def test_state_changing_requests_without_the_csrf_token_are_refused(app, home):
    c, csrf = login(app, "王芳")
    before = count(home, st.cases)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        r = c.post("/api/v1/cases", json=receive_json(), headers=headers)
        assert r.status_code == 403 and r.json()["error"]["field"] == "csrf_token"
    form = {"item": "SJ-XK-003", "kind": "person", "applicant": "张三", "id_number": PERSON_ID,
            "phone": "13800138000", "materials": FOOD_ALL}
    assert c.post("/receive", data=form).status_code == 403
    assert c.post("/receive", data=dict(form, csrf_token="forged")).status_code == 403
    assert c.post("/logout", data={}).status_code == 403
    assert count(home, st.cases) == before
    assert c.post("/receive", data=dict(form, csrf_token=csrf)).status_code == 303
    assert count(home, st.cases) == before + 1


# -- the API ------------------------------------------------------------------------------------

def test_api_receive_answers_as_the_cli_does(app, home):
    import json

    from click.testing import CliRunner

    from cli import main

    c, csrf = login(app, "王芳")
    r = c.post("/api/v1/cases", json=receive_json(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    made = r.json()
    cli = CliRunner().invoke(main, ["case", "receive", "--item", "SJ-XK-003", "--applicant", "张三", "--id-number",
                                    PERSON_ID, "--phone", "13800138000", "--materials", ",".join(FOOD_ALL),
                                    "--received-on", DEMO_DAY.isoformat(), "--json", "--home", str(home)],
                             env={"ARCHIVE_OPERATOR": "王芳"})
    assert cli.exit_code == 0, cli.output
    assert set(json.loads(cli.stdout)) == set(made)
    assert made["status"] == "accepted" and made["notices"][0]["kind"] == "receipt"
    shown = c.get(f"/api/v1/cases/{made['case']}").json()
    listed = CliRunner().invoke(main, ["case", "show", made["case"], "--json", "--home", str(home)],
                                env={"ARCHIVE_OPERATOR": "王芳"})
    assert shown == json.loads(listed.stdout) | {"warnings": shown["warnings"]}
    docx = c.get(f"/api/v1/notices/{made['notices'][0]['id']}/docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert c.get(f"/api/v1/notices/{made['notices'][0]['id']}/pdf").status_code == 404  # PDF output is off


def test_api_errors_have_one_shape_and_name_the_field(app, home):
    c, csrf = login(app, "王芳")
    before = count(home, st.cases)
    bad = c.post("/api/v1/cases", json=receive_json(id_number="110105194912310021"), headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 400
    assert set(bad.json()["error"]) == {"code", "field", "message", "hint"}
    assert bad.json()["error"]["field"] == "身份证号码" and "校验位" in bad.json()["error"]["message"]
    missing = c.post("/api/v1/cases", json={"item": "SJ-XK-003"}, headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "bad_input"
    assert c.get("/api/v1/nothing-here").json()["error"]["code"] == "not_found"
    assert count(home, st.cases) == before


def test_openapi_describes_the_api(app):
    spec = client(app).get("/api/v1/openapi.json").json()
    for path in ("/api/v1/login", "/api/v1/logout", "/api/v1/cases", "/api/v1/cases/{case_no}", "/api/v1/search",
                 "/api/v1/volumes/{archival_code}", "/api/v1/notices/{notice_id}/pdf",
                 "/api/v1/notices/{notice_id}/docx"):
        assert path in spec["paths"], path
    assert "/cases" not in spec["paths"]  # pages are not API


def test_healthz(app):
    r = client(app).get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def _filed_volume(home, access_status="控制"):
    """A concluded, filed case whose volume has ``access_status``."""
    from archive.shelf import volumes
    from archive.window import cases
    from archive.window.cases import Applicant

    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as clerk:
        made = cases.receive(clerk, item_code="SJ-XK-001", applicant=Applicant.person("张三", PERSON_ID, "13800138000"),
                             materials=["M01", "M02", "M03"], received_on=DEMO_DAY)
        cases.conclude(clerk, made.case.case_no, decision="approved", on=DEMO_DAY)
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        volume = volumes.file_case(archivist, made.case.case_no)
        with archivist.store.write() as conn:
            conn.execute(update(st.volumes).where(st.volumes.c.archival_code == volume.archival_code)
                         .values(access=access_status))
    return volume.archival_code


def test_a_controlled_volume_is_hidden_from_the_public_and_its_views_are_audited(app, home):
    code = _filed_volume(home, "控制")
    public, _ = login(app, "郑洁")
    hidden = public.get(f"/api/v1/volumes/{code}")
    assert hidden.status_code == 404 and hidden.json()["error"]["field"] == "archival_code"
    staff, _ = login(app, "孙伟")
    shown = staff.get(f"/api/v1/volumes/{code}")
    assert shown.status_code == 200 and shown.json()["archival_code"] == code
    views = audit_rows(home, action="volume.view")
    assert [(v.actor, v.subject, v.detail["access"]) for v in views] == [("孙伟", code, "控制")]


def test_search_answers_within_the_role(app, home, cases_made):
    from archive.search import index

    code = _filed_volume(home, "开放")
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as s:
        index.reindex(s)
    public, _ = login(app, "郑洁")
    r = public.get("/api/v1/search", params={"q": "张三"})
    assert r.status_code == 200
    assert [h["archival_code"] for h in r.json()["hits"]] == [code]  # the open volume, no case in progress
    head, _ = login(app, "钱进")  # 钱进, unit head of SJ: SJ's cases in progress, not ZR's
    cases_seen = {h["case"] for h in head.get("/api/v1/search", params={"q": "李梅 OR 张三"}).json()["hits"]}
    assert cases_made["sj"] in cases_seen and cases_made["zr"] not in cases_seen
    admin, _ = login(app, "冯涛")
    assert admin.get("/api/v1/search", params={"q": "张三"}).status_code == 403


# -- the clerk's pages ----------------------------------------------------------------------------

def test_my_cases_are_coloured_by_due_state(app, home, cases_made):
    from archive.window import cases

    c, _ = login(app, "王芳")
    page = c.get("/cases")
    assert page.status_code == 200 and cases_made["sj"] in page.text and cases_made["zr"] in page.text
    with Session(open_workspace(home), operator="王芳", today=dt.date(2026, 10, 30)) as later:
        marks = {case.case_no: mark.state for case, mark in cases.desk_cases(later)}
    assert marks[cases_made["sj"]] == "red"
    head, _ = login(app, "钱进")
    mine = head.get("/cases").text
    assert cases_made["sj"] in mine and cases_made["zr"] not in mine


def test_receive_complete_then_incomplete_then_an_error_beside_its_field(app, home):
    c, _ = login(app, "王芳")
    page = c.get("/receive")
    assert 'autofocus' in page.text.split('id="item"')[1].split(">")[0]
    csrf = csrf_of(page.text)
    form = {"item": "SJ-XK-003", "kind": "person", "applicant": "张三", "id_number": PERSON_ID,
            "phone": "13800138000", "materials": FOOD_ALL, "received_on": DEMO_DAY.isoformat(), "csrf_token": csrf}
    done = c.post("/receive", data=form)
    assert done.status_code == 303
    case_page = c.get(done.headers["location"]).text
    assert "已受理" in case_page and "受理通知书" in case_page
    partial = c.post("/receive", data=dict(form, materials=["M01", "M02"], defect_code=["M04"],
                                           defect_reason=["未加盖公章"]))
    assert "补正材料通知书" in c.get(partial.headers["location"]).text
    before = count(home, st.cases)
    bad = c.post("/receive", data=dict(form, id_number="110105194912310021"))
    assert bad.status_code == 400 and count(home, st.cases) == before
    beside = bad.text.split('id="id_number-check"')[1][:200]
    assert "校验位错误" in beside
    org = c.post("/receive", data=dict(form, kind="organisation", applicant="江州市甲乙餐饮有限公司",
                                       credit_code=ORG_CODE, legal_rep="李四"))
    assert org.status_code == 303


def test_the_check_digit_is_checked_as_one_types(app):
    c, _ = login(app, "王芳")
    assert "校验位错误" in c.get("/check/id_number", params={"value": "110105194912310021"}).text
    assert "校验通过" in c.get("/check/id_number", params={"value": PERSON_ID}).text
    assert "校验通过" in c.get("/check/credit_code", params={"value": ORG_CODE}).text
    assert c.get("/check/other", params={"value": "x"}).status_code == 404


def test_case_actions_from_the_case_page(app, home, cases_made):
    c, _ = login(app, "王芳")
    case_no = cases_made["sj"]
    csrf = csrf_of(c.get(f"/cases/{case_no}").text)

    def act(action, **form):
        r = c.post(f"/cases/{case_no}/{action}", data=dict(form, csrf_token=csrf))
        assert r.status_code == 303, r.text
        return c.get(r.headers["location"]).text

    page = act("pause", reason="现场核查", expected_days="3")
    assert "除外时间" in page and "恢复计时" in page
    page = act("resume")
    page = act("extend", days="5", reason="需要现场核查", approver="李娜")
    assert "延期告知书" in page
    wrong = c.post(f"/cases/{case_no}/extend", data={"days": "5", "reason": "再次", "approver": "李娜",
                                                     "csrf_token": csrf})
    assert "error=" in wrong.headers["location"]
    number = re.search(r'name="number" value="([^"]+)"', page).group(1)
    page = act("reprint", number=number)
    assert "补打" in page
    page = act("conclude", decision="approved")
    assert "已办结" in page
    steps = re.findall(r"<li><time>", page)
    assert len(steps) >= 6


def test_reject_and_supplement_from_the_case_page(app, cases_made, home):
    from archive.window import cases
    from archive.window.cases import Applicant

    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as s:
        short = cases.receive(s, item_code="SJ-XK-003", applicant=Applicant.person("赵六", PERSON_ID, "13800138000"),
                              materials=["M01"], received_on=DEMO_DAY).case.case_no
    c, _ = login(app, "王芳")
    csrf = csrf_of(c.get(f"/cases/{short}").text)
    r = c.post(f"/cases/{short}/supplement", data={"materials": ["M02", "M03", "M04", "M05", "M06"],
                                                    "csrf_token": csrf})
    assert "已受理" in c.get(r.headers["location"]).text
    r = c.post(f"/cases/{cases_made['zr']}/reject", data={"ground": "out-of-scope", "reason": "属于省级事权",
                                                          "competent_organ": "省自然资源厅", "csrf_token": csrf})
    assert "不予受理" in c.get(r.headers["location"]).text


def test_appointment_booking_and_card(app, home):
    c, _ = login(app, "王芳")
    page = c.get("/appointments/new")
    csrf = csrf_of(page.text)
    form = {"name": "王五", "id_number": PERSON_ID, "phone": "13800138000", "with_whom": "分管副局长",
            "at": "2026-09-29 09:30", "place": "三楼301", "matter": "咨询食品经营许可", "unit": "SJ",
            "csrf_token": csrf}
    bad = c.post("/appointments", data=dict(form, at="2026-10-01 09:30"))
    assert bad.status_code == 400 and "不是工作日" in bad.text.split('id="at"')[1][:300]
    r = c.post("/appointments", data=form)
    assert r.status_code == 303
    card = c.get(r.headers["location"])
    assert card.status_code == 200 and "预约卡" in card.text and "王五" in card.text


def test_stored_files_are_not_served_statically(app, cases_made):
    c, _ = login(app, "王芳")
    assert c.get("/static/../documents/notices").status_code == 404
    assert c.get("/documents/notices").status_code == 404
    assert c.get("/static/htmx-2.0.11.min.js").status_code == 200


def test_an_unexpected_error_is_a_chinese_page_with_the_request_id(app, home):
    c, _ = login(app, "王芳")
    with Session(open_workspace(home)) as s, s.store.write() as conn:
        conn.execute(text("ALTER TABLE cases RENAME TO cases_gone"))
    r = c.get("/cases")
    assert r.status_code == 500
    rid = r.headers["x-request-id"]
    assert "出了点问题" in r.text and rid in r.text and "Traceback" not in r.text
    api = c.get("/api/v1/cases/X")
    assert api.status_code == 500 and api.json()["error"]["code"] == "internal"


# -- the audit trail --------------------------------------------------------------------------------

def test_web_actions_are_audited_with_client_and_request_id_and_the_chain_holds(app, home):
    c, csrf = login(app, "王芳")
    r = c.post("/api/v1/cases", json=receive_json(), headers={"X-CSRF-Token": csrf})
    case_no = r.json()["case"]
    rows = audit_rows(home, subject=case_no)
    assert [row.action for row in rows] == ["receive", "notice"]
    assert {row.request_id for row in rows} == {r.headers["x-request-id"]}
    assert all(row.actor == "王芳" and row.role == "clerk" and row.client == "testclient" for row in rows)
    auditor, _ = login(app, "韩梅")
    page = auditor.get("/audit")
    assert page.status_code == 200 and "哈希链完好" in page.text and case_no in page.text
    with Session(open_workspace(home), superuser=True) as su:
        assert audit.verify(su).ok


def test_an_edited_audit_row_breaks_the_chain(app, home):
    login(app, "王芳")
    with Session(open_workspace(home)) as s, s.store.write() as conn:
        with pytest.raises(Exception):  # append-only: the store refuses the edit outright
            conn.execute(text("UPDATE audit_log SET actor = '别人' WHERE seq = 3"))
    with Session(open_workspace(home)) as s, s.store.write() as conn:
        drop_trigger(conn, "audit_log_no_update", "audit_log")
        conn.execute(text("UPDATE audit_log SET actor = '别人' WHERE seq = 3"))
    auditor, _ = login(app, "韩梅")
    assert "第 3 条" in auditor.get("/audit").text


def test_api_password_change(app, home):
    with Session(open_workspace(home), superuser=True) as su:
        accounts.set_password(su, "王芳", TEST_PASSWORD)  # must change at next login
    c = client(app)
    answer = c.post("/api/v1/login", json={"username": "王芳", "password": TEST_PASSWORD}).json()
    assert answer["must_change"] is True
    headers = {"X-CSRF-Token": answer["csrf_token"]}
    assert c.post("/api/v1/password", json={"old_password": TEST_PASSWORD, "new_password": "Xin-mi-ma-2026!"}
                  ).status_code == 403  # no CSRF token
    wrong = c.post("/api/v1/password", json={"old_password": "not-it", "new_password": "Xin-mi-ma-2026!"},
                   headers=headers)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "old_password"
    assert c.post("/api/v1/password", json={"old_password": TEST_PASSWORD, "new_password": "Xin-mi-ma-2026!"},
                  headers=headers).status_code == 204
    assert c.get("/api/v1/cases/X").status_code == 404  # now the desk is open


def test_notice_files_without_a_pdf_answer_404_and_a_docx_downloads(app, cases_made):
    c, _ = login(app, "王芳")
    notice = cases_made["sj_notice"]
    assert c.get(f"/notices/{notice}.pdf").status_code == 404
    assert c.get(f"/notices/{notice}/part/1.pdf").status_code == 404
    docx = c.get(f"/notices/{notice}.docx")
    assert docx.status_code == 200 and "attachment" in docx.headers["content-disposition"]
    assert c.get("/notices/999999.docx").status_code == 404
