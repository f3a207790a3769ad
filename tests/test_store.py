"""The store: migrations, counters, row locks, errors and the change log, on SQLite and PostgreSQL."""

import datetime as dt
import threading

import pytest

from archive.core import changelog
from archive.core import store as st
from archive.core.errors import ArchiveError, ConflictError, StoreError, WorkspaceError


def _url(test_store, tmp_path) -> str:
    """This test's own empty database."""
    url = test_store.url or f"sqlite:///{tmp_path / 'db.sqlite'}"
    st.create_database(url)
    return url


def test_migrations_match_the_tables(tmp_path, test_store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = st.open_store(_url(test_store, tmp_path), migrate=True)
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), st.metadata)
    store.dispose()
    assert diffs == []


def test_migrating_twice_changes_nothing(tmp_path, test_store):
    url = _url(test_store, tmp_path)
    st.open_store(url, migrate=True).dispose()
    store = st.open_store(url, migrate=True)
    assert st.current_revision(store) == st.head_revision()
    store.dispose()


@pytest.mark.sqlite_only
def test_sqlite_synchronous_setting_reaches_the_connection(home, monkeypatch):
    from archive.core.config import open_workspace
    from archive.core.session import Session

    for value, expected in (("normal", 1), ("full", 2)):
        monkeypatch.setenv("ARCHIVE_SQLITE_SYNCHRONOUS", value)
        with Session(open_workspace(home)) as session, session.store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected


def test_plain_postgresql_urls_mean_psycopg_3():
    assert st.normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert st.normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert st.normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    assert st.shown_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"


# -- counters --------------------------------------------------------------------------------

