"""Backups of a centre's workspace, taken while clerks keep working, and restoring them.

``backup(session, dest)`` writes one complete backup into ``dest``:

* the store, as one consistent snapshot: SQLite's online backup API (readers and writers go
  on meanwhile), or ``pg_dump --format=custom`` for PostgreSQL, run inside an exported
  snapshot so that the list of recorded files below is read from the very same state;
* the documents (wherever ``documents_dir`` puts them), the configuration, the seal images
  and the workspace's ``fonts/`` folder when it has one. Files in the volumes tree that the
  snapshot does not record (a volume filed after the snapshot) are left out, so a restored
  workspace verifies clean; half-written temporary files are never copied;
* ``MANIFEST.json``: every file with its size and SHA-256, the store kind and the last
  change-log entry of the snapshot; ``MANIFEST.sha256`` guards the manifest itself.

Layout (format 2): the files' contents are stored once each, by SHA-256, under
``dest/objects/ab/abcd…`` (shared by every backup in ``dest``); each backup is a folder
``dest/<date>/`` holding its manifest and the store's snapshot. Documents are backed up
incrementally: a file whose size, modification and change times and inode are those the
previous backup recorded keeps its manifest entry without being read; only new or changed
files are read (one whose times changed but not its bytes is found equal and stored no
second time). A file whose times are not strictly older than the file system's own clock
at the backup's start (:func:`_clock_threshold`) is recorded without its times, so the next
backup reads it. ``full`` reads every file and writes every object anew. ``keep`` removes
the oldest backups and then the objects no remaining backup names. Restoring and checking
read every file and check its SHA-256. Backups of format 1 (a complete tree of documents
per backup, hard-linked between backups) are still checked and restored.

A backup is written into ``dest/.partial-<name>`` (its new objects too, moved into
``objects/`` once synced) and renamed into place only once it is complete and synced;
``dest/LATEST`` then names it. A backup killed half-way leaves only its partial folder
(removed by the next run) and every earlier backup whole. One backup runs at a time per
``dest`` (an OS file lock, released if the process dies). Everything a backup creates is
its owner's alone (folders 0700, files 0600), whatever the umask: it holds password hashes.

``restore(src, home)`` checks every file of the backup against its manifest as it copies
it into a new workspace and refuses a damaged backup, naming the first bad file (the new
workspace is removed, the database not touched); then it restores the store, migrates it
to this version, verifies the archive's files (:func:`archive.shelf.fixity.verify`) and
builds the search index. ``check(src)`` checks a backup without restoring it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .core import audit
from .core import store as st
from .core.config import CONFIG_NAME, DOCUMENTS, resolve_home
from .core.errors import ArchiveError, InputError, WorkspaceError

FORMAT = 2  # objects by SHA-256 shared by the backups, a manifest per backup
READABLE = (1, 2)  # 1: a tree of documents per backup (hard-linked between backups)
OBJECTS = "objects"
MANIFEST = "MANIFEST.json"
MANIFEST_SUM = "MANIFEST.sha256"
LATEST = "LATEST"
PARTIAL = ".partial-"
LOCK = ".lock"
STORE_FILES = {"sqlite": "store.sqlite", "postgresql": "store.pgdump"}
FOLDERS = ("seals", "fonts")  # copied whole besides the documents
_TEMP_FILE = re.compile(r"^\..+\.tmp$")  # what atomic writes leave while they run
_CHUNK = 1 << 20
PG_BINDIR_ENV = "ARCHIVE_PG_BINDIR"
audit.label_actions({"workspace.backup": "备份工作区", "workspace.restore": "恢复工作区"})


class BackupDamagedError(ArchiveError):
    """A backup whose files do not match its manifest (exit 1)."""


@dataclass(frozen=True)
class BackupReport:
    """What one backup wrote."""

    name: str
    path: str
    store: str
    generation: int
    files: int
    bytes: int
    copied_files: int
    copied_bytes: int
    linked_files: int
    missing: tuple[str, ...] = ()  # recorded files that were not there to copy
    seconds: float = 0.0
    removed: tuple[str, ...] = ()  # older backups removed by --keep
    rehashed_files: int = 0  # linked after reading them: their size or times had changed, not their content

    def to_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "store": self.store, "generation": self.generation,
                "files": self.files, "bytes": self.bytes, "copied_files": self.copied_files,
                "copied_bytes": self.copied_bytes, "linked_files": self.linked_files, "rehashed_files": self.rehashed_files,
                "missing": list(self.missing),
                "seconds": round(self.seconds, 2), "removed": list(self.removed)}


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did, and what the archive check found."""

    home: str
    backup: str
    store: str
    database_url: str
    files: int
    bytes: int
    problems: tuple = ()  # archive.shelf.fixity.Problem
    indexed: int = 0
    seconds: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"home": self.home, "backup": self.backup, "store": self.store,
                "database_url": st.shown_url(self.database_url), "files": self.files, "bytes": self.bytes,
                "problems": [p.to_dict() for p in self.problems], "indexed": self.indexed,
                "seconds": {k: round(v, 2) for k, v in self.seconds.items()}}


