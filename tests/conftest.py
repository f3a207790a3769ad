"""Shared fixtures: every test gets its own workspace under tmp_path."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

# A Monday before the 2026 National Day holiday, so limits cross a real holiday block.
DEMO_DAY = dt.date(2026, 9, 28)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test can touch a real archive: ARCHIVE_HOME always points into tmp_path."""
    monkeypatch.setenv("ARCHIVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARCHIVE_PDF", "never")
    monkeypatch.delenv("ARCHIVE_OPERATOR", raising=False)
    monkeypatch.delenv("ARCHIVE_DB_URL", raising=False)


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory):
    """One initialised sample workspace, copied for each test that needs one (init is slow)."""
    from archive import centre

    home = tmp_path_factory.mktemp("template") / "home"
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


# Valid identity numbers for tests (check digits computed by archive.core.validate).
PERSON_ID = "11010519491231002X"
ORG_CODE = "91350100M000100Y43"


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

