"""The web layer in process: every route, a route × role matrix, login security, CSRF, audit.

The app is the real one (``web.app.create_app``) on a real sample workspace, driven over
ASGI by Starlette's test client; only the working date is fixed.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

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


def wait_done(c, job_id: str, *, limit: float = 120) -> dict:
    """Poll the API until the background job has finished (a deadline for a hung job, not a speed check)."""
    import time

    deadline = time.monotonic() + limit
    while True:
        r = c.get(f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


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
SUPERVISORS = {"clerk", "unit_head", "principal"}  # supervision.own or supervision.read
HEADS = {"unit_head", "principal"}  # supervision.read: whole units, the report and its downloads


def expected(route, role):
    """200/201 when allowed, 403 without the permission, 404 outside the account's units."""
    who, _method, _path, allowed, ok = route
    if role not in allowed:
        return 403
    if who == "zr" and role == "unit_head" and "/exten" in _path:  # a case action: no such case for her
        return 404
    if who == "zr" and role == "unit_head":  # 钱进 works for SJ only: ZR's cases do not exist for her
        return 404 if _method == "GET" or _path.startswith("/supervision/") else 403
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
    (None, "GET", "/supervision", SUPERVISORS, 200),
    (None, "GET", "/supervision?month=2026-09", SUPERVISORS, 200),
    ("sj", "GET", "/supervision/cases?figure=received&unit=SJ&month=2026-09", SUPERVISORS, 200),
    ("zr", "GET", "/supervision/cases?figure=open&unit=ZR", SUPERVISORS, 200),
    (None, "GET", "/supervision/screen", SUPERVISORS, 200),
    (None, "GET", "/supervision/screen/panel", SUPERVISORS, 200),
    (None, "GET", "/supervision/ratings", SUPERVISORS, 200),
    ("sj", "GET", "/supervision/ratings/{sj}", SUPERVISORS, 200),
    ("zr", "GET", "/supervision/ratings/{zr}", SUPERVISORS, 200),
    # Reaches the library, which refuses to rate a case not yet concluded (409).
    ("sj", "POST", "/supervision/ratings/{sj}", CLERKS, 409),
    ("zr", "POST", "/supervision/ratings/{zr}", CLERKS, 409),
    # The follow-up and the rectification of a bad rating: these cases have none to put right (409).
    ("sj", "POST", "/supervision/ratings/{sj}/follow-up", SUPERVISORS, 409),
    ("zr", "POST", "/supervision/ratings/{zr}/follow-up", SUPERVISORS, 409),
    ("sj", "POST", "/supervision/ratings/{sj}/rectify", SUPERVISORS, 409),
    (None, "GET", "/supervision/report.xlsx?month=2026-09", HEADS, 200),
    (None, "GET", "/supervision/report.pdf?month=2026-09", HEADS, 200),
    (None, "GET", "/api/v1/reports/window?month=2026-09", HEADS, 200),
    (None, "GET", "/extensions", HEADS, 200),  # case.approve_extension: the heads' queue
    # A request without its days reaches the library, which refuses it beside the form (303 back to the case).
    ("sj", "POST", "/cases/{sj}/extend", CLERKS, 303),
    ("zr", "POST", "/cases/{zr}/extend", CLERKS, 303),
    # No request waits on these cases: whoever may decide reaches the library, which answers 409.
    ("sj", "POST", "/extensions/{sj}", HEADS, 409),
    ("zr", "POST", "/extensions/{zr}", HEADS, 409),
]


def _call(c, csrf, route, made):
    who, method, path, _allowed, _ok = route
    path = path.format(**made)
    if method == "GET":
        return c.get(path)
    if path.startswith("/supervision/"):
        if path.endswith(("/follow-up", "/rectify")):
            return c.post(path, data={"text": "已电话回访，申请人认可", "csrf_token": csrf})
        return c.post(path, data={"level": "5", "overall": "5", "efficiency": "5", "quality": "5", "attitude": "5",
                                  "source": "device", "csrf_token": csrf})
    if path.startswith("/extensions/"):
        return c.post(path, data={"decision": "approve", "csrf_token": csrf})
    if path.endswith("/extend"):
        return c.post(path, data={"days": "", "reason": "需现场核查", "csrf_token": csrf})
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


def test_the_matrix_holds_every_supervision_route():
    """A supervision route added without a line in ROUTES would be seen by no one's test."""
    import re

    from archive.web import supervision

    listed = {(method, re.sub(r"\{\w+\}", "{}", path.split("?")[0].split("#")[0])) for _, method, path, _, _ in ROUTES}
    for route in supervision.router.routes:
        for method in route.methods - {"HEAD"}:
            shape = re.sub(r"\{\w+\}", "{}", route.path)
            concrete = {(m, p) for m, p in listed if m == method and re.fullmatch(
                re.escape(shape).replace(r"\{\}", "[^/]+"), p.replace("{}", "X"))}
            assert concrete, f"{method} {route.path} is not in the route × role matrix"


def test_the_matrix_holds_every_extension_route():
    """The extension request and the heads' queue are in the route × role matrix."""
    from archive.web import window

    listed = {(method, re.sub(r"\{\w+\}", "{}", path)) for _, method, path, _, _ in ROUTES}
    for route in window.router.routes:
        if "/exten" in route.path:
            for method in route.methods - {"HEAD"}:
                assert (method, re.sub(r"\{\w+\}", "{}", route.path)) in listed, route.path


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


