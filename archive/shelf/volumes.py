"""Volumes (案卷): filing concluded cases, attachments, showing, listing and notes.

Filing turns one concluded case into one volume (一案一卷). Its items, in order:

1. the application record (申请登记表), made from the case's data and its events;
2. the materials the applicant handed in (attachments: scanned PDFs or images);
3. every notice issued for the case (receipt, supplement, excluded time, extension …),
   ending with the decision notice of a refusal (不予受理决定书 / 不予许可决定书);
4. for an approval, which has no decision notice, the decision record (办结审批单).

Each item is numbered, dated, counted in pages and recorded with its SHA-256. With PDF
output (LibreOffice present, see ``documents.office.pdf_enabled``) the items are PDFs; otherwise the
.docx files. The volume's forms — cover (案卷封面), item list (卷内文件目录) and notes sheet
(卷内备考表) — are .docx from ``templates/``; with PDF output there is also one merged PDF of
the whole volume with the archival code stamped in each page's header area.

Everything happens in one unit of work (``session.work()``): the volume number comes from
a gap-free counter inside the transaction, every file written is tracked, so a failure
half-way leaves no volume, no number used and no stray files. Filed items are never
edited; notes go on the notes sheet, which is re-issued as a new version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from ..core import access, audit
from ..core import store as st
from ..documents import office
from ..core.errors import ArchiveError, ConfigError, InputError, NotFoundError, StateError
from ..window.cases import _load_row
from .scheme import OUTCOMES, Scheme, load as load_scheme, retention_text
from ..core.session import Session, Work, retrying
from ..core.validate import check_code, check_text, format_cn_date

FILABLE = {"concluded", "not_accepted"}
STATES = {"on_shelf": "在架", "on_loan": "借出", "flagged": "待核查", "destroying": "销毁中（未完成）",
          "destroyed": "已销毁"}
ACTIONS = {
    "receive": "收件", "accept": "受理", "request_supplement": "告知补正", "supplement": "补正材料",
    "deemed_accepted": "视为受理", "reject": "不予受理", "pause": "暂停计时", "resume": "恢复计时",
    "extend": "延期", "conclude": "办结", "notice": "出具文书", "reprint": "补打文书", "attach": "收取材料",
    "file": "归档", "extension_request": "申请延期", "extension_refuse": "不批准延期",
}
CASE_TYPE_NAMES = {"on_the_spot": "即办件", "promised": "承诺件", "joint": "联办件", "pending_materials": "补办件",
                   "forwarded": "上报件", "reply": "答复件"}
FORM_TITLES = {"volume_cover": "案卷封面", "item_list": "卷内文件目录", "notes_sheet": "卷内备考表",
               "merged_pdf": "合并PDF"}
MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024
EVENT_DETAIL_CHARS = 60  # a reason longer than this is cut short in the application record's log
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


# -- values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class VolumeItem:
    """One file of a volume: an item (件) or a form."""

    number: int
    title: str
    date: dt.date
    pages: int
    page_start: int
    sha256: str
    path: str  # absolute
    kind: str
    role: str = "item"
    doc_number: str = ""
    responsible: str = ""
    size: int = 0

    def to_dict(self) -> dict:
        return {"number": self.number, "title": self.title, "date": self.date.isoformat(), "pages": self.pages,
                "sha256": self.sha256, "path": self.path, "kind": self.kind, "doc_number": self.doc_number,
                "responsible": self.responsible, "page_start": self.page_start}

    def form_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "path": self.path, "sha256": self.sha256, "pages": self.pages}


@dataclass(frozen=True)
class Note:
    at: dt.datetime
    text: str
    kind: str
    operator: str

    def to_dict(self) -> dict:
        return {"at": self.at.isoformat(sep=" "), "text": self.text, "kind": self.kind, "operator": self.operator}


@dataclass(frozen=True)
class Volume:
    """A filed volume with its items, forms and notes."""

    archival_code: str
    fonds: str
    classification: str
    catalogue: int
    volume_no: int
    retention: str
    year: int
    case: str
    title: str
    unit: str
    start_date: dt.date
    end_date: dt.date
    pages: int
    access: str
    security_level: str | None
    state: str
    folder: str
    filed_at: dt.datetime | None
    filed_by: str
    items: tuple[VolumeItem, ...] = ()
    forms: tuple[VolumeItem, ...] = ()
    notes: tuple[Note, ...] = ()
    merged_pdf: str | None = None
    destroyed_at: dt.datetime | None = None
    destroyed_by: str | None = None
    destruction_list: int | None = None
    dry_run: bool = False
    count: int | None = None  # the number of items when they were not loaded (lists)
    id: int = field(default=0, compare=False)

    @property
    def items_count(self) -> int:
        return len(self.items) if self.count is None else self.count

    def to_dict(self) -> dict:
        """What ``archive file --json`` prints."""
        return {
            "archival_code": self.archival_code, "fonds": self.fonds, "classification": self.classification,
            "catalogue": self.catalogue, "volume_no": self.volume_no, "retention": self.retention,
            "year": self.year, "case": self.case, "title": self.title, "unit": self.unit,
            "start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat(),
            "pages": self.pages, "items_count": self.items_count, "access": self.access,
            "folder": self.folder, "merged_pdf": self.merged_pdf,
            "items": [i.to_dict() for i in self.items],
            "forms": [f.form_dict() for f in self.forms],
            "dry_run": self.dry_run,
        }

    def to_show_dict(self) -> dict:
        """What ``archive volume show --json`` prints: the filing object plus state and notes."""
        data = self.to_dict()
        del data["dry_run"]
        data.update({
            "state": self.state, "state_text": STATES.get(self.state, self.state),
            "security_level": self.security_level,
            "filed_at": self.filed_at.isoformat(sep=" ") if self.filed_at else None, "filed_by": self.filed_by,
            "destroyed_at": self.destroyed_at.isoformat(sep=" ") if self.destroyed_at else None,
            "destroyed_by": self.destroyed_by, "destruction_list": self.destruction_list,
            "notes": [n.to_dict() for n in self.notes],
        })
        return data

    def summary(self) -> dict:
        return {"archival_code": self.archival_code, "case": self.case, "title": self.title,
                "classification": self.classification, "catalogue": self.catalogue, "volume_no": self.volume_no,
                "year": self.year, "retention": self.retention, "pages": self.pages, "items_count": self.items_count,
                "access": self.access, "state": self.state}


@dataclass(frozen=True)
class Attachment:
    case: str
    number: int
    title: str
    kind: str
    pages: int
    sha256: str
    size: int
    path: str
    has_text: bool

    def to_dict(self) -> dict:
        return {"case": self.case, "number": self.number, "title": self.title, "kind": self.kind,
                "pages": self.pages, "sha256": self.sha256, "size": self.size, "path": self.path,
                "has_text": self.has_text}


@dataclass(frozen=True)
class BatchResult:
    filed: tuple[Volume, ...]
    failed: tuple[tuple[str, ArchiveError], ...]
    dry_run: bool = False

    def to_dict(self) -> dict:
        return {"filed": [v.to_dict() for v in self.filed],
                "failed": [{"case": c, **e.to_dict()} for c, e in self.failed], "dry_run": self.dry_run}


# -- small helpers ------------------------------------------------------------------------

def safe_name(text: str, limit: int = 60) -> str:
    """A file-name-safe version of a title (path separators and control characters removed)."""
    cleaned = _UNSAFE.sub("_", text).strip(" ._") or "文件"
    return cleaned[:limit]


def docx_page_count(data: bytes) -> int:
    """Pages of a .docx without laying it out: explicit page breaks and section breaks + 1."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    breaks = len(re.findall(r'<w:br\b[^>]*w:type="page"', xml))
    breaks += len(re.findall(r'<w:pageBreakBefore\s*/>|<w:pageBreakBefore\s+w:val="(?:1|true|on)"\s*/>', xml))
    breaks += max(len(re.findall(r"<w:sectPr\b", xml)) - 1, 0)
    return breaks + 1


