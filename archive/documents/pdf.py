"""Reading and annotating PDFs with pypdf: page counts, text, document information."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import InputError


def looks_like_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def open_pdf(path: str | os.PathLike):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return PdfReader(path)
    except FileNotFoundError:
        raise InputError(f"找不到 PDF 文件：{path}", field="pdf_path") from None
    except (PdfReadError, OSError, ValueError) as exc:
        raise InputError(
            f"无法读取 PDF 文件 {path}：文件已损坏或不是 PDF（{exc}）。",
            field="pdf_path",
            hint="请重新生成该 PDF。",
        ) from None


def pdf_page_count(path: str | os.PathLike) -> int:
    """Return the number of pages of the PDF at ``path``."""
    return len(open_pdf(path).pages)


def pdf_text(path: str | os.PathLike) -> str:
    """Return the text of every page of the PDF at ``path``, pages separated by newlines."""
    return "\n".join(page.extract_text() or "" for page in open_pdf(path).pages)


def stamp_metadata(
    pdf_path: str | os.PathLike,
    *,
    title: str,
    number: str,
    case: str | None = None,
    subject: str | None = None,
    author: str | None = None,
    keywords: str | Sequence[str] | None = None,
) -> None:
    """Write the notice's document information into the PDF at ``pdf_path``.

    Sets ``/Title``, ``/NoticeNumber`` (the 文书编号) and, when given, ``/CaseNumber``,
    ``/Subject``, ``/Author`` and ``/Keywords`` (a list is joined with ``"; "``); the
    rest of the existing information (producer, creation date) is kept. The file is
    rewritten through a temporary file and renamed into place.
    """
    from pypdf import PdfWriter

    if not title or not title.strip():
        raise InputError("PDF 标题不能为空", field="title")
    if not number or not number.strip():
        raise InputError("文书编号不能为空", field="number")
    target = Path(pdf_path)
    reader = open_pdf(target)
    writer = PdfWriter(clone_from=reader)
    info: dict[str, str] = {"/Title": title, "/NoticeNumber": number}
    if case is not None:
        info["/CaseNumber"] = case
    if subject is not None:
        info["/Subject"] = subject
    if author is not None:
        info["/Author"] = author
    if keywords is not None:
        info["/Keywords"] = keywords if isinstance(keywords, str) else "; ".join(keywords)
    writer.add_metadata(info)

    temp = target.parent / f".{target.stem}.{uuid.uuid4().hex}.part.pdf"
    try:
        with open(temp, "wb") as handle:
            writer.write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)  # replacing the same document is the point here
    finally:
        temp.unlink(missing_ok=True)


def split_parts(path: str | os.PathLike, labels: Sequence[str]) -> list[bytes]:
    """The PDF at ``path`` cut into one PDF per part (联), as bytes, in the order of ``labels``.

    A page that shows a part's label (第一联 …) starts that part; the pages after it up to
    the next label belong to it. Without labels, or when no page shows one, the whole PDF
    is one part.
    """
    import io

    from pypdf import PdfWriter

    reader = open_pdf(path)
    owner: list[int] = []
    current = 0
    for page in reader.pages:
        text = page.extract_text() or ""
        for index, label in enumerate(labels):
            if label and label in text:
                current = index
                break
        owner.append(current)
    count = max(1, len(labels))
    out = []
    for index in range(count):
        writer = PdfWriter()
        for page, who in zip(reader.pages, owner):
            if who == index:
                writer.add_page(page)
        if not writer.pages:
            continue
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out
_PDFA_PART = re.compile(r"pdfaid:part(?:>|=\")\s*(\d)")
_PDFA_CONFORMANCE = re.compile(r"pdfaid:conformance(?:>|=\")\s*([ABU])", re.IGNORECASE)


def pdfa_claim(path: str | os.PathLike) -> str | None:
    """The PDF/A conformance the PDF's XMP metadata claims (``"2B"`` for PDF/A-2b), or None.

    This reads the claim only; it does not validate the file against ISO 19005 (veraPDF
    does that). LibreOffice writes the claim when it exports PDF/A; a PDF rewritten by a
    tool that drops the catalogue's /Metadata loses it.
    """
    reader = open_pdf(path)
    metadata = reader.trailer["/Root"].get("/Metadata")
    if metadata is None:
        return None
    try:
        xml = metadata.get_object().get_data().decode("utf-8", errors="replace")
    except Exception:  # an unreadable metadata stream claims nothing
        return None
    part, conformance = _PDFA_PART.search(xml), _PDFA_CONFORMANCE.search(xml)
    if not part:
        return None
    return part.group(1) + (conformance.group(1).upper() if conformance else "")


def extract_pages(source: str | os.PathLike, pages: Sequence[int], target: str | os.PathLike) -> bytes:
    """The PDF of ``pages`` (0-based) of ``source``, keeping its metadata, PDF/A output
    intent and document information, so a page range of a PDF/A file still claims PDF/A.
    Returns the bytes; writes nothing (``target`` only names the result for errors)."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    reader = open_pdf(source)
    writer = PdfWriter()
    for index in pages:
        if not 0 <= index < len(reader.pages):
            raise InputError(f"{target}：页码 {index + 1} 超出范围（共 {len(reader.pages)} 页）", field="pages")
        writer.add_page(reader.pages[index])
    root = reader.trailer["/Root"]
    for key in ("/Metadata", "/OutputIntents", "/Lang", "/MarkInfo"):
        if key in root:
            writer.root_object[NameObject(key)] = root.raw_get(key).clone(writer)
    if reader.metadata:
        writer.add_metadata({k: v for k, v in reader.metadata.items() if isinstance(k, str)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_texts(path: str | os.PathLike) -> list[str]:
    """The text of each page of the PDF at ``path``."""
    return [page.extract_text() or "" for page in open_pdf(path).pages]