def test_a_login_posted_from_another_site_is_refused(app, home):
    c = client(app)
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://evil.example/page.html"}):
        page = c.post("/login", data={"username": "王芳", "password": TEST_PASSWORD}, headers=headers)
        assert page.status_code == 403 and "其他网站" in page.text and "archive_session" not in page.headers.get(
            "set-cookie", ""), headers
        api = c.post("/api/v1/login", json={"username": "王芳", "password": TEST_PASSWORD}, headers=headers)
        assert api.status_code == 403 and api.json()["error"]["field"] == "origin"
    assert audit_rows(home, action="login", actor="王芳") == []  # not even an attempt was made
    same = c.post("/login", data={"username": "王芳", "password": TEST_PASSWORD},
                  headers={"Origin": "http://testserver", "Referer": "http://testserver/login"})
    assert same.status_code == 303


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
    assert 'name="approver"' not in page  # nobody types the head's name
    page = act("extend", days="5", reason="需要现场核查")
    assert 'id="extension-pending"' in page and "延期待批" in page and "<td>延期告知书" not in page  # no notice yet
    head, head_csrf = login(app, "钱进")  # SJ's unit head approves in his own session
    assert case_no in head.get("/extensions").text
    r = head.post(f"/extensions/{case_no}", data={"decision": "approve", "csrf_token": head_csrf})
    assert r.status_code == 303 and "/extensions?done=" in r.headers["location"]
    page = c.get(f"/cases/{case_no}").text
    assert "<td>延期告知书" in page and "批准人 钱进" in page and 'id="extend-form"' not in page
    wrong = c.post(f"/cases/{case_no}/extend", data={"days": "5", "reason": "再次", "csrf_token": csrf})
    assert "error=" in wrong.headers["location"]
    number = re.search(r'name="number" value="([^"]+)"', page).group(1)
    page = act("reprint", number=number)
    assert "补打" in page
    page = act("conclude", decision="approved")
    assert "已办结" in page
    steps = re.findall(r"<li><time>", page)
    assert len(steps) >= 6


def test_a_head_decides_extensions_from_the_queue_each_in_their_own_session(app, home, cases_made):
    case_no = cases_made["sj"]
    clerk, _ = login(app, "王芳")
    csrf = csrf_of(clerk.get(f"/cases/{case_no}").text)
    r = clerk.post(f"/cases/{case_no}/extend", data={"days": "3", "reason": "需补充核查", "csrf_token": csrf})
    assert r.status_code == 303 and "error=" not in r.headers["location"]
    assert clerk.get("/extensions").status_code == 403  # a clerk has no queue

    head, head_csrf = login(app, "钱进")
    page = head.get("/extensions").text
    assert 'href="/extensions"' in page  # in the head's navigation
    assert f'id="extension-{case_no}"' in page and "需补充核查" in page and "王芳" in page
    assert re.search(r'value="approve" class="small primary" autofocus', page)  # Enter approves the first
    blank = head.post(f"/extensions/{case_no}", data={"decision": "refuse", "reason": "", "csrf_token": head_csrf})
    assert blank.status_code == 400 and f'data-for="{case_no}"' in blank.text and "不批准的理由" in blank.text
    refused = head.post(f"/extensions/{case_no}", data={"decision": "refuse", "reason": "可按期办结",
                                                         "csrf_token": head_csrf})
    assert refused.status_code == 303
    page = clerk.get(f"/cases/{case_no}").text
    assert 'id="extension-refused"' in page and "可按期办结" in page and 'id="extend-form"' in page
    assert [row.actor for row in audit_rows(home, subject=case_no, action="extension_refuse")] == ["钱进"]
    no_csrf = head.post(f"/extensions/{case_no}", data={"decision": "approve"})
    assert no_csrf.status_code == 403


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


# -- issue 15: the archivist's, lending and reader's desks ---------------------------------------

ARCHIVE = {"archivist", "archive_head"}  # volume.file, fixity.verify, lending.lend
SEARCHERS = {"clerk", "unit_head", "archivist", "archive_head", "principal", "staff", "reader", "public"}
DISPOSAL = {"archivist", "archive_head", "principal", "staff"}  # who compiles, approves or witnesses lists
REQUESTERS = {"principal", "staff", "reader", "public"}  # lending.request
EVERYONE = set(ROLE for ROLE in ("clerk", "unit_head", "archivist", "archive_head", "principal", "staff", "reader",
                                 "public", "sysadmin", "secadmin", "auditor"))
CLEARED_FOR_CONTROL = {"clerk", "unit_head", "archivist", "archive_head", "principal", "staff"}
ADMINS = {"sysadmin", "secadmin", "auditor"}
OUTSIDE_CLEARANCE = {"reader": 404, "public": 404}  # may read volumes, not this one: as if missing; others 403


@pytest.fixture
def desks_made(home):
    """A filed open volume, a filed 控制 volume, a borrower and one open loan, made by 陈静."""
    from archive.lending import borrowers, loans
    from archive.shelf import fixity

    from .test_loans import id_number

    open_code = _filed_volume(home, "开放")
    controlled = _filed_volume(home, "控制")
    lent = _filed_volume(home, "开放")
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        b = borrowers.add(archivist, name="李明", unit="江州市市场监督管理局", type="internal", id_number=id_number(1),
                          phone="13800138000")
        loan = loans.lend(archivist, lent, borrower=b.code, purpose="工作查考", mode="read")
        from archive.search import index

        index.reindex(archivist)
        run = fixity.verify(archivist).run
        import archive.background  # noqa: F401  (the kinds of job)
        from archive.core import jobs

        job = jobs.run(archivist, jobs.submit(archivist, "verify", {}).id).id  # a finished job of 陈静's
    return {"run": run, "open": open_code, "controlled": controlled, "borrower": b.code, "loan": loan.loan,
            "job": job}


