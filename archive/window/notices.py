"""Notices: numbering, rendering, storing and reprinting the stamped documents.

A notice gets its number from a gap-free counter per unit, kind and year, taken inside the
caller's transaction; it is rendered from ``templates/<kind>.docx`` once with one copy per
part (联), stored under ``documents/`` at a path from the ``notice_path`` setting, recorded
with its SHA-256 and never overwritten. With LibreOffice a PDF is made beside it through
the session's single long-lived converter and stamped with metadata: inside the write
(the CLI, whose command prints the PDF's path), or, where :func:`convert_later` was
called (the server), by a thread after the write commits, so the clerk's receive does
not wait for LibreOffice; :func:`make_pdf` makes one on demand, and whoever asks for a
notice's PDF first (the page's viewer, the worker) makes it, the other waits for it.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..core import access
from ..core import store as st
from .catalog import NOTICE_KINDS, format_notice_number
from ..core.errors import InputError, NotFoundError
from ..core.session import Session, Work, retrying
from ..core.validate import check_code, format_cn_date

KINDS = NOTICE_KINDS  # the kinds of notice and their titles, declared with the units' number formats
CARD_SEAL_MM = 30  # the appointment card is A6: a full-size seal would cover half of it


@dataclass(frozen=True)
class Notice:
    """One issued notice (or a reprint of one)."""

    kind: str
    number: str
    check_code: str
    docx: str
    pdf: str | None
    sha256: str
    issued_on: str
    reprint_no: int = 0
    case: str | None = None
    id: int | None = None  # the store's id: the web serves files by it (/notices/{id}/pdf)
    pdf_pending: bool = False  # no PDF yet, but one is being made (or is made when asked for)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "number": self.number, "reprint_no": self.reprint_no,
                "docx": self.docx, "pdf": self.pdf, "pdf_pending": self.pdf_pending}

    @property
    def title(self) -> str:
        return KINDS[self.kind]


def check_code_for(number: str, subject: str, issued_on) -> str:
    """A short code printed on every part, so a forged or mismatched part is easy to spot."""
    digest = hashlib.sha256(f"{number}|{subject}|{issued_on.isoformat()}".encode()).hexdigest()
    return digest[:8].upper()


def counter_scope(unit_code: str, kind: str, year: int) -> str:
    """The gap-free counter behind notice numbers: one per unit, kind and year."""
    return f"notice:{unit_code}:{kind}:{year}"


def format_number(unit: dict, kind: str, year: int, seq: int) -> str:
    return format_notice_number(unit, kind, year=year, seq=seq)


def _notice_path(session: Session, *, unit: str, kind: str, year: int, seq: int, number: str, case: str,
                 reprint_no: int) -> Path:
    suffix = f"-补打{reprint_no}" if reprint_no else ""
    relative = session.ws.get("notice_path").format(
        year=year, unit=unit, kind=kind, seq=seq, number=number.replace("/", "／"), case=case, suffix=suffix
    )
    path = (session.ws.documents_dir / relative).resolve()
    if session.ws.documents_dir.resolve() not in path.parents:
        raise InputError("文书存放路径模板指向了工作区之外", field="notice_path")
    return path


def issue(work: Work, kind: str, *, unit_code: str, fields: dict, on, subject: str, case_id: int | None = None,
          appointment_id: int | None = None, joint: bool = False) -> Notice:
    """Number, render and record one notice inside ``work``'s transaction.

    ``fields`` are the kind-specific template variables; the common ones (organ, number,
    check code, clerk, seal, parts …) are filled in here.
    """
    session = work.session
    unit = session.ws.unit(unit_code)
    seq = st.next_number(work.conn, counter_scope(unit_code, kind, on.year))
    number = format_number(unit, kind, on.year, seq)
    context = {
        "organ": unit["name"],
        "title": KINDS[kind],
        "number": number,
        "check_code": check_code_for(number, subject, on),
        "clerk": {"name": session.operator, "phone": unit.get("phone", "")},
        "complaint_phone": unit.get("complaint_phone") or session.ws.get("complaint_phone"),
        "issued_on": format_cn_date(on),
        "parts": [
            {"label": label, "destination": destination}
            for label, destination in session.ws.parts_for(kind, joint=joint)
        ],
        "reprint": False,
        **fields,
    }
    path = _notice_path(session, unit=unit_code, kind=kind, year=on.year, seq=seq, number=number, case=subject,
                        reprint_no=0)
    return _render_and_record(work, kind=kind, unit_code=unit_code, year=on.year, seq=seq, context=context,
                              path=path, on=on, subject=subject, case_id=case_id, appointment_id=appointment_id)


def _render_and_record(work: Work, *, kind, unit_code, year, seq, context, path, on, subject, case_id,
                       appointment_id, reprint_of=None, reprint_no=0) -> Notice:
    from ..documents.render import render_notice, sha256_file

    session = work.session
    stored = dict(context)
    context = dict(context, seal=str(session.ws.seal_path(unit_code)))
    # Writes are atomic and refuse an existing target, so a file is ours (and tracked for
    # removal on failure) only once the write has returned. The document properties travel
    # into the PDF's information and XMP alike.
    seal_mm = session.ws.seal_size_mm(unit_code)
    if kind == "appointment":
        seal_mm = min(seal_mm, CARD_SEAL_MM)
    properties = {"title": f"{context['title']} {context['number']}", "subject": context["title"],
                  "author": context["organ"], "keywords": subject, "description": ""}
    work.track(render_notice(kind, context, path, seal_mm=seal_mm, properties=properties))
    pdf_path = pdf_sha = None
    from ..documents import office

    later = session.existing_resource(LATER_PDFS)
    pending = office.pdf_enabled(session) and later is not None
    if office.pdf_enabled(session) and not pending:
        pdf_path = work.track(_convert(session, path, context, subject))
        pdf_sha = sha256_file(pdf_path)
    digest = sha256_file(path)
    notice_id = work.conn.execute(st.notices.insert(), dict(
        kind=kind, unit=unit_code, year=year, seq=seq, number=context["number"],
        check_code=context["check_code"], case_id=case_id, appointment_id=appointment_id, subject=subject,
        reprint_of=reprint_of, reprint_no=reprint_no, path=session.ws.relative(path), sha256=digest,
        pdf_path=session.ws.relative(pdf_path) if pdf_path else None, pdf_sha256=pdf_sha, context=stored,
        issued_on=on, issued_at=session.now(), operator=session.operator,
    )).inserted_primary_key[0]
    if case_id is not None:
        work.touch("case", subject)
    session.log(work, "reprint" if reprint_no else "notice", subject, case_id=case_id, effective_on=on, kind=kind,
                number=context["number"], path=str(path), sha256=digest)
    if pending:
        work.later(lambda: later.put(notice_id))
    return Notice(kind=kind, number=context["number"], check_code=context["check_code"], docx=str(path),
                  pdf=str(pdf_path) if pdf_path else None, sha256=digest, issued_on=on.isoformat(),
                  reprint_no=reprint_no, case=subject, id=notice_id, pdf_pending=pending)


def _convert(session: Session, docx: Path, context: dict, subject: str, *, slot: int = 0) -> Path:
    """The notice's PDF beside its .docx, with the notice's metadata (``slot``: which of the
    converter's LibreOffice servers)."""
    from ..documents import office
    from ..documents.pdf import stamp_metadata

    pdf_path = office.converter(session).convert(docx, docx.with_suffix(".pdf"), slot=slot)
    try:
        stamp_metadata(pdf_path, title=f"{context['title']} {context['number']}", number=context["number"],
                       case=subject, subject=context["title"], author=context["organ"])
    except BaseException:
        pdf_path.unlink(missing_ok=True)
        raise
    return pdf_path


# -- PDFs made after the write -------------------------------------------------------------

LATER_PDFS = "notice-pdfs-later"
_PDF_LOCKS = tuple(threading.Lock() for _ in range(32))  # one notice's PDF is made once at a time


class LaterPdfs:
    """The threads that make notices' PDFs after their writes commit, in the order asked.

    One thread per LibreOffice server the converter may run (one per core, at most four),
    each feeding its own server: twenty windows receiving at once are not all queued
    behind one LibreOffice. A page asking for a PDF not made yet makes it itself
    (:func:`make_pdf`), and whoever asks first makes it.
    """

    def __init__(self, session: Session):
        self.session = session
        self.queue: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.failures = 0  # PDFs it could not make; asking for one tries again and says why
        self._lock = threading.Lock()

    def put(self, notice_id: int) -> None:
        with self._lock:
            if not self.threads:
                from ..documents import office

                slots = office.converter(self.session).max_servers
                self.threads = [threading.Thread(target=self._run, args=(slot,), daemon=True,
                                                 name=f"notice-pdfs-{slot}") for slot in range(slots)]
                for thread in self.threads:
                    thread.start()
        self.queue.put(notice_id)

    def _run(self, slot: int) -> None:
        while (notice_id := self.queue.get()) is not None:
            try:
                make_pdf(self.session, notice_id, slot=slot)
            except Exception:  # noqa: BLE001 - the page that shows the notice asks again and reports it
                with self._lock:
                    self.failures += 1

    def close(self) -> None:
        """Finish the PDFs already asked for, then stop the threads."""
        with self._lock:
            threads, self.threads = self.threads, []
        for _ in threads:
            self.queue.put(None)
        for thread in threads:
            thread.join()


def convert_later(session: Session) -> LaterPdfs:
    """From now on this session's notices get their PDFs after the write commits (the server)."""
    return session.resource(LATER_PDFS, lambda: LaterPdfs(session))


def make_pdf(session: Session, notice_id: int, *, slot: int = 0) -> Path | None:
    """The notice's PDF, made now if it has none yet (None when this workspace makes no PDFs).

    The .docx must still be the one recorded (its SHA-256); the PDF and its row are written
    in one unit of work. Two threads asking at once make it once; another process that made
    it meanwhile is found by the refused write and its PDF returned.
    """
    from ..documents import office
    from ..documents.render import sha256_file
    from ..core.errors import ArchiveError, StateError

    def recorded():
        with session.store.read() as conn:
            row = conn.execute(select(st.notices).where(st.notices.c.id == int(notice_id))).first()
        if row is None:
            raise NotFoundError(f"找不到编号为 {notice_id} 的文书", field="notice")
        return row

    with _PDF_LOCKS[int(notice_id) % len(_PDF_LOCKS)]:
        row = recorded()
        if row.pdf_path:
            return session.ws.absolute(row.pdf_path)
        if not office.pdf_enabled(session):
            return None
        docx = session.ws.absolute(row.path)
        if not docx.is_file() or sha256_file(docx) != row.sha256:
            raise ArchiveError(f"文书 {row.number} 的 .docx 文件缺失或已被改动，不能据以生成 PDF", field="notice",
                                 hint="请运行 archive verify 检查")
        # Converted outside the transaction: other writes must not wait for LibreOffice.
        try:
            pdf = _convert(session, docx, dict(row.context, number=row.number), row.subject or "", slot=slot)
        except StateError:
            row = recorded()  # another process made it first
            if row.pdf_path:
                return session.ws.absolute(row.pdf_path)
            raise
        with session.work() as work:
            work.track(pdf)  # removed again if its row cannot be written
            work.conn.execute(st.notices.update().where(st.notices.c.id == row.id, st.notices.c.pdf_path.is_(None))
                              .values(pdf_path=session.ws.relative(pdf), pdf_sha256=sha256_file(pdf)))
        return pdf


def from_row(session: Session, row, case_no: str | None = None) -> Notice:
    ws = session.ws
    pending = False
    if not row.pdf_path:
        from ..documents import office

        pending = office.pdf_enabled(session) and session.existing_resource(LATER_PDFS) is not None
    return Notice(kind=row.kind, number=row.number, check_code=row.check_code, docx=str(ws.absolute(row.path)),
                  pdf=str(ws.absolute(row.pdf_path)) if row.pdf_path else None,
                  sha256=row.sha256, issued_on=row.issued_on.isoformat(), reprint_no=row.reprint_no, case=case_no,
                  id=row.id, pdf_pending=pending)


def for_case(session: Session, conn, case_id: int, case_no: str | None = None) -> list[Notice]:
    rows = conn.execute(select(st.notices).where(st.notices.c.case_id == case_id).order_by(st.notices.c.id))
    return [from_row(session, row, case_no) for row in rows]


def _check_reach(session: Session, row, *, writing: bool) -> None:
    """Refuse a notice the acting account may not read (as if it did not exist) or reprint."""
    if row.kind == "reminder":
        action = "lending.lend"
    elif row.appointment_id is not None:
        action = "appointment.book"
    else:
        action = "case.handle" if writing else "case.read"
    access.require(session, action)
    user = session.user
    if user is not None and user.units and row.unit not in user.units and row.kind != "reminder":
        raise NotFoundError(f"找不到文书编号为“{row.number}”的文书", field="number")


def notice_file(session: Session, notice_id: int, fmt: str) -> tuple[Path, str]:
    """The stored .docx or .pdf of one notice (the path and a download name), if the account may read it.

    The web layer serves stored files only through this check, never from a static path.
    """
    if fmt not in ("docx", "pdf"):
        raise InputError("格式只能是 docx 或 pdf", field="format")
    with session.store.read() as conn:
        row = conn.execute(select(st.notices).where(st.notices.c.id == int(notice_id))).first()
    if row is None:
        raise NotFoundError(f"找不到编号为 {notice_id} 的文书", field="notice")
    _check_reach(session, row, writing=False)
    stored = row.path if fmt == "docx" else row.pdf_path
    if not stored and fmt == "pdf":
        made = make_pdf(session, row.id)
        stored = session.ws.relative(made) if made else None
    if not stored:
        raise NotFoundError("这份文书没有 PDF 文件（未生成 PDF）", field="format",
                            hint="安装 LibreOffice 后补打即可生成 PDF")
    path = session.ws.absolute(stored)
    if not path.is_file():
        raise NotFoundError("文书文件不在存储中，请运行 archive verify 检查", field="notice")
    suffix = f"（补打{row.reprint_no}）" if row.reprint_no else ""
    return path, f"{row.number}{suffix}.{fmt}"


def part_pdf(session: Session, notice_id: int, part: int) -> tuple[bytes, str]:
    """The pages of one part (联) of a notice's PDF, to print that part alone.

    Every part starts on a new page and carries its label (第一联 …); pages up to the next
    label belong to it.
    """
    from ..documents.pdf import split_parts

    path, name = notice_file(session, notice_id, "pdf")
    with session.store.read() as conn:
        row = conn.execute(select(st.notices.c.context).where(st.notices.c.id == int(notice_id))).first()
    labels = [p["label"] for p in (row.context or {}).get("parts", [])] if row else []
    pieces = split_parts(path, labels)
    if not 1 <= int(part) <= len(pieces):
        raise NotFoundError(f"这份文书没有第 {part} 联", field="part")
    return pieces[int(part) - 1], name.replace(".pdf", f"-{labels[int(part) - 1]}.pdf")


@retrying
def reprint(session: Session, number: str) -> Notice:
    """Print a notice again: same number and check code, marked 补打, stored as a new file."""
    number = check_code(number, "文书编号")
    with session.work() as work:
        original = work.conn.execute(
            select(st.notices).where(st.notices.c.number == number, st.notices.c.reprint_no == 0)
        ).first()
        if original is None:
            raise NotFoundError(f"找不到文书编号为“{number}”的文书", field="number")
        _check_reach(session, original, writing=True)
        count = work.conn.execute(
            select(st.notices.c.reprint_no).where(st.notices.c.reprint_of == original.id)
            .order_by(st.notices.c.reprint_no.desc())
        ).scalar() or 0
        reprint_no = count + 1
        subject = _subject_of(work.conn, original)
        path = _notice_path(session, unit=original.unit, kind=original.kind, year=original.year, seq=original.seq,
                            number=original.number, case=subject, reprint_no=reprint_no)
        context = dict(original.context, reprint=True)
        return _render_and_record(work, kind=original.kind, unit_code=original.unit, year=original.year,
                                  seq=original.seq, context=context, path=path, on=session.today,
                                  subject=subject, case_id=original.case_id,
                                  appointment_id=original.appointment_id, reprint_of=original.id,
                                  reprint_no=reprint_no)


def _subject_of(conn, row) -> str:
    """What the notice is about: recorded since migration 0004; older rows are derived."""
    if row.subject:
        return row.subject
    if row.case_id is not None:
        return conn.execute(select(st.cases.c.case_no).where(st.cases.c.id == row.case_id)).scalar()
    return conn.execute(select(st.appointments.c.card_no).where(st.appointments.c.id == row.appointment_id)).scalar()


def filed_parts(session: Session, kind: str, parts: list[dict]) -> list[int]:
    """Which parts (indexes into ``parts``) of a notice go into the case's volume.

    The setting ``filed_parts`` names their destinations (default: 窗口存根, and 中心存查 of a
    joint case). The applicant's part is never filed by default; a notice none of whose
    parts is named files its last part (its stub).
    """
    wanted = set(session.ws.filed_parts(kind))
    keep = [i for i, part in enumerate(parts) if part.get("destination") in wanted]
    return keep or [len(parts) - 1]


def part_pages(page_texts: list[str], parts: list[dict]) -> list[list[int]]:
    """The pages (0-based) of each part of a notice's PDF: a part starts on the page whose
    title line carries its label and destination, and runs to the next part's first page.
    Empty lists when the parts cannot be told apart (then file the whole PDF)."""
    def squeeze(text: str) -> str:
        return "".join(text.split())

    texts = [squeeze(t) for t in page_texts]
    starts, page = [], 0
    for part in parts:
        label = squeeze(part["label"] + part["destination"])
        while page < len(texts) and label not in texts[page]:
            page += 1
        if page == len(texts):
            return [[] for _ in parts]
        starts.append(page)
        page += 1
    ends = starts[1:] + [len(texts)]
    return [list(range(start, end)) for start, end in zip(starts, ends)]


def filed_copy(session: Session, row, source: bytes, *, pdf: bool) -> tuple[bytes, int]:
    """The filed parts of the issued notice ``row`` (a ``notices`` row) whose stored file
    holds ``source``: pages cut from its PDF (keeping its PDF/A metadata), or, for a .docx,
    the notice rendered again from its recorded context with only those parts. Returns the
    bytes and how many parts they hold."""
    import io
    import tempfile

    parts = list(row.context.get("parts") or [])
    keep = filed_parts(session, row.kind, parts) if parts else []
    if not parts or len(keep) == len(parts):
        return source, len(parts)
    if pdf:
        from ..documents.pdf import extract_pages
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(source))
        ranges = part_pages([page.extract_text() or "" for page in reader.pages], parts)
        pages = [p for i in keep for p in ranges[i]]
        if not pages:
            return source, len(parts)
        with tempfile.TemporaryDirectory(prefix="archive-notice-") as folder:
            whole = Path(folder) / "notice.pdf"
            whole.write_bytes(source)
            return extract_pages(whole, pages, row.number), len(keep)
    from ..documents.render import render_notice

    context = dict(row.context, parts=[parts[i] for i in keep], reprint=False,
                   seal=str(session.ws.seal_path(row.unit)))
    seal_mm = session.ws.seal_size_mm(row.unit)
    with tempfile.TemporaryDirectory(prefix="archive-notice-") as folder:
        out = Path(folder) / "notice.docx"
        try:
            render_notice(row.kind, context, out, seal_mm=seal_mm)
        except InputError:  # issued under an older template: file it as issued, every part
            return source, len(parts)
        return out.read_bytes(), len(keep)