# -- helpers --------------------------------------------------------------------------------

def _copy_hashing(source: str, target: str, *, private: bool = True, mtime_ns: int | None = None) -> tuple[str, int]:
    """Copy ``source`` to ``target`` (a new file) and return (SHA-256, size) of what was copied.

    One read of the source: each block is hashed and written from the same buffer (the GIL
    is released while hashing, reading and writing, so a few threads copy at once). A
    ``private`` copy (a backup's object) is 0600 whatever the umask; otherwise the umask
    decides, as for any new file. ``mtime_ns`` sets the copy's modification time.
    """
    digest = hashlib.sha256()
    size = 0
    reader = os.open(source, os.O_RDONLY)
    try:
        writer = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
        try:
            if private:
                os.fchmod(writer, 0o600)
            buffer = bytearray(_CHUNK)
            view = memoryview(buffer)
            while True:
                n = os.readv(reader, [buffer])
                if not n:
                    break
                block = view[:n]
                digest.update(block)
                written = 0
                while written < n:
                    written += os.write(writer, block[written:])
                size += n
            if mtime_ns is not None:
                os.utime(writer, ns=(mtime_ns, mtime_ns))
        finally:
            os.close(writer)
    finally:
        os.close(reader)
    return digest.hexdigest(), size


WORKERS = 4  # files copied and hashed at once (reading, writing and SHA-256 release the GIL)


def _parallel(func, jobs):
    """``func(job)`` for every job, by a few threads, results in the jobs' order."""
    from concurrent.futures import ThreadPoolExecutor

    if len(jobs) < 16:
        yield from map(func, jobs)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield from pool.map(func, jobs, chunksize=8)


def _sha256(path: Path) -> tuple[str, int]:
    with open(path, "rb", buffering=0) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest(), fh.tell()