DESK_ROUTES = [
    # (method, path, roles allowed, status when allowed, request body: form dict / json dict / None
    #  [, status for the other roles: 403 unless given])
    ("GET", "/filing", ARCHIVE, 200, None),
    ("GET", "/verify", ARCHIVE, 200, None),
    ("GET", "/lending", ARCHIVE, 200, None),
    ("GET", "/lending?borrower={borrower}", ARCHIVE, 200, None),
    ("GET", "/loans/overdue", ARCHIVE, 200, None),
    ("GET", "/volumes/{open}/pdf", ARCHIVE, 404, None),  # filed without PDF: the check answers 404
    ("GET", "/search?q=张三", SEARCHERS, 200, None),
    ("GET", "/disposal", DISPOSAL, 200, None),
    ("GET", "/catalogues", {"archivist", "archive_head", "principal"}, 200, None),  # catalogue.read
    ("GET", "/catalogues?cls=XK·ZC", {"archivist", "archive_head", "principal"}, 200, None),
    ("GET", "/approvals", {"archive_head", "principal"}, 200, None),
    ("GET", "/requests", REQUESTERS, 200, None),
    ("GET", "/disposal/99", DISPOSAL, 404, None),
    ("GET", "/api/v1/borrowers/{borrower}", ARCHIVE, 200, None),
    ("GET", "/volumes", EVERYONE - ADMINS, 200, None),  # volume.read, then clearance
    ("GET", "/volumes/{open}", EVERYONE - ADMINS, 200, None),  # volume.read: the administrators get 403
    ("GET", "/volumes/{controlled}", CLEARED_FOR_CONTROL, 200, None, OUTSIDE_CLEARANCE),  # as if missing
    ("GET", "/verify/{run}", ARCHIVE, 200, None),
    ("GET", "/copies/FZ209900001.pdf", EVERYONE, 404, None),  # no such copy: the same answer for all
    ("POST", "/filing", ARCHIVE, 400, {"form": {}}),  # nothing ticked
    ("POST", "/volumes/{open}/note", ARCHIVE, 400, {"form": {"text": " "}}),
    ("POST", "/volumes/{open}/access", ARCHIVE, 400, {"form": {"access": "开放", "reason": ""}}),  # access.propose
    ("POST", "/verify", ARCHIVE, 303, {"form": {}}),
    ("POST", "/catalogues/export", {"archivist", "archive_head", "principal"}, 400, {"form": {"fmt": "pdf"}}),
    ("POST", "/loans/JY209900001/return", ARCHIVE, 404, {"form": {"pages": "1"}}),
    ("POST", "/loans/JY209900001/renew", ARCHIVE, 404, {"form": {}}),
    ("POST", "/loans/JY209900001/copy", ARCHIVE, 404, {"form": {}}),
    ("POST", "/approvals/SQ209900001", {"archive_head", "principal"}, 404, {"form": {"decision": "approve"}}),
    ("POST", "/requests", REQUESTERS, 409, {"form": {"code": "{open}"}}),  # no borrower's card linked yet
    ("POST", "/disposal", {"archivist", "archive_head"}, 400, {"form": {"as_of": "明天"}}),
    ("POST", "/disposal/99/approve", {"archive_head", "principal"}, 404, {"form": {}}),
    ("POST", "/disposal/99/witness", DISPOSAL, 404, {"form": {}}),
    ("POST", "/api/v1/volumes", ARCHIVE, 404, {"json": {"case": "SJ209912310001"}}),
    ("POST", "/api/v1/loans/JY209900001/return", ARCHIVE, 404, {"json": {"pages": 1}}),
    ("POST", "/api/v1/loans/JY209900001/renew", ARCHIVE, 404, {"json": {}}),
    ("POST", "/api/v1/verify", ARCHIVE, 202, {}),  # long work: 202 and a job (issue 15), was 200
    ("POST", "/lending/{borrower}/scan", ARCHIVE, 200, {"form": {"code": "Z023-NOPE-0001"}}),
    ("POST", "/lending/{borrower}/request", ARCHIVE, 404, {"form": {"code": "Z023-NOPE-0001"}}),
    ("POST", "/api/v1/loans", ARCHIVE, 404, {"json": {"archival_code": "Z023-NOPE-0001", "borrower": "{borrower}",
                                                      "purpose": "工作查考", "mode": "read"}}),
    # background jobs: the job is 陈静's (an archivist) verify; the archive head follows it,
    # for everyone else it does not exist
    ("GET", "/jobs/{job}", ARCHIVE, 200, None, 404),
    ("GET", "/jobs/{job}/progress", ARCHIVE, 200, None, 404),
    ("GET", "/jobs/{job}/file", ARCHIVE, 404, None, 404),  # a verify writes no file
    ("GET", "/api/v1/jobs/{job}", ARCHIVE, 200, None, 404),
    ("GET", "/api/v1/jobs/{job}/file", ARCHIVE, 404, None, 404),
    ("POST", "/api/v1/volumes", ARCHIVE, 202, {"json": {"cases": ["SJ209912310001"]}}),  # several: a job
    ("POST", "/api/v1/catalogues/export", {"archivist", "archive_head", "principal"}, 202,
     {"json": {"format": "xlsx", "year": 2001}}),  # catalogue.read; the job then fails: nothing that year
    ("POST", "/access-changes/99", {"archive_head"}, 404, {"form": {"decision": "approve"}}),  # access.change
    ("GET", "/api/v1/volumes/{open}", EVERYONE - ADMINS, 200, None),  # volume.read: administrators get 403
    ("GET", "/api/v1/volumes/{controlled}", CLEARED_FOR_CONTROL, 200, None, OUTSIDE_CLEARANCE),
    ("GET", "/loans/{loan}/return", ARCHIVE, 200, None),  # the count against the item list
    ("GET", "/loans/JY209900001/return", ARCHIVE, 404, None),
    ("GET", "/inspections", ARCHIVE, 200, None),
    ("GET", "/loans/{loan}/slip.docx", ARCHIVE, 200, None),
    ("GET", "/loans/JY209900001/slip.pdf", ARCHIVE, 404, None),
    ("POST", "/inspections/{open}", ARCHIVE, 400, {"form": {"result": " "}}),
    ("POST", "/loans/overdue/remind", ARCHIVE, 200, {"form": {}}),  # nothing overdue yet: none issued
    ("GET", "/registers/lending", ARCHIVE, 200, None),
    ("POST", "/registers/lending", ARCHIVE, 400, {"form": {"date_from": "昨天"}}),
    ("POST", "/api/v1/volumes/{open}/access", ARCHIVE, 400, {"json": {"access": "开放"}}),  # no reason
    ("POST", "/api/v1/access-changes/99/approve", {"archive_head"}, 404, {"json": {}}),
    # the search index's rebuild (index.maintain): the system administrator's page, a job
    ("GET", "/index", {"sysadmin"}, 200, None),
    ("POST", "/index/rebuild", {"sysadmin"}, 303, {"form": {}}),
    ("POST", "/api/v1/reindex", {"sysadmin"}, 202, {}),  # the same job while the first is under way
]


