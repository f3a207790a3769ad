"""Backups and restores: consistent while clerks work, incremental, checked, killed half-way."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
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
    kept = next(p for p in _documents(second) if p.startswith("documents/volumes"))
    assert _documents(second)[kept]["sha256"] == _documents(first)[kept]["sha256"]  # one object for both
    assert not any(p.is_file() for p in Path(second.path).rglob("*.docx"))  # the backup's folder holds no copies
    shutil.rmtree(first.path)  # each backup needs only its own folder and the objects
    backup.check(dest)


def test_a_damaged_backup_is_refused_naming_the_first_bad_file(session, archive_with_volumes, tmp_path, test_store):
    dest = tmp_path / "backups"
    report = backup.backup(as_admin(session), dest)
    manifest = json.loads((Path(report.path) / backup.MANIFEST).read_text(encoding="utf-8"))
    victim = next(f["path"] for f in manifest["files"] if f["path"].endswith(".docx"))
    path = _kept(report, victim)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(backup.BackupDamagedError) as err:
        backup.restore(dest, tmp_path / "restored", database_url=test_store.another())
    assert victim in err.value.message and "与备份清单不符" in err.value.message and err.value.exit_code == 1
    assert str(path) in err.value.hint  # where the damaged content is kept
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
        assert len(partial) == 1 and len(list((partial[0] / backup.OBJECTS).iterdir())) >= 150  # new contents
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert (dest / "LATEST").read_text(encoding="utf-8").strip() == first.name
    restored = _restore(test_store, dest, tmp_path / "restored")
    assert restored.ok and Path(restored.backup).name == first.name
    third = backup.backup(as_admin(session), dest)  # the next run clears the remains
    assert not [p for p in dest.iterdir() if p.name.startswith(backup.PARTIAL)]
    assert third.copied_files >= 420
    backup.check(dest)


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
    assert result.exit_code == 0 and "备份完成" in result.output and "与已有备份相同，不再存储" in result.output
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


def _kept(report, path: str) -> Path:
    """Where a backup keeps the content of one of its files (its object)."""
    sha = _documents(report)[path]["sha256"]
    return Path(report.path).parent / backup.OBJECTS / sha[:2] / sha


def _let_the_clock_pass(session):
    """Wait until the file system's clock, less its granularity, is past the change time of
    every file of the workspace: what a nightly backup sees of the day's last writes."""
    home = session.ws.home
    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in home.rglob("*") if p.is_file())
    for _ in range(1000):
        if backup._clock_threshold(home)[1] > newest:
            return
        time.sleep(0.01)
    raise AssertionError("the file system's clock did not move")


