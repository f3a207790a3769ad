"""Disposal: appraisal of volumes whose retention has expired, and their destruction.

Retention is counted in whole years from the 1st of January after the volume's year
(archival practice): a 2026 volume kept ``D10`` is kept through 2036 and enters appraisal
on 1 January 2037. Permanent (``Y``) volumes never do.

:func:`appraise` (``disposal.appraise``, the archivist) lists the expired volumes not yet on a
destruction list, writes the destruction list (销毁清册: 序号, 档号, 题名, 年度, 保管期限, 页数,
鉴定意见) as a .docx and records it as a draft. Who approves and who watches are accounts,
each acting in their own session — typed names are not identity:

1. :func:`approve` — an account holding ``disposal.approve`` (the archive head) approves the list;
2. :func:`witness` — two different accounts holding ``disposal.witness``, neither of them the
   approver, each confirm as witness (监销人); the second confirmation executes the list.

Executing removes the stored files of its volumes; each volume stays in the catalogue
marked destroyed (who, when, how, which list: the tombstone) and its archival code is never
given out again (volume numbers only ever grow). :func:`destroy` finishes a destruction a
stopped process left half done.
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

from ..core import access
from ..core import store as st
from ..core.errors import ForbiddenError, NotFoundError, StateError
from .scheme import load as load_scheme, retention_text, retention_years
from ..core.session import Session, retrying
from ..core.validate import check_positive_int, check_text, format_cn_date, parse_date

DEFAULT_OPINION = "保管期限已满，建议销毁"
STATUS_TEXT = {"draft": "草稿", "executing": "销毁中（未完成）", "executed": "已销毁", "empty": "无到期案卷"}
WITNESSES = 2
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
    approved_at: dt.datetime | None = None
    confirmed: tuple[tuple[str, dt.datetime], ...] = ()  # witnesses who confirmed, and when
    created_by: str | None = None
    created_at: dt.datetime | None = None

    @property
    def status_text(self) -> str:
        if self.status == "draft":
            if not self.approver:
                return "待批准"
            return f"已批准，待监销确认（{len(self.confirmed)}/2）"
        return STATUS_TEXT.get(self.status, self.status)

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
            "approved_at": self.approved_at.isoformat(sep=" ") if self.approved_at else None,
            "confirmed": [{"witness": w, "at": at.isoformat(sep=" ")} for w, at in self.confirmed],
            "status_text": self.status_text,
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
    scheme = load_scheme(session)
    access.require(session, "disposal.appraise", fonds=scheme.fonds_code)  # the permission first, then the input
    as_of = parse_date(as_of, "--as-of")
    appraisers = tuple(check_text(name, "鉴定小组成员", max_length=50) for name in appraisers or ())
    with session.store.read() as conn:
        pending = set()
        for ids in conn.execute(select(st.destruction_lists.c.volume_ids)
                                .where(st.destruction_lists.c.status.in_(("draft", "executing")))).scalars():
            pending.update(ids)
        rows = conn.execute(select(st.volumes).where(st.volumes.c.state.not_in(("destroyed", "destroying")),
                                                     st.volumes.c.retention != "Y")
                            .order_by(st.volumes.c.year, st.volumes.c.classification, st.volumes.c.catalogue,
                                      st.volumes.c.volume_no)).all()
    # Only what the appraiser may see: a volume above their clearance is appraised by someone cleared for it.
    expired = [r for r in rows if r.id not in pending and as_of > expires_on(r.year, r.retention)
               and access.visible_to(session, r.access, r.security_level, r.fonds)]
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


def _locked_list(conn, number):
    """The list's row and volumes, the row locked until the commit (on PostgreSQL): an approval
    and two witnesses' confirmations arriving at once are taken one after the other."""
    row = _list_row(conn, number)
    st.lock(conn, st.destruction_lists, st.destruction_lists.c.id == row.id)
    row = _list_row(conn, row.id)
    return row, _entries(conn, row)[0]


PARTICIPANTS = ("disposal.appraise", "disposal.approve", "disposal.witness")