def _desk_call(c, csrf, route, made):
    method, path, _allowed, _ok, body = route[:5]
    path = path.format(**made)
    if method == "GET":
        return c.get(path)
    if body and "form" in body:
        form = {k: v.format(**made) for k, v in body["form"].items()}
        return c.post(path, data=dict(form, csrf_token=csrf), headers={"HX-Request": "true"})
    payload = {k: v.format(**made) if isinstance(v, str) else v for k, v in (body or {}).get("json", {}).items()}
    return c.post(path, json=payload, headers={"X-CSRF-Token": csrf})


def test_every_desk_route_for_every_role(app, desks_made):
    wrong = []
    for name, role in ONE_PER_ROLE.items():
        c, csrf = login(app, name)
        for route in DESK_ROUTES:
            other = route[5] if len(route) > 5 else 403
            want = route[3] if role in route[2] else (other.get(role, 403) if isinstance(other, dict) else other)
            got = _desk_call(c, csrf, route, desks_made).status_code
            if got != want:
                wrong.append(f"{name}（{role}）{route[0]} {route[1]}: {got} ≠ {want}")
    assert wrong == [], "\n".join(wrong)


def test_every_desk_route_refuses_the_anonymous(app, desks_made):
    c = client(app)
    for route in DESK_ROUTES:
        r = _desk_call(c, "", route, desks_made)
        if route[1].startswith("/api/"):
            assert r.status_code == 401, route
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), route


def test_desk_forms_without_the_csrf_token_are_refused(app, desks_made):
    c, _ = login(app, "陈静")
    for path in (f"/lending/{desks_made['borrower']}/scan", "/verify", "/filing",
                 f"/loans/{desks_made['loan']}/return", f"/volumes/{desks_made['open']}/note"):
        assert c.post(path, data={"code": "X", "pages": "1", "text": "x"}).status_code == 403, path


def test_the_volume_page_within_clearance(app, home, desks_made):
    archivist, _ = login(app, "陈静")
    page = archivist.get(f"/volumes/{desks_made['controlled']}")
    assert page.status_code == 200 and desks_made["controlled"] in page.text and "卷内备考表" in page.text
    assert 'id="fixity"' in page.text and 'id="note-form"' in page.text
    public, _ = login(app, "郑洁")
    assert public.get(f"/volumes/{desks_made['controlled']}").status_code == 404
    shown = public.get(f"/volumes/{desks_made['open']}")
    assert shown.status_code == 200 and 'id="note-form"' not in shown.text and 'id="fixity"' not in shown.text


def test_filing_queue_files_the_chosen_cases_and_reports_refusals(app, home):
    from archive.window import cases
    from archive.window.cases import Applicant

    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as clerk:
        made = cases.receive(clerk, item_code="SJ-XK-001", applicant=Applicant.person("张三", PERSON_ID, "13800138000"),
                             materials=["M01", "M02", "M03"], received_on=DEMO_DAY)
        cases.conclude(clerk, made.case.case_no, decision="approved", on=DEMO_DAY)
    c, _ = login(app, "陈静")
    page = c.get("/filing")
    assert page.status_code == 200 and made.case.case_no in page.text
    none = c.post("/filing", data={"csrf_token": csrf_of(page.text)})
    assert none.status_code == 400 and "请至少勾选一件" in none.text
    started = c.post("/filing", data={"csrf_token": csrf_of(page.text), "case": [made.case.case_no, "SJ209912310001"]})
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")  # filing is a job
    wait_done(c, started.headers["location"].rsplit("/", 1)[1])
    done = c.get(started.headers["location"])
    assert done.status_code == 200 and "已归档 1 卷" in done.text and "未能归档 1 件" in done.text
    assert "SJ209912310001" in done.text
    assert count(home, st.volumes) == 1


def test_a_note_is_added_and_an_empty_one_is_refused_beside_its_field(app, desks_made):
    c, _ = login(app, "陈静")
    code = desks_made["open"]
    page = c.get(f"/volumes/{code}")
    empty = c.post(f"/volumes/{code}/note", data={"csrf_token": csrf_of(page.text), "text": " "})
    assert empty.status_code == 400 and 'data-for="text"' in empty.text
    added = c.post(f"/volumes/{code}/note", data={"csrf_token": csrf_of(page.text), "text": "补充扫描件一份"},
                   follow_redirects=True)
    assert added.status_code == 200 and "补充扫描件一份（陈静）" in added.text


