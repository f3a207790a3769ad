"""The merged PDF of a volume: its parts in order, “档号：…” stamped on each page.

The stamp is a small framed line in the header area (top right, inside a 10 mm band):
“档号：Z023-XK·ZC·2026·D30-001-0127”, and on item pages their page number (页号) within the
volume; the forms (cover, item list, notes sheet) are not numbered, as in a bound volume.
It is drawn in Noto Sans CJK SC, embedded as a CID-keyed subset (Type 0 font, Identity-H,
with a ToUnicode map so the code can be searched and copied), made once from the installed
collection with fontTools and cached. Images (scanned attachments) become PDF pages
through Pillow at their recorded resolution.

The merged PDF is for reading a volume in one go; it does not claim PDF/A: pypdf's merge
keeps neither the parts' XMP metadata nor their output intents, and scanned attachments
need not be PDF/A. The volume's archival copies are its item PDFs, each PDF/A-2b.
"""

from __future__ import annotations

import functools
import io
import os

MM = 72 / 25.4
FONT_SIZE = 9
FONT_NAME = "NotoSansCJKsc-Regular"
_STAMP_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "·／＼档号：第页"
_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc")
_SC_FACE = 2  # Noto CJK collections order their faces JP, KR, SC, TC, HK


@functools.lru_cache(maxsize=8)
def _stamp_font(chars: str) -> dict:
    """The CFF program, CIDs, widths and bounding box of the stamp font for ``chars``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    from ..core.errors import ConversionError
    from .fonts import NOTO_DIRS

    source = next((folder / name for name in _FONT_FILES for folder in NOTO_DIRS if (folder / name).is_file()), None)
    if source is None:
        raise ConversionError("找不到中文字体（Noto CJK），无法在合并的 PDF 上加盖档号",
                              hint="请运行 make deps 安装 fonts-noto-cjk")
    font = TTFont(str(source), fontNumber=_SC_FACE, lazy=True)
    options = subset.Options()
    options.desubroutinize = True
    options.hinting = False
    options.layout_features = []
    options.name_IDs = []
    options.notdef_outline = True
    options.glyph_names = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    saved = TTFont(io.BytesIO(buffer.getvalue()))
    cmap = saved.getBestCmap()
    hmtx = saved["hmtx"]
    scale = 1000 / saved["head"].unitsPerEm
    cids, widths = {}, {}
    for char in chars:
        glyph = cmap.get(ord(char))
        if glyph is None or not glyph.startswith("cid"):
            continue
        cid = int(glyph[3:])
        cids[char] = cid
        widths[cid] = round(hmtx[glyph][0] * scale)
    head, os2 = saved["head"], saved["OS/2"]
    return {
        "cff": saved.reader["CFF "],
        "cids": cids,
        "widths": widths,
        "bbox": [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)],
        "ascent": round(os2.sTypoAscender * scale),
        "descent": round(os2.sTypoDescender * scale),
    }


def _font_objects(writer, font: dict):
    """The Type 0 font (with its descendant CID font, descriptor, program and ToUnicode map)."""
    from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject,
                               TextStringObject)

    def number_array(values):
        return ArrayObject([NumberObject(v) for v in values])

    program = DecodedStreamObject()
    program.set_data(font["cff"])
    program[NameObject("/Subtype")] = NameObject("/CIDFontType0C")
    descriptor = DictionaryObject({
        NameObject("/Type"): NameObject("/FontDescriptor"), NameObject("/FontName"): NameObject("/" + FONT_NAME),
        NameObject("/Flags"): NumberObject(4), NameObject("/FontBBox"): number_array(font["bbox"]),
        NameObject("/ItalicAngle"): NumberObject(0), NameObject("/Ascent"): NumberObject(font["ascent"]),
        NameObject("/Descent"): NumberObject(font["descent"]), NameObject("/CapHeight"): NumberObject(733),
        NameObject("/StemV"): NumberObject(80), NameObject("/FontFile3"): writer._add_object(program),
    })
    widths = ArrayObject()
    for cid in sorted(font["widths"]):
        widths += [NumberObject(cid), number_array([font["widths"][cid]])]
    cid_font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/CIDFontType0"),
        NameObject("/BaseFont"): NameObject("/" + FONT_NAME),
        NameObject("/CIDSystemInfo"): DictionaryObject({
            NameObject("/Registry"): TextStringObject("Adobe"), NameObject("/Ordering"): TextStringObject("Identity"),
            NameObject("/Supplement"): NumberObject(0)}),
        NameObject("/FontDescriptor"): writer._add_object(descriptor), NameObject("/DW"): NumberObject(1000),
        NameObject("/W"): widths,
    })
    pairs = "".join(f"<{cid:04X}> <{ord(char):04X}>\n" for char, cid in sorted(font["cids"].items(), key=lambda i: i[1]))
    to_unicode = DecodedStreamObject()
    to_unicode.set_data((
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(font['cids'])} beginbfchar\n{pairs}endbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii"))
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type0"),
        NameObject("/BaseFont"): NameObject("/" + FONT_NAME), NameObject("/Encoding"): NameObject("/Identity-H"),
        NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
        NameObject("/ToUnicode"): writer._add_object(to_unicode),
    }))


def _encode(text: str, font: dict) -> tuple[bytes, float]:
    """The text as 2-byte CIDs for Identity-H, and its width at FONT_SIZE."""
    cids = [font["cids"].get(char, 0) for char in text]
    width = sum(font["widths"].get(cid, 1000) for cid in cids) * FONT_SIZE / 1000
    return b"<" + "".join(f"{cid:04X}" for cid in cids).encode() + b">", width


def _stamp_page(box, text: str, font: dict, font_ref):
    """A blank page the size of ``box`` with ``text`` framed in its top-right header area."""
    from pypdf import PageObject
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    left, bottom, right, top = (float(v) for v in (box.left, box.bottom, box.right, box.top))
    page = PageObject.create_blank_page(width=right - left, height=top - bottom)
    page.mediabox.lower_left = (left, bottom)
    page.mediabox.upper_right = (right, top)
    encoded, width = _encode(text, font)
    pad = 3
    x = right - 15 * MM - width
    y = top - 9 * MM
    content = (
        f"q 0.6 w 0 0 0 RG {x - pad:.2f} {y - pad - 1:.2f} {width + 2 * pad:.2f} {FONT_SIZE + 2 * pad:.2f} re S Q "
        f"BT /FArc {FONT_SIZE} Tf {x:.2f} {y:.2f} Td "
    ).encode() + encoded + b" Tj ET"
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Resources")] = DictionaryObject({
        NameObject("/Font"): DictionaryObject({NameObject("/FArc"): font_ref})})
    page[NameObject("/Contents")] = stream
    return page


def _image_pdf(data: bytes):
    from PIL import Image
    from pypdf import PdfReader

    frames = []
    with Image.open(io.BytesIO(data)) as image:
        dpi = image.info.get("dpi", (150, 150))[0] or 150
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frame = image.convert("RGB") if image.mode not in ("RGB", "L") else image.copy()
            frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "PDF", resolution=float(dpi), save_all=True, append_images=frames[1:])
    return PdfReader(buffer)


def merge_and_stamp(parts, *, code: str, title: str) -> tuple[bytes, int]:
    """Merge ``parts`` — ``(numbered, source)`` with ``source`` a PDF path or image bytes —
    and stamp ``code`` in each page's header area; numbered pages also get their page
    number. Returns the PDF's bytes and its page count."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    numbered: list[bool] = []
    for is_item, source in parts:
        reader = _image_pdf(source) if isinstance(source, (bytes, bytearray)) else PdfReader(os.fspath(source))
        before = len(writer.pages)
        writer.append(reader, import_outline=False)
        numbered += [bool(is_item)] * (len(writer.pages) - before)
    label = f"档号：{code}"
    font = _stamp_font("".join(sorted(set(_STAMP_CHARS) | set(label))))
    font_ref = _font_objects(writer, font)
    number = 0
    for page, is_item in zip(writer.pages, numbered):
        if page.get("/Rotate"):
            page.transfer_rotation_to_content()
        text = label
        if is_item:
            number += 1
            text = f"{label}   第{number}页"
        page.merge_page(_stamp_page(page.mediabox, text, font, font_ref), over=True)
    writer.add_metadata({"/Title": f"{code} {title}", "/Subject": "案卷合并PDF", "/ArchivalCode": code,
                         "/Producer": "service-archive"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)
