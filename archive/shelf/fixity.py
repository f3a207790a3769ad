"""Fixity: re-hash every stored file of the archive and report what changed.

Every file a volume holds — its items, its forms (cover, item list, notes sheet and their
earlier versions), its merged PDF — was recorded with its SHA-256 when it was written.
:func:`verify` hashes them again and reports each file that is **changed** (different
bytes), **missing**, or **unexpected** (a file in a volume's folder, or anywhere in the
volumes tree, that no volume records). A volume with a problem is flagged (state
``flagged``) until a later check finds it intact; a summary of each check is kept in the
``verifications`` table (:func:`last`).

Speed: files are hashed with :func:`hashlib.file_digest` (a large buffer, the GIL released
while hashing) by a small pool of threads, so a check runs at about the speed of
``sha256sum`` over the same files, or faster on several cores.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select

from ..core import access
from ..core import store as st
from ..core.errors import NotFoundError
from ..core.session import Session, retrying
from ..core.validate import check_code

PROBLEMS = {"changed": "已被改动", "missing": "缺失", "unexpected": "多余（未登记）",
            "destroying": "销毁未完成（重新执行 archive destroy 完成）"}


@dataclass(frozen=True)
class Problem:
    archival_code: str | None
    path: str
    problem: str  # changed | missing | unexpected

    def to_dict(self) -> dict:
        return {"archival_code": self.archival_code, "path": self.path, "problem": self.problem}


@dataclass(frozen=True)
class Report:
    checked: int
    bytes: int
    volumes: int
    problems: tuple[Problem, ...] = field(default=())
    run: int = 0  # the number of the recorded verification (0 when not recorded)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        """What ``archive verify --json`` prints."""
        return {"checked": self.checked, "problems": [p.to_dict() for p in self.problems]}


def _digest(path: str) -> tuple[str | None, int]:
    try:
        with open(path, "rb", buffering=0) as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
            return digest, fh.tell()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None, 0


def hash_files(paths: list[str], *, workers: int | None = None) -> list[tuple[str | None, int]]:
    """SHA-256 and size of each file (None for a missing one), hashed by a few threads."""
    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    if len(paths) < 8 or workers == 1:
        return [_digest(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_digest, paths, chunksize=16))


def _walk(folder: Path):
    """Every file under ``folder`` (no error if it does not exist)."""
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        yield entry.path
        except (FileNotFoundError, NotADirectoryError):
            continue


def volumes_root(session: Session) -> Path:
    """The folder holding every volume: the fixed part of the ``volume_path`` template."""
    from .scheme import DEFAULT_VOLUME_PATH

    template = (session.ws.data.get("archive") or {}).get("volume_path") or DEFAULT_VOLUME_PATH
    fixed = template.split("{", 1)[0].rstrip("/")
    return session.ws.documents_dir / fixed if fixed else session.ws.documents_dir / "volumes"


CHUNK = 256  # files hashed between two progress reports


def verify(session: Session, codes: list[str] | None = None, *, record: bool = True, progress=None,
           known: dict[str, tuple[str, int]] | None = None) -> Report:
    """Re-hash the stored files of the named volumes (all volumes when none are named).

    Needs ``fixity.verify``; only the volumes the account may see are checked (the files
    of the others are neither counted nor reported). Unknown archival codes are an
    :class:`InputError` (exit 2). With ``record`` the summary is stored and volumes with
    problems are flagged (intact ones that were flagged go back on the shelf).
    ``progress(done, total, label)`` is called as the files are hashed. ``known`` gives
    (SHA-256, size) by absolute path for files whose bytes the caller hashed as it wrote
    them (a restore copies and hashes every file in one pass); they are not read again.
    """
    access.require(session, "fixity.verify")
    codes = [check_code(c, "档号", max_length=100) for c in (codes or [])]
    ws = session.ws
    with session.store.read() as conn:
        query = select(st.volumes.c.id, st.volumes.c.archival_code, st.volumes.c.folder, st.volumes.c.state,
                       st.volumes.c.access, st.volumes.c.security_level, st.volumes.c.fonds)
        if codes:
            query = query.where(st.volumes.c.archival_code.in_(codes))
        every = conn.execute(query).all()
        volumes = [v for v in every if access.visible_to(session, v.access, v.security_level, v.fonds)]
        shown = {v.id for v in volumes}
        hidden = {str(ws.absolute(v.folder)): "" for v in every if v.id not in shown}
        if codes:
            found = {v.archival_code for v in volumes}
            unknown = [c for c in codes if c not in found]
            if unknown:
                raise NotFoundError(f"找不到档号为“{'、'.join(unknown)}”的案卷", field="archival_code",
                                    hint="用 archive volume list 查看已归档的案卷")
        by_id = {v.id: v for v in volumes}
        query = select(st.volume_items.c.volume_id, st.volume_items.c.path, st.volume_items.c.sha256)
        if codes:
            query = query.where(st.volume_items.c.volume_id.in_(list(by_id)))
        files = conn.execute(query).all()
    expected: dict[str, tuple[str, str]] = {}  # absolute path -> (archival code, sha256)
    for volume_id, path, digest in files:
        volume = by_id.get(volume_id)
        if volume is None or volume.state in ("destroyed", "destroying"):
            continue
        expected[str(ws.absolute(path))] = (volume.archival_code, digest)
    paths = list(expected)
    problems: list[Problem] = []
    total = 0
    for start in range(0, len(paths), CHUNK):
        chunk = paths[start:start + CHUNK]
        unread = [path for path in chunk if path not in known] if known else chunk
        hashed = dict(zip(unread, hash_files(unread)))
        for path in chunk:
            digest, size = hashed[path] if path in hashed else known[path]
            code, recorded = expected[path]
            total += size
            if digest is None:
                problems.append(Problem(code, path, "missing"))
            elif digest != recorded:
                problems.append(Problem(code, path, "changed"))
        if progress:
            progress(start + len(chunk), len(paths), expected[chunk[-1]][0])
    # Unexpected files: in a checked volume's folder, or (checking everything) anywhere in
    # the volumes tree outside every volume's recorded files.
    folders = {str(ws.absolute(v.folder)): v.archival_code for v in volumes}
    # A destruction recorded but not finished (the process was stopped while deleting):
    # its files may be partly gone, which is neither loss nor alteration; the destruction
    # list is to be run again.
    destroying = {v.archival_code for v in volumes if v.state == "destroying"}
    problems += [Problem(v.archival_code, str(ws.absolute(v.folder)), "destroying")
                 for v in volumes if v.state == "destroying"]
    roots = list(folders) if codes else [str(volumes_root(session))]
    for root in roots:
        for path in _walk(Path(root)):
            if path in expected:
                continue
            owner = _owner(path, folders)
            if owner in destroying or (owner is None and _owner(path, hidden) is not None):
                continue  # a volume being destroyed, or one this account may not see
            problems.append(Problem(owner, path, "unexpected"))
    problems.sort(key=lambda p: (p.archival_code or "", p.path))
    report = Report(checked=len(paths), bytes=total, volumes=sum(v.state not in ("destroyed", "destroying") for v in volumes),
                    problems=tuple(problems))
    if record:
        report = replace(report, run=_record(session, codes, report, volumes))
    return report


def _flagged_by_verify(conn, code: str) -> bool:
    """True when the volume's latest flag came from a verification (not from a return)."""
    events = st.events.c
    last = conn.execute(select(events.action).where(events.subject == code,
                                                    events.action.in_(("verify_flag", "return")))
                        .order_by(events.id.desc()).limit(1)).scalar()
    return last == "verify_flag"


