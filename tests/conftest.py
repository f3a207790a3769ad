"""Shared fixtures: every test gets its own workspace under tmp_path, and its own store.

The suite runs on one store at a time: SQLite (the default) or PostgreSQL (``pytest --store
postgresql``, or ARCHIVE_TEST_STORE=postgresql; ``make test`` runs both). For PostgreSQL the
session starts a throwaway server on a loopback port (``tools/pgserver.py``: initdb and
pg_ctl from Debian's postgresql package) and stops it at the end; every test gets a
database of its own, named in ARCHIVE_DB_URL, created by ``archive init`` or copied from the
sample workspace's database. Without PostgreSQL the PostgreSQL run is skipped, except under
CI (CI=true), where it fails.

Markers: ``sqlite_only`` and ``postgresql_only`` for tests that mean something on one store
only; ``store_independent`` for modules that never open a store (run once, on SQLite).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import shutil
import sys
from pathlib import Path

import pytest

from .ci_strict import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401  (a skip under CI fails)

# A Monday before the 2026 National Day holiday, so limits cross a real holiday block.
DEMO_DAY = dt.date(2026, 9, 28)
ROOT = Path(__file__).resolve().parent.parent
STORES = ("sqlite", "postgresql")
SAMPLE_DATABASE = "sample_template"
MONTH_DATABASE = "month_template"
_databases = itertools.count(1)


def pytest_addoption(parser):
    parser.addoption("--store", choices=STORES, default=os.environ.get("ARCHIVE_TEST_STORE") or "sqlite",
                     help="the store the tests run on (default: sqlite, or ARCHIVE_TEST_STORE)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: the test means something on SQLite only")
    config.addinivalue_line("markers", "postgresql_only: the test means something on PostgreSQL only")
    config.addinivalue_line("markers", "store_independent: the test never opens a store; it runs once, on SQLite")


def pytest_report_header(config):
    return f"store: {config.getoption('--store')}"


def pytest_collection_modifyitems(config, items):
    """Leave out the tests that are not meant for this run's store."""
    store = config.getoption("--store")
    unwanted = ("postgresql_only",) if store == "sqlite" else ("sqlite_only", "store_independent")
    kept, dropped = [], []
    for item in items:
        (dropped if any(item.get_closest_marker(m) for m in unwanted) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _store(config) -> str:
    return config.getoption("--store")


def _pgserver():
    sys.path.insert(0, str(ROOT / "tools"))
    import pgserver

    return pgserver


def pytest_sessionstart(session):
    """A PostgreSQL run without PostgreSQL: fail under CI, otherwise end here, saying why."""
    if _store(session.config) != "postgresql":
        return
    pgserver = _pgserver()
    try:
        pgserver.find_bindir()
    except pgserver.PostgresMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.exit(f"CI 要求在 PostgreSQL 上运行测试，但{exc}", returncode=1)
        pytest.exit(f"跳过 PostgreSQL 上的测试：{exc}", returncode=0)


@pytest.fixture(scope="session")
def pg_server(pytestconfig):
    """The PostgreSQL server of this test session (PostgreSQL runs only)."""
    if _store(pytestconfig) != "postgresql":
        pytest.skip("PostgreSQL 专用：以 --store postgresql 运行")
    server = _pgserver().Server.start()
    yield server
    server.stop()


class StoreForTest:
    """The store of one test: ``url`` (None on SQLite: the workspace's archive.db)."""

    def __init__(self, kind: str, server=None, database: str | None = None):
        self.kind = kind
        self.server = server
        self.database = database
        self.extra: list[str] = []

    @property
    def url(self) -> str | None:
        return self.server.url(self.database) if self.server else None

    def another(self) -> str | None:
        """The URL of one more database for this test (a second workspace; restored backups)."""
        if not self.server:
            return None
        name = f"{self.database}_{len(self.extra) + 1}"
        self.extra.append(name)
        return self.server.url(name)

# Cheap argon2id parameters: tests hash many passwords on a shared 2-core machine.
CHEAP_HASHING = {"ARCHIVE_PASSWORD_HASH_TIME_COST": "1", "ARCHIVE_PASSWORD_HASH_MEMORY_KIB": "8192"}


@pytest.fixture(autouse=True)
def test_store(tmp_path, monkeypatch, request):
    """No test can touch a real archive: ARCHIVE_HOME always points into tmp_path, and on
    PostgreSQL ARCHIVE_DB_URL names a database of this test's own (dropped afterwards)."""
    monkeypatch.setenv("ARCHIVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARCHIVE_PDF", "never")
    for name, value in CHEAP_HASHING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ARCHIVE_OPERATOR", raising=False)
    monkeypatch.delenv("ARCHIVE_DB_URL", raising=False)
    monkeypatch.delenv("ARCHIVE_DOCUMENTS_DIR", raising=False)
    if _store(request.config) != "postgresql":
        yield StoreForTest("sqlite")
        return
    server = request.getfixturevalue("pg_server")
    store = StoreForTest("postgresql", server, f"t{next(_databases)}")
    monkeypatch.setenv("ARCHIVE_DB_URL", store.url)
    yield store
    for name in [store.database, *store.extra]:
        server.drop_database(name)


@contextlib.contextmanager
def _database_for_setup(url: str | None):
    """ARCHIVE_DB_URL naming ``url`` (or unset) while a session-wide template is made; the
    address stays out of the template's config.json, so copies follow their test's own."""
    saved = os.environ.pop("ARCHIVE_DB_URL", None)
    if url:
        os.environ["ARCHIVE_DB_URL"] = url
    try:
        yield
    finally:
        os.environ.pop("ARCHIVE_DB_URL", None)
        if saved is not None:
            os.environ["ARCHIVE_DB_URL"] = saved


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory, request):
    """One initialised sample workspace, copied for each test that needs one (init is slow)."""
    from archive import centre

    home = tmp_path_factory.mktemp("template") / "home"
    url = request.getfixturevalue("pg_server").url(SAMPLE_DATABASE) if _store(request.config) == "postgresql" else None
    with _database_for_setup(url), pytest.MonkeyPatch.context() as patch:
        for name, value in CHEAP_HASHING.items():
            patch.setenv(name, value)
        centre.init(home, sample=True).close()
    return home