def _participant(session: Session) -> None:
    """Destruction lists are read by those who compile, approve or witness them."""
    role = access.role_of(session)
    if not any(role.may(a) for a in PARTICIPANTS):
        access.require(session, "disposal.appraise")  # raises, naming the permission


def _confirmed(conn, list_id: int) -> tuple[tuple[str, dt.datetime], ...]:
    return tuple(conn.execute(select(st.destruction_witnesses.c.account, st.destruction_witnesses.c.at)
                              .where(st.destruction_witnesses.c.list_id == list_id)
                              .order_by(st.destruction_witnesses.c.id)).all())


def _value(session: Session, conn, row, entries) -> DestructionList:
    ws = session.ws
    return DestructionList(number=row.id, as_of=row.as_of, status=row.status, entries=entries,
                           path=str(ws.absolute(row.path)) if row.path else None,
                           executed_path=str(ws.absolute(row.executed_path)) if row.executed_path else None,
                           approver=row.approved_by or row.approver, witnesses=tuple(row.witnesses or ()),
                           method=row.method, executed_at=row.executed_at, approved_at=row.approved_at,
                           confirmed=_confirmed(conn, row.id), created_by=row.created_by, created_at=row.created_at)


def _all_visible(session: Session, volumes) -> bool:
    return all(access.visible_to(session, v.access, v.security_level, v.fonds) for v in volumes)


def show_list(session: Session, number) -> DestructionList:
    """One destruction list (for those who compile, approve or witness lists).

    Entries the account may not see are left out; approving or witnessing such a list is refused.
    """
    _participant(session)
    with session.store.read() as conn:
        row = _list_row(conn, number)
        volumes, entries = _entries(conn, row)
        visible = {v.archival_code for v in volumes if access.visible_to(session, v.access, v.security_level, v.fonds)}
        return _value(session, conn, row, tuple(e for e in entries if e.archival_code in visible))


def lists(session: Session) -> list[DestructionList]:
    """Every destruction list, newest first, without their entries (counts only)."""
    _participant(session)
    with session.store.read() as conn:
        rows = conn.execute(select(st.destruction_lists).order_by(st.destruction_lists.c.id.desc())).all()
        out = []
        for row in rows:
            volumes, entries = _entries(conn, row)
            visible = {v.archival_code for v in volumes
                       if access.visible_to(session, v.access, v.security_level, v.fonds)}
            out.append(_value(session, conn, row, tuple(e for e in entries if e.archival_code in visible)))
    return out


@retrying
def approve(session: Session, number, *, method: str | None = None, reviewer: str | None = None) -> DestructionList:
    """Approve a draft destruction list as the acting account (needs ``disposal.approve``).

    The approver must be able to see every volume on the list; the method of destruction
    (default: the files deleted, the catalogue record kept) and the archive department's
    head who reviewed the list (档案部门负责人, printed on the executed list) are fixed with
    the approval.
    """
    scheme = load_scheme(session)
    access.require(session, "disposal.approve", fonds=scheme.fonds_code)
    method = check_text(method, "销毁方式", required=False, max_length=100) or DEFAULT_METHOD
    reviewer = check_text(reviewer, "档案部门负责人", required=False, max_length=50) or None
    me = session.operator
    with session.work() as work:
        row, volumes = _locked_list(work.conn, number)
        if row.status != "draft":
            raise StateError(f"第{row.id}号销毁清册已执行，不能再批准", field="list")
        if row.approved_by:
            raise StateError(f"第{row.id}号销毁清册已由{row.approved_by}批准", field="list")
        if not _all_visible(session, volumes):
            raise ForbiddenError(f"第{row.id}号销毁清册含有{me}无权查看的案卷，须由有相应权限的负责人批准", field="list")
        if row.created_by == me:
            raise ForbiddenError(f"{me}编制了第{row.id}号销毁清册，不能自己批准", field="list",
                                 hint="须由编制人以外、有批准销毁清册权限的负责人批准")
        work.conn.execute(st.destruction_lists.update().where(st.destruction_lists.c.id == row.id)
                          .values(approved_by=me, approved_at=session.now(), approver=me, method=method,
                                  reviewer=reviewer))
        session.log(work, "destruction_approve", f"销毁清册第{row.id}号", list=row.id, method=method, reviewer=reviewer,
                    volumes=[v.archival_code for v in volumes])
    return show_list(session, row.id)