def _race(count: int, action) -> tuple[list, list]:
    """Run ``action(n)`` in ``count`` threads released at the same moment: (results, errors)."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run(n):
        barrier.wait()
        try:
            results.append(action(n))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_the_first_numbers_of_a_new_counter_do_not_race(tmp_path, test_store):
    """Eight writers take the first numbers of counters nobody made yet: no error, no gap."""
    url = _url(test_store, tmp_path)
    st.open_store(url, migrate=True).dispose()
    stores = [st.Store(url) for _ in range(8)]

    def take(n):
        with stores[n].write() as conn:
            return [st.next_number(conn, f"race:{i}") for i in range(3)]

    try:
        results, errors = _race(8, take)
    finally:
        for store in stores:
            store.dispose()
    assert errors == []
    for i in range(3):
        assert sorted(r[i] for r in results) == list(range(1, 9))


def test_a_reserved_number_is_the_one_the_counter_gives_next(tmp_path, test_store):
    url = _url(test_store, tmp_path)
    store = st.open_store(url, migrate=True)
    with store.write() as conn:
        assert st.reserve_number(conn, "card") == 1
        assert st.next_number(conn, "card") == 1
        assert st.reserve_number(conn, "card") == 2
        assert st.peek_number(conn, "card") == 2
    store.dispose()


def test_many_rows_are_written_at_once_plain_and_upserted(tmp_path, test_store):
    """execute_many: 1,200 rows inserted (on PostgreSQL by COPY), then 1,200 upserted from a
    generator, half of them new; every row lands once with its sum, and nothing else changes.
    Rows that fail half-way leave nothing behind."""
    from sqlalchemy import func, select

    url = _url(test_store, tmp_path)
    store = st.open_store(url, migrate=True)
    c = st.counters
    if store.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    upsert = insert(c)
    upsert = upsert.on_conflict_do_update(index_elements=[c.c.scope], set_={"value": c.c.value + upsert.excluded.value})
    try:
        with store.write() as conn:
            before = conn.execute(select(func.count()).select_from(c)).scalar()
            assert st.execute_many(conn, c.insert(), c, [{"scope": f"many:{i:04d}", "value": i} for i in range(1200)]) == 1200
            # any iterable: a generator's rows are written as it yields them (COPY on PostgreSQL)
            assert st.execute_many(conn, upsert, c, ({"scope": f"many:{i:04d}", "value": 1} for i in range(600, 1800))) == 1200
            assert st.execute_many(conn, c.insert(), c, ({"scope": f"few:{i}", "value": i} for i in range(3))) == 3
            assert st.execute_many(conn, c.insert(), c, iter([])) == 0
        with store.read() as conn:
            found = dict(conn.execute(select(c.c.scope, c.c.value).where(c.c.scope.like("many:%"))).all())
            assert conn.execute(select(func.count()).select_from(c)).scalar() == before + 1803

        def failing():  # the caller's rows fail half-way, after the first ones were sent
            for i in range(2000):
                if i == 1500:
                    raise ValueError("half-way")
                yield {"scope": f"lost:{i:04d}", "value": i}

        with pytest.raises(ValueError, match="half-way"):
            with store.write() as conn:
                st.execute_many(conn, c.insert(), c, failing())
        with store.read() as conn:  # nothing of it was kept, and the store still answers
            assert conn.execute(select(func.count()).select_from(c).where(c.c.scope.like("lost:%"))).scalar() == 0
            assert conn.execute(select(func.count()).select_from(c)).scalar() == before + 1803
    finally:
        store.dispose()
    assert found == {f"many:{i:04d}": (i if i < 600 else i + 1 if i < 1200 else 1) for i in range(1800)}


@pytest.mark.sqlite_only
def test_a_query_hint_names_the_index_sqlite_uses(tmp_path):
    """``with_hint(table, "INDEXED BY …", "sqlite")`` reaches SQLite (SQLAlchemy's own compiler drops it)."""
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    store = st.open_store(f"sqlite:///{tmp_path / 'db.sqlite'}", migrate=True)
    c = st.cases
    hinted = select(c.c.id).where(c.c.status == "accepted", c.c.due_on < dt.date(2026, 11, 2))
    try:
        with store.read() as conn:
            sql = hinted.with_hint(c, "INDEXED BY ix_cases_status", "sqlite").compile(
                conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "ix_cases_status" in plan
            with pytest.raises(OperationalError, match="no such index"):
                conn.execute(hinted.with_hint(c, "INDEXED BY ix_no_such_index", "sqlite")).all()
    finally:
        store.dispose()


# -- errors ----------------------------------------------------------------------------------

def test_a_database_that_cannot_be_reached_is_a_chinese_error():
    store = st.Store("postgresql+psycopg://archive@127.0.0.1:1/nowhere")
    with pytest.raises(StoreError) as err:
        with store.read():
            pass
    assert "无法连接数据库" in err.value.message and err.value.exit_code == 1
    assert "database_url" in err.value.hint
    store.dispose()


def test_a_malformed_database_url_is_a_chinese_error():
    with pytest.raises(WorkspaceError) as err:
        st.Store("nonsense://")
    assert "数据库地址无效" in err.value.message


@pytest.mark.sqlite_only
def test_a_write_lock_held_too_long_is_a_chinese_error(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "BUSY_TIMEOUT_SECONDS", 0.2)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    holder, waiter = st.open_store(url, migrate=True), st.Store(url)
    try:
        with holder.write() as conn:
            st.next_number(conn, "x")
            with pytest.raises(ArchiveError) as err:
                with waiter.write() as other:
                    st.next_number(other, "x")
        assert "其他操作占用" in err.value.message and err.value.exit_code == 1
    finally:
        holder.dispose()
        waiter.dispose()


@pytest.mark.postgresql_only
def test_a_deadlock_is_retried_and_both_writers_succeed(session, test_store):
    """Two writers lock two rows in opposite orders; PostgreSQL aborts one, which runs again."""
    from archive.core.config import open_workspace
    from archive.core.session import Session, retrying

    with session.store.write() as conn:
        for scope in ("left", "right"):
            st.next_number(conn, scope)
    attempts = []
    turned = threading.Barrier(2)

    @retrying
    def cross(s, first, second):
        attempts.append(first)
        with s.work() as work:
            st.next_number(work.conn, first)
            if len(attempts) <= 2:
                turned.wait(timeout=10)  # both hold their first row before asking for the second
            st.next_number(work.conn, second)
        return first

    sessions = [Session(open_workspace(session.ws.home), operator="王芳") for _ in range(2)]
    try:
        results, errors = _race(2, lambda n: cross(sessions[n], *(("left", "right") if n else ("right", "left"))))
    finally:
        for s in sessions:
            s.close()
    assert errors == [] and sorted(results) == ["left", "right"]
    assert len(attempts) == 3  # one of them ran twice
    with session.store.read() as conn:
        assert st.peek_number(conn, "left") == st.peek_number(conn, "right") == 4


@pytest.mark.postgresql_only
def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(tmp_path, test_store, monkeypatch):
    """The pool pings a connection that waited in it (not one used a moment ago): a server
    that dropped it meanwhile costs the next write nothing."""
    from sqlalchemy import text

    store = st.open_store(_url(test_store, tmp_path), migrate=True)
    try:
        with store.read() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with test_store.server.connect(test_store.database) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [first])
        monkeypatch.setattr(st, "PING_AFTER_IDLE_SECONDS", 0.0)  # (instead of waiting two seconds)
        with store.write() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != first
            st.next_number(conn, "after")
        with store.read() as conn:
            assert st.peek_number(conn, "after") == 2
    finally:
        store.dispose()


def test_a_collision_that_persists_is_a_chinese_error_after_the_retries(session, monkeypatch):
    from archive.core import retry
    from archive.core.session import retrying

    monkeypatch.setattr(retry, "RETRY_DELAY", 0.001)
    runs = []

    @retrying
    def always_collides(s):
        runs.append(1)
        raise ConflictError("与其他用户同时修改了相同的记录（数据库报告死锁），本次操作未生效", field="database")

    with pytest.raises(ConflictError) as err:
        always_collides(session)
    assert len(runs) == retry.RETRY_ATTEMPTS
    assert err.value.exit_code == 1 and f"已自动重试{retry.RETRY_ATTEMPTS - 1}次" in err.value.message


@pytest.mark.postgresql_only
def test_init_creates_a_postgresql_database_that_does_not_exist(tmp_path, test_store, monkeypatch):
    from archive import centre

    url = test_store.another()
    monkeypatch.delenv("ARCHIVE_DB_URL")
    with centre.init(tmp_path / "pg-home", database_url=url) as s:
        assert s.ws.database_url == url and s.store.dialect == "postgresql"
    assert '"database_url": "%s"' % url in (tmp_path / "pg-home" / "config.json").read_text(encoding="utf-8")
    assert not (tmp_path / "pg-home" / "archive.db").exists()


# -- the change log and leases ------------------------------------------------------------

def test_the_change_log_numbers_commits_in_order_without_gaps(session):
    from archive.core.errors import InputError

    with session.store.read() as conn:
        start = changelog.head(conn)
    with session.work() as work:
        work.touch("case", "A1")
        work.touch("case", "A1")
        work.touch("volume", "V1")
    with pytest.raises(InputError):
        with session.work() as work:
            work.touch("case", "B1")
            raise InputError("失败的写入不留下变更记录", field="x")
    with session.work() as work:
        pass  # touched nothing: no entry
    with session.work() as work:
        work.touch("case", "C1")
    with session.store.read() as conn:
        entries = changelog.entries(conn, start)
        lag = changelog.lag(conn, start, now=dt.datetime.now())
    assert [e.seq for e in entries] == [start + 1, start + 2]
    assert [e.changes for e in entries] == [(("case", "A1"), ("volume", "V1")), (("case", "C1"),)]
    assert session.last_change == start + 2 and session.committed == 2
    assert lag.changes == 2 and lag.seconds >= 0


def test_the_first_change_log_entry_makes_its_counter(tmp_path, test_store):
    """A store whose change-log counter has no row yet (PostgreSQL's one-statement append
    then finds none to take a number from) numbers its first entries 1 and 2."""
    store = st.open_store(_url(test_store, tmp_path), migrate=True)
    try:
        with store.write() as conn:
            conn.execute(st.counters.delete().where(st.counters.c.scope == changelog.GENERATION))
            conn.execute(st.change_log.delete())
        with store.write() as conn:
            assert changelog.append(conn, [("case", "A1")]) == 1
        with store.write() as conn:
            assert changelog.append(conn, [("case", "B1")], at=dt.datetime(2026, 3, 2, 9)) == 2
        with store.read() as conn:
            entries = changelog.entries(conn, 0)
            assert changelog.head(conn) == 2
        assert [(e.seq, e.changes) for e in entries] == [(1, (("case", "A1"),)), (2, (("case", "B1"),))]
        assert entries[1].committed_at == dt.datetime(2026, 3, 2, 9)
    finally:
        store.dispose()


@pytest.mark.postgresql_only
def test_reads_leave_no_transaction_open_on_postgresql(tmp_path, test_store):
    """PostgreSQL: a read runs each statement on its own (autocommit: one round trip, no
    BEGIN and COMMIT), a write inside one transaction."""
    from psycopg.pq import TransactionStatus

    store = st.open_store(_url(test_store, tmp_path), migrate=True)
    try:
        with store.read() as conn:
            assert changelog.head(conn) >= 0
            assert conn.connection.driver_connection.info.transaction_status == TransactionStatus.IDLE
        with store.write() as conn:
            assert changelog.head(conn) >= 0
            assert conn.connection.driver_connection.info.transaction_status == TransactionStatus.INTRANS
    finally:
        store.dispose()


def test_concurrent_writers_get_log_numbers_in_commit_order(session):
    from archive.core.config import open_workspace
    from archive.core.session import Session

    sessions = [Session(open_workspace(session.ws.home), operator=f"甲{n}") for n in range(6)]

    def write(n):
        for i in range(5):
            with sessions[n].work() as work:
                work.touch("case", f"{n}-{i}")
        return n

    try:
        _, errors = _race(6, write)
    finally:
        for s in sessions:
            s.close()
    assert errors == []
    with session.store.read() as conn:
        entries = changelog.entries(conn, 0, 10000)
    seqs = [e.seq for e in entries]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and len(seqs) >= 30
    assert sorted(e.changes[0][1] for e in entries[-30:]) == sorted(f"{n}-{i}" for n in range(6) for i in range(5))


def test_a_lease_is_held_by_one_holder_and_lapses_when_not_renewed(session, monkeypatch):
    import time as time_module

    first = changelog.Lease(session.store, "test", seconds=30)
    second = changelog.Lease(session.store, "test", seconds=30)
    assert first.acquire() and not second.acquire()
    assert second.current_holder() == first.holder
    assert first.renew()
    first.release()
    assert second.acquire() and not first.acquire()
    now = time_module.time()
    monkeypatch.setattr(changelog.time, "time", lambda: now + 31)  # the holder stopped renewing
    assert first.acquire()
    assert not second.renew()  # it lapsed and was taken: the old holder must stop
    first.release()


def test_a_lease_renewed_by_its_own_thread_stays_held_until_stopped(session):
    """Lease.renewing keeps a short lease held beyond twice its duration, and stops when told;
    a lease taken over meanwhile turns ``held`` False for the old holder. (The lease is 3 s,
    renewed every second: a renewal may be 2 s late on a busy machine before this fails.)"""
    import time as time_module

    first = changelog.Lease(session.store, "test", seconds=3.0)
    second = changelog.Lease(session.store, "test", seconds=3.0)
    assert first.acquire()
    stop = first.renewing()
    try:
        watch_until = time_module.monotonic() + 7.0  # more than twice the lease's duration
        while time_module.monotonic() < watch_until:
            assert not second.acquire(), "the renewing thread let the lease lapse"
            time_module.sleep(0.25)
        assert first.held and second.current_holder() == first.holder
    finally:
        stop.set()
    deadline = time_module.monotonic() + 30  # bounds below: for a stuck thread, not speed checks
    while not second.acquire():  # no renewal since: it lapses
        assert time_module.monotonic() < deadline, "the lease did not lapse once its renewals stopped"
        time_module.sleep(0.25)
    stolen = first.renewing()
    try:
        while first.held:
            assert time_module.monotonic() < deadline + 30, "the old holder still thinks it holds the lease"
            time_module.sleep(0.05)
    finally:
        stolen.set()
        second.release()


@pytest.mark.sqlite_only  # it starts a PostgreSQL run of its own
@pytest.mark.parametrize("ci, code", [("true", 1), ("", 0)])
def test_a_missing_postgresql_fails_the_run_under_ci_and_skips_it_elsewhere(tmp_path, ci, code):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, CI=ci, ARCHIVE_PG_BINDIR=str(tmp_path / "no-postgresql"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--store", "postgresql",
                             "tests/test_store.py", "-k", "migrating_twice"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == code, result.stdout + result.stderr
    assert "initdb" in result.stdout + result.stderr