def _d8(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _page_label(start: int, pages: int) -> str:
    return str(start) if pages <= 1 else f"{start}-{start + pages - 1}"


def _put(path: Path, data: bytes, track) -> str:
    """Write ``data`` to a new file (never replacing one); return its SHA-256."""
    from ..documents.render import atomic_write_bytes

    track(path)
    atomic_write_bytes(path, data, fsync=False)
    return hashlib.sha256(data).hexdigest()


def _read_checked(session: Session, recorded: str, sha256: str | None, what: str) -> bytes:
    path = session.ws.absolute(recorded)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"{what}的文件不见了：{path}", field="case",
                           hint="请先找回该文件（或补打文书）再归档") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise ArchiveError(f"{what}的文件与登记的校验值不符，可能已被改动：{path}", field="case",
                           hint="归档的文件必须与出具时一致；请核查该文件")
    return data


# -- attachments --------------------------------------------------------------------------

def inspect_attachment(data: bytes, name: str) -> tuple[str, int, bool, str]:
    """Check that ``data`` is a readable PDF or image; return (kind, pages, has_text, extension).

    A corrupt, truncated or encrypted PDF and an unreadable image are refused with
    :class:`InputError` (exit 2) naming the file.
    """
    where = f"附件“{name}”"
    if not data:
        raise InputError(f"{where}是空文件", field="file")
    if data.startswith(b"%PDF-"):
        from pypdf import PdfReader

        if b"%%EOF" not in data[-2048:]:
            raise InputError(f"{where}不完整（缺少 PDF 结束标记），可能在传输中被截断", field="file",
                             hint="请重新扫描或重新下载该文件")
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise InputError(f"{where}是加密的 PDF，无法归档", field="file",
                                 hint="请提供未加密的 PDF（去除打开密码和权限限制）")
            pages = len(reader.pages)
            for page in reader.pages:
                _ = page.mediabox
                page.get_contents()
        except InputError:
            raise
        except Exception as exc:  # pypdf raises many kinds of errors on broken files
            raise InputError(f"{where}不是可读的 PDF（{type(exc).__name__}：{exc}）", field="file",
                             hint="请重新扫描或用 PDF 阅读器打开检查后另存") from None
        if pages < 1:
            raise InputError(f"{where}没有任何页面", field="file")
        has_text = False
        for page in reader.pages[:3]:
            try:
                if (page.extract_text() or "").strip():
                    has_text = True
                    break
            except Exception:
                break
        return "pdf", pages, has_text, ".pdf"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in ("PNG", "JPEG", "TIFF"):
            raise InputError(f"{where}的图片格式 {fmt} 不受支持，请使用 PDF、PNG、JPEG 或 TIFF", field="file")
        with Image.open(io.BytesIO(data)) as image:
            frames = getattr(image, "n_frames", 1)
            for index in range(frames):
                image.seek(index)
                image.load()
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{where}不是可读的 PDF 或图片（{exc}）", field="file",
                         hint="请提供 PDF、PNG、JPEG 或 TIFF 格式的扫描件") from None
    ext = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif"}[fmt]
    return "image", frames, False, ext