def test_verify_runs_and_its_history_lists_it(app, desks_made):
    c, _ = login(app, "陈静")
    page = c.get("/verify")
    r = c.post("/verify", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")  # verify is a job
    wait_done(c, r.headers["location"].rsplit("/", 1)[1])
    result = c.get(r.headers["location"])
    assert "全部完好" in result.text
    run = c.get(re.search(r'href="(/verify/\d+)" id="run-link"', result.text).group(1))
    assert run.status_code == 200 and "全部完好" in run.text
    assert 'id="runs"' in c.get("/verify").text


def test_the_lending_desk_shows_blocks_then_scans_lines_and_returns_a_page_short(app, home, desks_made):
    c, _ = login(app, "陈静")
    page = c.get(f"/lending?borrower={desks_made['borrower']}")
    assert page.status_code == 200 and "无停借、无逾期" in page.text and desks_made["loan"] in page.text
    csrf = csrf_of(page.text)
    scan = f"/lending/{desks_made['borrower']}/scan"
    ok = c.post(scan, data={"csrf_token": csrf, "code": desks_made["open"], "mode": "read", "purpose": "工作查考"},
                headers={"HX-Request": "true"})
    assert ok.status_code == 200 and 'class="scan-ok"' in ok.text and "JY" in ok.text
    again = c.post(scan, data={"csrf_token": csrf, "code": desks_made["open"]}, headers={"HX-Request": "true"})
    assert again.status_code == 200 and 'class="scan-error"' in again.text and "<!doctype" not in again.text
    plain = c.post(scan, data={"csrf_token": csrf, "code": ""})  # without script: the desk again, error beside the box
    assert plain.status_code == 400 and 'data-for="code">请扫描或输入档号' in plain.text
    short = c.post(f"/loans/{desks_made['loan']}/return", data={"csrf_token": csrf, "pages": "1",
                                                               "borrower": desks_made["borrower"]})
    assert short.status_code == 303
    after = c.get(short.headers["location"])
    assert "待核查" in after.text or "卷内备考表" in after.text
    bad = c.post(f"/loans/{desks_made['loan']}/return", data={"csrf_token": csrf, "pages": "x",
                                                             "borrower": desks_made["borrower"]})
    assert bad.status_code == 400 and "清点页数" in bad.text


def test_the_banner_names_an_overdue_loan_and_a_suspension(app, home, desks_made):
    from archive.lending import borrowers

    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        borrowers.block(archivist, desks_made["borrower"], reason="多次逾期")
    app.state.today = DEMO_DAY + dt.timedelta(days=60)
    c, _ = login(app, "陈静")
    page = c.get(f"/lending?borrower={desks_made['borrower']}")
    assert 'id="blocks"' in page.text and "已停止借阅：多次逾期" in page.text and "逾期未还" in page.text
    assert c.get("/lending?borrower=JZ9999").status_code == 404


def test_the_api_lends_returns_and_shows_the_borrower_as_the_cli_prints(app, desks_made):
    c, csrf = login(app, "陈静")
    made = c.post("/api/v1/loans", json={"archival_code": desks_made["open"], "borrower": desks_made["borrower"],
                                         "purpose": "工作查考", "mode": "read"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["archival_code"] == desks_made["open"]
    number = made.json()["loan"]
    shown = c.get(f"/api/v1/borrowers/{desks_made['borrower']}").json()
    assert {loan["loan"] for loan in shown["open_loans"]} == {number, desks_made["loan"]}
    back = c.post(f"/api/v1/loans/{number}/return", json={"pages": 0}, headers={"X-CSRF-Token": csrf})
    assert back.status_code == 200 and back.json()["flagged"] is True
    refused = c.post("/api/v1/loans", json={"archival_code": desks_made["controlled"], "borrower": "JZ9999",
                                            "purpose": "工作查考", "mode": "read"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 404 and set(refused.json()["error"]) == {"code", "field", "message", "hint"}


def test_the_search_page_keeps_facets_in_the_url_and_hides_what_the_role_may_not_see(app, home):
    from archive.search import index

    code = _filed_volume(home, "控制")
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        index.reindex(archivist)
    staff, _ = login(app, "孙伟")
    found = staff.get("/search?q=张三")
    assert found.status_code == 200 and code in found.text and "<mark>张三</mark>" in found.text
    assert "year=2026" in found.text  # the year facet is a link that keeps the query
    narrowed = staff.get("/search?q=张三&year=2026")
    assert narrowed.status_code == 200 and "取消“2026”" in narrowed.text
    assert ">市场监管局</a>" in found.text  # units by their short names, not their codes
    by_unit = staff.get("/search?q=张三&unit=SJ")
    assert by_unit.status_code == 200 and "取消“市场监管局”" in by_unit.text and code in by_unit.text
    public, _ = login(app, "郑洁")
    hidden = public.get("/search?q=张三")
    assert hidden.status_code == 200 and code not in hidden.text
    bad = staff.get('/search?q="未闭合')
    assert bad.status_code == 400 and 'data-for="q"' in bad.text


def test_the_search_page_says_when_the_index_is_behind(app, home):
    from archive.search import index

    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        index.reindex(archivist)
    clerk, csrf = login(app, "王芳")
    assert "id=\"lag\"" not in clerk.get("/search?q=张三").text
    made = clerk.post("/api/v1/cases", json=receive_json(), headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201  # no indexer runs beside this app: the entry waits
    page = clerk.get("/search?q=张三")
    assert page.status_code == 200 and "检索索引还有 1 项最新的变更未处理" in page.text
    assert made.json()["case"] not in page.text
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        index.reindex(archivist)
    caught_up = clerk.get("/search?q=张三")
    assert "id=\"lag\"" not in caught_up.text and made.json()["case"] in caught_up.text


def test_destruction_needs_an_approver_and_two_witnesses_each_signed_in(app, home):
    """The two-person rule in the browser: the approver cannot witness, a witness cannot confirm
    twice, and only the second witness's confirmation executes the list."""
    from archive.shelf import volumes

    from .test_volumes import make_concluded

    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        code = volumes.file_case(archivist, make_concluded(archivist, decision="not_accepted")).archival_code
    c, _ = login(app, "陈静")
    page = c.get("/disposal")
    made = c.post("/disposal", data={"csrf_token": csrf_of(page.text), "as_of": "2060-01-02", "appraisers": "周敏、吴刚"})
    assert made.status_code == 303
    number = made.headers["location"].rsplit("/", 1)[1]
    nothing = c.post("/disposal", data={"csrf_token": csrf_of(page.text), "as_of": "2060-01-02"})
    assert nothing.status_code == 200 and 'data-for="as_of"' in nothing.text  # already on a list
    early = c.post(f"/disposal/{number}/witness", data={"csrf_token": csrf_of(page.text)})
    assert early.status_code == 409 and "尚未批准" in early.text
    head, _ = login(app, "周敏")
    shown = head.get(f"/disposal/{number}")
    assert code in shown.text and 'id="approve-form"' in shown.text
    ok = head.post(f"/disposal/{number}/approve", data={"csrf_token": csrf_of(shown.text), "reviewer": "孙丽"})
    assert ok.status_code == 303
    own = head.post(f"/disposal/{number}/witness", data={"csrf_token": csrf_of(shown.text)})
    assert own.status_code == 403  # the approver may not witness
    first, _ = login(app, "孙伟")
    page = first.get(f"/disposal/{number}")
    assert first.post(f"/disposal/{number}/witness", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    twice = first.post(f"/disposal/{number}/witness", data={"csrf_token": csrf_of(page.text)})
    assert twice.status_code == 409 and "另一名监销人" in twice.text
    assert Path(volumes_folder(home, code)).exists()
    second, _ = login(app, "赵立新")
    page = second.get(f"/disposal/{number}")
    assert second.post(f"/disposal/{number}/witness", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    done = second.get(f"/disposal/{number}")
    assert "已销毁" in done.text and "孙伟" in done.text and "赵立新" in done.text
    assert not Path(volumes_folder(home, code)).exists()
    tomb = c.get(f"/volumes/{code}")
    assert tomb.status_code == 200 and "已销毁" in tomb.text  # the tombstone stays in the catalogue


def volumes_folder(home, code):
    with Session(open_workspace(home), operator="陈静") as s, s.store.read() as conn:
        folder = conn.execute(select(st.volumes.c.folder).where(st.volumes.c.archival_code == code)).scalar()
        return s.ws.absolute(folder)


def test_a_reader_requests_to_borrow_and_a_head_approves_then_the_desk_lends(app, home, desks_made):
    from archive.lending import borrowers

    from .test_loans import id_number

    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        card = borrowers.add(archivist, name="吴刚", unit="江州市档案馆", type="internal", id_number=id_number(7),
                             phone="13800138000", account="吴刚").code
    reader, _ = login(app, "吴刚")
    page = reader.get(f"/requests?code={desks_made['open']}")
    assert page.status_code == 200 and desks_made["open"] in page.text
    csrf = csrf_of(page.text)
    hidden = reader.post("/requests", data={"csrf_token": csrf, "code": desks_made["controlled"], "mode": "read"})
    assert hidden.status_code == 404 and 'data-for="code"' in hidden.text  # 控制 is beyond a reader's clearance
    made = reader.post("/requests", data={"csrf_token": csrf, "code": desks_made["open"], "mode": "loan",
                                          "purpose": "工作查考"})
    assert made.status_code == 303
    mine = reader.get(made.headers["location"])
    assert "待批准" in mine.text
    twice = reader.post("/requests", data={"csrf_token": csrf, "code": desks_made["open"], "mode": "loan"})
    assert twice.status_code == 409 and "无须重复申请" in twice.text
    head, _ = login(app, "周敏")
    queue = head.get("/approvals")
    assert queue.status_code == 200 and desks_made["open"] in queue.text and "吴刚" in queue.text
    number = re.search(r'action="/approvals/(SQ\d+)"', queue.text).group(1)
    refused_blank = head.post(f"/approvals/{number}", data={"csrf_token": csrf_of(queue.text), "decision": "refuse"})
    assert refused_blank.status_code == 400 and f'data-for="{number}"' in refused_blank.text
    ok = head.post(f"/approvals/{number}", data={"csrf_token": csrf_of(queue.text), "decision": "approve"})
    assert ok.status_code == 303 and "已批准" in head.get(ok.headers["location"]).text
    desk_, _ = login(app, "陈静")
    page = desk_.get(f"/lending?borrower={card}")
    line = desk_.post(f"/lending/{card}/scan", data={"csrf_token": csrf_of(page.text), "code": desks_made["open"],
                                                     "mode": "loan", "purpose": "工作查考"},
                      headers={"HX-Request": "true"})
    assert 'class="scan-ok"' in line.text and "周敏批准" in line.text  # the head's approval, given in the system
    assert "已借阅" in reader.get("/requests").text


def test_an_access_change_is_proposed_by_one_account_and_approved_by_another(app, home, desks_made):
    code = desks_made["controlled"]
    archivist, _ = login(app, "陈静")
    page = archivist.get(f"/volumes/{code}")
    assert 'id="access-form"' in page.text and 'id="proposals"' not in page.text
    csrf = csrf_of(page.text)
    blank = archivist.post(f"/volumes/{code}/access", data={"csrf_token": csrf, "access": "开放", "reason": " "})
    assert blank.status_code == 400 and 'data-for="reason"' in blank.text and "调整理由" in blank.text
    same = archivist.post(f"/volumes/{code}/access", data={"csrf_token": csrf, "access": "控制", "reason": "审核"})
    assert same.status_code == 409 and 'data-for="access"' in same.text
    assert count(home, st.access_changes) == 0  # nothing written on bad input
    sent = archivist.post(f"/volumes/{code}/access", data={"csrf_token": csrf, "access": "开放",
                                                            "reason": "经开放审核，个人信息已作技术处理"},
                          follow_redirects=True)
    assert sent.status_code == 200 and 'id="access-proposed"' in sent.text and 'id="proposals"' in sent.text
    assert '<dd id="access">控制</dd>' in sent.text  # nothing applies before the approval
    assert 'action="/access-changes/' not in sent.text  # the archivist may not decide
    number = re.search(r'id="proposal-(\d+)"', sent.text).group(1)
    assert archivist.post(f"/access-changes/{number}", data={"csrf_token": csrf, "decision": "approve"}
                          ).status_code == 403
    head, _ = login(app, "周敏")
    queue = head.get("/approvals")
    assert queue.status_code == 200 and f'action="/access-changes/{number}"' in queue.text and code in queue.text
    refused = head.post(f"/access-changes/{number}", data={"csrf_token": csrf_of(queue.text), "decision": "refuse",
                                                           "note": "", "back": "/approvals"})
    assert refused.status_code == 400 and f'data-for="access-{number}"' in refused.text and "不批准的理由" in refused.text
    page = head.get(f"/volumes/{code}")
    done = head.post(f"/access-changes/{number}", data={"csrf_token": csrf_of(page.text), "decision": "approve",
                                                        "back": f"/volumes/{code}"}, follow_redirects=True)
    assert done.status_code == 200 and 'id="access-changed"' in done.text and '<dd id="access">开放</dd>' in done.text
    assert "提出人：陈静；批准人：周敏" in done.text
    assert [r.action for r in audit_rows(home, subject=code) if r.action.startswith("access_change")] == [
        "access_change_propose", "access_change"]
    # the head's own proposal waits for another head: no buttons for her, 403 if posted
    own = head.post(f"/volumes/{code}/access", data={"csrf_token": csrf_of(page.text), "security_level": "秘密",
                                                     "reason": "涉及商业秘密"}, follow_redirects=True)
    assert 'id="access-proposed"' in own.text and "待另一位档案室负责人审批" in own.text
    mine = re.findall(r'id="proposal-(\d+)"', own.text)[0]
    assert head.post(f"/access-changes/{mine}", data={"csrf_token": csrf_of(own.text), "decision": "approve"}
                     ).status_code == 403
    assert "本人提出" in head.get("/approvals").text


def test_the_api_proposes_and_another_account_decides_an_access_change(app, desks_made):
    code = desks_made["controlled"]
    archivist, csrf = login(app, "陈静")
    bad = archivist.post(f"/api/v1/volumes/{code}/access", json={"access": "公开", "reason": "x"},
                         headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "access"
    made = archivist.post(f"/api/v1/volumes/{code}/access", json={"access": "开放", "reason": "经开放审核"},
                          headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["status"] == "pending"
    number = made.json()["number"]
    head, csrf2 = login(app, "周敏")
    no_reason = head.post(f"/api/v1/access-changes/{number}/refuse", json={}, headers={"X-CSRF-Token": csrf2})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "不批准的理由"
    ok = head.post(f"/api/v1/access-changes/{number}/approve", json={}, headers={"X-CSRF-Token": csrf2})
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["decided_by"] == "周敏"
    assert head.get(f"/api/v1/volumes/{code}").json()["access"] == "开放"


def test_a_copy_is_made_at_the_desk_and_downloaded_only_by_the_desk_and_its_reader(app, home):
    from archive.lending import borrowers

    from .test_copies import copy_loan
    from .test_loans import id_number

    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        reader_card = borrowers.add(archivist, name="吴刚", unit="江州市档案馆", type="internal",
                                    id_number=id_number(9),
                                    phone="13800138000", account="吴刚")
        _code, _borrower, loan = copy_loan(archivist)
        with archivist.store.write() as conn:  # the loan is 吴刚's: he may fetch its copies
            conn.execute(update(st.loans).where(st.loans.c.number == loan.loan).values(
                borrower_id=select(st.borrowers.c.id).where(st.borrowers.c.code == reader_card.code).scalar_subquery()))
    desk_, _ = login(app, "陈静")
    page = desk_.get(f"/lending?borrower={reader_card.code}")
    assert f'action="/loans/{loan.loan}/copy"' in page.text
    made = desk_.post(f"/loans/{loan.loan}/copy", data={"csrf_token": csrf_of(page.text), "pages": "2-3",
                                                       "borrower": reader_card.code})
    assert made.status_code == 303
    page = desk_.get(made.headers["location"])
    number = re.search(r'href="/copies/([^"]+)\.pdf"', page.text).group(1)
    got = desk_.get(f"/copies/{number}.pdf")
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    reader, _ = login(app, "吴刚")
    assert number in reader.get("/requests").text
    assert reader.get(f"/copies/{number}.pdf").status_code == 200
    stranger, _ = login(app, "孙伟")
    assert stranger.get(f"/copies/{number}.pdf").status_code == 404
    assert len(audit_rows(home, action="copy.download")) == 2


def test_catalogues_are_browsed_by_class_catalogue_year_and_exported(app, desks_made):
    c, _ = login(app, "陈静")
    page = c.get("/catalogues")
    assert page.status_code == 200 and 'id="tree"' in page.text
    link = re.search(r'href="(/catalogues\?cls=[^"]+&catalogue=\d+&year=\d+)"', page.text).group(1)
    chosen = c.get(link)
    assert chosen.status_code == 200 and desks_made["open"] in chosen.text and desks_made["controlled"] in chosen.text
    bad = c.get("/catalogues?year=abc")
    assert bad.status_code == 400 and 'data-for="filter"' in bad.text
    form = dict(re.findall(r'name="(cls|year|catalogue)" value="([^"]*)"', chosen.text))
    started = c.post("/catalogues/export", data=dict(form, csrf_token=csrf_of(chosen.text), fmt="xlsx"))
    assert started.status_code == 303  # exporting is a job; its page links the file
    job = wait_done(c, started.headers["location"].rsplit("/", 1)[1])
    assert job["result"]["volumes"] == 3  # desks_made filed three
    got = c.get(f"/jobs/{job['id']}/file")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    public, _ = login(app, "郑洁")
    assert public.get("/catalogues").status_code == 403


def test_a_scan_that_needs_a_head_goes_to_the_queue_and_the_next_scan_lends(app, desks_made):
    c, _ = login(app, "陈静")
    page = c.get(f"/lending?borrower={desks_made['borrower']}")
    scan = f"/lending/{desks_made['borrower']}/scan"
    form = {"csrf_token": csrf_of(page.text), "code": desks_made["open"], "mode": "loan", "purpose": "工作查考"}
    refused = c.post(scan, data=form, headers={"HX-Request": "true"})
    assert 'class="scan-error"' in refused.text and "提交负责人审批" in refused.text
    assert "--approved-by" not in refused.text and "负责人在“审批”页批准后再次扫描" in refused.text  # the desk's words
    sent = c.post(f"/lending/{desks_made['borrower']}/request", data=form)
    assert sent.status_code == 303 and "SQ" in c.get(sent.headers["location"]).text
    head, _ = login(app, "周敏")
    queue = head.get("/approvals")
    number = re.search(r'action="/approvals/(SQ\d+)"', queue.text).group(1)
    assert head.post(f"/approvals/{number}", data={"csrf_token": csrf_of(queue.text), "decision": "approve"}
                     ).status_code == 303
    lent = c.post(scan, data=form, headers={"HX-Request": "true"})
    assert 'class="scan-ok"' in lent.text and "周敏批准" in lent.text


def test_a_return_is_counted_against_the_item_list_then_the_flagged_volume_is_inspected(app, home, desks_made):
    c, _ = login(app, "陈静")
    page = c.get(f"/loans/{desks_made['loan']}/return")
    assert page.status_code == 200 and 'id="count-items"' in page.text and 'id="return-form"' in page.text
    expected = int(re.search(r'<th id="expected">(\d+)</th>', page.text).group(1))
    assert expected > 1
    returned = c.post(f"/loans/{desks_made['loan']}/return", data={
        "csrf_token": csrf_of(page.text), "pages": str(expected - 1), "borrower": desks_made["borrower"]})
    assert returned.status_code == 303
    queue = c.get("/inspections")
    assert queue.status_code == 200 and 'id="flagged"' in queue.text and "缺少 1 页" in queue.text
    code = re.search(r'action="/inspections/([^"]+)"', queue.text).group(1)
    notes = count(home, st.volume_notes)
    blank = c.post(f"/inspections/{code}", data={"csrf_token": csrf_of(queue.text), "result": " "})
    assert blank.status_code == 400 and "检查结果" in blank.text and count(home, st.volume_notes) == notes
    done = c.post(f"/inspections/{code}", data={"csrf_token": csrf_of(queue.text), "result": "缺页已由借阅人交回并归位"},
                  follow_redirects=True)
    assert done.status_code == 200 and 'id="done"' in done.text and "没有待检查的案卷" in done.text
    volume = c.get(f"/volumes/{code}")
    assert "缺页已由借阅人交回并归位" in volume.text and "在架" in volume.text
    again = c.get(f"/loans/{desks_made['loan']}/return")
    assert 'id="returned"' in again.text and 'id="return-form"' not in again.text


def test_overdue_reminders_are_issued_once_per_level_as_numbered_notices(app, home, desks_made, monkeypatch):
    from docx import Document
    from pypdf import PdfReader

    from archive.lending import loans

    code = _filed_volume(home, "开放")
    monkeypatch.setenv("ARCHIVE_PDF", "always")  # real LibreOffice makes the reminder's PDF when asked
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        late = loans.lend(archivist, code, borrower=desks_made["borrower"], purpose="工作查考", mode="read",
                          on=DEMO_DAY - dt.timedelta(days=20))
    c, _ = login(app, "陈静")
    page = c.get("/loans/overdue")
    assert late.loan in page.text and 'id="remind-form"' in page.text
    sent = c.post("/loans/overdue/remind", data={"csrf_token": csrf_of(page.text)})
    assert sent.status_code == 200 and 'id="issued"' in sent.text and "第一次催还" in sent.text
    notice = re.search(r'href="/notices/(\d+)\.docx"', sent.text).group(1)
    docx = c.get(f"/notices/{notice}.docx")
    assert docx.status_code == 200
    import io

    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    cells = "\n".join(cell.text for t in Document(io.BytesIO(docx.content)).tables for row in t.rows
                      for cell in row.cells)
    assert "催还通知单" in text and "第一次催还" in text and late.loan in cells and code in cells
    pdf = c.get(f"/notices/{notice}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert len(pages) == 2 and "第一次催还" in pages[0].extract_text() and "档案室存根" in pages[1].extract_text()
    again = c.post("/loans/overdue/remind", data={"csrf_token": csrf_of(page.text)})
    assert "没有到期需要发出的催还通知" in again.text  # the next level waits for its day
    assert "第一次催还" in c.get("/loans/overdue").text  # the history stays on the list
    assert len(audit_rows(home, action="remind")) == 1
    public, _ = login(app, "郑洁")
    assert public.get(f"/notices/{notice}.pdf").status_code == 403
    from archive.web.app import create_app

    numbers = set()
    for days, level in ((6, "第二次催还"), (12, "最后一次催还")):  # later days: the level escalates, one step each
        later = create_app(home, today=DEMO_DAY + dt.timedelta(days=days))
        try:
            c2, _ = login(later, "陈静")
            page = c2.get("/loans/overdue")
            sent = c2.post("/loans/overdue/remind", data={"csrf_token": csrf_of(page.text)})
            mine = re.search(rf"<li>(\S+)（李明，{late.loan}，([^）]+)）", sent.text)  # the other loan is late too now
            assert mine.group(2) == level, days
            numbers.add(mine.group(1))
        finally:
            later.state.session.close()
    assert len(numbers) == 2 and len(audit_rows(home, action="remind", subject=code)) == 3
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as archivist:
        assert [r["level"] for r in loans.reminders_of(archivist, late.loan)] == [1, 2, 3]


def test_the_lending_register_is_exported_for_a_period_and_downloaded(app, home, desks_made):
    import io

    from openpyxl import load_workbook

    c, _ = login(app, "陈静")
    page = c.get("/registers/lending")
    assert page.status_code == 200 and 'id="register-form"' in page.text
    bad = c.post("/registers/lending", data={"csrf_token": csrf_of(page.text), "date_from": "2026-10-01",
                                             "date_to": "2026-09-01"})
    assert bad.status_code == 400 and 'data-for="date_to"' in bad.text and "早于起始日期" in bad.text
    folder = Path(home) / "documents" / "registers"
    assert not folder.exists() or not any(folder.iterdir())  # nothing written on bad input
    form = {"csrf_token": csrf_of(page.text), "date_from": "2026-01-01", "date_to": DEMO_DAY.isoformat(),
            "fmt": "xlsx"}
    got = c.post("/registers/lending", data=form)
    assert got.status_code == 200 and got.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(got.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[0] == "序号")
    assert values[header][:3] == ["序号", "借阅日期", "借阅单号"]
    assert desks_made["loan"] in [row[2] for row in values[header + 1:]]
    second = c.post("/registers/lending", data=form)  # a second download: a new file, none replaced
    assert second.status_code == 200 and len(list(folder.iterdir())) == 2


def test_the_loan_slip_is_printed_at_checkout_and_reprinted_the_same(app, home, desks_made, monkeypatch):
    import io

    from docx import Document
    from pypdf import PdfReader

    monkeypatch.setenv("ARCHIVE_PDF", "always")  # real LibreOffice makes the slip's PDF
    c, _ = login(app, "陈静")
    page = c.get(f"/lending?borrower={desks_made['borrower']}")
    scan = c.post(f"/lending/{desks_made['borrower']}/scan", headers={"HX-Request": "true"},
                  data={"csrf_token": csrf_of(page.text), "code": desks_made["open"], "mode": "read",
                        "purpose": "工作查考"})
    assert 'class="scan-ok"' in scan.text
    link = re.search(r'href="(/loans/(JY\d+)/slip\.pdf)"', scan.text)
    loan = link.group(2)
    pdf = c.get(link.group(1))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "档案借阅单" in text and loan in text and "借阅须知" in text
    doc = Document(io.BytesIO(c.get(f"/loans/{loan}/slip.docx").content))
    cells = [cell.text for t in doc.tables for row in t.rows for cell in row.cells]
    assert desks_made["open"] in cells and "李明" in cells and "阅览" in cells and "无需审批" in cells
    assert c.get(link.group(1)).content == pdf.content  # a reprint is the same slip
    assert len(audit_rows(home, action="loan_slip.print")) == 3
    public, _ = login(app, "郑洁")
    assert public.get(link.group(1)).status_code == 403
