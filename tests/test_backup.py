"""Backups and restores: consistent while clerks work, incremental, checked, killed half-way."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import backup
from archive.core.access import BUILT_IN, SUPERUSER_NAME
from archive.core.config import open_workspace
from archive.core.errors import ForbiddenError
from archive.core.session import Session
from archive.search import index as search
from archive.search import indexer
from archive.shelf import fixity, volumes
from archive.window.cases import Applicant
from cli import main

from .conftest import DEMO_DAY, PERSON_ID, at_archive
from .test_cases import make_case
from .test_volumes import make_concluded, make_pdf

ROOT = Path(__file__).resolve().parent.parent
EVERYONE = BUILT_IN["principal"]


def as_admin(session):
    """The system administrator's session (a backup is theirs: it holds the password hashes)."""
    return session.as_operator("冯涛")


def filed(session, name: str) -> str:
    """A case received and concluded at the window, filed by the archive."""
    case_no = make_concluded(session, applicant=Applicant.person(name, PERSON_ID, "13800138000"))
    return volumes.file_case(at_archive(session), case_no).archival_code


@pytest.fixture
def archive_with_volumes(session, tmp_path):
    """Two filed volumes, an open case with a scanned attachment, the index caught up."""
    codes = [filed(session, "备份甲"), filed(session, "备份乙")]
    open_case = make_case(session, applicant=Applicant.person("备份丙", PERSON_ID, "13800138000")).case.case_no
    volumes.attach(session, open_case, make_pdf(tmp_path / "scan.pdf", pages=2), title="营业执照")
    indexer.catch_up(session)
    return codes


def _restore(test_store, dest, target, **kwargs):
    return backup.restore(dest, target, database_url=test_store.another(), **kwargs)


def test_backup_then_restore_gives_the_same_archive(session, archive_with_volumes, tmp_path, test_store):
    dest = tmp_path / "backups"
    report = backup.backup(as_admin(session), dest)
    assert report.store == test_store.kind and report.missing == ()
    assert Path(report.path).parent == dest and (dest / "LATEST").read_text(encoding="utf-8").strip() == report.name
    assert (Path(report.path) / backup.STORE_FILES[test_store.kind]).exists()
    assert report.linked_files == 0 and report.copied_files == report.files
    restored = _restore(test_store, dest, tmp_path / "restored")
    assert restored.ok and restored.problems == ()
    assert restored.indexed == 3  # the search index was built
    with Session(open_workspace(tmp_path / "restored", database_url=restored.database_url), operator="陈静") as copy:
        assert [v.archival_code for v in volumes.list_volumes(copy)] == \
            [v.archival_code for v in volumes.list_volumes(session)]
        assert fixity.verify(copy, record=False).ok
        assert len(search.find_all(copy, "备份", role=EVERYONE)) == 3
        original = sorted(p.relative_to(session.ws.documents_dir) for p in session.ws.documents_dir.rglob("*")
                          if p.is_file())
        assert sorted(p.relative_to(copy.ws.documents_dir) for p in copy.ws.documents_dir.rglob("*")
                      if p.is_file()) == original
        assert (copy.ws.home / "seals").is_dir() and any((copy.ws.home / "seals").iterdir())


def test_a_second_backup_copies_only_what_changed(session, archive_with_volumes, tmp_path):
    dest = tmp_path / "backups"
    first = backup.backup(as_admin(session), dest)
    filed(session, "备份丁")
    second = backup.backup(as_admin(session), dest)
    assert second.name != first.name and second.linked_files > 0
    assert second.copied_files < 15 and second.linked_files + second.copied_files == second.files
    manifest = json.loads((Path(second.path) / backup.MANIFEST).read_text(encoding="utf-8"))
    linked = next(f["path"] for f in manifest["files"] if f["path"].startswith("documents/volumes"))
    assert os.stat(Path(first.path) / linked).st_ino == os.stat(Path(second.path) / linked).st_ino
    shutil.rmtree(first.path)  # each backup stands on its own
    backup.check(dest)