def test_unchanged_files_are_linked_without_reading_them_and_changes_are_seen(session, archive_with_volumes,
                                                                             tmp_path):
    dest = tmp_path / "backups"
    _let_the_clock_pass(session)
    first = backup.backup(as_admin(session), dest)
    assert all("ctime_ns" in f for f in _documents(first).values())  # every file settled before the start
    second = backup.backup(as_admin(session), dest)
    assert second.rehashed_files == 0 and second.copied_files == 1  # the database's snapshot alone
    assert second.linked_files == second.files - 1
    docx = sorted(p for p in _documents(second) if p.endswith(".docx"))
    touched, rewritten = (session.ws.absolute(p) for p in docx[:2])
    os.utime(touched)  # new times, same bytes: read again, found stored
    data = bytearray(rewritten.read_bytes())
    before = rewritten.stat()
    data[len(data) // 2] ^= 0xFF  # same size, same inode, the modification time put back: the change time tells
    rewritten.write_bytes(bytes(data))
    os.utime(rewritten, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (rewritten.stat().st_size, rewritten.stat().st_mtime_ns, rewritten.stat().st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    third = backup.backup(as_admin(session), dest)
    assert (third.rehashed_files, third.copied_files) == (1, 2)
    files = _documents(third)
    assert files[docx[0]]["sha256"] == _documents(first)[docx[0]]["sha256"]
    assert files[docx[1]]["sha256"] != _documents(first)[docx[1]]["sha256"] and _kept(third, docx[1]).exists()
    old_object = _kept(first, docx[0])
    inode = old_object.stat().st_ino
    full = backup.backup(as_admin(session), dest, full=True)  # reads everything and writes every object anew
    assert full.linked_files == 0 and full.copied_files == full.files
    assert old_object.stat().st_ino != inode
    backup.check(full.path)
    backup.check(first.path)  # the older backups name the same (rewritten) objects


def test_a_file_changed_as_the_backup_starts_is_read_again_next_time(session, tmp_path):
    """The racy edge: a file written after the backup read the file system's clock is copied
    as it is, but recorded without its times, so the next backup reads it again; once the
    clock has passed it, it is trusted unread."""
    dest = tmp_path / "backups"
    _let_the_clock_pass(session)
    seal = next(p for p in (session.ws.home / "seals").iterdir() if p.is_file())

    def rewrite_a_seal(done, total, label):
        if label == "数据库快照" and done == 0:  # after the clock was read, before any file is looked at
            seal.write_bytes(seal.read_bytes())

    first = backup.backup(as_admin(session), dest, progress=rewrite_a_seal)
    young = f"seals/{seal.name}"
    assert [p for p, f in _documents(first).items() if "ctime_ns" not in f] == [young]
    second = backup.backup(as_admin(session), dest)
    assert (second.rehashed_files, second.copied_files) == (1, 1) and second.linked_files == second.files - 1
    assert "ctime_ns" in _documents(second)[young]  # read after the clock passed it: settled now
    third = backup.backup(as_admin(session), dest)
    assert (third.rehashed_files, third.copied_files) == (0, 1)


def test_a_file_changed_while_the_backup_copies_is_read_again_next_time(session, archive_with_volumes, tmp_path):
    """A file rewritten after the backup looked at it, even with its size and modification
    time put back, has a new change time: the next backup reads it and stores the new bytes."""
    dest = tmp_path / "backups"
    _let_the_clock_pass(session)
    target = {}

    def rewrite_a_document(done, total, label):
        if label == "备份文书" and not target:  # the first backup's documents are being copied
            path = next(p for p in session.ws.documents_dir.rglob("*.docx"))
            before = path.stat()
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
            target["path"] = session.ws.relative(path)

    first = backup.backup(as_admin(session), dest, progress=rewrite_a_document)
    now = hashlib.sha256(session.ws.absolute(target["path"]).read_bytes()).hexdigest()
    assert _documents(first)[target["path"]]["sha256"] != now  # stored as it was when read
    assert "ctime_ns" in _documents(first)[target["path"]]  # settled when looked at: its old times recorded
    second = backup.backup(as_admin(session), dest)
    assert (second.copied_files, second.rehashed_files) == (2, 0)  # the snapshot and the rewritten file
    assert _documents(second)[target["path"]]["sha256"] == now and _kept(second, target["path"]).exists()


def test_the_clock_threshold_is_the_file_systems_own(tmp_path):
    """Files written before the threshold was read are strictly older than it once the clock
    moved on; a file written after it never is."""
    before = tmp_path / "before"
    before.write_text("1", encoding="utf-8")
    for _ in range(1000):
        device, threshold = backup._clock_threshold(tmp_path)
        if threshold > before.stat().st_ctime_ns:
            break
        time.sleep(0.01)
    after = tmp_path / "after"
    after.write_text("2", encoding="utf-8")
    assert device == before.stat().st_dev
    assert "ctime_ns" in backup._stat_fields(before.stat(), {device: threshold}, 0)
    assert "ctime_ns" not in backup._stat_fields(after.stat(), {device: threshold}, 0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".backup-clock")]  # the clock file is gone
    assert backup._granularity_ns(1_000_000_123) >= 1 and backup._granularity_ns(4_000_000_000) >= 2_000_000_000


def test_a_backup_is_its_owners_alone_whatever_the_umask(session, tmp_path):
    old = os.umask(0)
    try:
        first = backup.backup(as_admin(session), tmp_path / "b")
        session.ws.config_path.write_text(session.ws.config_path.read_text(encoding="utf-8") + " ", encoding="utf-8")
        second = backup.backup(as_admin(session), tmp_path / "b")
    finally:
        os.umask(old)
    dest = tmp_path / "b"
    folders = [dest, dest / backup.OBJECTS, Path(first.path), Path(second.path)]
    folders += [p for p in (dest / backup.OBJECTS).iterdir()]
    assert {oct(p.stat().st_mode & 0o777) for p in folders} == {"0o700"}
    files = [p for p in dest.rglob("*") if p.is_file()]
    assert any(p.name == backup.MANIFEST for p in files) and any(p.name == "store.sqlite" or p.suffix == ".pgdump"
                                                                  for p in files)
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}


def test_keep_removes_old_backups_and_the_contents_only_they_named(session, archive_with_volumes, tmp_path):
    dest = tmp_path / "b"
    scratch = session.ws.documents_dir / "registers" / "scratch.txt"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.write_text("第一版", encoding="utf-8")
    first = backup.backup(as_admin(session), dest)
    gone = _kept(first, "documents/registers/scratch.txt")
    scratch.write_text("第二版，更长", encoding="utf-8")
    second = backup.backup(as_admin(session), dest, keep=1)
    assert second.removed == (first.name,) and not Path(first.path).exists()
    assert not gone.exists() and _kept(second, "documents/registers/scratch.txt").exists()
    shared = _kept(second, "config.json")
    assert shared.exists()
    backup.check(dest)
    assert not [p for p in dest.iterdir() if p.name.startswith(backup.PARTIAL)]


def _as_format_1(report) -> Path:
    """The same backup in the layout of format 1 (a tree of copies, as earlier versions
    wrote it), beside it."""
    import hashlib

    folder = Path(report.path)
    old = folder.parent.parent / "old" / folder.name
    old.mkdir(parents=True)
    manifest = json.loads((folder / backup.MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        (old / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_kept(report, entry["path"]), old / entry["path"])
    shutil.copy2(folder / manifest["store"]["file"], old / manifest["store"]["file"])
    text = json.dumps(dict(manifest, format=1), ensure_ascii=False)
    (old / backup.MANIFEST).write_text(text, encoding="utf-8")
    (old / backup.MANIFEST_SUM).write_text(hashlib.sha256(text.encode()).hexdigest() + "  MANIFEST.json\n",
                                           encoding="utf-8")
    return old


def test_backups_of_format_1_are_still_checked_and_restored(session, archive_with_volumes, tmp_path, test_store):
    report = backup.backup(as_admin(session), tmp_path / "b")
    old = _as_format_1(report)
    backup.check(old)
    restored = _restore(test_store, old, tmp_path / "restored")
    assert restored.ok and restored.files == report.files
    victim = next(p for p in _documents(report) if p.endswith(".docx"))
    (old / victim).write_bytes(b"damaged")
    with pytest.raises(backup.BackupDamagedError) as err:
        backup.check(old)
    assert victim in err.value.message
    # A new backup beside a format-1 one reads every file once (nothing of it is in objects/).
    (old.parent / "LATEST").write_text(old.name, encoding="utf-8")
    (old / victim).unlink()
    next_one = backup.backup(as_admin(session), old.parent)
    assert next_one.linked_files == 0 and next_one.copied_files == next_one.files
    backup.check(old.parent)


def test_a_backup_of_an_unknown_format_is_refused_in_chinese(session, tmp_path):
    import hashlib

    report = backup.backup(as_admin(session), tmp_path / "b")
    folder = Path(report.path)
    text = json.dumps(dict(json.loads((folder / backup.MANIFEST).read_text(encoding="utf-8")), format=99))
    (folder / backup.MANIFEST).write_text(text, encoding="utf-8")
    (folder / backup.MANIFEST_SUM).write_text(hashlib.sha256(text.encode()).hexdigest(), encoding="utf-8")
    with pytest.raises(backup.BackupDamagedError) as err:
        backup.restore(folder, tmp_path / "r")
    assert "格式（99）不是本程序能恢复的" in err.value.message and "更新版本" in err.value.hint
    assert not (tmp_path / "r").exists()


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