@retrying
def witness(session: Session, number) -> DestructionList:
    """Confirm as witness (监销人) of an approved list, as the acting account (``disposal.witness``).

    The two witnesses are two different accounts, neither of them the approver, each in
    their own session; the second confirmation executes the destruction with both named.
    """
    scheme = load_scheme(session)
    access.require(session, "disposal.witness", fonds=scheme.fonds_code)
    me = session.operator
    with session.work() as work:
        row, volumes = _locked_list(work.conn, number)
        if row.status != "draft":
            raise StateError(f"第{row.id}号销毁清册已执行", field="list")
        if not row.approved_by:
            raise StateError(f"第{row.id}号销毁清册尚未批准，批准后监销人才能确认", field="list",
                             hint="由档案室负责人在销毁清册页面批准")
        if me == row.approved_by:
            raise ForbiddenError(f"批准人{me}不能同时担任监销人", field="witness")
        if not _all_visible(session, volumes):
            raise ForbiddenError(f"第{row.id}号销毁清册含有{me}无权查看的案卷，不能担任监销人", field="witness")
        confirmed = [name for name, _ in _confirmed(work.conn, row.id)]
        if me in confirmed:
            raise StateError(f"{me}已确认监销第{row.id}号销毁清册；还须另一名监销人用自己的账户登录确认",
                             field="witness")
        _check_volumes(volumes)
        work.conn.execute(st.destruction_witnesses.insert().values(list_id=row.id, account=me, at=session.now(),
                                                                   client=(session.client or "")[:64]))
        session.log(work, "destruction_witness", f"销毁清册第{row.id}号", list=row.id)
        confirmed.append(me)
    if len(confirmed) < WITNESSES:
        return show_list(session, row.id)
    return _execute(session, row.id, approver=row.approved_by, witnesses=tuple(confirmed[:WITNESSES]),
                    method=row.method or DEFAULT_METHOD)


def destroy(session: Session, number, *, dry_run: bool = False) -> DestructionList:
    """Execute an approved and witnessed list, or finish one a stopped process left half done.

    Needs ``disposal.appraise``. A list is executed by its second witness's confirmation
    (:func:`witness`); this runs it only when that confirmation's execution was interrupted.
    """
    access.require(session, "disposal.appraise")
    with session.store.read() as conn:
        row = _list_row(conn, number)
        confirmed = [name for name, _ in _confirmed(conn, row.id)]
    if row.status == "draft":
        if not row.approved_by:
            raise StateError(f"第{row.id}号销毁清册尚未批准", field="list", hint="由档案室负责人在销毁清册页面批准")
        if len(confirmed) < WITNESSES:
            raise StateError(f"第{row.id}号销毁清册须由两名监销人各自登录确认，现已确认 {len(confirmed)} 人",
                             field="witness", hint="监销人用自己的账户登录后确认：archive destroy witness")
    return _execute(session, row.id, approver=row.approved_by or row.approver,
                    witnesses=tuple(confirmed[:WITNESSES]) or tuple(row.witnesses or ()),
                    method=row.method or DEFAULT_METHOD, dry_run=dry_run)


@retrying
def _execute(session: Session, number: int, *, approver: str, witnesses: tuple[str, ...], method: str,
             dry_run: bool = False) -> DestructionList:
    """Execute a draft destruction list: remove its volumes' files, mark them destroyed.

    Refused while one of its volumes is on loan or for a list already executed.

    Files cannot take part in a database transaction, so destruction is recorded before a
    single file goes: the first commit marks the list ``executing`` (with its approver,
    witnesses and method) and its volumes ``destroying``; then the volumes' folders are
    deleted; the second commit marks them ``destroyed`` and writes the executed list. A
    process killed at any moment leaves either nothing done or a recorded, pending
    destruction, which ``verify`` reports and which running ``destroy`` on the same list
    again finishes (with the approver and witnesses recorded the first time).
    """
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
            executed_at=session.now(), executed_by=operator))
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
