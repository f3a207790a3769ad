"""Text of the documents in a case file, for the full-text index.

A .docx is read straight from its package (zipfile + lxml): every paragraph of the body in
document order, including the paragraphs inside tables (and tables nested in tables),
headers and footers. A PDF is
read with pypdf page by page (the spaces and line breaks its layout leaves inside Chinese
sentences are bridged by the index, see ``archive.search.index.text_tokens``). A PDF without a
text layer (a scan) and an image give no text: the result says so (``has_text`` False
with the reason), and the index keeps the file by its metadata only. Nothing here raises
for a bad file: a missing, damaged or encrypted file is reported in ``problem``, so that
one bad file never stops a rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DOCX_SUFFIXES = {".docx", ".docm"}
PDF_SUFFIXES = {".pdf"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}

NO_TEXT_LAYER = "PDF 没有文字层（可能是扫描件），只按题名等元数据检索"
IMAGE_NO_TEXT = "图像文件没有文字，只按题名等元数据检索"


@dataclass(frozen=True)
class Extracted:
    """The text of one file and whether it had any."""

    path: str
    text: str
    has_text: bool
    pages: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "has_text": self.has_text, "pages": self.pages, "problem": self.problem,
                "chars": len(self.text)}


def extract(path: str | os.PathLike) -> Extracted:
    """The text of a .docx, a PDF or an image (which has none), never raising for a bad file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        return Extracted(str(path), "", False, problem="文件不存在")
    try:
        if suffix in DOCX_SUFFIXES:
            text = docx_text(path)
            return Extracted(str(path), text, bool(text.strip()), problem=None if text.strip() else "文档中没有文字")
        if suffix in PDF_SUFFIXES:
            return pdf_text(path)
        if suffix in IMAGE_SUFFIXES:
            return Extracted(str(path), "", False, pages=1, problem=IMAGE_NO_TEXT)
    except Exception as exc:  # a damaged file must not stop indexing the rest
        return Extracted(str(path), "", False, problem=f"无法读取文件内容（{type(exc).__name__}：{exc}）"[:300])
    return Extracted(str(path), "", False, problem=f"不支持提取该类型文件的文字（{suffix or '无扩展名'}）")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_KINDS = ("default", "first", "even")  # python-docx: header, first_page_header, even_page_header


def docx_text(path: str | os.PathLike) -> str:
    """Paragraph texts of a .docx in document order, tables included, one paragraph a line.

    Headers come first and footers last, each section's own ones (a header "linked to the
    previous section" has no part of its own), as python-docx's ``Document.sections``
    presents them. A notice is printed in several parts (联) with the same text; a
    paragraph that repeats an earlier one word for word is kept once.

    The package is read with zipfile and lxml directly: python-docx would parse every part
    (styles, numbering, settings …) to open the document, ten times the work, and the search
    indexer reads every notice of every case it updates.
    """
    import posixpath
    import zipfile

    from lxml import etree

    # collect_ids=False: no table of xml:id attributes, which a .docx does not use (a quarter
    # of the parse of a notice)
    parser = etree.XMLParser(resolve_entities=False, huge_tree=True, remove_comments=True, collect_ids=False)
    w_p, w_t, w_tab, w_br, w_cr = _W + "p", _W + "t", _W + "tab", _W + "br", _W + "cr"
    lines: list[str] = []
    seen: set[str] = set()

    def collect(element) -> None:
        for paragraph in element.iter(w_p):
            parts = []
            for node in paragraph.iter(w_t, w_tab, w_br, w_cr):
                if node.tag == w_t:
                    parts.append(node.text or "")
                else:
                    parts.append(" ")
            line = " ".join("".join(parts).split())
            if line and line not in seen:
                seen.add(line)
                lines.append(line)

    with zipfile.ZipFile(path) as package:
        def targets(part: str) -> dict[str, str]:
            folder, name = posixpath.split(part)
            try:
                rels = etree.fromstring(package.read(posixpath.join(folder, "_rels", name + ".rels")), parser)
            except KeyError:
                return {}
            found = {}
            for rel in rels.iter(_PKG_RELS):
                target = rel.get("Target", "")
                if rel.get("TargetMode") != "External":
                    found[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else \
                        posixpath.normpath(posixpath.join(folder, target))
            return found

        main = "word/document.xml"
        for rel in etree.fromstring(package.read("_rels/.rels"), parser).iter(_PKG_RELS):
            if rel.get("Type", "").endswith("/officeDocument"):
                main = rel.get("Target", "").lstrip("/")
        document = etree.fromstring(package.read(main), parser)
        parts = targets(main)
        sections = document.xpath("./w:body/w:p/w:pPr/w:sectPr | ./w:body/w:sectPr", namespaces={"w": _W[1:-1]})

        def hdrftr(kind: str) -> None:
            for sect in sections:
                references = {ref.get(_W + "type"): ref.get(_R + "id") for ref in sect.iter(_W + kind + "Reference")}
                for which in _KINDS:
                    target = parts.get(references.get(which))
                    if target:
                        collect(etree.fromstring(package.read(target), parser))

        hdrftr("header")
        collect(document.find(_W + "body"))
        hdrftr("footer")
    return "\n".join(lines)


def pdf_text(path: str | os.PathLike) -> Extracted:
    """The text layer of a PDF; a PDF whose pages carry no text is reported as having none."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:
            return Extracted(str(path), "", False, problem="PDF 已加密，无法提取文字")
    pages = []
    for page in reader.pages:
        try:
            pages.append(page.extract_text() or "")
        except Exception:
            pages.append("")
    lines = [" ".join(line.split()) for text in pages for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if not text.strip():
        return Extracted(str(path), "", False, pages=len(reader.pages), problem=NO_TEXT_LAYER)
    return Extracted(str(path), text, True, pages=len(reader.pages))