def test_a_damaged_backup_is_refused_naming_the_first_bad_file(session, archive_with_volumes, tmp_path, test_store):
    dest = tmp_path / "backups"
    report = backup.backup(as_admin(session), dest)
    manifest = json.loads((Path(report.path) / backup.MANIFEST).read_text(encoding="utf-8"))
    victim = next(f["path"] for f in manifest["files"] if f["path"].endswith(".docx"))
    path = Path(report.path) / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(backup.BackupDamagedError) as err:
        backup.restore(dest, tmp_path / "restored", database_url=test_store.another())
    assert victim in err.value.message and "与备份清单不符" in err.value.message and err.value.exit_code == 1
    assert not (tmp_path / "restored").exists()  # nothing written
    path.unlink()
    with pytest.raises(backup.BackupDamagedError) as err:
        backup.check(dest)
    assert f"缺少文件 {victim}" in err.value.message
    (Path(report.path) / backup.MANIFEST).write_text(json.dumps(dict(manifest, generation=0)), encoding="utf-8")
    with pytest.raises(backup.BackupDamagedError) as err:
        backup.check(dest)
    assert "备份清单 MANIFEST.json 被改动过" in err.value.message


def test_restore_refuses_a_folder_that_is_not_empty(session, tmp_path):
    dest = tmp_path / "backups"
    backup.backup(as_admin(session), dest)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x", encoding="utf-8")
    with pytest.raises(backup.InputError) as err:
        backup.restore(dest, tmp_path / "busy")
    assert err.value.field == "home" and err.value.exit_code == 2
    with pytest.raises(backup.InputError) as err:
        backup.backup(as_admin(session), session.ws.home / "inside")
    assert err.value.field == "dest"


KILLED = """
import os, sys, time
from archive import backup
from archive.core.config import open_workspace
from archive.core.errors import ForbiddenError
from archive.core.session import Session

def progress(done, total, label):
    if done >= 200:  # half-way through the documents: say so and wait to be killed
        print("copying", flush=True)
        time.sleep(600)

with Session(open_workspace(sys.argv[1]), superuser=True) as session:  # the server's shell
    backup.backup(session, sys.argv[2], progress=progress)
"""


def test_a_backup_killed_half_way_leaves_the_previous_one_whole(session, archive_with_volumes, tmp_path,
                                                               test_store):
    dest = tmp_path / "backups"
    first = backup.backup(as_admin(session), dest)
    for n in range(420):  # enough documents for the killed backup to be in the middle of them
        path = session.ws.documents_dir / "registers" / f"extra-{n:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"第{n}份", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-c", KILLED, str(session.ws.home), str(dest)], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "copying"
        partial = [p for p in dest.iterdir() if p.name.startswith(backup.PARTIAL)]
        assert len(partial) == 1 and any(partial[0].rglob("extra-*.txt"))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert (dest / "LATEST").read_text(encoding="utf-8").strip() == first.name
    restored = _restore(test_store, dest, tmp_path / "restored")
    assert restored.ok and Path(restored.backup).name == first.name
    third = backup.backup(as_admin(session), dest)  # the next run clears the remains
    assert not [p for p in dest.iterdir() if p.name.startswith(backup.PARTIAL)]
    assert third.copied_files >= 420


def test_a_backup_taken_while_clerks_file_cases_restores_clean(session, archive_with_volumes, tmp_path, test_store):
    stop = threading.Event()
    errors = []

    def clerk():
        with Session(open_workspace(session.ws.home), operator="王芳", today=DEMO_DAY) as other:
            n = 0
            while not stop.is_set() and n < 40:
                try:
                    filed(other, f"并发{n}")
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(exc)
                    return
                n += 1

    thread = threading.Thread(target=clerk)
    thread.start()
    try:
        reports = [backup.backup(as_admin(session), tmp_path / "backups") for _ in range(2)]
    finally:
        stop.set()
        thread.join(timeout=300)
    assert errors == []
    restored = _restore(test_store, reports[-1].path, tmp_path / "restored")
    assert restored.ok, restored.problems