@retrying
def attach(session: Session, case_no: str, file, *, title: str) -> Attachment:
    """Store a scanned material (PDF or image) under a case, to be filed with it."""
    title = check_text(title, "材料题名", max_length=200)
    source = Path(file)
    too_big = InputError(f"附件“{source.name}”超过 200MB，请拆分后分别添加", field="file")
    try:
        # Regular files only: a device (/dev/zero), a pipe or a socket has no size to
        # check and may never end (opening a pipe even waits for a writer), so the kind is
        # checked before opening. The read is bounded too, in case the file grows.
        if not stat.S_ISREG(os.stat(source).st_mode):
            raise InputError(f"附件“{source}”不是普通文件（设备、管道或目录），请选择扫描得到的 PDF 或图片文件",
                             field="file")
        with open(source, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_ATTACHMENT_BYTES:
                raise too_big
            data = fh.read(MAX_ATTACHMENT_BYTES + 1)
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise too_big
    except FileNotFoundError:
        raise InputError(f"找不到附件文件：{source}", field="file") from None
    except IsADirectoryError:
        raise InputError(f"附件“{source}”是一个目录，请选择扫描得到的 PDF 或图片文件", field="file") from None
    except PermissionError:
        raise InputError(f"没有权限读取附件文件 {source}", field="file") from None
    except OSError as exc:
        raise InputError(f"无法读取附件文件 {source}：{exc.strerror or exc}", field="file") from None
    kind, pages, has_text, ext = inspect_attachment(data, source.name)
    with session.work() as work:
        row = _load_row(work.conn, case_no, lock=True)
        # Scanned materials come from the window that handles the case or from the archive.
        if not access.role_of(session).may("volume.file"):
            access.require(session, "case.handle", unit=row.unit)
        filed = work.conn.execute(select(st.volumes.c.archival_code).where(st.volumes.c.case_id == row.id)).scalar()
        if filed:
            raise StateError(f"办件{row.case_no}已归档（档号 {filed}），不能再添加材料",
                             field="case", hint=f"如需补充说明，请用 archive volume note {filed} --text …")
        number = work.conn.execute(select(func.count()).select_from(st.attachments)
                                   .where(st.attachments.c.case_id == row.id)).scalar() + 1
        path = session.ws.documents_dir / "cases" / safe_name(row.case_no) / "attachments" / \
            f"{number:02d}-{safe_name(title)}{ext}"
        digest = _put(path, data, work.track)
        work.conn.execute(st.attachments.insert().values(
            case_id=row.id, title=title, kind=kind, original_name=source.name[:300], path=session.ws.relative(path),
            sha256=digest, size=len(data), pages=pages, has_text=has_text, added_at=session.now(),
            operator=session.operator))
        session.log(work, "attach", row.case_no, case_id=row.id, title=title, kind=kind, pages=pages,
                    sha256=digest, path=session.ws.relative(path))
        work.touch("case", row.case_no)
    return Attachment(case=row.case_no, number=number, title=title, kind=kind, pages=pages, sha256=digest,
                      size=len(data), path=str(path), has_text=has_text)


# -- filing -------------------------------------------------------------------------------

def _outcome(row) -> str:
    return "not_accepted" if row.status == "not_accepted" else row.decision


def _check_filable(conn, row) -> None:
    from ..window.cases import STATUSES

    if row.status not in FILABLE:
        raise StateError(
            f"办件{row.case_no}当前状态为“{STATUSES.get(row.status, row.status)}”，只有已办结（含不予受理）的办件才能归档",
            field="case", hint="办结后再归档：archive case conclude …")
    filed = conn.execute(select(st.volumes.c.archival_code).where(st.volumes.c.case_id == row.id)).scalar()
    if filed:
        raise StateError(f"办件{row.case_no}已经归档，档号 {filed}；一个办件只归档一次", field="case",
                         hint=f"查看：archive volume show {filed}")


@dataclass
class _Source:
    """One item to put in the volume, before it is written."""

    kind: str
    title: str
    date: dt.date
    responsible: str
    doc_number: str = ""
    render: str | None = None  # template kind to render
    context: dict | None = None
    data: bytes | None = None  # bytes to copy
    ext: str = ""
    docx_for_pdf: bytes | None = None  # a notice without a PDF: its .docx, converted when PDF is on


def _event_detail(action: str, detail: dict) -> str:
    from ..window.notices import KINDS

    if action in ("notice", "reprint"):
        return f"{KINDS.get(detail.get('kind'), detail.get('kind', ''))} {detail.get('number', '')}".strip()
    if action == "attach":
        return f"{detail.get('title', '')}（{detail.get('pages', '')}页）"
    parts = []
    for key, label in (("decision", "结果"), ("reason", "理由"), ("materials", "材料"), ("missing", "待补正"),
                       ("days", "延长工作日"), ("approver", "批准人"), ("expected_days", "预计暂停工作日"),
                       ("expected_until", "预计恢复计时"), ("paused_workdays", "实际暂停工作日"),
                       ("due_on", "办结期限"), ("competent_organ", "有权机关")):
        value = detail.get(key)
        if value in (None, "", []):
            continue
        if key == "decision":
            value = OUTCOMES.get(value, value)
        if key == "materials" and action == "receive":
            value = f"{len(value)}项"
        if isinstance(value, list):
            value = "、".join(map(str, value))
        value = str(value)
        if len(value) > EVENT_DETAIL_CHARS:  # the log summarises; the notice carries the full text
            value = value[:EVENT_DETAIL_CHARS] + "……"
        parts.append(f"{label}：{value}")
    return "；".join(parts)


def _event_when(event) -> str:
    """When an action took effect, and when it was entered if that was on a later day
    (times are the centre's, see ``Session.now``)."""
    entered = event.at.strftime("%Y-%m-%d %H:%M")
    effective = getattr(event, "effective_on", None)
    if effective is None or effective == event.at.date():
        return entered
    return f"{effective:%Y-%m-%d}\n（{entered}录入）"


def _gather(session: Session, conn, row, item, unit: dict) -> list[_Source]:
    """The volume's items in filing order, with the bytes or the context to render."""
    from ..window.notices import KINDS, filed_copy

    applicant = row.applicant
    id_label = "身份证号码" if applicant["kind"] == "person" else "统一社会信用代码"
    organ = unit["name"]
    events = conn.execute(select(st.events).where(st.events.c.case_id == row.id).order_by(st.events.c.id)).all()
    received = set(row.materials)
    record = {
        "organ": organ, "case_no": row.case_no, "item": {"code": item.code, "name": item.name},
        "applicant": {"kind": applicant["kind"], "name": applicant["name"], "id_label": id_label,
                      "id_number": applicant["id_number"], "legal_rep": applicant.get("legal_rep") or "",
                      "phone": applicant["phone"]},
        "case_type": CASE_TYPE_NAMES.get(row.case_type, row.case_type),
        "received_on": format_cn_date(row.received_on),
        "accepted_on": format_cn_date(row.accepted_on) if row.accepted_on else "／",
        "promised_days": f"{row.promised_days}个工作日",
        "materials": [{"name": m.name, "copies": m.copies, "form": m.form} for m in item.materials
                      if m.code in received],
        "events": [{"at": _event_when(e), "action": ACTIONS.get(e.action, e.action),
                    "operator": e.operator, "detail": _event_detail(e.action, e.detail or {})} for e in events],
        "printed_on": format_cn_date(session.today),
    }
    sources = [_Source("application_record", "申请登记表", row.received_on, organ, render="application_record",
                       context=record)]
    for a in conn.execute(select(st.attachments).where(st.attachments.c.case_id == row.id)
                          .order_by(st.attachments.c.id)):
        data = _read_checked(session, a.path, a.sha256, f"附件“{a.title}”")
        sources.append(_Source("attachment", a.title, a.added_at.date(), applicant["name"], data=data,
                               ext=Path(a.path).suffix.lower()))
    pdf = office.pdf_enabled(session)
    decision_notice = False
    for n in conn.execute(select(st.notices).where(st.notices.c.case_id == row.id, st.notices.c.reprint_no == 0)
                          .order_by(st.notices.c.id)):
        title = KINDS.get(n.kind, n.kind)
        source = _Source("notice", title, n.issued_on, organ, doc_number=n.number)
        # Only the parts the archive keeps (the window's stub, the centre's part of a joint
        # case): the applicant's part went home with the applicant.
        if pdf and n.pdf_path:
            data = _read_checked(session, n.pdf_path, n.pdf_sha256, f"文书 {n.number} 的 PDF")
            source.data, source.ext = filed_copy(session, n, data, pdf=True)[0], ".pdf"
        elif pdf:
            data = _read_checked(session, n.path, n.sha256, f"文书 {n.number}")
            source.docx_for_pdf, source.ext = filed_copy(session, n, data, pdf=False)[0], ".pdf"
        else:
            data = _read_checked(session, n.path, n.sha256, f"文书 {n.number}")
            source.data, source.ext = filed_copy(session, n, data, pdf=False)[0], ".docx"
        sources.append(source)
        decision_notice = decision_notice or n.kind in ("denial", "rejection")
    if not decision_notice:
        conclude = next((e for e in reversed(events) if e.action in ("conclude", "reject")), None)
        outcome = _outcome(row)
        opinion = row.decision_reason or ("经审查，申请符合法定条件、标准，准予许可。" if outcome == "approved" else "")
        sources.append(_Source("decision_record", "办结审批单", row.concluded_on, organ, render="decision_record",
                               context={
                                   "organ": organ, "case_no": row.case_no,
                                   "item": {"code": item.code, "name": item.name}, "applicant": applicant["name"],
                                   "received_on": format_cn_date(row.received_on),
                                   "accepted_on": format_cn_date(row.accepted_on) if row.accepted_on else "／",
                                   "concluded_on": format_cn_date(row.concluded_on), "outcome": OUTCOMES[outcome],
                                   "opinion": opinion or "／",
                                   "sealed_at": row.sealed_at.strftime("%Y-%m-%d %H:%M") if row.sealed_at else "／",
                                   "operator": conclude.operator if conclude else "／",
                                   "approver": row.approver or "／",
                                   "approved_on": format_cn_date(row.approved_on) if row.approved_on else "／",
                                   "printed_on": format_cn_date(session.today)}))
    return sources


class _Writer:
    """Writes a volume's files into ``out`` (the volume folder, or a scratch folder for a dry run)."""

    def __init__(self, session: Session, out: Path, final: Path, track, scratch: Path):
        self.session = session
        self.out = out
        self.final = final
        self.track = track
        self.scratch = scratch
        self.pdf = office.pdf_enabled(session)
        self.pdf_parts: list[tuple[str, object]] = []  # (role, pdf path or image bytes) for the merged PDF

    def _record(self, name: str) -> tuple[Path, str]:
        return self.out / name, str(self.final / name)

    def render_docx(self, kind: str, context: dict, name: str) -> tuple[bytes, Path, str]:
        """Render a template into the volume; returns its bytes, written path, final path string."""
        from ..documents.render import render_document

        path, final = self._record(name)
        self.track(path)
        render_document(kind, context, path)
        return path.read_bytes(), path, final

    def to_pdf(self, docx_bytes: bytes | None, docx_path: Path | None, name: str) -> tuple[bytes, Path, str]:
        path, final = self._record(name)
        if docx_path is None:
            docx_path = self.scratch / f"{Path(name).stem}.docx"
            docx_path.write_bytes(docx_bytes)
        self.track(path)
        office.converter(self.session).convert(docx_path, path)
        return path.read_bytes(), path, final

    def scratch_pdf(self, docx_path: Path) -> Path:
        """A PDF rendition of a form, only for the merged PDF (not a stored file)."""
        target = self.scratch / (docx_path.stem + ".pdf")
        office.converter(self.session).convert(docx_path, target)
        return target


def _pages(data: bytes, ext: str) -> int:
    if ext == ".pdf":
        from pypdf import PdfReader

        return len(PdfReader(io.BytesIO(data)).pages)
    if ext == ".docx":
        return docx_page_count(data)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return getattr(image, "n_frames", 1)


def _write_items(writer: _Writer, sources: list[_Source]) -> list[VolumeItem]:
    from ..documents.render import render_document

    items, page = [], 1
    for number, src in enumerate(sources, start=1):
        stem = f"{number:02d}-{safe_name(src.title)}"
        if src.render:
            if writer.pdf:
                docx = writer.scratch / f"{stem}.docx"
                render_document(src.render, src.context, docx, properties={
                    "title": f"{src.title} {src.context.get('case_no', '')}".strip(), "subject": src.title,
                    "author": src.responsible, "description": ""})
                data, _path, final = writer.to_pdf(None, docx, f"{stem}.pdf")
                ext = ".pdf"
            else:
                data, _path, final = writer.render_docx(src.render, src.context, f"{stem}.docx")
                ext = ".docx"
        elif src.docx_for_pdf is not None:
            data, _path, final = writer.to_pdf(src.docx_for_pdf, None, f"{stem}.pdf")
            ext = ".pdf"
        else:
            ext = src.ext
            path, final = writer._record(f"{stem}{ext}")
            _put(path, src.data, writer.track)
            data = src.data
        pages = _pages(data, ext)
        items.append(VolumeItem(number=number, title=src.title, date=src.date, pages=pages, page_start=page,
                                sha256=hashlib.sha256(data).hexdigest(), path=final, kind=src.kind,
                                doc_number=src.doc_number, responsible=src.responsible, size=len(data)))
        if writer.pdf:
            writer.pdf_parts.append(("item", data if ext != ".pdf" else writer.out / Path(final).name))
        page += pages
    return items


def _notes_context(volume: dict, notes: list[Note], checker: str | None) -> dict:
    return {
        "archival_code": volume["archival_code"],
        "explanation": volume["explanation"],
        "notes": [{"at": n.at.strftime("%Y-%m-%d %H:%M"), "text": n.text, "operator": n.operator} for n in notes],
        "compiler": volume["filed_by"],
        "checker": checker,
        "compiled_on": format_cn_date(volume["filed_on"]),
    }


def _explanation(case_no: str, items: list[VolumeItem], pdf: bool, scanned: int) -> str:
    pages = sum(i.pages for i in items)
    text = (f"本卷为办件{case_no}的全部文件，共{len(items)}件、{pages}页，按申请、材料、文书、决定的顺序排列；"
            "文书归存窗口存根联（联办件另存中心存查联），申请人收执联已交申请人。"
            "每份文件的SHA-256校验值已在立卷时登记，定期核查时据此发现改动或缺失。")
    if not pdf:
        text += "卷内系统生成的文件为Word文档（立卷时未生成PDF）。"
    if scanned:
        text += f"其中扫描件{scanned}件，无可检索文字。"
    return text


def _form(writer: _Writer, kind: str, context: dict, name: str, number: int, day: dt.date) -> VolumeItem:
    data, path, final = writer.render_docx(kind, context, name)
    if writer.pdf:
        writer.pdf_parts.append((kind, writer.scratch_pdf(path)))
    return VolumeItem(number=number, title=FORM_TITLES[kind], date=day, pages=docx_page_count(data), page_start=0,
                      sha256=hashlib.sha256(data).hexdigest(), path=final, kind=kind, role="form", size=len(data))


def _merged_pdf(writer: _Writer, code: str, title: str, name: str, number: int, day: dt.date) -> VolumeItem:
    """Cover, item list, items and notes sheet in one PDF, the archival code stamped on every page."""
    from ..documents.pdfstamp import merge_and_stamp

    order = ["volume_cover", "item_list", "item", "notes_sheet"]
    parts = sorted(writer.pdf_parts, key=lambda p: order.index(p[0]))
    data, pages = merge_and_stamp([(role == "item", source) for role, source in parts], code=code, title=title)
    path, final = writer._record(name)
    digest = _put(path, data, writer.track)
    return VolumeItem(number=number, title=FORM_TITLES["merged_pdf"], date=day, pages=pages, page_start=0,
                      sha256=digest, path=final, kind="merged_pdf", role="form", size=len(data))


@retrying
def file_case(session: Session, case_no: str, *, dry_run: bool = False, checker: str | None = None,
              scheme: Scheme | None = None, _previewed: dict | None = None) -> Volume:
    """File one concluded case as one volume; with ``dry_run`` show the volume without filing.

    Raises :class:`StateError` (exit 2) for a case that is not concluded or already filed,
    :class:`InputError` for an item the scheme leaves unclassified or a missing catalogue.
    """
    from ..window.catalog import get_item

    scheme = scheme or load_scheme(session)
    access.require(session, "volume.file", fonds=scheme.fonds_code)
    checker = check_text(checker, "检查人", required=False, max_length=50) or None
    operator = session.operator
    if dry_run:
        with session.store.read() as conn:
            return _file(session, conn, None, case_no, scheme, checker, operator, get_item, [],
                         {} if _previewed is None else _previewed)
    created_dirs: list[Path] = []
    try:
        with session.work() as work:
            return _file(session, work.conn, work, case_no, scheme, checker, operator, get_item, created_dirs, {})
    except BaseException:
        _remove_dirs(created_dirs)  # the unit of work has removed the files by now
        raise


def _file(session: Session, conn, work: Work | None, case_no: str, scheme: Scheme, checker, operator,
          get_item, created_dirs: list[Path], previewed: dict) -> Volume:
    # Filing locks the case first: a second archivist filing it at the same moment waits,
    # then finds it filed (instead of both writing a volume and one failing at the commit).
    row = _load_row(conn, case_no, lock=work is not None)
    _check_filable(conn, row)
    item = get_item(conn, row.item_code)
    unit = session.ws.unit(row.unit)
    year = row.concluded_on.year
    place = scheme.place(row.item_code, _outcome(row), year, personal=row.applicant.get("kind") == "person")
    cls, catalogue = place.archive_class, place.catalogue.number
    scope = f"volume:{scheme.fonds_code}:{cls.code}:{year}:{place.retention}:{catalogue}"
    if work is None:  # a preview; in a batch preview, the numbers the earlier cases would take
        volume_no = st.peek_number(conn, scope) + previewed.get(scope, 0)
        previewed[scope] = previewed.get(scope, 0) + 1
    else:
        volume_no = st.next_number(conn, scope)
    values = dict(class_code=cls.code, year=year, retention=place.retention, catalogue=catalogue,
                  volume=volume_no, unit=row.unit)
    code = scheme.archival_code(**values)
    if conn.execute(select(st.volumes.c.id).where(st.volumes.c.archival_code == code)).first():
        raise ConfigError(f"档号 {code} 已被使用：档号格式 archive.code_template 不能区分不同的案卷",
                          field="archive.code_template", hint="运行 archive scheme check 查看档号格式的问题")
    relative = scheme.volume_folder(code, **values)
    final = session.ws.documents_dir / relative
    if final.exists() and any(final.iterdir()):
        raise ArchiveError(f"案卷目录 {final} 已存在且不为空，不能在其中立卷", field="folder",
                           hint="请核查该目录（可用 archive verify 检查），移走其中的文件后再归档")
    sources = _gather(session, conn, row, item, unit)
    now = session.now()
    if work is not None:
        created_dirs.extend(_missing_dirs(final, session.ws.documents_dir))
    with tempfile.TemporaryDirectory(prefix="archive-file-") as tmp:
        scratch = Path(tmp)
        if work is None:
            out = scratch / "volume"
            (scratch / "work").mkdir()
            out.mkdir()
            writer = _Writer(session, out, final, lambda p: p, scratch / "work")
        else:
            final.mkdir(parents=True, exist_ok=True)
            writer = _Writer(session, final, final, work.track, scratch)
        items = _write_items(writer, sources)
        pages = sum(i.pages for i in items)
        asks = "" if "申请" in item.name else "申请"
        title = f"{unit['name']}关于{row.applicant['name']}{item.name}{asks}的办理文件（{OUTCOMES[_outcome(row)]}）"[:500]
        start = row.received_on
        end = max([row.concluded_on] + [i.date for i in items])
        cover = {
            "fonds": {"code": scheme.fonds_code, "name": scheme.fonds_name},
            "catalogue": f"{catalogue:03d}", "volume_no": f"{volume_no:04d}",
            "class_code": cls.code, "class_name": cls.name, "title": title, "unit": unit["name"],
            "start_date": format_cn_date(start), "end_date": format_cn_date(end),
            "retention": retention_text(place.retention), "access": place.access, "security_level": place.security_level,
            "items_count": len(items), "pages": pages, "archival_code": code,
        }
        forms = [_form(writer, "volume_cover", cover, "00-案卷封面.docx", 1, session.today)]
        rows = [{"number": i.number, "doc_number": i.doc_number, "responsible": i.responsible, "title": i.title,
                 "date": _d8(i.date), "page": _page_label(i.page_start, i.pages), "remark": ""} for i in items]
        forms.append(_form(writer, "item_list", {"archival_code": code, "rows": rows}, "00-卷内文件目录.docx", 2,
                           session.today))
        scanned = sum(1 for s in sources if s.kind == "attachment" and s.ext != ".pdf")
        info = {"archival_code": code, "filed_by": operator, "filed_on": session.today,
                "explanation": _explanation(row.case_no, items, writer.pdf, scanned)}
        forms.append(_form(writer, "notes_sheet", _notes_context(info, [], checker), "99-卷内备考表.docx", 3,
                           session.today))
        merged = None
        if writer.pdf:
            merged = _merged_pdf(writer, code, title, f"{safe_name(code, 100)}.pdf", 4, session.today)
            forms.append(merged)
    volume = Volume(
        archival_code=code, fonds=scheme.fonds_code, classification=cls.code, catalogue=catalogue,
        volume_no=volume_no, retention=place.retention, year=year, case=row.case_no, title=title, unit=row.unit,
        start_date=start, end_date=end, pages=pages, access=place.access, security_level=place.security_level, state="on_shelf",
        folder=str(final), filed_at=now, filed_by=operator, items=tuple(items), forms=tuple(forms),
        merged_pdf=merged.path if merged else None, dry_run=work is None)
    if work is not None:
        _insert(session, work, volume, row, relative, checker, now, merged)
    return volume


def _missing_dirs(folder: Path, root: Path) -> list[Path]:
    """The folders between ``root`` and ``folder`` that do not exist yet (deepest last)."""
    missing = []
    current = folder
    while current != root and root in current.parents and not current.exists():
        missing.append(current)
        current = current.parent
    return list(reversed(missing))


def _remove_dirs(dirs: list[Path]) -> None:
    for folder in reversed(dirs):
        try:
            folder.rmdir()
        except OSError:
            break


def _insert(session: Session, work: Work, v: Volume, row, relative: str, checker, now, merged) -> None:
    ws = session.ws
    volume_id = work.conn.execute(st.volumes.insert().values(
        archival_code=v.archival_code, case_id=row.id, fonds=v.fonds, classification=v.classification, year=v.year,
        retention=v.retention, catalogue=v.catalogue, volume_no=v.volume_no, title=v.title, unit=v.unit,
        start_date=v.start_date, end_date=v.end_date, items_count=len(v.items), pages=v.pages, access=v.access,
        security_level=v.security_level, state="on_shelf", folder=ws.relative(session.ws.documents_dir / relative),
        merged_pdf=ws.relative(Path(merged.path)) if merged else None,
        merged_sha256=merged.sha256 if merged else None, filed_at=now, filed_by=v.filed_by, checker=checker,
    )).inserted_primary_key[0]
    work.conn.execute(st.volume_items.insert(), [
        {"volume_id": volume_id, "number": i.number, "title": i.title, "doc_number": i.doc_number or None,
         "responsible": i.responsible or "", "date": i.date, "pages": i.pages, "page_start": i.page_start,
         "role": i.role, "kind": i.kind, "path": ws.relative(Path(i.path)), "sha256": i.sha256, "size": i.size}
        for i in (*v.items, *v.forms)
    ])
    session.log(work, "file", row.case_no, case_id=row.id, archival_code=v.archival_code, items=len(v.items),
                pages=v.pages)
    work.touch("volume", v.archival_code)
    work.touch("case", row.case_no)


def due_cases(session: Session) -> list[str]:
    """Concluded (or not accepted) cases not yet filed, oldest conclusion first."""
    filed = select(st.volumes.c.case_id)
    with session.store.read() as conn:
        return list(conn.execute(
            select(st.cases.c.case_no).where(st.cases.c.status.in_(FILABLE), st.cases.c.id.not_in(filed))
            .order_by(st.cases.c.concluded_on, st.cases.c.id)).scalars())


def unfiled_by_status(session: Session) -> dict[str, int]:
    """How many cases not yet filed are in each status (why ``file --all-due`` found nothing)."""
    filed = select(st.volumes.c.case_id)
    with session.store.read() as conn:
        return dict(conn.execute(select(st.cases.c.status, func.count()).where(st.cases.c.id.not_in(filed))
                                 .group_by(st.cases.c.status)).all())


def file_all_due(session: Session, *, dry_run: bool = False, checker: str | None = None,
                 progress=None) -> BatchResult:
    """File every concluded case not yet filed; ``progress(done, total, label)`` after each.

    A case that cannot be filed (unclassified item, missing file …) is reported and the
    others go on; a case another process filed meanwhile is skipped.
    """
    scheme = load_scheme(session)
    access.require(session, "volume.file", fonds=scheme.fonds_code)  # before anything is done
    return file_cases(session, due_cases(session), dry_run=dry_run, checker=checker, progress=progress,
                      scheme=scheme, skip_filed=True)


def file_cases(session: Session, case_nos: list[str], *, dry_run: bool = False, checker: str | None = None,
               progress=None, scheme: Scheme | None = None, skip_filed: bool = False) -> BatchResult:
    """File the cases named, one volume each; ``progress(done, total, label)`` after each.

    A case that cannot be filed is reported with its reason and the others go on. With
    ``skip_filed`` a case filed meanwhile (by another process) is left out rather than refused.
    """
    scheme = scheme or load_scheme(session)
    access.require(session, "volume.file", fonds=scheme.fonds_code)
    pending = list(dict.fromkeys(case_nos))
    filed, failed, previewed = [], [], {}
    for done, case_no in enumerate(pending, start=1):
        try:
            filed.append(file_case(session, case_no, dry_run=dry_run, checker=checker, scheme=scheme,
                                   _previewed=previewed))
        except StateError as exc:
            if not (skip_filed and "已经归档" in exc.message):
                failed.append((case_no, exc))
        except ArchiveError as exc:
            failed.append((case_no, exc))
        if progress:
            progress(done, len(pending), case_no)
    return BatchResult(tuple(filed), tuple(failed), dry_run)


FILING_WORKDAYS = 10  # concluded cases are filed within 10 working days (domain brief, 4)


@dataclass(frozen=True)
class DueCase:
    """A concluded case waiting to be filed, with the day it should be filed by."""

    case: str
    item_name: str
    applicant: str
    unit: str
    status: str
    concluded_on: dt.date
    file_by: dt.date | None  # None when the calendar lacks the year
    days_left: int | None  # working days to file_by; negative when overdue

    @property
    def state(self) -> str:
        if self.days_left is None:
            return "unknown"
        return "overdue" if self.days_left < 0 else "soon" if self.days_left <= 2 else "ok"

    def to_dict(self) -> dict:
        return {"case": self.case, "item_name": self.item_name, "applicant": self.applicant, "unit": self.unit,
                "status": self.status, "concluded_on": self.concluded_on.isoformat(),
                "file_by": self.file_by.isoformat() if self.file_by else None, "days_left": self.days_left,
                "state": self.state}


def filing_queue(session: Session) -> list[DueCase]:
    """Concluded cases not yet filed, oldest first, each with its filing deadline
    (:data:`FILING_WORKDAYS` working days after conclusion) and how many working days are left."""
    from ..core.errors import CalendarMissingError

    access.require(session, "volume.file")
    filed = select(st.volumes.c.case_id)
    c = st.cases.c
    with session.store.read() as conn:
        rows = conn.execute(
            select(c.case_no, c.unit, c.status, c.concluded_on, c.applicant, st.items.c.name)
            .select_from(st.cases.join(st.items, st.items.c.code == c.item_code))
            .where(c.status.in_(FILABLE), c.id.not_in(filed)).order_by(c.concluded_on, c.id)).all()
    calendar, today, out = session.calendar, session.today, []
    for row in rows:
        try:
            file_by = calendar.add_workdays(row.concluded_on, FILING_WORKDAYS)
            if file_by >= today:
                left = calendar.workdays_between(today, file_by)
            else:
                left = -calendar.workdays_between(file_by, today)
        except CalendarMissingError:
            file_by, left = None, None
        out.append(DueCase(case=row.case_no, item_name=row.name, applicant=(row.applicant or {}).get("name", ""),
                           unit=row.unit, status=row.status, concluded_on=row.concluded_on, file_by=file_by,
                           days_left=left))
    return out


# -- reading --------------------------------------------------------------------------------

def _volume_from_row(session: Session, conn, row, *, with_items: bool = True) -> Volume:
    ws = session.ws
    case_no = conn.execute(select(st.cases.c.case_no).where(st.cases.c.id == row.case_id)).scalar()
    items, forms, notes = [], [], []
    if with_items:
        for r in conn.execute(select(st.volume_items).where(st.volume_items.c.volume_id == row.id)
                              .order_by(st.volume_items.c.role, st.volume_items.c.number)):
            value = VolumeItem(number=r.number, title=r.title, date=r.date, pages=r.pages, page_start=r.page_start,
                               sha256=r.sha256, path=str(ws.absolute(r.path)), kind=r.kind, role=r.role,
                               doc_number=r.doc_number or "", responsible=r.responsible, size=r.size)
            if r.role == "item":
                items.append(value)
            elif r.role == "form":
                forms.append(value)
        notes = [Note(at=n.at, text=n.text, kind=n.kind, operator=n.operator) for n in conn.execute(
            select(st.volume_notes).where(st.volume_notes.c.volume_id == row.id).order_by(st.volume_notes.c.id))]
    return Volume(
        archival_code=row.archival_code, fonds=row.fonds, classification=row.classification, catalogue=row.catalogue,
        volume_no=row.volume_no, retention=row.retention, year=row.year, case=case_no, title=row.title, unit=row.unit,
        start_date=row.start_date, end_date=row.end_date, pages=row.pages, access=row.access,
        security_level=row.security_level, state=row.state, folder=str(ws.absolute(row.folder)),
        filed_at=row.filed_at, filed_by=row.filed_by, items=tuple(items), forms=tuple(forms), notes=tuple(notes),
        merged_pdf=str(ws.absolute(row.merged_pdf)) if row.merged_pdf else None, destroyed_at=row.destroyed_at,
        destroyed_by=row.destroyed_by, destruction_list=row.destruction_list_id, id=row.id)


def volume_row(conn, code: str, session: Session | None = None):
    """The volume's row; with ``session``, only when the acting account may see it (else as missing)."""
    code = check_code(code, "档号", max_length=100)
    row = conn.execute(select(st.volumes).where(st.volumes.c.archival_code == code)).first()
    if row is None or (session is not None and not access.visible_to(session, row.access, row.security_level,
                                                                      row.fonds)):
        raise NotFoundError(f"找不到档号为“{code}”的案卷", field="archival_code",
                            hint="用 archive volume list 查看已归档的案卷")
    return row


def show(session: Session, code: str) -> Volume:
    """One volume with its items, forms, state and notes (a restricted one is recorded in the audit trail).

    Needs ``volume.read`` (the administrators, who see no records, are refused rather than
    told that nothing exists), then clearance: a volume the account may not see is missing.
    """
    access.require(session, "volume.read")
    with session.store.read() as conn:
        volume = _volume_from_row(session, conn, volume_row(conn, code, session))
    if access.restricted(volume.access, volume.security_level):
        audit.record(session, "volume.view", volume.archival_code, access=volume.access,
                     security_level=volume.security_level)
    return volume


def merged_pdf_file(session: Session, code: str) -> tuple[Path, str]:
    """The volume's merged PDF (the original, for the archive: ``volume.file``) and its download
    name; what the account may not see answers as missing. Every fetch is in the audit trail."""
    access.require(session, "volume.file")
    with session.store.read() as conn:
        row = volume_row(conn, code, session)
    if not row.merged_pdf:
        raise NotFoundError(f"案卷 {row.archival_code} 没有合并的 PDF（归档时未生成 PDF）", field="pdf")
    path = session.ws.absolute(row.merged_pdf)
    if not path.is_file():
        raise StateError(f"案卷 {row.archival_code} 的合并 PDF 文件缺失", field="pdf", hint="请运行完整性校验（archive verify）")
    audit.record(session, "volume.download", row.archival_code, file="merged_pdf", access=row.access,
                 security_level=row.security_level)
    return path, f"{safe_name(row.archival_code)}.pdf"


def list_volumes(session: Session, *, class_code: str | None = None, year: int | None = None,
                 catalogue: int | None = None, state: str | None = None) -> list[Volume]:
    """Volumes filtered by class, year, catalogue number and state, in archival-code order.

    Needs ``volume.read``; only the volumes the acting account may see (clearance, fonds).
    """
    access.require(session, "volume.read")
    query = select(st.volumes).order_by(st.volumes.c.classification, st.volumes.c.year, st.volumes.c.catalogue,
                                        st.volumes.c.volume_no)
    if class_code or catalogue is not None:
        scheme = load_scheme(session)
        if class_code:
            scheme.get_class(class_code)
            query = query.where(st.volumes.c.classification == class_code)
        if catalogue is not None:
            scheme.catalogue(catalogue)
            query = query.where(st.volumes.c.catalogue == catalogue)
    if year is not None:
        query = query.where(st.volumes.c.year == year)
    if state:
        if state not in STATES:
            raise InputError(f"案卷状态“{state}”无效，可选：{'、'.join(STATES)}", field="state")
        query = query.where(st.volumes.c.state == state)
    with session.store.read() as conn:
        rows = conn.execute(query).all()
        case_nos = dict(conn.execute(select(st.cases.c.id, st.cases.c.case_no)
                                     .where(st.cases.c.id.in_([r.case_id for r in rows]))).all()) if rows else {}
    ws = session.ws
    rows = [r for r in rows if access.visible_to(session, r.access, r.security_level, r.fonds)]
    return [Volume(archival_code=r.archival_code, fonds=r.fonds, classification=r.classification,
                   catalogue=r.catalogue, volume_no=r.volume_no, retention=r.retention, year=r.year,
                   case=case_nos.get(r.case_id, ""), title=r.title, unit=r.unit, start_date=r.start_date,
                   end_date=r.end_date, pages=r.pages, access=r.access, security_level=r.security_level,
                   state=r.state, folder=str(ws.absolute(r.folder)), filed_at=r.filed_at, filed_by=r.filed_by,
                   count=r.items_count, destroyed_at=r.destroyed_at, destroyed_by=r.destroyed_by,
                   destruction_list=r.destruction_list_id, id=r.id) for r in rows]


# -- notes ----------------------------------------------------------------------------------

def add_note(work: Work, volume_id: int, text: str, *, kind: str = "note") -> Note:
    """Add a note inside ``work`` and re-issue the notes sheet (filed items are never edited).

    The new notes sheet is a new file; the earlier one is kept and recorded as superseded,
    so fixity checks still cover it. Other modules (lending: returns, inspections) call
    this inside their own unit of work.
    """
    session = work.session
    conn = work.conn
    text = check_text(text, "备考说明", max_length=2000)
    row = conn.execute(select(st.volumes).where(st.volumes.c.id == volume_id)).first()
    if row.state == "destroyed":
        raise StateError(f"案卷 {row.archival_code} 已销毁，不能再添加备考说明", field="archival_code")
    note = Note(at=session.now(), text=text, kind=kind, operator=session.operator)
    conn.execute(st.volume_notes.insert().values(volume_id=volume_id, text=text, kind=kind, at=note.at,
                                                 operator=note.operator))
    _reissue_notes_sheet(work, row)
    session.log(work, "volume_note", row.archival_code, text=text, kind=kind)
    work.touch("volume", row.archival_code)
    return note


def _reissue_notes_sheet(work: Work, row) -> None:
    conn = work.conn
    current = conn.execute(select(st.volume_items).where(
        st.volume_items.c.volume_id == row.id, st.volume_items.c.role == "form",
        st.volume_items.c.kind == "notes_sheet")).first()
    versions = conn.execute(select(func.count()).select_from(st.volume_items).where(
        st.volume_items.c.volume_id == row.id, st.volume_items.c.kind == "notes_sheet")).scalar()
    items = [VolumeItem(number=r.number, title=r.title, date=r.date, pages=r.pages, page_start=r.page_start,
                        sha256=r.sha256, path=r.path, kind=r.kind) for r in conn.execute(
        select(st.volume_items).where(st.volume_items.c.volume_id == row.id, st.volume_items.c.role == "item"))]
    scanned = conn.execute(select(func.count()).select_from(st.volume_items).where(
        st.volume_items.c.volume_id == row.id, st.volume_items.c.role == "item",
        st.volume_items.c.kind == "attachment", ~st.volume_items.c.path.ilike("%.pdf"))).scalar()
    case_no = conn.execute(select(st.cases.c.case_no).where(st.cases.c.id == row.case_id)).scalar()
    notes = [Note(at=n.at, text=n.text, kind=n.kind, operator=n.operator) for n in conn.execute(
        select(st.volume_notes).where(st.volume_notes.c.volume_id == row.id).order_by(st.volume_notes.c.id))]
    pdf = any(i.path.endswith(".pdf") and i.kind != "attachment" for i in items)
    info = {"archival_code": row.archival_code, "filed_by": row.filed_by, "filed_on": row.filed_at.date(),
            "explanation": _explanation(case_no, items, pdf, scanned)}
    _replace_form(work, row, current, "notes_sheet", _notes_context(info, notes, row.checker),
                  f"99-卷内备考表-{versions + 1}.docx", default_number=3)


def _replace_form(work: Work, row, current, kind: str, context: dict, name: str, *, default_number: int) -> None:
    """Render a new version of one of the volume's forms; the current one becomes superseded
    (filed files are never edited, and fixity checks keep covering the earlier version)."""
    from ..documents.render import render_document

    session, conn, ws = work.session, work.conn, work.session.ws
    path = ws.absolute(row.folder) / name
    work.track(path)
    render_document(kind, context, path)
    data = path.read_bytes()
    superseded = conn.execute(select(func.coalesce(func.max(st.volume_items.c.number), 0)).where(
        st.volume_items.c.volume_id == row.id, st.volume_items.c.role == "superseded")).scalar() + 1
    if current is not None:
        conn.execute(st.volume_items.update().where(st.volume_items.c.id == current.id)
                     .values(role="superseded", number=superseded))
    conn.execute(st.volume_items.insert().values(
        volume_id=row.id, number=current.number if current is not None else default_number,
        title=FORM_TITLES[kind], doc_number=None, responsible="", date=session.today,
        pages=docx_page_count(data), page_start=0, role="form", kind=kind, path=ws.relative(path),
        sha256=hashlib.sha256(data).hexdigest(), size=len(data)))


@retrying
def note(session: Session, code: str, *, text: str, kind: str = "note") -> Volume:
    """Add a note to a volume's notes sheet (卷内备考表); needs ``volume.file``."""
    access.require(session, "volume.file")
    with session.work() as work:
        row = volume_row(work.conn, code, session)
        access.require(session, "volume.file", fonds=row.fonds)
        add_note(work, row.id, text, kind=kind)
    return show(session, code)


# -- access and security ----------------------------------------------------------------------
# A change of 开放标识/密级 is proposed by one account and decided by another: see
# ``shelf.access_changes``, which issues the cover again through the function below.

def _reissue_cover(work: Work, row) -> None:
    """Issue the volume's cover again (after a change of its marks); the earlier one is superseded."""
    session, conn, ws = work.session, work.conn, work.session.ws
    scheme = load_scheme(session)
    try:
        class_name = scheme.get_class(row.classification).name
    except InputError:
        class_name = row.classification
    try:
        unit_name = ws.unit(row.unit)["name"]
    except InputError:
        unit_name = row.unit
    context = {
        "fonds": {"code": row.fonds, "name": scheme.fonds_name}, "catalogue": f"{row.catalogue:03d}",
        "volume_no": f"{row.volume_no:04d}", "class_code": row.classification, "class_name": class_name,
        "title": row.title, "unit": unit_name, "start_date": format_cn_date(row.start_date),
        "end_date": format_cn_date(row.end_date), "retention": retention_text(row.retention), "access": row.access,
        "security_level": row.security_level, "items_count": row.items_count, "pages": row.pages,
        "archival_code": row.archival_code,
    }
    current = conn.execute(select(st.volume_items).where(
        st.volume_items.c.volume_id == row.id, st.volume_items.c.role == "form",
        st.volume_items.c.kind == "volume_cover")).first()
    versions = conn.execute(select(func.count()).select_from(st.volume_items).where(
        st.volume_items.c.volume_id == row.id, st.volume_items.c.kind == "volume_cover")).scalar()
    _replace_form(work, row, current, "volume_cover", context, f"00-案卷封面-{versions + 1}.docx", default_number=1)
    work.touch("volume", row.archival_code)