def _owner(path: str, folders: dict[str, str]) -> str | None:
    current = os.path.dirname(path)
    while current and current not in folders:
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    return folders.get(current)


@retrying
def _record(session: Session, codes: list[str], report: Report, volumes) -> int:
    bad = {p.archival_code for p in report.problems if p.archival_code}
    with session.work() as work:
        number = work.conn.execute(st.verifications.insert().values(
            at=session.now(), operator=session.operator, scope=codes, checked=report.checked, bytes=report.bytes,
            problems=[p.to_dict() for p in report.problems])).inserted_primary_key[0]
        query = select(st.volumes.c.id, st.volumes.c.state)  # the states now, inside the transaction
        if codes:
            query = query.where(st.volumes.c.archival_code.in_(codes))
        states = dict(work.conn.execute(query).all())
        for v in volumes:
            state = states.get(v.id)
            if v.archival_code in bad and state == "on_shelf":
                new = "flagged"
            elif v.archival_code not in bad and state == "flagged" and _flagged_by_verify(work.conn, v.archival_code):
                # Only a flag verify set itself is cleared: a volume flagged at its return (pages
                # short, damage) waits for its inspection whatever its files say.
                new = "on_shelf"
            else:
                continue
            work.conn.execute(st.volumes.update().where(st.volumes.c.id == v.id).values(state=new))
            session.log(work, "verify_flag" if new == "flagged" else "verify_clear", v.archival_code, state=new)
            work.touch("volume", v.archival_code)
    return number


@dataclass(frozen=True)
class Summary:
    at: str
    operator: str
    scope: list
    checked: int
    bytes: int
    problems: list
    id: int = field(default=0, compare=False)

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        del data["id"]
        return data

    def count(self, problem: str) -> int:
        return sum(1 for p in self.problems if p.get("problem") == problem)


def _summary(row) -> Summary:
    return Summary(at=row.at.isoformat(sep=" "), operator=row.operator, scope=list(row.scope), checked=row.checked,
                   bytes=row.bytes, problems=list(row.problems), id=row.id)


def last(session: Session) -> Summary | None:
    """The summary of the most recent verification, or None if there was none."""
    access.require(session, "fixity.verify")
    with session.store.read() as conn:
        row = conn.execute(select(st.verifications).order_by(st.verifications.c.id.desc()).limit(1)).first()
    return None if row is None else _summary(row)


def history(session: Session, *, limit: int = 50) -> list[Summary]:
    """The most recent verifications, newest first."""
    access.require(session, "fixity.verify")
    with session.store.read() as conn:
        rows = conn.execute(select(st.verifications).order_by(st.verifications.c.id.desc())
                            .limit(max(1, min(int(limit), 1000)))).all()
    return [_summary(r) for r in rows]


def run(session: Session, number: int) -> Summary:
    """One recorded verification by its number."""
    access.require(session, "fixity.verify")
    with session.store.read() as conn:
        row = conn.execute(select(st.verifications).where(st.verifications.c.id == int(number))).first()
    if row is None:
        raise NotFoundError(f"没有第{number}次完整性校验的记录", field="run")
    return _summary(row)


def volume_state(session: Session, code: str) -> dict:
    """What the last verifications say of one volume: when it was last checked and its problems then."""
    access.require(session, "fixity.verify")
    with session.store.read() as conn:
        for row in conn.execute(select(st.verifications).order_by(st.verifications.c.id.desc()).limit(200)):
            if row.scope and code not in row.scope:
                continue
            mine = [p for p in row.problems if p.get("archival_code") == code]
            return {"checked_at": row.at.isoformat(sep=" "), "operator": row.operator, "run": row.id,
                    "problems": mine}
    return {"checked_at": None, "operator": None, "run": None, "problems": []}
