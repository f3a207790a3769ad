"""Faults of the machine get a Chinese message, the right exit code and nothing half-done.

A full disk is a real one: a tmpfs with a size limit, mounted by the test (root only;
skipped elsewhere, a failure under CI=true). A read-only workspace is a real read-only
bind mount. Commands run as a person runs them, in a subprocess.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.session import Session

from .conftest import PERSON_ID

ROOT = Path(__file__).resolve().parent.parent
RECEIVE = ["case", "receive", "--item", "SJ-XK-003", "--applicant", "张三", "--id-number", PERSON_ID,
           "--phone", "13800138000", "--materials", "M01,M02,M03,M04,M05,M06"]


def archive(home, *args, env=None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_OPERATOR="王芳", ARCHIVE_PDF="never")
    environment.update(env or {})
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=environment, capture_output=True,
                          text=True, timeout=300)


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "Dump cache file failed" not in result.stderr


def _need_root():
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("mounting a small file system needs root; CI runs as root")
        pytest.skip("mounting a small file system needs root")


def _mount(args, target: Path):
    result = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"mount failed: {result.stderr}")
        pytest.skip(f"mount failed: {result.stderr}")


@pytest.fixture
def small_disk(tmp_path):
    """``make(size)`` mounts a tmpfs of ``size`` (e.g. "2m") and returns its folder."""
    _need_root()
    mounted = []

    def make(size: str, name: str = "disk") -> Path:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        _mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs"], folder)
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a filler file until the disk says it is full."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 65536
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def counts(home) -> dict:
    with Session(open_workspace(home), operator="测试") as session, session.store.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (st.cases, st.notices, st.counters, st.events)}


def files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "documents").rglob("*") if p.is_file())


# -- a full disk -------------------------------------------------------------------------------

@pytest.mark.sqlite_only  # the store is a file in the workspace's folder only on SQLite
def test_init_on_a_full_disk_leaves_no_half_built_workspace(small_disk):
    disk = small_disk("400k")
    result = archive(disk / "centre", "init", "--sample")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("错误：磁盘空间已满"), result.stderr
    no_traceback(result)
    assert list(disk.iterdir()) == []


@pytest.mark.sqlite_only  # the store is a file in the workspace's folder only on SQLite
def test_init_on_a_full_disk_with_json_says_so_in_json(small_disk):
    import json

    disk = small_disk("400k")
    result = archive(disk / "centre", "init", "--sample", "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["error"]["code"] == "storage"
    assert list(disk.iterdir()) == []


@pytest.mark.sqlite_only  # the store is a file in the workspace's folder only on SQLite
def test_init_in_an_empty_folder_on_a_full_disk_leaves_it_empty(small_disk):
    disk = small_disk("400k")  # the folder made for the workspace is the mount point itself
    result = archive(disk, "init", "--sample")
    assert result.returncode == 1 and "磁盘空间已满" in result.stderr
    no_traceback(result)
    assert disk.is_dir() and list(disk.iterdir()) == []


def test_receive_on_a_full_disk_writes_nothing(small_disk, home):
    disk = small_disk("16m")
    shutil.copytree(home, disk / "home")
    home = disk / "home"
    before, documents = counts(home), files(home)
    filler = fill(disk)
    result = archive(home, *RECEIVE)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "磁盘空间已满" in result.stderr and "提示：腾出磁盘空间后重新执行" in result.stderr
    no_traceback(result)
    filler.unlink()
    assert counts(home) == before and files(home) == documents
    again = archive(home, *RECEIVE)  # with room again, the same command works and takes the first number
    assert again.returncode == 0, again.stderr
    assert "SJ" in again.stdout and "0001" in again.stdout


def test_a_full_index_disk_neither_fails_the_receive_nor_prints_a_traceback(small_disk, home):
    assert archive(home, "reindex", env={"ARCHIVE_OPERATOR": ""}).returncode == 0
    index = home / "index"
    saved = index.with_name("index-saved")
    index.rename(saved)
    index.mkdir()
    disk = small_disk("8m", "index")
    _mount(["--bind", str(disk)], index)
    try:
        for item in saved.iterdir():
            if item.name.startswith("jieba.") and item.name.endswith(".cache"):
                continue  # jieba must try to write its cache again, on a full disk
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, index / item.name)
        filler = fill(index)
        result = archive(home, *RECEIVE)
        assert result.returncode == 0, result.stderr  # the case is received; only the index lags
        no_traceback(result)
        assert "检索索引未能更新" in result.stderr
        filler.unlink()
    finally:
        subprocess.run(["umount", "-l", str(index)], check=False)


# -- a read-only workspace -----------------------------------------------------------------

@pytest.mark.sqlite_only  # the store is a file in the workspace's folder only on SQLite
def test_a_read_only_workspace_is_told_in_chinese(tmp_path, home):
    _need_root()
    view = tmp_path / "readonly"
    view.mkdir()
    _mount(["--bind", str(home)], view)
    try:
        _mount(["-o", "remount,bind,ro"], view)
        for args in (["case", "list"], RECEIVE):
            result = archive(view, *args)
            assert result.returncode == 1, result.stdout + result.stderr
            assert result.stderr.startswith("错误：") and "只读" in result.stderr
            no_traceback(result)
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)
    assert counts(home)["cases"] == 0


# -- a damaged database --------------------------------------------------------------------

@pytest.mark.sqlite_only  # a damaged archive.db file; PostgreSQL keeps its own files
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_database_is_told_in_chinese(home, damage):
    db = home / "archive.db"
    for extra in home.glob("archive.db-*"):
        extra.unlink()
    data = db.read_bytes()
    db.write_bytes(data[:5000] if damage == "truncate" else os.urandom(20000))
    for args in (["case", "list"], RECEIVE, ["case", "list", "--json"]):
        result = archive(home, *args)
        assert result.returncode == 1
        no_traceback(result)
        shown = result.stdout if "--json" in args else result.stderr
        assert "数据库文件已损坏" in shown and "从备份恢复" in shown


# -- input the machine cannot hold --------------------------------------------------------------

@pytest.mark.parametrize("command", [["catalog", "import"], ["calendar", "load"]])
@pytest.mark.parametrize("depth", [100_000, 900])
def test_deeply_nested_json_is_bad_input(home, tmp_path, command, depth):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * depth + "]" * depth)
    before = counts(home)
    result = archive(home, *command, str(deep))
    assert result.returncode == 2
    assert "嵌套层次过深" in result.stderr
    no_traceback(result)
    assert counts(home) == before


def test_an_output_path_that_cannot_be_written_is_bad_input(session, home):
    from archive.shelf import volumes

    from .test_volumes import make_concluded

    volumes.file_case(session.as_operator("陈静"), make_concluded(session))
    for out in ("/proc/x.xlsx", "/proc/x.docx"):
        fmt = out.rsplit(".", 1)[1]
        result = archive(home, "catalogue", "export", "--format", fmt, "--out", out,
                         env={"ARCHIVE_OPERATOR": "陈静"})  # catalogues are the archivist's
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"错误：--out（输出文件）：无法写入“{out}”")
        no_traceback(result)
    result = archive(home, "register", "export", "--out", "/proc/register.xlsx", env={"ARCHIVE_OPERATOR": "陈静"})
    assert result.returncode == 2 and "无法写入" in result.stderr
    no_traceback(result)
