"""Disposal: appraisal of volumes whose retention has expired, and their destruction.

Retention is counted in whole years from the 1st of January after the volume's year
(archival practice): a 2026 volume kept ``D10`` is kept through 2036 and enters appraisal
on 1 January 2037. Permanent (``Y``) volumes never do.

:func:`appraise` lists the expired volumes not yet on a destruction list, writes the
destruction list (销毁清册: 序号, 档号, 题名, 年度, 保管期限, 页数, 鉴定意见) as a .docx and records
it as a draft. :func:`destroy` executes a draft list once an approver and two distinct
witnesses (监销人, neither of them the approver) are named: the stored files of its volumes
are removed, each volume stays in the catalogue marked destroyed (who, when, how, which
list) and its archival code is never given out again (volume numbers only ever grow).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..core import store as st
from ..core.errors import InputError, NotFoundError, StateError
from .scheme import load as load_scheme, retention_text, retention_years
from ..core.session import Session, retrying
from ..core.validate import check_positive_int, check_text, format_cn_date, parse_date

DEFAULT_OPINION = "保管期限已满，建议销毁"
DEFAULT_METHOD = "删除全部存储文件（电子文件），保留目录记录"


def expires_on(year: int, retention: str) -> dt.date | None:
    """The last day a volume of ``year`` must be kept; None for permanent retention."""
    years = retention_years(retention)
    return None if years is None else dt.date(year + years, 12, 31)


@dataclass(frozen=True)
class Entry:
    number: int
    archival_code: str
    title: str
    year: int
    retention: str
    pages: int
    expired_on: dt.date | None
    opinion: str
    state: str

    def to_dict(self) -> dict:
        return {"number": self.number, "archival_code": self.archival_code, "title": self.title, "year": self.year,
                "retention": self.retention, "pages": self.pages,
                "expired_on": self.expired_on.isoformat() if self.expired_on else None, "opinion": self.opinion,
                "state": self.state}


@dataclass(frozen=True)
class DestructionList:
    number: int | None
    as_of: dt.date
    status: str  # draft | executed | empty
    entries: tuple[Entry, ...] = ()
    path: str | None = None
    executed_path: str | None = None
    approver: str | None = None
    witnesses: tuple[str, ...] = ()
    method: str | None = None
    executed_at: dt.datetime | None = None
    removed_files: int = 0
    removed_bytes: int = 0
    dry_run: bool = False

    @property
    def total_pages(self) -> int:
        return sum(e.pages for e in self.entries)

    def to_dict(self) -> dict:
        return {
            "list": self.number, "as_of": self.as_of.isoformat(), "status": self.status, "path": self.path,
            "executed_path": self.executed_path, "total_volumes": len(self.entries), "total_pages": self.total_pages,
            "volumes": [e.to_dict() for e in self.entries], "approver": self.approver,
            "witnesses": list(self.witnesses), "method": self.method,
            "executed_at": self.executed_at.isoformat(sep=" ") if self.executed_at else None,
            "removed_files": self.removed_files, "removed_bytes": self.removed_bytes, "dry_run": self.dry_run,
        }


def _disposal_dir(session: Session) -> Path:
    return session.ws.documents_dir / "disposal"


def _context(session: Session, scheme, *, number: int, as_of: dt.date, entries, compiled_by: str,
             compiled_on: dt.date, approver="", witnesses=(), executed_on=None, method="") -> dict:
    return {
        "list_no": number, "fonds": {"code": scheme.fonds_code, "name": scheme.fonds_name},
        "as_of": format_cn_date(as_of),
        "rows": [{"number": e.number, "archival_code": e.archival_code, "title": e.title, "year": e.year,
                  "retention": retention_text(e.retention), "pages": e.pages, "opinion": e.opinion} for e in entries],
        "total_volumes": len(entries), "total_pages": sum(e.pages for e in entries),
        "compiled_by": compiled_by, "compiled_on": format_cn_date(compiled_on), "approver": approver or "",
        "witnesses": "、".join(witnesses), "executed_on": format_cn_date(executed_on) if executed_on else "",
        "method": method or "",
    }


def _render(work, kind_path: Path, context: dict) -> tuple[str, str]:
    from ..documents.render import render_document

    work.track(kind_path)
    render_document("destruction_list", context, kind_path)
    return work.session.ws.relative(kind_path), hashlib.sha256(kind_path.read_bytes()).hexdigest()


@retrying
def appraise(session: Session, as_of, *, dry_run: bool = False) -> DestructionList:
    """List the volumes whose retention expired by ``as_of`` and write a draft destruction list.

    Volumes already destroyed or already on a draft list are left out. When nothing has
    expired, no list is written (status ``empty``).
    """
    as_of = parse_date(as_of, "--as-of")
    scheme = load_scheme(session)
    with session.store.read() as conn:
        pending = set()
        for ids in conn.execute(select(st.destruction_lists.c.volume_ids)
                                .where(st.destruction_lists.c.status == "draft")).scalars():
            pending.update(ids)
        rows = conn.execute(select(st.volumes).where(st.volumes.c.state != "destroyed", st.volumes.c.retention != "Y")
                            .order_by(st.volumes.c.year, st.volumes.c.classification, st.volumes.c.catalogue,
                                      st.volumes.c.volume_no)).all()
    expired = [r for r in rows if r.id not in pending and as_of > expires_on(r.year, r.retention)]
    entries = tuple(Entry(number=i, archival_code=r.archival_code, title=r.title, year=r.year, retention=r.retention,
                          pages=r.pages, expired_on=expires_on(r.year, r.retention), opinion=DEFAULT_OPINION,
                          state=r.state) for i, r in enumerate(expired, start=1))
    if not entries:
        return DestructionList(number=None, as_of=as_of, status="empty", dry_run=dry_run)
    if dry_run:
        return DestructionList(number=None, as_of=as_of, status="draft", entries=entries, dry_run=True)
    operator = session.operator
    with session.work() as work:
        now = session.now()
        number = work.conn.execute(st.destruction_lists.insert().values(
            as_of=as_of, status="draft", volume_ids=[r.id for r in expired], created_at=now, created_by=operator,
        )).inserted_primary_key[0]
        path = _disposal_dir(session) / f"销毁清册-第{number}号-草稿.docx"
        relative, digest = _render(work, path, _context(session, scheme, number=number, as_of=as_of, entries=entries,
                                                        compiled_by=operator, compiled_on=session.today))
        work.conn.execute(st.destruction_lists.update().where(st.destruction_lists.c.id == number)
                          .values(path=relative, sha256=digest))
        session.log(work, "appraise", f"销毁清册第{number}号", as_of=as_of.isoformat(),
                    volumes=[e.archival_code for e in entries])
    return DestructionList(number=number, as_of=as_of, status="draft", entries=entries, path=str(path))


def _list_row(conn, number):
    number = check_positive_int(number, "--list")
    row = conn.execute(select(st.destruction_lists).where(st.destruction_lists.c.id == number)).first()
    if row is None:
        raise NotFoundError(f"没有第{number}号销毁清册", field="list", hint="先运行 archive appraise --as-of 日期 编制销毁清册")
    return row


def _entries(conn, row) -> tuple[list, tuple[Entry, ...]]:
    volumes = {v.id: v for v in conn.execute(select(st.volumes).where(st.volumes.c.id.in_(row.volume_ids)))}
    ordered = [volumes[i] for i in row.volume_ids if i in volumes]
    return ordered, tuple(Entry(number=n, archival_code=v.archival_code, title=v.title, year=v.year,
                                retention=v.retention, pages=v.pages, expired_on=expires_on(v.year, v.retention),
                                opinion=DEFAULT_OPINION, state=v.state) for n, v in enumerate(ordered, start=1))


def show_list(session: Session, number) -> DestructionList:
    with session.store.read() as conn:
        row = _list_row(conn, number)
        _volumes, entries = _entries(conn, row)
    ws = session.ws
    return DestructionList(number=row.id, as_of=row.as_of, status=row.status, entries=entries,
                           path=str(ws.absolute(row.path)) if row.path else None,
                           executed_path=str(ws.absolute(row.executed_path)) if row.executed_path else None,
                           approver=row.approver, witnesses=tuple(row.witnesses or ()), method=row.method,
                           executed_at=row.executed_at)


def _people(approver: str, witnesses) -> tuple[str, tuple[str, ...]]:
    approver = check_text(approver, "批准人", max_length=50)
    names = tuple(check_text(w, "监销人", max_length=50) for w in (witnesses or ()))
    if len(names) < 2:
        raise InputError("销毁档案须有两名监销人：请用 --witness 指定两人", field="witness")
    if len(set(names)) != len(names):
        raise InputError(f"监销人不能重复（收到：{'、'.join(names)}），须为两名不同的人员", field="witness")
    if approver in names:
        raise InputError(f"批准人{approver}不能同时担任监销人", field="witness")
    return approver, names


@retrying
def destroy(session: Session, number, *, approver: str, witnesses, method: str | None = None,
            dry_run: bool = False) -> DestructionList:
    """Execute a draft destruction list: remove its volumes' files, mark them destroyed.

    Refused (exit 2) without an approver and two distinct witnesses other than the
    approver, for a list already executed, or while one of its volumes is on loan. The
    files are moved aside inside the transaction and deleted only after it commits, so a
    failure leaves every volume as it was.
    """
    approver, witnesses = _people(approver, witnesses)
    method = check_text(method, "销毁方式", required=False, max_length=100) or DEFAULT_METHOD
    scheme = load_scheme(session)
    operator = session.operator
    ws = session.ws
    with session.store.read() as conn:
        row = _list_row(conn, number)
        volumes, entries = _entries(conn, row)
    if row.status != "draft":
        raise StateError(f"第{row.id}号销毁清册已于{format_cn_date(row.executed_at.date())}执行，不能再次执行",
                         field="list")
    _check_volumes(volumes)
    files = [p for v in volumes for p in _files(ws.absolute(v.folder))]
    size = sum(p.stat().st_size for p in files)
    if dry_run:
        return DestructionList(number=row.id, as_of=row.as_of, status="draft", entries=entries,
                               path=str(ws.absolute(row.path)) if row.path else None, approver=approver,
                               witnesses=witnesses, method=method, removed_files=len(files), removed_bytes=size,
                               dry_run=True)
    trash = _disposal_dir(session) / f".destroying-{row.id}"
    moved: list[tuple[Path, Path]] = []
    now = session.now()
    try:
        with session.work() as work:
            # The list and its volumes stay locked until the commit: a second execution, or a
            # loan of one of the volumes, waits and then sees them destroyed.
            st.lock(work.conn, st.destruction_lists, st.destruction_lists.c.id == row.id)
            row = _list_row(work.conn, row.id)
            if row.status != "draft":
                raise StateError(f"第{row.id}号销毁清册已经执行", field="list")
            st.lock(work.conn, st.volumes, st.volumes.c.id.in_(list(row.volume_ids)))
            volumes, entries = _entries(work.conn, row)
            _check_volumes(volumes)
            for index, v in enumerate(volumes):
                folder = ws.absolute(v.folder)
                if folder.exists():
                    target = trash / str(index)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folder.rename(target)
                    moved.append((folder, target))
                work.conn.execute(st.volumes.update().where(st.volumes.c.id == v.id).values(
                    state="destroyed", destroyed_at=now, destroyed_by=operator, destruction_list_id=row.id))
                work.conn.execute(st.volume_notes.insert().values(
                    volume_id=v.id, kind="destruction", at=now, operator=operator,
                    text=f"依据第{row.id}号销毁清册销毁：批准人{approver}，监销人{'、'.join(witnesses)}，方式：{method}"))
                session.log(work, "destroy", v.archival_code, list=row.id, approver=approver,
                            witnesses=list(witnesses), method=method)
                work.touch("volume", v.archival_code)
            path = _disposal_dir(session) / f"销毁清册-第{row.id}号-已执行.docx"
            relative, digest = _render(work, path, _context(
                session, scheme, number=row.id, as_of=row.as_of, entries=entries, compiled_by=row.created_by,
                compiled_on=row.created_at.date(), approver=approver, witnesses=witnesses, executed_on=session.today,
                method=method))
            work.conn.execute(st.destruction_lists.update().where(st.destruction_lists.c.id == row.id).values(
                status="executed", approver=approver, witnesses=list(witnesses), method=method, executed_at=now,
                executed_by=operator, executed_path=relative, executed_sha256=digest))
    except BaseException:
        for folder, target in reversed(moved):
            if target.exists() and not folder.exists():
                target.rename(folder)
        if trash.exists() and not any(trash.rglob("*")):
            shutil.rmtree(trash, ignore_errors=True)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    return DestructionList(number=row.id, as_of=row.as_of, status="executed", entries=entries,
                           path=str(ws.absolute(row.path)) if row.path else None, executed_path=str(path),
                           approver=approver, witnesses=witnesses, method=method, executed_at=now,
                           removed_files=len(files), removed_bytes=size)


def _check_volumes(volumes) -> None:
    on_loan = [v.archival_code for v in volumes if v.state == "on_loan"]
    if on_loan:
        raise StateError(f"以下案卷尚未归还，不能销毁：{'、'.join(on_loan)}", field="list", hint="收回后再执行销毁")
    gone = [v.archival_code for v in volumes if v.state == "destroyed"]
    if gone:
        raise StateError(f"以下案卷已经销毁：{'、'.join(gone)}", field="list")


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