def test_documents_may_live_outside_the_workspace(tmp_path, test_store, monkeypatch):
    from archive import centre

    share = tmp_path / "share"
    monkeypatch.setenv("ARCHIVE_DOCUMENTS_DIR", str(share))
    with centre.init(tmp_path / "ws", sample=True, operator="王芳") as s:
        s.today = DEMO_DAY
        code = filed(s, "共享盘")
        stored = volumes.show(s, code)
        assert Path(stored.folder).is_relative_to(share) and not (tmp_path / "ws" / "documents").exists()
        assert fixity.verify(at_archive(s), record=False).ok
        report = backup.backup(as_admin(s), tmp_path / "backups")
    monkeypatch.delenv("ARCHIVE_DOCUMENTS_DIR")
    restored = _restore(test_store, tmp_path / "backups", tmp_path / "restored")
    assert restored.ok and report.missing == ()
    config = json.loads((tmp_path / "restored" / "config.json").read_text(encoding="utf-8"))
    assert "documents_dir" not in config.get("settings", {})
    with Session(open_workspace(tmp_path / "restored", database_url=restored.database_url), operator="陈静") as copy:
        assert Path(volumes.show(copy, code).folder).is_relative_to(tmp_path / "restored" / "documents")


def test_the_backup_and_restore_commands(session, archive_with_volumes, tmp_path, test_store):
    runner = CliRunner()
    home = str(session.ws.home)
    result = runner.invoke(main, ["backup", str(tmp_path / "b"), "--home", home, "--keep", "1", "--json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["store"] == test_store.kind and data["missing"] == [] and data["removed"] == []
    result = runner.invoke(main, ["backup", str(tmp_path / "b"), "--home", home, "--keep", "1"],
                           catch_exceptions=False)
    assert result.exit_code == 0 and "备份完成" in result.output and "以硬链接共用" in result.output
    assert f"已删除较早的备份：{data['name']}" in result.output
    args = ["restore", str(tmp_path / "b"), "--home", str(tmp_path / "r")]
    if test_store.url:
        args += ["--db", test_store.another()]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "核验：全部案卷文件完好" in result.output
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2 and "不是空目录" in result.output


def _trail(session, action):
    with Session(open_workspace(session.ws.home), superuser=True) as su:
        from archive.core import audit

        return audit.entries(su, action=action)


def test_a_backup_is_the_system_administrators_and_is_audited(session, tmp_path):
    with pytest.raises(ForbiddenError) as err:
        backup.backup(session, tmp_path / "b")  # 王芳, a window clerk
    assert "无权备份工作区" in err.value.message and err.value.field == "operator"
    assert not (tmp_path / "b").exists()
    report = backup.backup(as_admin(session), tmp_path / "b")
    [entry] = _trail(session, "workspace.backup")
    assert (entry.actor, entry.role, entry.subject) == ("冯涛", "sysadmin", report.path)
    assert entry.detail["files"] == report.files and entry.outcome == "ok"


def test_the_commands_act_as_the_installation_unless_an_operator_is_named(session, tmp_path, test_store):
    runner = CliRunner()
    home = str(session.ws.home)
    result = runner.invoke(main, ["backup", str(tmp_path / "b"), "--home", home, "--operator", "王芳"])
    assert result.exit_code == 2 and "无权备份工作区" in result.output
    result = runner.invoke(main, ["indexer", "--once", "--home", home, "--operator", "王芳"])
    assert result.exit_code == 2 and "无权运行检索索引进程" in result.output
    result = runner.invoke(main, ["backup", str(tmp_path / "b"), "--home", home, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [entry] = _trail(session, "workspace.backup")
    assert (entry.actor, entry.role, entry.client) == (SUPERUSER_NAME, "superuser", "服务器命令行")
    restored_db = test_store.another() if test_store.url else None
    args = ["restore", str(tmp_path / "b"), "--home", str(tmp_path / "r")] + (["--db", restored_db] if restored_db else [])
    assert runner.invoke(main, args, catch_exceptions=False).exit_code == 0
    with Session(open_workspace(tmp_path / "r", database_url=restored_db), superuser=True) as su:
        from archive.core import audit

        [entry] = audit.entries(su, action="workspace.restore")
        assert entry.role == "superuser" and entry.detail["problems"] == 0
        assert audit.verify(su).ok


def _documents(report) -> dict:
    manifest = json.loads((Path(report.path) / backup.MANIFEST).read_text(encoding="utf-8"))
    return {f["path"]: f for f in manifest["files"]}


def test_unchanged_files_are_linked_without_reading_them_and_changes_are_seen(session, archive_with_volumes,
                                                                             tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "RACY_NS", 0)  # as if every file were older than the backup's clock tick
    dest = tmp_path / "backups"
    first = backup.backup(as_admin(session), dest)
    second = backup.backup(as_admin(session), dest)
    assert second.rehashed_files == 0 and second.copied_files == 1  # the database's snapshot alone
    assert second.linked_files == second.files - 1
    docx = sorted(p for p in _documents(second) if p.endswith(".docx"))
    touched, rewritten = (session.ws.absolute(p) for p in docx[:2])
    os.utime(touched)  # new times, same bytes: read again, linked
    data = bytearray(rewritten.read_bytes())
    before = rewritten.stat()
    data[len(data) // 2] ^= 0xFF  # same size, the modification time put back: the change time tells
    rewritten.write_bytes(bytes(data))
    os.utime(rewritten, ns=(before.st_atime_ns, before.st_mtime_ns))
    third = backup.backup(as_admin(session), dest)
    assert (third.rehashed_files, third.copied_files) == (1, 2)
    files = _documents(third)
    assert os.stat(Path(third.path) / docx[0]).st_ino == os.stat(Path(first.path) / docx[0]).st_ino
    assert os.stat(Path(third.path) / docx[1]).st_ino != os.stat(Path(first.path) / docx[1]).st_ino
    assert files[docx[1]]["sha256"] != _documents(first)[docx[1]]["sha256"]
    full = backup.backup(as_admin(session), dest, full=True)  # reads and copies everything
    assert full.linked_files == 0 and full.copied_files == full.files
    assert os.stat(Path(full.path) / docx[0]).st_ino != os.stat(Path(third.path) / docx[0]).st_ino
    backup.check(full.path)


def test_a_file_changed_as_the_backup_starts_is_read_again_next_time(session, tmp_path):
    dest = tmp_path / "backups"
    first = backup.backup(as_admin(session), dest)  # every file of the fresh workspace is this young
    assert all("mtime_ns" not in f for f in _documents(first).values())
    second = backup.backup(as_admin(session), dest)
    assert second.rehashed_files == second.linked_files == second.files - 1


def test_restore_refuses_a_manifest_naming_a_path_outside_the_backup(session, tmp_path, test_store):
    import hashlib

    report = backup.backup(as_admin(session), tmp_path / "b")
    folder = Path(report.path)
    manifest = json.loads((folder / backup.MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][0]["path"] = "../../outside.txt"
    text = json.dumps(manifest)
    (folder / backup.MANIFEST).write_text(text, encoding="utf-8")
    (folder / backup.MANIFEST_SUM).write_text(hashlib.sha256(text.encode()).hexdigest(), encoding="utf-8")
    with pytest.raises(backup.BackupDamagedError) as err:
        _restore(test_store, folder, tmp_path / "r")
    assert "不合规的路径" in err.value.message and not (tmp_path / "r").exists()