@pytest.fixture
def home(_sample_template, tmp_path, test_store):
    """A copy of the sample workspace (on PostgreSQL with a copy of its database)."""
    target = tmp_path / "home"
    shutil.copytree(_sample_template, target)
    if test_store.server:
        test_store.server.create_database(test_store.database, template=SAMPLE_DATABASE)
    return target


def drop_trigger(conn, name: str, table: str) -> None:
    """Drop a store trigger (tests that tamper with append-only tables), on either store."""
    from sqlalchemy import text

    on = f" ON {table}" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"DROP TRIGGER {name}{on}"))


def store_contents(home) -> str:
    """A digest of every row of every table of the workspace's store (either store)."""
    import hashlib

    from sqlalchemy import select

    from archive.core import store as st
    from archive.core.config import open_workspace

    store = st.open_store(open_workspace(home).database_url)
    digest = hashlib.sha256()
    try:
        with store.read() as conn:
            for table in st.metadata.sorted_tables:
                key = list(table.primary_key.columns)
                for row in conn.execute(select(table).order_by(*key)):
                    digest.update(repr(tuple(row)).encode("utf-8"))
    finally:
        store.dispose()
    return digest.hexdigest()


@pytest.fixture
def session(home):
    """A session on a fresh sample workspace, operated by 王芳, with 'today' fixed."""
    from archive.core.config import open_workspace
    from archive.core.session import Session

    with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as s:
        yield s


def at_window(session):
    """The session for a test's window steps (receive, conclude): itself when its account may
    receive cases, else the clerk 王芳's — the archive's tests get their cases from the window."""
    from archive.core.access import role_of

    return session if role_of(session).may("case.receive") else session.as_operator("王芳")


def at_archive(session):
    """The session for a test's filing steps: itself when its account may file, else the archivist 陈静's."""
    from archive.core.access import role_of

    return session if role_of(session).may("volume.file") else session.as_operator("陈静")


@pytest.fixture
def archivist(session):
    """The archivist 陈静 (files, verifies, appraises, lends), on the same workspace and day."""
    return session.as_operator("陈静")


# Valid identity numbers for tests (check digits computed by archive.core.validate).
PERSON_ID = "11010519491231002X"
ORG_CODE = "91350100M000100Y43"


TEST_PASSWORD = "Ce-shi-mi-ma-2026!"  # a password that meets the rules, for accounts tests create


def add_account(home, name: str, role: str, *, units=(), must_change: bool = False):
    """Create an account in the workspace at ``home`` as the installation's superuser would."""
    from archive.core import accounts
    from archive.core.config import open_workspace
    from archive.core.session import Session

    with Session(open_workspace(home), superuser=True) as su:
        return accounts.add(su, name, role=role, units=units, password=TEST_PASSWORD, must_change=must_change)


# -- supervision: the sample month (archive.supervision.sample), built once per session ------

@pytest.fixture(scope="session")
def _month_template(_sample_template, tmp_path_factory, request):
    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.supervision import sample

    home = tmp_path_factory.mktemp("month") / "home"
    shutil.copytree(_sample_template, home)
    url = None
    if _store(request.config) == "postgresql":
        url = request.getfixturevalue("pg_server").create_database(MONTH_DATABASE, template=SAMPLE_DATABASE)
    with _database_for_setup(url), Session(open_workspace(home), operator="王芳") as s:
        made = sample.month(s)
    return home, made


@pytest.fixture
def month_home(_month_template, tmp_path, test_store):
    """A fresh copy of the workspace with the sample month; returns (home, case numbers by letter)."""
    template, made = _month_template
    home = tmp_path / "home"
    shutil.copytree(template, home)
    if test_store.server:
        test_store.server.create_database(test_store.database, template=MONTH_DATABASE)
    return home, made


@pytest.fixture
def month(month_home):
    """A session on the sample month's workspace, today = 2 November 2026."""
    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.supervision import sample

    home, made = month_home
    with Session(open_workspace(home), operator="王芳", today=sample.TODAY) as s:
        yield s, made

