"""Text of the documents in a case file, for the full-text index.

A .docx is read straight from its package (zipfile, and regular expressions or lxml, see
:func:`docx_text`): every paragraph of the body in document order, including the
paragraphs inside tables (and tables nested in tables), headers and footers. A PDF is
read with pypdf page by page (the spaces and line breaks its layout leaves inside Chinese
sentences are bridged by the index, see ``archive.search.index.text_tokens``). A PDF without a
text layer (a scan) and an image give no text: the result says so (``has_text`` False
with the reason), and the index keeps the file by its metadata only. Nothing here raises
for a bad file: a missing, damaged or encrypted file is reported in ``problem``, so that
one bad file never stops a rebuild.
"""

from __future__ import annotations

import os
import re
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

    The package is read with zipfile directly: python-docx would parse every part (styles,
    numbering, settings …) to open the document, ten times the work, and the search indexer
    reads every notice of every case it updates. A part is read by :func:`_flat_outline`
    when it can be (what Word, LibreOffice and python-docx write), otherwise parsed with
    lxml (:func:`_parsed_outline`); both give the same lines.
    """
    import posixpath
    import zipfile

    lines: list[str] = []
    seen: set[str] = set()

    def collect(found: list[str]) -> None:
        for line in found:
            if line not in seen:
                seen.add(line)
                lines.append(line)

    with zipfile.ZipFile(path) as package:
        def targets(part: str) -> dict[str, str]:
            folder, name = posixpath.split(part)
            try:
                rels = _relationships(package.read(posixpath.join(folder, "_rels", name + ".rels")))
            except KeyError:
                return {}
            return {rid: target.lstrip("/") if target.startswith("/") else
                    posixpath.normpath(posixpath.join(folder, target))
                    for rid, (kind, target) in rels.items()}

        main = "word/document.xml"
        for kind, target in _relationships(package.read("_rels/.rels")).values():
            if kind.endswith("/officeDocument"):
                main = target.lstrip("/")
        body, sections = _outline(package.read(main))
        parts = targets(main)

        def hdrftr(kind: str) -> None:
            for references in sections:
                for which in _KINDS:
                    target = parts.get(references.get((kind, which)))
                    if target:
                        collect(_outline(package.read(target))[0])

        hdrftr("header")
        collect(body)
        hdrftr("footer")
    return "\n".join(lines)


def _parser():
    from lxml import etree

    # collect_ids=False: no table of xml:id attributes, which a .docx does not use (a quarter
    # of the parse of a notice)
    return etree.XMLParser(resolve_entities=False, huge_tree=True, remove_comments=True, collect_ids=False)


def _relationships(data: bytes) -> dict[str, tuple[str, str]]:
    """A part's relationships: id → (type, target), external ones left out."""
    from lxml import etree

    return {rel.get("Id"): (rel.get("Type", ""), rel.get("Target", ""))
            for rel in etree.fromstring(data, _parser()).iter(_PKG_RELS) if rel.get("TargetMode") != "External"}


def _outline(data: bytes) -> tuple[list[str], list[dict]]:
    """A document, header or footer part: the text of each of its paragraphs in order (white
    space folded, empty ones left out) and, for each section, its header and footer
    references ``{(kind, type): relationship id}``."""
    return _flat_outline(data) or _parsed_outline(data)


def _parsed_outline(data: bytes) -> tuple[list[str], list[dict]]:
    from lxml import etree

    root = etree.fromstring(data, _parser())
    w_p, w_t, w_tab, w_br, w_cr = _W + "p", _W + "t", _W + "tab", _W + "br", _W + "cr"
    lines = []
    for paragraph in root.iter(w_p):
        parts = []
        for node in paragraph.iter(w_t, w_tab, w_br, w_cr):
            parts.append(node.text or "" if node.tag == w_t else " ")
        line = " ".join("".join(parts).split())
        if line:
            lines.append(line)
    sections = []
    for sect in root.xpath("./w:body/w:p/w:pPr/w:sectPr | ./w:body/w:sectPr", namespaces={"w": _W[1:-1]}):
        references = {}
        for ref in sect.iter(_W + "headerReference", _W + "footerReference"):
            references[(etree.QName(ref).localname[:6], ref.get(_W + "type"))] = ref.get(_R + "id")
        sections.append(references)
    return lines, sections


# The flat reading: a part whose prefixes are the usual ones (w: and r: bound once, on the
# root), without comments, CDATA, a DTD or text boxes (the one place where a paragraph holds
# other paragraphs), in UTF-8. Its paragraphs then follow one another: everything before a
# </w:p> since the previous one is that paragraph, and its text is its <w:t> elements, a space
# for each tab or break. Regular expressions over the bytes find them five times faster than
# a parse, which the indexer pays for every notice of every case.
_W_NAMESPACE = b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_W_DECLARED = b"xmlns:w=" + _W_NAMESPACE
_R_DECLARED = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_NOT_FLAT = (b"<!--", b"<![CDATA[", b"<!DOCTYPE", b"txbxContent", b"sectPrChange")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding=["']([^"']+)""")
_ROOT = re.compile(rb"^(?:<\?xml[^>]*\?>)?\s*<(w:\w+)[\s>]")
_BREAK = re.compile(rb"<w:(?:tab|br|cr)\b[^>]*>")
_TEXT = re.compile(rb"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")
_SECTION = re.compile(rb"<w:sectPr\b(?:[^>]*/>|.*?</w:sectPr>)", re.DOTALL)
_REFERENCE = re.compile(rb"<w:(header|footer)Reference\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _entity(match) -> str:
    name = match.group(1)
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))  # noqa: FURB166
    return _NAMED[name]


def _flat_outline(data: bytes) -> tuple[list[str], list[dict]] | None:
    """:func:`_outline` by regular expressions, or None when the part is not flat (above)."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or _W_DECLARED not in data:
        return None
    declared = _ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    if any(marker in data for marker in _NOT_FLAT) or data.count(_W_NAMESPACE) > 1:
        return None
    root = _ROOT.match(data)  # and ends with the root's end tag: a part cut short is parsed, and refused
    if root is None or not data.rstrip().endswith(b"</" + root.group(1) + b">"):
        return None
    data = _BREAK.sub(b"<w:t> </w:t>", data)
    lines = []
    for paragraph in data.split(b"</w:p>")[:-1]:
        line = b"".join(_TEXT.findall(paragraph)).decode("utf-8")
        if "&" in line:
            line = _ENTITY.sub(_entity, line)
        line = " ".join(line.split())
        if line:
            lines.append(line)
    sections = []
    for section in _SECTION.findall(data):
        references = {}
        found = _REFERENCE.findall(section)
        if found and _R_DECLARED not in data:
            return None
        for kind, attributes in found:
            values = {name: first or second for name, first, second in _ATTRIBUTE.findall(attributes)}
            references[(kind.decode(), values.get(b"w:type", b"").decode() or None)] = \
                values.get(b"r:id", b"").decode() or None
        sections.append(references)
    return lines, sections


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
