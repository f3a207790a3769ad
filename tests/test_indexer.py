"""The indexer: applies the change log to the search index, one at a time, and survives kills."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.core import changelog
from archive.core.config import open_workspace
from archive.core.session import Session
from archive.search import index as search
from archive.search import indexer
from archive.core.access import BUILT_IN
from archive.window.cases import Applicant
from cli import main

from .conftest import DEMO_DAY, PERSON_ID
from .test_cases import make_case

ROOT = Path(__file__).resolve().parent.parent
EVERYONE = BUILT_IN["principal"]


def receive(session, name: str):
    return make_case(session, applicant=Applicant.person(name, PERSON_ID, "13800138000")).case.case_no


def wait_until(condition, seconds: float = 120.0) -> bool:
    """Poll ``condition`` until it holds (a bound against hanging, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def run_cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_an_indexer_thread_applies_changes_as_clerks_commit_them(session, home):
    """What the web server does: the indexer loop in a thread with a session of its own."""
    stop = threading.Event()
    events = []
    with Session(open_workspace(home), superuser=True) as own:
        worker = indexer.Indexer(own, poll=0.02, on_event=lambda kind, detail: events.append(kind))
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            made = [receive(session, f"线程客户{n}") for n in range(3)]
            assert wait_until(lambda: search.status(session).fresh)
        finally:
            stop.set()
            thread.join(timeout=60)
    assert not thread.is_alive()
    assert sorted(search.find_all(session, "线程客户", role=EVERYONE)) == sorted(made)
    assert events[0] == "started" and events[-1] == "stopped" and "batch" in events
    assert worker.stats.entries >= 3 and worker.stats.errors == 0


def test_the_servers_indexer_thread_runs_as_the_installation(session):
    """`archive serve` starts it with no account (`start_thread`): it may run the indexer."""
    halt = indexer.start_thread(session)
    try:
        made = receive(session, "服务线程客户")
        assert wait_until(lambda: search.status(session).fresh)
    finally:
        halt()
    assert made in search.find_all(session, "服务线程客户", role=EVERYONE)


def test_only_one_indexer_writes_at_a_time(session, home):
    stop = threading.Event()
    with Session(open_workspace(home), superuser=True) as first_session, \
            Session(open_workspace(home), superuser=True) as second_session:
        first = indexer.Indexer(first_session, poll=0.02)
        thread = threading.Thread(target=first.run, args=(stop,))
        thread.start()
        try:
            assert wait_until(lambda: first.lease.held)
            events = []
            second = indexer.Indexer(second_session, on_event=lambda kind, detail: events.append((kind, detail)))
            second.run(once=True)
            assert events[0] == ("waiting", {"holder": first.lease.holder})
            assert second.stats.entries == 0
            receive(session, "只一个")
            assert indexer.catch_up(session) is None  # a clerk leaves it to the running indexer
            assert wait_until(lambda: search.status(session).fresh)
        finally:
            stop.set()
            thread.join(timeout=60)
    receive(session, "之后")
    assert indexer.catch_up(session) == 1  # the lease was let go when the indexer stopped


def test_a_clerk_command_catches_up_before_it_exits_unless_an_indexer_runs(home):
    args = ["case", "receive", "--home", str(home), "--operator", "王芳", "--item", "SJ-XK-003", "--applicant", "张三",
            "--id-number", PERSON_ID, "--phone", "13800138000", "--materials", "M01,M02,M03,M04,M05,M06",
            "--received-on", "2026-09-28"]
    assert run_cli(*args).exit_code == 0
    with Session(open_workspace(home)) as session:
        assert search.status(session).fresh
        lease = changelog.Lease(session.store, indexer.LEASE_NAME)  # an indexer process is running
        assert lease.acquire()
        try:
            assert run_cli(*args).exit_code == 0
            assert search.status(session).lag["changes"] == 1
        finally:
            lease.release()


def test_an_index_older_than_the_log_is_rebuilt_by_the_indexer(session):
    made = receive(session, "重建客户")
    indexer.catch_up(session)
    with session.store.write() as conn:  # entries gone, as before the change log existed
        changelog.prune(conn, upto=10 ** 9, before=changelog.dt.datetime.now() + changelog.dt.timedelta(days=1))
    receive(session, "又一个")
    state_path = session.ws.index_dir / "state.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state_path.write_text(json.dumps(dict(state, generation=0)), encoding="utf-8")
    assert indexer.catch_up(session) == 0  # a clerk never rebuilds
    events = []
    indexer.Indexer(session.as_operator("冯涛"), on_event=lambda kind, detail: events.append(kind)).run(once=True)
    assert "rebuild" in events
    assert search.status(session).fresh
    assert made in search.find_all(session, "重建客户", role=EVERYONE)
    assert len(search.find_all(session, "又一个", role=EVERYONE)) == 1


def test_an_idle_indexer_merges_the_segments_a_busy_one_left(session):
    from whoosh import index as whoosh_index

    def segments() -> int:
        area = search._Area(session)
        return len(whoosh_index.open_dir(str(area.current(area.read_state())))._segments())

    indexer.catch_up(session)
    before = segments()
    busy = indexer.Indexer(session.as_operator("冯涛"), merge_at=100, gather=0)  # under load: no merge yet
    made = []
    for number in range(9):
        made.append(receive(session, f"分段客户{number}"))
        assert busy.step() == 1
    assert segments() == before + 9

    def run_until(worker, condition) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            assert wait_until(condition)
        finally:
            stop.set()
            thread.join()

    # nothing pending: it merges (eight of a tier, the smallest), but it is no quiet time yet
    run_until(indexer.Indexer(session.as_operator("冯涛"), poll=0.02),
              lambda: segments() == before + 9 - search.MERGE_AT_MOST + 1)
    assert segments() == before + 9 - search.MERGE_AT_MOST + 1
    # after QUIET_SECONDS with no entry (here at once), the larger merges: everything below
    # LARGE_MERGE_DOCS documents, the first index's segments too, becomes one segment
    run_until(indexer.Indexer(session.as_operator("冯涛"), poll=0.02, quiet=0.0), lambda: segments() == 1)
    made.append(receive(session, "分段客户9"))
    indexer.Indexer(session.as_operator("冯涛")).run(once=True)  # cron's --once: the entry, then both merges
    assert segments() == 1
    assert sorted(search.find_all(session, "分段客户", role=EVERYONE)) == sorted(made)


def test_applied_entries_are_pruned_after_a_while(session):
    receive(session, "旧变更")
    indexer.catch_up(session)
    with session.store.read() as conn:
        applied = changelog.head(conn)
    with session.store.write() as conn:
        assert changelog.prune(conn, upto=applied, before=changelog.dt.datetime(2000, 1, 1)) == 0  # too recent
        assert changelog.prune(conn, upto=applied, before=changelog.dt.datetime(2999, 1, 1)) >= 1
    with session.store.read() as conn:
        assert changelog.entries(conn, 0) == [] and changelog.head(conn) == applied
    assert search.status(session).fresh


WRITER = """
import datetime as dt, sys
from archive.core.config import open_workspace
from archive.core.session import Session
from archive.window.cases import Applicant, receive
home, count = sys.argv[1], int(sys.argv[2])
with Session(open_workspace(home), operator="王芳", today=dt.date(2026, 9, 28)) as session:
    for n in range(count):
        receive(session, item_code="SJ-XK-003", materials=["M01", "M02", "M03", "M04", "M05", "M06"],
                applicant=Applicant.person(f"杀不死客户{n}", "11010519491231002X", "13800138000"),
                received_on=dt.date(2026, 9, 28))
"""


def test_killing_the_indexer_at_any_moment_loses_nothing(home):
    """kill -9 the indexer process at random moments while a clerk writes; restart it each time."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, str(ROOT / "cli.py"), "indexer", "--home", str(home), "--poll", "0.02"]
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(home), "30"], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True)
    rng = random.Random(13)
    kills = 0
    try:
        while writer.poll() is None or kills < 4:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills += 1
            if kills > 40:
                break
    finally:
        _, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    result = run_cli("indexer", "--once", "--json", "--home", str(home))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lag"]["changes"] == 0 and data["errors"] == 0
    with Session(open_workspace(home)) as session:
        assert len(search.find_all(session, "杀不死客户", role=EVERYONE)) == 30
        assert search.status(session).documents == 30
        assert search.status(session).fresh


def test_indexer_once_reports_what_it_applied_and_the_lag(home):
    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as session:
        receive(session, "一次客户")  # a library write: nothing applied yet
    result = run_cli("indexer", "--once", "--json", "--home", str(home))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entries"] == 1 and data["lag"] == {"changes": 0, "seconds": 0.0} and data["exists"] is True
    result = run_cli("indexer", "--once", "--home", str(home))
    assert result.exit_code == 0 and "已应用 0 项变更；索引尚落后 0 项" in result.output
    assert "合并" not in result.output  # merged by the run before: nothing left to merge
    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as session:
        receive(session, "一次客户二")
    result = run_cli("indexer", "--once", "--home", str(home))  # the entry's segment and the one before
    assert result.exit_code == 0 and "已应用 1 项变更" in result.output
    assert "已合并一次索引分段，用时" in result.stderr


@pytest.mark.parametrize("command", ["indexer", "backup", "restore"])
def test_help_has_an_example(command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    assert "示例：" in result.output and f"archive {command}" in result.output


def test_a_search_still_running_keeps_its_engine_when_the_index_moves_on(session):
    """The server searches in several threads while the indexer adds segments: the engine a
    running search holds must stay readable after a later search opened the new index (it
    used to be closed under it: “mmap closed or invalid” and crashed workers)."""
    receive(session, "并发客户甲")
    indexer.catch_up(session)
    running, _ = search._open_engine(session)
    assert running.frequency("applicant", "并发") >= 1
    receive(session, "并发客户乙")
    indexer.catch_up(session)
    newer, _ = search._open_engine(session)  # the index moved on: a new engine over it
    assert newer is not running
    running._forget()  # the running search reads its segments again: they must still be open
    assert running.frequency("applicant", "并发") >= 1
    assert sorted(search.find_all(session, "并发客户", role=EVERYONE)) != []


def test_searches_in_threads_while_the_index_moves_on_all_answer(session):
    """The web server answers searches in threads while its indexer applies writes: every
    search answers (the engine is used by one search at a time; a replaced one stays open)."""
    for n in range(3):
        receive(session, f"线程检索客户{n}")
    indexer.catch_up(session)
    failures, answers = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                answers.append(search.search(session, "线程检索客户", role=EVERYONE, limit=5).total)
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                failures.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        for n in range(3, 6):
            receive(session, f"线程检索客户{n}")
            indexer.catch_up(session)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert failures == [] and answers and min(answers) >= 3
    assert search.search(session, "线程检索客户", role=EVERYONE).total == 6
