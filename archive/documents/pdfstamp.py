"""The merged PDF of a volume: its parts in order, the archival code stamped on each page.

The stamp is a small framed text in the header area (top right, inside a 10 mm band)
drawn with the standard Helvetica font — the archival code is ASCII plus the middle dot
``·``, which WinAnsiEncoding has — so nothing needs embedding and every PDF reader shows
it. Item pages also carry their page number (页号) within the volume; the forms (cover,
item list, notes sheet) are not numbered, as in a bound volume. Images (scanned
attachments) become PDF pages through Pillow at their recorded resolution.
"""

from __future__ import annotations

import io
import os

MM = 72 / 25.4
FONT_SIZE = 9
# Helvetica advance widths (1/1000 em) of the characters an archival code uses.
_WIDTHS = {**{c: 556 for c in "0123456789"}, "-": 333, "·": 278, " ": 278, "/": 278, ".": 278, "_": 556,
           **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                      (667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722,
                       667, 611, 722, 667, 944, 667, 667, 611)))}


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    return sum(_WIDTHS.get(c, 600) for c in text) * size / 1000


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _stamp_page(box, text: str):
    """A blank page the size of ``box`` with ``text`` framed in its top-right header area."""
    from pypdf import PageObject
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    left, bottom, right, top = (float(v) for v in (box.left, box.bottom, box.right, box.top))
    page = PageObject.create_blank_page(width=right - left, height=top - bottom)
    page.mediabox.lower_left = (left, bottom)
    page.mediabox.upper_right = (right, top)
    width = _text_width(text) * 1.06  # room for a substitute face a little wider than Helvetica
    pad = 3
    x = right - 15 * MM - width
    y = top - 9 * MM
    content = (
        f"q 0.6 w 0 0 0 RG {x - pad:.2f} {y - pad - 1:.2f} {width + 2 * pad:.2f} {FONT_SIZE + 2 * pad:.2f} re S Q "
        f"BT /FArc {FONT_SIZE} Tf {x:.2f} {y:.2f} Td "
    ).encode() + _pdf_string(text) + b" Tj ET"
    stream = DecodedStreamObject()
    stream.set_data(content)
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    })
    page[NameObject("/Resources")] = DictionaryObject({
        NameObject("/Font"): DictionaryObject({NameObject("/FArc"): font})})
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
    number = 0
    for page, is_item in zip(writer.pages, numbered):
        if page.get("/Rotate"):
            page.transfer_rotation_to_content()
        text = code
        if is_item:
            number += 1
            text = f"{code}   {number}"
        page.merge_page(_stamp_page(page.mediabox, text), over=True)
    writer.add_metadata({"/Title": f"{code} {title}", "/Subject": "案卷合并PDF", "/ArchivalCode": code,
                         "/Producer": "service-archive"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)
