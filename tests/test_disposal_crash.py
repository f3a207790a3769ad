"""Destruction killed at every moment leaves store and files consistent; a rerun finishes.

Each trial runs ``archive destroy`` in a real subprocess that SIGKILLs itself at a named
point (``ARCHIVE_TEST_KILL_AT``, read only by ``disposal._kill_point``), then checks the
invariant: a volume is either untouched (on the shelf with every file), recorded as
being destroyed (``verify`` reports exactly that, no "missing"), or destroyed with no
files left; then runs the same command again and expects the list executed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.core import store as st
from archive.shelf import disposal, fixity, volumes

from .conftest import add_account
from .test_volumes import make_concluded

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["destroy", "--list", "1", "--approver", "赵立新", "--witness", "王芳", "--witness", "李强", "--yes"]


def destroy_cli(home: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_OPERATOR="档案员", ARCHIVE_PDF="never")
    env.pop("ARCHIVE_TEST_KILL_AT", None)
    if kill_at:
        env["ARCHIVE_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *COMMAND], env=env, capture_output=True,
                          text=True, timeout=300)


def states(session) -> dict[str, tuple[str, Path]]:
    with session.store.read() as conn:
        rows = conn.execute(select(st.volumes.c.archival_code, st.volumes.c.state, st.volumes.c.folder)).all()
    return {code: (state, session.ws.absolute(folder)) for code, state, folder in rows}


def list_status(session) -> str:
    with session.store.read() as conn:
        return conn.execute(select(st.destruction_lists.c.status)).scalar_one()


@pytest.fixture
def expired(session):
    """Three expired (D10) volumes on draft destruction list 1, and their files."""
    for _ in range(3):
        volumes.file_case(session, make_concluded(session, decision="denied"))
    assert disposal.appraise(session, "2037-01-01").number == 1
    files = {code: sorted(p for p in folder.rglob("*") if p.is_file())
             for code, (_state, folder) in states(session).items()}
    assert all(len(found) >= 4 for found in files.values())
    return files


def check_consistent(session, files) -> set[str]:
    """Every volume is whole, pending destruction (and verify says so), or gone; returns the states."""
    report = fixity.verify(session, record=False)
    by_code: dict[str, set[str]] = {}
    for problem in report.problems:
        by_code.setdefault(problem.archival_code, set()).add(problem.problem)
    seen = set()
    for code, (state, folder) in states(session).items():
        seen.add(state)
        present = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
        if state == "on_shelf":
            assert present == files[code] and code not in by_code, (code, by_code.get(code))
        elif state == "destroying":
            assert by_code.get(code) == {"destroying"}, (code, by_code.get(code))
            assert set(present) <= set(files[code])
        else:
            assert state == "destroyed" and not present and code not in by_code
    return seen


@pytest.mark.parametrize("point, expect_list, expect_states", [
    ("destroy:recording", "draft", {"on_shelf"}),
    ("destroy:recorded", "executing", {"destroying"}),
    ("destroy:deleted-one", "executing", {"destroying"}),
    ("destroy:before-commit", "executing", {"destroying"}),
])
def test_a_kill_at_any_moment_leaves_a_consistent_archive_and_a_rerun_finishes(session, home, expired, point,
                                                                                 expect_list, expect_states):
    add_account(home, "档案员", "archivist")
    killed = destroy_cli(home, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list_status(session) == expect_list
    assert check_consistent(session, expired) == expect_states
    if point == "destroy:deleted-one":  # one folder went before the kill, the others are whole
        gone = [code for code, (_s, folder) in states(session).items() if not folder.exists()]
        assert len(gone) == 1
    if expect_list == "executing":
        verify = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify"], capture_output=True, text=True,
                                env=dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_OPERATOR="档案员"))
        assert verify.returncode == 1 and "销毁未完成" in verify.stdout and "archive destroy --list 1" in verify.stdout
        assert "缺失" not in verify.stdout and "Traceback" not in verify.stderr
    finished = destroy_cli(home)
    assert finished.returncode == 0, finished.stderr
    assert list_status(session) == "executed"
    assert check_consistent(session, expired) == {"destroyed"}
    assert fixity.verify(session, record=False).ok
    executed = disposal.show_list(session, 1)
    assert executed.approver == "赵立新" and executed.witnesses == ("王芳", "李强")
    assert Path(executed.executed_path).is_file()
    again = destroy_cli(home)
    assert again.returncode == 2 and "已于" in again.stderr


def test_a_pending_list_is_not_appraised_again(session, expired):
    with session.work() as work:  # the state a killed run leaves after its first commit
        work.conn.execute(st.destruction_lists.update().values(status="executing", approver="赵立新",
                                                                witnesses=["王芳", "李强"], method="删除",
                                                                executed_at=session.now(), executed_by="档案员"))
        work.conn.execute(st.volumes.update().values(state="destroying", destruction_list_id=1))
    assert disposal.appraise(session, "2037-01-01").status == "empty"
    assert disposal.pending_lists(session) == [1]
