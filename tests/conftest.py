"""Shared fixtures: every test gets its own workspace under tmp_path."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

# A Monday before the 2026 National Day holiday, so limits cross a real holiday block.
DEMO_DAY = dt.date(2026, 9, 28)
# Cheap argon2id parameters: tests hash many passwords on a shared 2-core machine.
CHEAP_HASHING = {"ARCHIVE_PASSWORD_HASH_TIME_COST": "1", "ARCHIVE_PASSWORD_HASH_MEMORY_KIB": "8192"}


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test can touch a real archive: ARCHIVE_HOME always points into tmp_path."""
    monkeypatch.setenv("ARCHIVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARCHIVE_PDF", "never")
    for name, value in CHEAP_HASHING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ARCHIVE_OPERATOR", raising=False)
    monkeypatch.delenv("ARCHIVE_DB_URL", raising=False)


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory):
    """One initialised sample workspace, copied for each test that needs one (init is slow)."""
    from archive import centre

    home = tmp_path_factory.mktemp("template") / "home"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CHEAP_HASHING.items():
            patch.setenv(name, value)
        centre.init(home, sample=True).close()
    return home


@pytest.fixture
def home(_sample_template, tmp_path):
    target = tmp_path / "home"
    shutil.copytree(_sample_template, target)
    return target


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
def _month_template(_sample_template, tmp_path_factory):
    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.supervision import sample

    home = tmp_path_factory.mktemp("month") / "home"
    shutil.copytree(_sample_template, home)
    with Session(open_workspace(home), operator="王芳") as s:
        made = sample.month(s)
    return home, made


@pytest.fixture
def month_home(_month_template, tmp_path):
    """A fresh copy of the workspace with the sample month; returns (home, case numbers by letter)."""
    template, made = _month_template
    home = tmp_path / "home"
    shutil.copytree(template, home)
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

