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
import os
import shutil
import signal
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
             compiled_on: dt.date, appraisers=(), reviewer="", approver="", witnesses=(), executed_on=None,
             method="") -> dict:
    witnesses = list(witnesses) + ["", ""]
    return {
        "list_no": number, "fonds": {"code": scheme.fonds_code, "name": scheme.fonds_name},
        "as_of": format_cn_date(as_of),
        "rows": [{"number": e.number, "archival_code": e.archival_code, "title": e.title, "year": e.year,
                  "retention": retention_text(e.retention), "pages": e.pages, "opinion": e.opinion} for e in entries],
        "total_volumes": len(entries), "total_pages": sum(e.pages for e in entries),
        "appraisal_opinion": f"经鉴定，以上{len(entries)}卷档案保管期限已满，已无继续保存价值，同意销毁。",
        "appraisers": "、".join(appraisers), "reviewer": reviewer or "",
        "compiled_by": compiled_by, "compiled_on": format_cn_date(compiled_on), "approver": approver or "",
        "approved_on": format_cn_date(executed_on) if executed_on and approver else "",
        "witness_1": witnesses[0], "witness_2": witnesses[1],
        "executed_on": format_cn_date(executed_on) if executed_on else "",
        "method": method or "",
    }


def _render(work, kind_path: Path, context: dict) -> tuple[str, str, str | None]:
    """The list as .docx and, with PDF output, as PDF beside it (PDF/A); their paths and the
    .docx's SHA-256."""
    from ..documents import office
    from ..documents.render import render_document

    session = work.session
    work.track(kind_path)
    render_document("destruction_list", context, kind_path,
                    properties={"title": f"档案销毁清册 第{context['list_no']}号", "subject": "档案销毁清册",
                                "author": context["fonds"]["name"], "description": ""})
    pdf = None
    if office.pdf_enabled(session):
        pdf = work.track(office.converter(session).convert(kind_path, kind_path.with_suffix(".pdf")))
    return (session.ws.relative(kind_path), hashlib.sha256(kind_path.read_bytes()).hexdigest(),
            session.ws.relative(pdf) if pdf else None)


@retrying
def appraise(session: Session, as_of, *, dry_run: bool = False, appraisers=()) -> DestructionList:
    """List the volumes whose retention expired by ``as_of`` and write a draft destruction list.

    Volumes already destroyed or already on a draft list are left out. When nothing has
    expired, no list is written (status ``empty``). ``appraisers`` are the members of the
    appraisal group (鉴定小组); without them the list leaves their line to sign on paper.
    """
    as_of = parse_date(as_of, "--as-of")
    appraisers = tuple(check_text(name, "鉴定小组成员", max_length=50) for name in appraisers or ())
    scheme = load_scheme(session)
    with session.store.read() as conn:
        pending = set()
        for ids in conn.execute(select(st.destruction_lists.c.volume_ids)
                                .where(st.destruction_lists.c.status.in_(("draft", "executing")))).scalars():
            pending.update(ids)
        rows = conn.execute(select(st.volumes).where(st.volumes.c.state.not_in(("destroyed", "destroying")),
                                                     st.volumes.c.retention != "Y")
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
            appraisers=list(appraisers),
        )).inserted_primary_key[0]
        path = _disposal_dir(session) / f"销毁清册-第{number}号-草稿.docx"
        relative, digest, pdf = _render(work, path, _context(
            session, scheme, number=number, as_of=as_of, entries=entries, compiled_by=operator,
            compiled_on=session.today, appraisers=appraisers))
        work.conn.execute(st.destruction_lists.update().where(st.destruction_lists.c.id == number)
                          .values(path=relative, sha256=digest, pdf_path=pdf))
        session.log(work, "appraise", f"销毁清册第{number}号", effective_on=session.today, as_of=as_of.isoformat(),
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
            reviewer: str | None = None, dry_run: bool = False) -> DestructionList:
    """Execute a draft destruction list: remove its volumes' files, mark them destroyed.

    Refused (exit 2) without an approver and two distinct witnesses other than the
    approver, for a list already executed, or while one of its volumes is on loan.

    Files cannot take part in a database transaction, so destruction is recorded before a
    single file goes: the first commit marks the list ``executing`` (with its approver,
    witnesses and method) and its volumes ``destroying``; then the volumes' folders are
    deleted; the second commit marks them ``destroyed`` and writes the executed list. A
    process killed at any moment leaves either nothing done or a recorded, pending
    destruction, which ``verify`` reports and which running ``destroy`` on the same list
    again finishes (with the approver and witnesses recorded the first time).
    """
    approver, witnesses = _people(approver, witnesses)
    method = check_text(method, "销毁方式", required=False, max_length=100) or DEFAULT_METHOD
    reviewer = check_text(reviewer, "档案部门负责人", required=False, max_length=50) or ""
    scheme = load_scheme(session)
    operator = session.operator
    ws = session.ws
    with session.store.read() as conn:
        row = _list_row(conn, number)
        volumes, entries = _entries(conn, row)
    if row.status == "executing":  # an earlier run was interrupted after recording the destruction
        if dry_run:
            return DestructionList(number=row.id, as_of=row.as_of, status="executing", entries=entries,
                                   path=str(ws.absolute(row.path)) if row.path else None, approver=row.approver,
                                   witnesses=tuple(row.witnesses or ()), method=row.method,
                                   executed_at=row.executed_at, dry_run=True)
        return _finish(session, row.id, scheme)
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
    with session.work() as work:
        # The list and its volumes stay locked until the commit: a second execution, or a
        # loan of one of the volumes, waits and then sees them being destroyed.
        st.lock(work.conn, st.destruction_lists, st.destruction_lists.c.id == row.id)
        row = _list_row(work.conn, row.id)
        if row.status != "draft":
            raise StateError(f"第{row.id}号销毁清册已经执行", field="list")
        st.lock(work.conn, st.volumes, st.volumes.c.id.in_(list(row.volume_ids)))
        volumes, entries = _entries(work.conn, row)
        _check_volumes(volumes)
        for v in volumes:
            work.conn.execute(st.volumes.update().where(st.volumes.c.id == v.id).values(
                state="destroying", destruction_list_id=row.id))
        work.conn.execute(st.destruction_lists.update().where(st.destruction_lists.c.id == row.id).values(
            status="executing", approver=approver, witnesses=list(witnesses), method=method,
            executed_at=session.now(), executed_by=operator, reviewer=reviewer or None))
        session.log(work, "destroy_begin", f"销毁清册第{row.id}号", list=row.id, approver=approver,
                    witnesses=list(witnesses), method=method, volumes=[v.archival_code for v in volumes])
        _kill_point("recording")
    _kill_point("recorded")
    return _finish(session, row.id, scheme)