def _write_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``text`` to ``path`` through a synced temporary file; ``private``: mode 0600
    whatever the umask (a backup's own files)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    with open(fd, "w", encoding="utf-8") as fh:
        if private:
            os.fchmod(fd, 0o600)
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _private_folder(path: Path) -> Path:
    """Make the folder ``path`` (if missing) and leave it its owner's alone (0700), whatever
    the umask: a backup holds every record and the accounts' password hashes."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    os.chmod(path, 0o700)
    return path


def _object(root: str, sha256: str) -> str:
    """Where the object with this SHA-256 lives in the backup folder ``root`` (format 2)."""
    return f"{root}/{OBJECTS}/{sha256[:2]}/{sha256}"


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _sync_filesystem(path: Path) -> None:
    """Flush everything written to the file system holding ``path`` (syncfs(2); sync(2) elsewhere)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _walk(folder) -> list[tuple[str, os.stat_result]]:
    """(path relative to ``folder``, stat) of every regular file under it, sorted, skipping
    temporary files."""
    root = str(folder)
    found = []
    stack = [""]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(os.path.join(root, current) if current else root) as entries:
                for entry in entries:
                    relative = f"{current}/{entry.name}" if current else entry.name
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(relative)
                    elif entry.is_file(follow_symlinks=False) and not _TEMP_FILE.match(entry.name):
                        with contextlib.suppress(FileNotFoundError):
                            found.append((relative, entry.stat(follow_symlinks=False)))
        except (FileNotFoundError, NotADirectoryError):
            continue
    found.sort(key=lambda item: item[0])
    return found


def pg_tool(name: str) -> str:
    """The path of ``pg_dump`` or ``pg_restore``: the newest version Debian installed, or PATH."""
    folder = os.environ.get(PG_BINDIR_ENV)
    if folder and (Path(folder) / name).exists():
        return str(Path(folder) / name)
    found = []
    for path in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"):
        with contextlib.suppress(ValueError):
            found.append((float(path.parent.parent.name), str(path)))
    if found:
        return max(found)[1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise WorkspaceError(f"找不到 PostgreSQL 的 {name}", field="postgresql",
                         hint="安装 Debian 的 postgresql-client 软件包（make deps 会安装 postgresql）")


def _libpq(url: str) -> tuple[list[str], dict]:
    """Connection options for pg_dump/pg_restore from a SQLAlchemy URL (the password in the
    environment, not on the command line)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(st.normalise_url(url))
    args = ["--dbname", parsed.database or ""]
    host = parsed.query.get("host") or parsed.host
    if isinstance(host, tuple):
        host = host[0]
    if host:
        args += ["--host", host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return args, env


def _run_pg(tool: str, args: list[str], env: dict, what: str) -> None:
    try:
        subprocess.run([pg_tool(tool), *args], check=True, capture_output=True, text=True, env=env)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise ArchiveError(f"{what}失败：{detail[-1] if detail else exc}", field="database") from None


def _recorded_paths(conn) -> set[str]:
    """Every file the store records (as recorded: ``documents/…``)."""
    from sqlalchemy import select

    columns = (st.notices.c.path, st.notices.c.pdf_path, st.attachments.c.path, st.volume_items.c.path,
               st.volumes.c.merged_pdf, st.copies.c.path, st.destruction_lists.c.path,
               st.destruction_lists.c.executed_path)
    found: set[str] = set()
    cursor = conn.connection.driver_connection.cursor()  # thousands of rows: the driver's own rows are cheaper
    try:
        for column in columns:
            cursor.execute(str(select(column).compile(dialect=conn.dialect)))
            found.update(value for (value,) in cursor.fetchall() if value)
    finally:
        cursor.close()
    return found


# -- backup ---------------------------------------------------------------------------------

def _make_folders(root: str, paths) -> None:
    """Make under ``root`` every folder the relative ``paths`` need (one mkdir each)."""
    folders = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent and parent not in folders:
            folders.add(parent)
            parent = os.path.dirname(parent)
    for folder in sorted(folders):  # a parent sorts before its children
        with contextlib.suppress(FileExistsError):
            os.mkdir(f"{root}/{folder}")


@contextlib.contextmanager
def _locked(dest: Path):
    import fcntl

    fd = os.open(dest / LOCK, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(fd, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError(f"另一个备份正在写入 {dest}", field="dest", hint="等它完成后再试") from None
        yield


def _complete_backups(dest: Path) -> list[Path]:
    """The complete backups in ``dest``, oldest first."""
    if not dest.is_dir():
        return []
    return sorted(p for p in dest.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists())


def _previous(dest: Path) -> tuple[Path | None, dict]:
    """The newest complete backup and its files by path (for the incremental copy); a backup
    of format 1 does not count (its files are not in ``objects/``: the first backup of
    format 2 reads every file once)."""
    backups = _complete_backups(dest)
    if not backups:
        return None, {}
    previous = backups[-1]
    try:
        manifest = json.loads((previous / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    if manifest.get("format") != FORMAT:
        return None, {}
    return previous, {f["path"]: f for f in manifest.get("files", [])}


def _snapshot_store(session, target: Path) -> tuple[str, int, set[str]]:
    """Write the store's snapshot to ``target``: (store kind, change-log head, recorded paths)."""
    from .core import changelog

    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # 0600 before a byte is in it
    os.chmod(target, 0o600)
    store = session.store
    if store.dialect == "sqlite":
        import sqlite3

        from sqlalchemy.engine import make_url

        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        source = sqlite3.connect(make_url(store.url).database, timeout=st.BUSY_TIMEOUT_SECONDS)
        copy = sqlite3.connect(target, check_same_thread=False)
        snapshot = None
        try:
            copy.execute("PRAGMA synchronous=OFF")  # synced with the rest of the backup, once
            source.backup(copy)  # one step: a consistent snapshot, writers go on (WAL)
            source.close()
            snapshot = create_engine("sqlite://", creator=lambda: copy, poolclass=StaticPool)
            with snapshot.connect() as conn:  # the snapshot's own connection: read what it holds
                return "sqlite", changelog.head(conn), _recorded_paths(conn)
        finally:
            source.close()
            if snapshot is not None:
                snapshot.dispose()
            copy.close()
    # PostgreSQL: pg_dump reads the snapshot this transaction exported, the same state the
    # recorded paths and the change-log head come from.
    with st.translated(store.url), store.engine.connect().execution_options(
            isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            generation = changelog.head(conn)
            recorded = _recorded_paths(conn)
            args, env = _libpq(store.url)
            _run_pg("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot_id}",
                                "--file", str(target), *args], env, "pg_dump 导出数据库")
    return "postgresql", generation, recorded


# -- which files the next backup may trust without reading them ---------------------------
#
# A file's recorded size, times and inode let the next backup keep its entry unread. That
# is only sound when any later write must change them: a write in the same tick of the file
# system's clock as the copy read could leave all four as recorded (the "racy" case of
# git's index). So the times are recorded only for a file whose modification and change
# times are strictly older than the file system's own clock at the backup's start, less
# that clock's granularity: a file is stat-ed and read after that moment, so any later
# write stamps it with a time at least that clock's, which differs from the one recorded.

RACY_NS = 2_000_000_000  # fallback margin against the wall clock, where no clock file could be written


def _granularity_ns(stamp_ns: int) -> int:
    """A safe bound of the time between two distinct file times: the kernel's coarse clock
    tick (file times come from it) or the file system's own resolution, read off the
    trailing zeros of a time it just gave (1 s on ext3, 2 s on FAT, 100 ns on NTFS, …),
    whichever is larger. Over-estimating only makes a few more files be read next time."""
    import sys
    import time

    tick = 10_000_000  # 10 ms where the coarse clock cannot be asked (HZ=100 is the slowest tick)
    coarse = getattr(time, "CLOCK_REALTIME_COARSE", 5 if sys.platform.startswith("linux") else None)
    if coarse is not None:
        with contextlib.suppress(OSError):
            tick = round(time.clock_getres(coarse) * 1e9)
    step = 1
    for unit in (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
                 2_000_000_000):
        if stamp_ns % unit:
            break
        step = unit
    return max(tick, step)


def _clock_threshold(folder: Path) -> tuple[int, int] | None:
    """(device, threshold): a file of that device whose times are strictly older than the
    threshold may be trusted by the next backup. The threshold is the modification time the
    file system gives a file created in ``folder`` now, less its granularity; None when no
    file can be written there (a read-only share)."""
    import secrets

    path = folder / f".backup-clock-{os.getpid()}-{secrets.token_hex(4)}.tmp"  # skipped by _walk
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    try:
        os.write(fd, b"0")
        stamp = os.fstat(fd)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
    reference = min(stamp.st_mtime_ns, stamp.st_ctime_ns)
    return stamp.st_dev, reference - _granularity_ns(reference)


def _stat_fields(stat_result, thresholds: dict[int, int], fallback: int) -> dict:
    """What the next backup compares to decide that a file is unchanged without reading it:
    the change time and inode only for a file settled before the backup's start."""
    fields = {"mtime_ns": stat_result.st_mtime_ns}
    if max(stat_result.st_mtime_ns, stat_result.st_ctime_ns) < thresholds.get(stat_result.st_dev, fallback):
        fields.update(ctime_ns=stat_result.st_ctime_ns, ino=stat_result.st_ino)
    return fields


def _unchanged(before: dict | None, stat_result) -> bool:
    """True when the file's size, times and inode are those the previous backup recorded."""
    return (before is not None and "ctime_ns" in before and before["size"] == stat_result.st_size
            and before["mtime_ns"] == stat_result.st_mtime_ns and before["ctime_ns"] == stat_result.st_ctime_ns
            and before["ino"] == stat_result.st_ino)


def _manifest_text(manifest: dict) -> str:
    """The manifest as JSON: the summary indented, the files on one line (the C encoder
    writes thousands of entries in milliseconds; an indented list is written in Python)."""
    head = {k: v for k, v in manifest.items() if k not in ("files", "missing")}
    return (json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "missing": '
            + json.dumps(manifest["missing"], ensure_ascii=False) + ',\n "files": '
            + json.dumps(manifest["files"], ensure_ascii=False, separators=(",", ":")) + "\n}\n")


def _remove_backup(dest: Path, folder: Path) -> None:
    """Remove one backup: renamed out of sight first, so a run killed meanwhile leaves a
    partial folder (cleared by the next run), never a backup that looks whole and is not."""
    doomed = dest / f"{PARTIAL}removing-{folder.name}"
    os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _collect_garbage(dest: Path) -> int:
    """Remove the objects no complete backup of ``dest`` names; how many. Nothing is removed
    when a manifest cannot be read (better a few objects too many than one too few)."""
    named: set[str] = set()
    for folder in _complete_backups(dest):
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return 0
        if manifest.get("format") == FORMAT:
            named.update(entry["sha256"] for entry in manifest["files"])
    removed = 0
    objects = dest / OBJECTS
    if not objects.is_dir():
        return 0
    for fan in os.scandir(objects):
        if not fan.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(fan.path):
            if entry.name not in named:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def backup(session, dest, *, keep: int | None = None, full: bool = False, progress=None) -> BackupReport:
    """Write a complete backup of the session's workspace into ``dest`` (a new folder there,
    its new file contents in ``dest/objects/``).

    Needs ``workspace.backup`` (a backup holds every record, the accounts' password hashes
    and the audit trail); the installation's superuser on the server's shell has it. The
    backup is recorded in the audit trail.

    A file whose size, modification and change times and inode are those the previous
    backup recorded keeps that backup's entry without being read. A file whose content
    changed while all four stayed the same would be missed: the change time cannot be set
    back, so only a clock set back or a write beneath the file system (or a same-size
    rewrite in place already running when the backup starts) can do that. ``full`` reads
    every file and writes every object anew; restoring or checking a backup checks every
    file's SHA-256 whatever the mode.

    ``keep`` removes the oldest complete backups beyond that many once the new one is in
    place, then the objects none of the remaining ones names. ``progress(done, total,
    label)`` is called once before the store's snapshot and while documents are copied.
    """
    import time

    from .core import access
    from .shelf.fixity import volumes_root

    access.require(session, "workspace.backup")
    started = time.monotonic()
    if keep is not None and keep < 1:
        raise InputError("--keep 至少为 1（保留最新的几份备份）", field="keep")
    dest = Path(dest).expanduser().resolve()
    ws = session.ws
    home = ws.home.resolve()
    if dest == home or home in dest.parents or ws.documents_dir.resolve() in dest.parents:
        raise InputError(f"备份目录 {dest} 在工作区之内，请放到另一块磁盘或另一个目录", field="dest")
    try:
        if not dest.is_dir():
            dest.parent.mkdir(parents=True, exist_ok=True)
            _private_folder(dest)
    except OSError as exc:
        raise InputError(f"无法建立备份目录 {dest}：{exc}", field="dest") from None
    documents = ws.documents_dir.resolve()
    with _locked(dest):
        for stale in dest.glob(PARTIAL + "*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a backup that was killed
        name = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
        while (dest / name).exists():
            name = name.split("~")[0] + f"~{int(time.time() * 1000) % 100000}"
        partial = _private_folder(dest / f"{PARTIAL}{name}")
        staged = _private_folder(partial / OBJECTS)  # new objects, moved into dest/objects once synced
        objects = _private_folder(dest / OBJECTS)
        previous_dir, previous = (None, {}) if full else _previous(dest)

        # The file systems' own clocks, read before anything is stat-ed or read.
        fallback = time.time_ns() - RACY_NS
        thresholds = dict(filter(None, (_clock_threshold(folder) for folder in {home, documents})))
        if progress:
            progress(0, 1, "数据库快照")
        kind, generation, recorded = _snapshot_store(session, partial / "store.tmp")
        store_name = STORE_FILES[kind]
        os.replace(partial / "store.tmp", partial / store_name)
        store_sha, store_size = _sha256(partial / store_name)
        if progress:
            progress(1, 1, "数据库快照")

        # (source, stat, recorded path) of every file to back up.
        jobs = [(str(home / CONFIG_NAME), (home / CONFIG_NAME).stat(), CONFIG_NAME)]
        for folder in FOLDERS:
            jobs += [(f"{home}/{folder}/{relative}", stat_result, f"{folder}/{relative}")
                     for relative, stat_result in _walk(home / folder)]
        volumes = ws.relative(volumes_root(session))
        seen = set()
        for relative, stat_result in _walk(documents):
            recorded_path = f"{DOCUMENTS}/{relative}"
            seen.add(recorded_path)
            if recorded_path.startswith(volumes + "/") and recorded_path not in recorded:
                continue  # filed after the snapshot: the restored store would not know it
            jobs.append((f"{documents}/{relative}", stat_result, recorded_path))
        missing = tuple(sorted(recorded - seen))
        objects_root, staged_root = str(objects), str(staged)
        fans: set[str] = set()

        def stored(sha256: str) -> bool:
            return not full and os.path.exists(f"{objects_root}/{sha256[:2]}/{sha256}")

        def read(job) -> dict | None:
            """Store one file's content (unless ``objects/`` has it already): its manifest
            entry, None if it vanished."""
            source, stat_result, recorded_path = job
            before = previous.get(recorded_path)
            fields = _stat_fields(stat_result, thresholds, fallback)
            try:
                if before is not None and before["size"] == stat_result.st_size \
                        and _sha256(source)[0] == before["sha256"] and stored(before["sha256"]):
                    return {"path": recorded_path, "size": before["size"], "sha256": before["sha256"], **fields,
                            "stored": True}
                temporary = f"{staged_root}/.{id(job)}.tmp"  # the job lives as long as the run
                digest, size = _copy_hashing(source, temporary)
            except FileNotFoundError:
                return None  # removed meanwhile (a write that rolled back)
            if stored(digest):
                os.unlink(temporary)  # the same content is stored already (another file, an earlier backup)
                return {"path": recorded_path, "size": size, "sha256": digest, **fields, "stored": True}
            os.replace(temporary, f"{staged_root}/{digest}")
            return {"path": recorded_path, "size": size, "sha256": digest, **fields}

        # Unchanged files keep their entries unread; the rest are read by threads.
        entries: list[dict | None] = [None] * len(jobs)
        to_read = []
        for position, job in enumerate(jobs):
            before = previous.get(job[2])
            if _unchanged(before, job[1]):
                entries[position] = before
            else:
                to_read.append(position)
        copied_files = copied_bytes = rehashed = 0
        linked = len(jobs) - len(to_read)
        for done, (position, entry) in enumerate(zip(to_read, _parallel(read, [jobs[i] for i in to_read])),
                                                 start=linked + 1):
            if entry is not None:
                if entry.pop("stored", False):
                    linked += 1
                    rehashed += 1
                else:
                    copied_files += 1
                    copied_bytes += entry["size"]
            entries[position] = entry
            if progress and (done % 200 == 0 or done == len(jobs)):
                progress(done, len(jobs), "备份文书")
        if progress and not to_read and jobs:
            progress(len(jobs), len(jobs), "备份文书")
        files = [entry for entry in entries if entry is not None]

        new_objects = os.listdir(staged_root)
        if new_objects:
            _sync_filesystem(partial)  # their bytes on disk before their names appear in objects/
            for digest in new_objects:
                if digest[:2] not in fans:
                    _private_folder(objects / digest[:2])
                    fans.add(digest[:2])
                os.replace(f"{staged_root}/{digest}", f"{objects_root}/{digest[:2]}/{digest}")
        os.rmdir(staged)
        manifest = {
            "format": FORMAT, "created_at": dt.datetime.now().isoformat(timespec="seconds"),
            "workspace": str(home), "store": {"kind": kind, "file": store_name, "size": store_size,
                                              "sha256": store_sha},
            "generation": generation, "previous": previous_dir.name if previous_dir else None, "full": full,
            "files": files, "missing": list(missing),
        }
        text = _manifest_text(manifest)
        _write_atomic(partial / MANIFEST, text, private=True)
        _write_atomic(partial / MANIFEST_SUM, hashlib.sha256(text.encode("utf-8")).hexdigest() + f"  {MANIFEST}\n",
                      private=True)
        _sync_filesystem(partial)  # every object and file on disk before the backup counts as complete
        final = dest / name
        os.replace(partial, final)
        _fsync_dir(dest)
        _write_atomic(dest / LATEST, name + "\n", private=True)
        removed = []
        if keep:
            for old in _complete_backups(dest)[:-keep]:
                if old != final:
                    _remove_backup(dest, old)
                    removed.append(old.name)
            if removed:
                _collect_garbage(dest)
    total = store_size + sum(f["size"] for f in files)
    report = BackupReport(name=name, path=str(final), store=kind, generation=generation, files=len(files) + 1,
                          bytes=total, copied_files=copied_files + 1, copied_bytes=copied_bytes + store_size,
                          linked_files=linked, missing=missing, seconds=time.monotonic() - started,
                          removed=tuple(removed), rehashed_files=rehashed)
    audit.record(session, "workspace.backup", str(final), files=report.files, bytes=report.bytes,
                 copied_files=report.copied_files, linked_files=report.linked_files, generation=generation,
                 full=full, missing=len(missing), removed=list(removed))
    return report


# -- restore --------------------------------------------------------------------------------

def find_backup(src) -> Path:
    """The backup ``src`` names: a backup folder, or a folder of backups (its newest complete one)."""
    src = Path(src).expanduser().resolve()
    if (src / MANIFEST).exists():
        return src
    if not src.is_dir():
        raise InputError(f"找不到备份目录 {src}", field="src")
    with contextlib.suppress(OSError):
        named = src / (src / LATEST).read_text(encoding="utf-8").strip()
        if (named / MANIFEST).exists():
            return named
    backups = _complete_backups(src)
    if not backups:
        raise InputError(f"{src} 中没有完整的备份（每份备份都有 {MANIFEST}）", field="src")
    return backups[-1]


def _manifest(src) -> dict:
    """The manifest of the backup ``src`` names, once its own checksum holds (with ``folder``)."""
    folder = find_backup(src)
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
        expected = (folder / MANIFEST_SUM).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        raise BackupDamagedError(f"备份 {folder} 已损坏：{MANIFEST} 或 {MANIFEST_SUM} 缺失或不可读",
                                 field=MANIFEST) from None
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != expected:
        raise BackupDamagedError(f"备份 {folder} 已损坏：备份清单 {MANIFEST} 被改动过", field=MANIFEST)
    manifest = json.loads(text)
    if manifest.get("format") not in READABLE:
        raise BackupDamagedError(f"备份 {folder} 的格式（{manifest.get('format')}）不是本程序能恢复的", field=MANIFEST,
                                 hint="它大概由更新版本的本系统写成：请用那个版本恢复")
    for entry in manifest["files"]:
        if not _safe_path(entry.get("path")):
            raise BackupDamagedError(f"备份 {folder} 已损坏：备份清单中有不合规的路径“{entry.get('path')}”",
                                     field=MANIFEST)
        if manifest["format"] >= 2 and not _SHA256.match(str(entry.get("sha256"))):
            raise BackupDamagedError(f"备份 {folder} 已损坏：备份清单中文件 {entry['path']} 的 SHA-256 不合规",
                                     field=MANIFEST)
    return dict(manifest, folder=str(folder))


def _source(manifest: dict, entry: dict) -> str:
    """Where a manifest's file is kept: its object (format 2) or its copy in the backup's
    own tree (format 1)."""
    folder = manifest["folder"]
    if manifest["format"] >= 2:
        return _object(os.path.dirname(folder), entry["sha256"])
    return f"{folder}/{entry['path']}"


def _bad(folder: Path, entry: dict, found: tuple[str, int] | None, kept: str = "") -> BackupDamagedError | None:
    """The error for a file whose (SHA-256, size) ``found`` differs from its entry (None:
    missing); ``kept`` is where the backup keeps it, when not under its own name."""
    hint = (f"它存放在 {kept}；" if kept else "") + f"请改用另一份备份（{folder.parent}）"
    if found is None:
        return BackupDamagedError(f"备份已损坏：缺少文件 {entry['path']}", field=entry["path"], hint=hint)
    if found != (entry["sha256"], entry["size"]):
        return BackupDamagedError(f"备份已损坏：文件 {entry['path']} 的内容与备份清单不符", field=entry["path"],
                                  hint=hint)
    return None


def _safe_path(path) -> bool:
    """True for a relative path inside the backup (a manifest never names ``..`` or ``/…``)."""
    return (isinstance(path, str) and bool(path) and not path.startswith("/") and "\\" not in path
            and all(part not in ("", ".", "..") for part in path.split("/")))


def _store_entry(manifest: dict) -> dict:
    store = manifest["store"]
    return {"path": store["file"], "size": store["size"], "sha256": store["sha256"]}


def check(src, *, progress=None) -> dict:
    """Check every file of a backup against its manifest; the manifest, or BackupDamagedError
    naming the first file that is missing or different."""
    manifest = _manifest(src)
    folder = Path(manifest["folder"])
    entries = [_store_entry(manifest)] + manifest["files"]

    def kept(entry) -> str:
        return f"{folder}/{entry['path']}" if entry is entries[0] else _source(manifest, entry)

    def digest(entry):
        try:
            return _sha256(kept(entry))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    for done, (entry, found) in enumerate(zip(entries, _parallel(digest, entries)), start=1):
        error = _bad(folder, entry, found, kept(entry) if manifest["format"] >= 2 and entry is not entries[0] else "")
        if error is not None:
            raise error
        if progress and (done % 200 == 0 or done == len(entries)):
            progress(done, len(entries), "核对备份")
    return manifest


def _empty_database(url: str) -> None:
    st.create_database(url)
    store = st.Store(url)
    try:
        if st.current_revision(store) is not None:
            raise InputError(f"数据库 {st.shown_url(url)} 里已经有数据，只能恢复到空数据库", field="db",
                             hint="新建一个空数据库（createdb），或换一个库名")
    finally:
        store.dispose()


def restore(src, home, *, database_url: str | None = None, progress=None, operator: str = "系统恢复") -> RestoreReport:
    """Restore the backup ``src`` into the new workspace ``home`` and check it.

    Every file is checked against the manifest as it is copied: a damaged backup is
    refused, naming the first bad file, the new workspace removed and the database left
    untouched. ``database_url`` is where a PostgreSQL backup goes (an empty database, created when it
    does not exist); a SQLite backup becomes ``archive.db`` of the new workspace. The store
    is migrated to this version, the archive's files are verified and the search index is
    built. ``progress(done, total, label)`` hears each phase.
    """
    import time

    from .core.config import load_config
    from .core.session import Session
    from .search import index
    from .shelf import fixity

    seconds: dict[str, float] = {}
    mark = time.monotonic()
    home = resolve_home(home)
    existed = home.exists()
    if existed and (not home.is_dir() or any(home.iterdir())):
        raise InputError(f"恢复目标 {home} 已存在且不是空目录，请指定一个新目录", field="home")
    manifest = _manifest(src)
    folder = Path(manifest["folder"])
    kind = manifest["store"]["kind"]
    if kind == "postgresql" and (not database_url or not st.is_postgresql(database_url)):
        raise InputError("这份备份的数据库是 PostgreSQL：请用 --db postgresql+psycopg://… 指定恢复到的空数据库",
                         field="db")
    if kind == "sqlite" and database_url and st.is_postgresql(database_url):
        raise InputError("这份备份的数据库是 SQLite，只能恢复为新工作区内的 archive.db，请去掉 --db", field="db")
    store_entry = _store_entry(manifest)
    try:
        error = _bad(folder, store_entry, _sha256(folder / store_entry["path"]))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        error = _bad(folder, store_entry, None)
    if error is not None:
        raise error

    target_root = str(home)

    def copy(entry):
        try:
            return _copy_hashing(_source(manifest, entry), f"{target_root}/{entry['path']}", private=False,
                                 mtime_ns=entry.get("mtime_ns"))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    home.mkdir(parents=True, exist_ok=True)
    written: dict[str, tuple[str, int]] = {}  # what was copied, checked: verify need not read it again
    try:
        _make_folders(target_root, (entry["path"] for entry in manifest["files"]))
        # Each file is checked against the manifest as it is copied; the first bad one (in
        # the manifest's order) refuses the backup and the new workspace is removed.
        total = len(manifest["files"])
        size = 0
        for done, (entry, found) in enumerate(zip(manifest["files"], _parallel(copy, manifest["files"])), start=1):
            error = _bad(folder, entry, found, _source(manifest, entry) if manifest["format"] >= 2 else "")
            if error is not None:
                raise error
            size += entry["size"]
            written[f"{target_root}/{entry['path']}"] = found
            if progress and (done % 200 == 0 or done == total):
                progress(done, total, "恢复文书")
        seconds["copy"] = time.monotonic() - mark
        mark = time.monotonic()
        config = load_config(home)
        settings = config.setdefault("settings", {})
        settings.pop("documents_dir", None)  # the documents are now in the new workspace
        settings.pop("database_url", None)
        if kind == "postgresql":
            settings["database_url"] = st.normalise_url(database_url)
        _write_atomic(home / CONFIG_NAME, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
        (home / "seals").mkdir(exist_ok=True)
        (home / DOCUMENTS).mkdir(exist_ok=True)
        store_file = folder / store_entry["path"]
        if kind == "sqlite":
            shutil.copy2(store_file, home / "archive.db")
            url = f"sqlite:///{home / 'archive.db'}"
        else:
            url = st.normalise_url(database_url)
            _empty_database(url)
            args, env = _libpq(url)
            _run_pg("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *args,
                                   str(store_file)], env, "pg_restore 恢复数据库")
        size += store_entry["size"]
        st.open_store(url, migrate=True).dispose()
        seconds["store"] = time.monotonic() - mark
    except BaseException:
        if existed:
            for child in home.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        else:
            shutil.rmtree(home, ignore_errors=True)
        raise

    mark = time.monotonic()
    # Restoring is the installation's own work on the server's shell (no account may be
    # usable yet): it checks the files as the superuser, as `archive user …` acts.
    from .core.config import open_workspace

    with Session(open_workspace(home, database_url=url), operator=operator, superuser=True,
                 client="archive restore") as session:
        if progress:
            progress(0, 1, "核验案卷文件")
        report = fixity.verify(session, record=False, known=written)
        seconds["verify"] = time.monotonic() - mark
        mark = time.monotonic()
        if progress:
            progress(0, 1, "建立检索索引")
        index.create_empty(session)
        indexed = index.status(session).documents
        seconds["index"] = time.monotonic() - mark
        audit.record(session, "workspace.restore", str(home), backup=str(folder), files=total + 1, bytes=size,
                     generation=manifest.get("generation"), problems=len(report.problems))
    return RestoreReport(home=str(home), backup=str(folder), store=kind, database_url=url,
                         files=total + 1, bytes=size, problems=report.problems, indexed=indexed, seconds=seconds)
