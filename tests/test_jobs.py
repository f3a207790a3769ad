"""Long work in the background (archive.core.jobs, archive.background, web/jobs.py, the API's 202s).

Real sample workspace, real store (SQLite or PostgreSQL), the real app over ASGI with its
real thread pool; a real second process for the job a killed server left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from archive.core import jobs
from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.errors import ForbiddenError, InputError, NotFoundError
from archive.core.session import Session

from .conftest import DEMO_DAY, PERSON_ID, ROOT
from .test_web import app, count, csrf_of, login, wait_done  # noqa: F401  (the app fixture)

import archive.background  # noqa: F401,E402  (registers the kinds of job)


def concluded(home, n: int) -> list[str]:
    """``n`` concluded cases of SJ, received and concluded by 王芳, not filed."""
    from archive.window import cases
    from archive.window.cases import Applicant

    made = []
    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as clerk:
        for _ in range(n):
            got = cases.receive(clerk, item_code="SJ-XK-001",
                                applicant=Applicant.person("张三", PERSON_ID, "13800138000"),
                                materials=["M01", "M02", "M03"], received_on=DEMO_DAY)
            cases.conclude(clerk, got.case.case_no, decision="approved", on=DEMO_DAY)
            made.append(got.case.case_no)
    return made


def as_account(home, name):
    return Session(open_workspace(home), operator=name, today=DEMO_DAY)


# -- the library ---------------------------------------------------------------------------------

def test_a_filing_job_reports_progress_while_running_and_refusals_at_the_end(home):
    cases = concluded(home, 2)
    seen = []

    def listener(job):  # after each committed progress report: what another session reads now
        with as_account(home, "陈静") as other:
            seen.append(jobs.get(other, job.id))

    with as_account(home, "陈静") as archivist:
        job = jobs.submit(archivist, "file", {"cases": cases + ["SJ209912310001"]})
        assert (job.status, job.done, job.total) == ("queued", 0, 0)
        finished = jobs.run(archivist, job.id, listener=listener)
    assert [(j.status, j.done, j.total) for j in seen] == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3),
                                                         ("running", 3, 3)]
    assert seen[1].label == f"已处理 1/3 件：{cases[0]}"
    assert finished.status == "done" and finished.percent == 100 and finished.finished_at is not None
    assert [v["case"] for v in finished.result["filed"]] == cases
    (refused,) = finished.result["refused"]
    assert refused["case"] == "SJ209912310001" and refused["code"] == "not_found" and refused["message"]
    assert count(home, st.volumes) == 2
    # filed as 陈静, recorded as the request that submitted it
    with as_account(home, "陈静") as s, s.store.read() as conn:
        who = conn.execute(select(st.audit_log.c.actor).where(st.audit_log.c.action == "file")).scalars().all()
    assert who == ["陈静", "陈静"]


def test_only_the_owner_or_a_head_who_sees_as_much_follows_a_job(home):
    with as_account(home, "陈静") as archivist:
        filing = jobs.submit(archivist, "file", {"cases": ["SJ209912310001"]})
        export = jobs.submit(archivist, "catalogue_export", {"format": "xlsx"})
    with as_account(home, "周敏") as head:  # archive_head: holds volume.file, sees what 陈静 sees
        assert jobs.get(head, filing.id).id == filing.id
        with pytest.raises(NotFoundError):  # an export's file is its owner's: nobody watches it
            jobs.get(head, export.id)
    with as_account(home, "陈静") as archivist:
        with pytest.raises(NotFoundError):
            jobs.get(archivist, filing.id + "x")
    for name in ("王芳", "吴刚", "韩梅"):
        with as_account(home, name) as other:
            for job in (filing, export):
                with pytest.raises(NotFoundError) as caught:
                    jobs.get(other, job.id)
                assert caught.value.message == f"找不到编号为“{job.id}”的任务"
            with pytest.raises(NotFoundError) as missing:
                jobs.get(other, "0" * 32)
            assert missing.value.message == "找不到编号为“" + "0" * 32 + "”的任务"
    with Session(open_workspace(home), today=DEMO_DAY) as nobody:
        with pytest.raises(NotFoundError):
            jobs.get(nobody, filing.id)


def test_submitting_checks_the_permission_then_the_input_and_makes_no_job_when_refused(home):
    with as_account(home, "王芳") as clerk:
        with pytest.raises(ForbiddenError):
            jobs.submit(clerk, "file", {"cases": ["X"]})
    with as_account(home, "陈静") as archivist:
        with pytest.raises(InputError) as empty:
            jobs.submit(archivist, "file", {"cases": []})
        assert empty.value.field == "cases"
        with pytest.raises(InputError) as fmt:
            jobs.submit(archivist, "catalogue_export", {"format": "pdf"})
        assert fmt.value.field == "format" and "xlsx" in fmt.value.message
        with pytest.raises(InputError) as kind:
            jobs.submit(archivist, "defragment", {})
        assert kind.value.field == "kind"
        with pytest.raises(ForbiddenError):  # the system administrator's
            jobs.submit(archivist, "reindex", {})
    assert count(home, st.jobs) == 0


def test_a_failed_job_keeps_the_library_message(home):
    with as_account(home, "陈静") as archivist:
        job = jobs.submit(archivist, "catalogue_export", {"format": "xlsx", "year": 2001})
        done = jobs.run(archivist, job.id)
    assert done.status == "failed" and done.error["message"] == "没有符合条件的案卷，未生成案卷目录"
    assert done.result is None


def test_stopping_the_runner_stops_between_two_cases_and_keeps_the_whole_ones(home):
    cases = concluded(home, 3)
    reached, proceed = threading.Event(), threading.Event()

    def listener(job):
        if job.done == 1:  # the first case is filed and committed
            reached.set()
            proceed.wait(60)

    with as_account(home, "陈静") as archivist:
        runner = jobs.Runner(archivist, workers=1, listener=listener)
        job = jobs.submit(archivist, "file", {"cases": cases})
        waiting = jobs.submit(archivist, "verify", {})
        runner.start(job)
        runner.start(waiting)
        assert reached.wait(60)
        closing = threading.Thread(target=runner.close)
        closing.start()
        while not runner._stop.is_set():
            time.sleep(0.01)
        proceed.set()
        closing.join(60)
        stopped, never = jobs.get(archivist, job.id), jobs.get(archivist, waiting.id)
    assert stopped.status == "failed" and stopped.error["message"] == jobs.STOPPED and stopped.done == 1
    assert never.status == "failed" and never.error["message"] == jobs.STOPPED
    assert count(home, st.volumes) == 1  # the first case whole; the others not begun


def test_a_job_left_running_by_a_killed_server_is_failed_when_the_server_starts(home, app):  # noqa: F811
    """A real process takes a job, reports progress and dies; a new app marks it failed."""
    cases = concluded(home, 2)
    script = (
        "import os, sys, datetime as dt\n"
        "import archive.background\n"
        "from archive.core import jobs\n"
        "from archive.core.config import open_workspace\n"
        "from archive.core.session import Session\n"
        "s = Session(open_workspace(sys.argv[1]), operator='陈静', today=dt.date(2026, 9, 28))\n"
        "job = jobs.submit(s, 'file', {'cases': sys.argv[2:]})\n"
        "print(job.id, flush=True)\n"
        "def stop_dead(job):\n"
        "    if job.done == 1:\n"
        "        os._exit(9)\n"
        "jobs.run(s, job.id, listener=stop_dead)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(home), *cases], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ), timeout=300)
    assert done.returncode == 9, done.stderr
    job_id = done.stdout.split()[0]
    with as_account(home, "陈静") as archivist:
        left = jobs.get(archivist, job_id)
        assert (left.status, left.done, left.total) == ("running", 1, 2)
    from archive.web.app import create_app

    restarted = create_app(home, today=DEMO_DAY)
    try:
        c, _ = login(restarted, "陈静")
        job = c.get(f"/api/v1/jobs/{job_id}").json()
        assert job["status"] == "failed" and job["error"]["message"] == "服务重启，任务中断，请重新提交"
        assert "已保存" in job["error"]["hint"]
        page = c.get(f"/jobs/{job_id}")
        assert page.status_code == 200 and "服务重启，任务中断，请重新提交" in page.text
        assert "hx-trigger" not in page.text  # a finished job is not polled
    finally:
        restarted.state.session.close()
    assert count(home, st.volumes) == 1  # the case filed before the kill is whole; nothing half-written
    with as_account(home, "陈静") as s, s.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(st.volume_items)).scalar() > 0


# -- pages and the API ---------------------------------------------------------------------------

def test_filing_from_the_queue_goes_to_the_job_page_which_ends_with_the_result(app, home):  # noqa: F811
    cases = concluded(home, 2)
    c, _ = login(app, "陈静")
    page = c.get("/filing")
    r = c.post("/filing", data={"csrf_token": csrf_of(page.text), "case": cases + ["SJ209912310001"]})
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    shown = c.get(r.headers["location"])
    assert shown.status_code == 200 and '<progress id="job-bar"' in shown.text and 'role="status"' in shown.text
    wait_done(c, job_id)
    again = c.get(r.headers["location"])  # a reload shows the result
    assert "已归档 2 卷" in again.text and "未能归档 1 件" in again.text and "SJ209912310001" in again.text
    assert 'id="filed"' in again.text and "/volumes/" in again.text and "hx-trigger" not in again.text
    fragment = c.get(f"/jobs/{job_id}/progress?seen=x", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and 'hx-swap-oob="innerHTML:#job-said"' in fragment.text
    queue = c.get("/filing")  # a closed tab's job is found again on the desk that started it
    assert 'id="recent-jobs"' in queue.text and f'href="/jobs/{job_id}"' in queue.text
    other, _ = login(app, "王芳")
    assert other.get(r.headers["location"]).status_code == 404
    assert other.get(f"/jobs/{job_id}/progress").status_code == 404


def test_the_progress_fragment_answers_204_while_nothing_changed(app, home):  # noqa: F811
    c, _ = login(app, "陈静")
    with as_account(home, "陈静") as archivist:
        job = jobs.submit(archivist, "verify", {})  # queued, never handed to a runner
    page = c.get(f"/jobs/{job.id}")
    key = page.text.split("seen=", 1)[1].split('"', 1)[0]
    assert c.get(f"/jobs/{job.id}/progress?seen={key}").status_code == 204
    assert c.get(f"/jobs/{job.id}/progress?seen=other").status_code == 200


def test_the_api_answers_202_with_a_job_to_poll(app, home):  # noqa: F811
    cases = concluded(home, 2)
    c, csrf = login(app, "陈静")
    r = c.post("/api/v1/volumes", json={"cases": cases}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 202 and r.headers["location"] == f"/api/v1/jobs/{r.json()['job']['id']}"
    assert r.json()["job"]["kind"] == "file" and r.json()["job"]["status"] in ("queued", "running", "done")
    job = wait_done(c, r.json()["job"]["id"])
    assert job["status"] == "done" and len(job["result"]["filed"]) == 2 and job["result"]["refused"] == []
    assert job["progress"] == {"done": 2, "total": 2, "label": "已完成", "percent": 100}
    assert "origin" not in job["params"]

    v = c.post("/api/v1/verify", json={}, headers={"X-CSRF-Token": csrf})
    assert v.status_code == 202
    checked = wait_done(c, v.json()["job"]["id"])
    assert checked["result"]["problems"] == [] and checked["result"]["run"] >= 1
    assert checked["result"]["checked"] > 0

    e = c.post("/api/v1/catalogues/export", json={"format": "docx"}, headers={"X-CSRF-Token": csrf})
    assert e.status_code == 202
    exported = wait_done(c, e.json()["job"]["id"])
    assert exported["status"] == "done" and exported["result"]["name"].endswith(".docx")
    got = c.get(f"/api/v1/jobs/{exported['id']}/file")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    page = c.get(f"/jobs/{exported['id']}")
    assert f'href="/jobs/{exported["id"]}/file"' in page.text and "documents/" not in page.text

    head, _ = login(app, "周敏")  # may follow the filing, not another's export
    assert head.get(f"/api/v1/jobs/{job['id']}").status_code == 200
    for path in (f"/api/v1/jobs/{exported['id']}", f"/api/v1/jobs/{exported['id']}/file"):
        missing = head.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", path
    assert c.post("/api/v1/verify", json={}).status_code == 403  # no CSRF token


def test_the_catalogue_export_page_downloads_through_the_job(app, home):  # noqa: F811
    concluded(home, 1)
    c, _ = login(app, "陈静")
    page = c.get("/filing")
    wait_done(c, c.post("/filing", data={"csrf_token": csrf_of(page.text), "case": concluded(home, 1)}
                        ).headers["location"].rsplit("/", 1)[1])
    page = c.get("/catalogues")
    r = c.post("/catalogues/export", data={"csrf_token": csrf_of(page.text), "fmt": "xlsx"})
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert wait_done(c, job_id)["status"] == "done"
    shown = c.get(r.headers["location"])
    assert 'id="download"' in shown.text
    got = c.get(f"/jobs/{job_id}/file")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert login(app, "赵立新")[0].get(f"/jobs/{job_id}/file").status_code == 404  # principal: not theirs


def test_filing_one_case_with_pdfs_through_the_api_is_a_job(home, monkeypatch):
    """A workspace that makes PDFs files even one case in the background (LibreOffice in the
    job's thread); without PDFs one case is still filed within the request (201)."""
    from archive.documents.office import libreoffice_available
    from archive.web.app import create_app

    if not libreoffice_available():
        pytest.skip("未安装 LibreOffice（make deps 会安装）")  # under CI=true a skip fails the run
    one, two = concluded(home, 2)
    made = create_app(home, today=DEMO_DAY)
    try:
        from .test_web import _known_passwords

        _known_passwords(home)
        c, csrf = login(made, "陈静")
        quick = c.post("/api/v1/volumes", json={"case": one}, headers={"X-CSRF-Token": csrf})
        assert quick.status_code == 201 and quick.json()["case"] == one and quick.json()["merged_pdf"] is None
        monkeypatch.setenv("ARCHIVE_PDF", "always")
        r = c.post("/api/v1/volumes", json={"case": two}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 202 and r.json()["job"]["params"] == {"cases": [two]}
        job = wait_done(c, r.json()["job"]["id"], limit=300)
        assert job["status"] == "done", job
        (filed,) = job["result"]["filed"]
        assert filed["case"] == two and filed["merged_pdf"] is True
    finally:
        made.state.session.close()


# -- the search index's rebuild as a job (index.maintain: the system administrator 冯涛) -----------

def _no_index(home) -> None:
    """Take the index away: search then refuses until a rebuild makes it again."""
    import shutil

    shutil.rmtree(home / "index")


def test_a_reindex_job_reports_progress_and_the_new_index_answers_searches(home):
    from archive.core.errors import ArchiveError
    from archive.search import index

    made = concluded(home, 2)
    _no_index(home)
    with as_account(home, "王芳") as clerk:
        with pytest.raises(ArchiveError):
            index.search(clerk, "张三")
        with clerk.store.read() as conn:
            cases_now = conn.execute(select(func.count()).select_from(st.cases)).scalar()
    seen = []

    def listener(job):
        with as_account(home, "冯涛") as other:
            seen.append(jobs.get(other, job.id))

    with as_account(home, "冯涛") as sysadmin:
        job = jobs.submit(sysadmin, "reindex", {})
        assert jobs.submit(sysadmin, "reindex", {}).id == job.id  # one at a time: a second click follows it
        finished = jobs.run(sysadmin, job.id, listener=listener)
    assert [(j.status, j.label) for j in seen[:1]] == [("running", "读取数据库中的办件")]
    assert (seen[-1].done, seen[-1].total, seen[-1].label) == (cases_now, cases_now, f"已索引 {cases_now}/{cases_now} 件")
    assert finished.status == "done" and finished.result["documents"] == cases_now > 0
    with as_account(home, "王芳") as clerk:
        assert sorted(index.find_all(clerk, "张三")) == sorted(made)
    with as_account(home, "冯涛") as s, s.store.read() as conn:
        audited = conn.execute(select(st.audit_log.c.actor, st.audit_log.c.subject)
                               .where(st.audit_log.c.action == "index.rebuild")).all()
    assert [tuple(a) for a in audited] == [("冯涛", "检索索引")]


def test_a_rebuild_is_refused_to_every_role_without_index_maintain_by_every_path(app, home):  # noqa: F811
    from click.testing import CliRunner

    from archive.search import index
    from cli import main

    for name in ("王芳", "陈静", "周敏", "赵立新", "郑洁", "蒋丽", "韩梅"):
        with as_account(home, name) as s:
            with pytest.raises(ForbiddenError):
                index.rebuild(s)
            with pytest.raises(ForbiddenError):
                jobs.submit(s, "reindex", {})
        c, csrf = login(app, name)
        assert c.get("/index").status_code == 403
        assert c.post("/index/rebuild", data={"csrf_token": csrf}).status_code == 403
        refused = c.post("/api/v1/reindex", headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        cli = CliRunner().invoke(main, ["reindex", "--home", str(home), "--json"], env={"ARCHIVE_OPERATOR": name})
        assert cli.exit_code == 2 and "无权运行检索索引进程" in json.loads(cli.output)["error"]["message"], cli.output
        assert 'href="/index"' not in c.get("/password").text  # no nav entry either
    assert count(home, st.jobs) == 0
    with as_account(home, "冯涛") as s, s.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(st.audit_log)
                            .where(st.audit_log.c.action == "index.rebuild")).scalar() == 0
    ok = CliRunner().invoke(main, ["reindex", "--home", str(home)], env={"ARCHIVE_OPERATOR": "冯涛"})
    assert ok.exit_code == 0 and ok.output.startswith("检索索引已重建："), ok.output


def test_the_index_page_rebuilds_in_the_background_while_the_indexer_thread_keeps_up(app, home):  # noqa: F811
    """The server's indexer thread runs beside the rebuild; a case received meanwhile is found after it."""
    from archive.search import indexer

    from .test_web import receive_json

    concluded(home, 2)
    halt = indexer.start_thread(app.state.session)
    try:
        admin, _ = login(app, "冯涛")
        page = admin.get("/index")
        assert page.status_code == 200 and 'id="index-state"' in page.text and 'href="/index"' in page.text
        started = admin.post("/index/rebuild", data={"csrf_token": csrf_of(page.text)})
        assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
        job_id = started.headers["location"].rsplit("/", 1)[1]
        clerk, clerk_csrf = login(app, "王芳")
        made = clerk.post("/api/v1/cases", json=receive_json(applicant="欧阳娜娜"), headers={"X-CSRF-Token": clerk_csrf})
        assert made.status_code == 201, made.text
        again = admin.post("/api/v1/reindex", headers={"X-CSRF-Token": csrf_of(page.text)})
        assert again.status_code == 202 and again.headers["location"].startswith("/api/v1/jobs/")
        job = wait_done(admin, job_id)
        assert job["status"] == "done" and job["kind_label"] == "重建检索索引" and job["result"]["documents"] >= 2
        shown = admin.get(f"/jobs/{job_id}")
        assert "检索索引已重建：" in shown.text and 'href="/index"' in shown.text
        if again.json()["job"]["id"] != job_id:  # the first had finished: the second is a rebuild of its own
            assert wait_done(admin, again.json()["job"]["id"])["status"] == "done"
        deadline = time.monotonic() + 60  # the indexer thread's lag, not a speed check
        while True:
            found = clerk.get("/api/v1/search", params={"q": "欧阳娜娜"}).json()
            if found["total"] == 1:
                break
            assert time.monotonic() < deadline, found
            time.sleep(0.1)
        assert found["hits"][0]["case"] == made.json()["case"]
        back = admin.get("/index")
        assert 'id="recent-jobs"' in back.text and f'href="/jobs/{job_id}"' in back.text
    finally:
        halt()


def test_a_rebuild_from_a_thread_spawns_its_workers(home, tmp_path):
    """A server's thread must not fork: its workers are spawned, and read the store themselves."""
    from functools import partial

    from archive.search import index

    concluded(home, 2)
    with as_account(home, "冯涛") as s, s.store.read() as conn:
        ids = list(conn.execute(select(st.cases.c.id)).scalars())
    source = partial(index._store_source, str(home), {}, ids)
    built, reports = {}, []

    def build():  # a total of 250 makes it take two workers (fewer than 200 documents take one)
        built.update(index.build_index(tmp_path / "built", source, 250, procs=2, start_method="spawn",
                                       progress=lambda done, total, label: reports.append((done, total))))

    worker = threading.Thread(target=build)
    worker.start()
    worker.join(timeout=300)
    assert not worker.is_alive() and built["documents"] == len(ids) == 2
    assert reports and reports[-1] == (2, 250)  # the workers' shared counter


# -- archive jobs: the operator's jobs on the command line --------------------------------------

def _cli(home, *args, operator=None):
    from click.testing import CliRunner

    from cli import main

    env = {"ARCHIVE_HOME": str(home), "ARCHIVE_OPERATOR": operator or ""}
    return CliRunner().invoke(main, list(args), env=env)


def test_archive_jobs_lists_the_operators_jobs_newest_first_and_shows_one_as_the_api_does(app, home):  # noqa: F811
    with as_account(home, "陈静") as archivist:
        verify = jobs.run(archivist, jobs.submit(archivist, "verify", {}).id)
        export = jobs.submit(archivist, "catalogue_export", {"format": "xlsx"})  # still queued
    listed = _cli(home, "jobs", operator="陈静")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert [line.split()[0] for line in lines] == [export.id, verify.id]  # newest first
    assert lines[0].split()[1:4] == ["案卷目录导出", "排队等候", "—"] and "开始 —" in lines[0]
    assert lines[1].split()[1:3] == ["完整性校验", "已完成"] and "结束 —" not in lines[1]
    as_json = json.loads(_cli(home, "jobs", "--json", operator="陈静").output)
    assert [j["id"] for j in as_json["jobs"]] == [export.id, verify.id]

    c, _ = login(app, "陈静")
    shown = _cli(home, "jobs", "show", verify.id, "--json", operator="陈静")
    assert shown.exit_code == 0 and json.loads(shown.output) == c.get(f"/api/v1/jobs/{verify.id}").json()
    text = _cli(home, "jobs", "show", verify.id, operator="陈静").output
    assert text.startswith(f"任务 {verify.id}：完整性校验，已完成，提交人 陈静") and "全部完好" in text

    head = _cli(home, "jobs", "show", verify.id, operator="周敏")  # the archive head follows a verify
    assert head.exit_code == 0 and "提交人 陈静" in head.output
    assert _cli(home, "jobs", operator="周敏").output.strip() == "周敏 还没有提交过后台任务"  # her own only
    for name, job_id in (("王芳", verify.id), ("周敏", export.id), ("陈静", "0" * 32)):
        hidden = _cli(home, "jobs", "show", job_id, operator=name)
        assert hidden.exit_code == 2 and f"找不到编号为“{job_id}”的任务" in hidden.output, (name, hidden.output)
    nobody = _cli(home, "jobs")
    assert nobody.exit_code == 2 and "未指定经办人" in nobody.output
    missing = json.loads(_cli(home, "jobs", "show", export.id, "--json", operator="王芳").output)
    assert missing["error"]["code"] == "not_found"