def _finish(session: Session, list_id: int, scheme) -> DestructionList:
    """Delete the files of a list's pending volumes, then record them destroyed (idempotent)."""
    ws = session.ws
    with session.store.read() as conn:
        row = _list_row(conn, list_id)
        pending = conn.execute(select(st.volumes.c.folder).where(
            st.volumes.c.destruction_list_id == row.id, st.volumes.c.state == "destroying")).scalars().all()
    removed_files = removed_bytes = 0
    for folder in pending:
        found = _files(ws.absolute(folder))
        removed_files += len(found)
        removed_bytes += sum(p.stat().st_size for p in found)
        if ws.absolute(folder).exists():
            shutil.rmtree(ws.absolute(folder))
        _kill_point("deleted-one")
    path = _disposal_dir(session) / f"销毁清册-第{row.id}号-已执行.docx"
    # A run killed after writing the executed list but before its commit left it behind,
    # unrecorded: it is this run's to write again.
    path.unlink(missing_ok=True)
    path.with_suffix(".pdf").unlink(missing_ok=True)
    witnesses = tuple(row.witnesses or ())
    with session.work() as work:
        st.lock(work.conn, st.destruction_lists, st.destruction_lists.c.id == row.id)
        row = _list_row(work.conn, row.id)
        if row.status != "executing":  # another process finished it meanwhile
            raise StateError(f"第{row.id}号销毁清册已经执行", field="list")
        volumes, entries = _entries(work.conn, row)
        for v in volumes:
            if v.state != "destroying":
                continue
            work.conn.execute(st.volumes.update().where(st.volumes.c.id == v.id).values(
                state="destroyed", destroyed_at=row.executed_at, destroyed_by=row.executed_by))
            work.conn.execute(st.volume_notes.insert().values(
                volume_id=v.id, kind="destruction", at=row.executed_at, operator=row.executed_by,
                text=f"依据第{row.id}号销毁清册销毁：批准人{row.approver}，监销人{'、'.join(witnesses)}，方式：{row.method}"))
            session.log(work, "destroy", v.archival_code, list=row.id, approver=row.approver,
                        witnesses=list(witnesses), method=row.method)
            work.touch("volume", v.archival_code)
        relative, digest, pdf = _render(work, path, _context(
            session, scheme, number=row.id, as_of=row.as_of, entries=entries, compiled_by=row.created_by,
            compiled_on=_compiled_on(work.conn, row), appraisers=row.appraisers or (), reviewer=row.reviewer or "",
            approver=row.approver, witnesses=witnesses, executed_on=row.executed_at.date(), method=row.method))
        work.conn.execute(st.destruction_lists.update().where(st.destruction_lists.c.id == row.id).values(
            status="executed", executed_path=relative, executed_sha256=digest, executed_pdf_path=pdf))
        _kill_point("before-commit")
    return DestructionList(number=row.id, as_of=row.as_of, status="executed", entries=entries,
                           path=str(ws.absolute(row.path)) if row.path else None, executed_path=str(path),
                           approver=row.approver, witnesses=witnesses, method=row.method, executed_at=row.executed_at,
                           removed_files=removed_files, removed_bytes=removed_bytes)


def pending_lists(session: Session) -> list[int]:
    """Destruction lists recorded as executing whose files or final record are not done yet."""
    with session.store.read() as conn:
        return list(conn.execute(select(st.destruction_lists.c.id)
                                 .where(st.destruction_lists.c.status == "executing")).scalars())


def _kill_point(name: str) -> None:
    """Where the crash tests kill this process (``ARCHIVE_TEST_KILL_AT=destroy:<name>``).

    Only ``tests/test_disposal_crash.py`` sets the variable; it proves that a kill at each
    of these moments leaves the store and the files consistent and that a rerun finishes.
    """
    if os.environ.get("ARCHIVE_TEST_KILL_AT") == f"destroy:{name}":
        os.kill(os.getpid(), signal.SIGKILL)


def _compiled_on(conn, row) -> dt.date:
    """The date the draft list was compiled (the appraisal's effective date)."""
    day = conn.execute(select(st.events.c.effective_on).where(
        st.events.c.action == "appraise", st.events.c.subject == f"销毁清册第{row.id}号")).scalar()
    return day or row.created_at.date()


def _check_volumes(volumes) -> None:
    on_loan = [v.archival_code for v in volumes if v.state == "on_loan"]
    if on_loan:
        raise StateError(f"以下案卷尚未归还，不能销毁：{'、'.join(on_loan)}", field="list", hint="收回后再执行销毁")
    gone = [v.archival_code for v in volumes if v.state in ("destroyed", "destroying")]
    if gone:
        raise StateError(f"以下案卷已经销毁：{'、'.join(gone)}", field="list")


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
