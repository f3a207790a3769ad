"""Copies (复制件) of a lent volume: watermarked, edit-protected PDFs made by the archive.

:func:`make_copy` takes the volume's merged PDF (or, without one, its items' files in item
order), keeps all pages or the chosen ones (``1-5,8``, numbered through the volume), and
marks every page:

* an ordinary copy gets a watermark tiled across the page — 仅供查阅, the borrower and
  unit, the date and the loan number — drawn with a CJK font into a translucent image
  (Pillow), so it looks the same in every viewer and needs no font in the PDF;
* a certified copy (``certified=True``) instead gets the archive's certification stamp
  (档案证明专用章; the packaged one is a specimen marked 样章) over a line saying the copy
  agrees with the original, and needs approval (``lending.certified_copy_approval``).

The marks also go in as invisible text (text render mode 3, Adobe-GB1 font, not embedded)
so the watermark can be searched and extracted. The file is then encrypted with an empty
user password and a random owner password: anyone can open and print it, nobody can edit,
assemble or copy from it. Copies are made only for an open loan, as one of its uses, under
the lending rules for mode 复制 (copy); each is recorded with its pages, approver, operator,
time and SHA-256, and written atomically under ``documents/copies/<year>/``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import tempfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select

from . import rules as rl
from ..core import store as st
from ..documents import office
from ..core.errors import InputError, StateError
from ..core.session import Session, retrying
from ..core.validate import check_code, format_cn_date, normal_form

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PACKAGED_STAMP = DATA_DIR / "certify_stamp.png"
WATERMARK_TEXT = "仅供查阅"
CERTIFY_TEXT = "本复制件与馆藏档案原件核对一致"
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
MM = 72 / 25.4


@dataclass(frozen=True)
class Copy:
    """A copy made for a loan."""

    copy: str
    loan: str
    archival_code: str
    borrower: str
    path: str
    pages: tuple[int, ...]
    certified: bool
    approved_by: str | None
    approver_level: str | None
    sha256: str
    made_on: dt.date
    marks: tuple[str, ...]
    whole: bool = False

    def to_dict(self) -> dict:
        return {
            "copy": self.copy, "loan": self.loan, "archival_code": self.archival_code, "borrower": self.borrower,
            "path": self.path, "pages": "all" if self.whole else _page_spec(self.pages), "page_count": len(self.pages),
            "certified": self.certified, "approved_by": self.approved_by, "approver_level": self.approver_level,
            "sha256": self.sha256, "made_on": self.made_on.isoformat(), "marks": list(self.marks),
            "encrypted": True,
        }


# -- pages --------------------------------------------------------------------------------

def parse_pages(spec: str | None, total: int) -> tuple[int, ...]:
    """``1-5,8`` to (1, 2, 3, 4, 5, 8), within 1…``total``; all pages when ``spec`` is empty."""
    if spec is None or not str(spec).strip():
        return tuple(range(1, total + 1))
    pages: list[int] = []
    text = re.sub(r"\s*([-~])\s*", r"\1", normal_form(str(spec), "页码", max_length=500))
    for part in re.split(r"[,，、\s]+", text):
        if not part:
            continue
        match = re.fullmatch(r"([0-9]+)(?:[-~]([0-9]+))?", part)
        if not match:
            raise InputError(f"页码“{part}”格式不正确，应为 1-5,8 这样的页码或页码范围", field="pages")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if first < 1 or last < first:
            raise InputError(f"页码范围“{part}”无效", field="pages")
        if last > total:
            raise InputError(f"页码 {last} 超出案卷页数（共 {total} 页）", field="pages")
        pages.extend(p for p in range(first, last + 1) if p not in pages)
    if not pages:
        raise InputError("没有给出要复制的页码", field="pages")
    return tuple(pages)


def _page_spec(pages: tuple[int, ...]) -> str:
    """(1, 2, 3, 5) to ``1-3,5``."""
    out, start, prev = [], None, None
    for page in pages:
        if start is None:
            start = prev = page
        elif page == prev + 1:
            prev = page
        else:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = page
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(out)


# -- sources ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Item:
    number: int
    path: Path
    sha256: str | None
    page_start: int
    pages: int


def _items(session: Session, conn, volume) -> list[_Item]:
    """The volume's items in order, with the page numbers of the item list (页号)."""
    rows = conn.execute(
        select(st.volume_items.c.number, st.volume_items.c.path, st.volume_items.c.sha256,
               st.volume_items.c.page_start, st.volume_items.c.pages)
        .where(st.volume_items.c.volume_id == volume.id, st.volume_items.c.role == "item")
        .order_by(st.volume_items.c.number)
    ).all()
    return [_Item(r.number, session.ws.absolute(r.path), r.sha256, r.page_start, r.pages) for r in rows]


def _checked(path: Path, digest: str | None) -> Path:
    from ..documents.render import sha256_file

    if not path.exists():
        raise StateError(f"案卷文件缺失：{path}", field="volume", hint="请先运行固定性检查（archive verify）并处理问题")
    if digest and sha256_file(path) != digest:
        raise StateError(f"案卷文件 {path.name} 的校验值与归档时不符，可能已被改动，不能复制",
                         field="volume", hint="请先运行固定性检查（archive verify）并处理问题")
    return path


def _file_pages(session: Session, path: Path, scratch: Path) -> list:
    """The pages of one filed file: a PDF's pages, an image's frames, a .docx converted."""
    from pypdf import PdfReader

    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return list(PdfReader(path).pages)
    if suffix in IMAGE_SUFFIXES:
        from PIL import Image, ImageSequence

        buffer = io.BytesIO()
        with Image.open(path) as image:
            frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
            dpi = float(image.info.get("dpi", (200, 200))[0] or 200)
        frames[0].save(buffer, "PDF", save_all=True, append_images=frames[1:], resolution=dpi)
        return list(PdfReader(buffer).pages)
    if suffix == ".docx":
        if not office.pdf_enabled(session):
            raise StateError(f"案卷文件 {path.name} 是 .docx，制作复制件需要先转换为 PDF，但当前不能生成 PDF",
                             field="volume", hint="安装 LibreOffice（make deps），或把 pdf 设置改为 auto/always")
        target = scratch / f"{len(list(scratch.iterdir()))}-{path.stem}.pdf"
        office.converter(session).convert(path, target)
        return list(PdfReader(target).pages)
    raise StateError(f"案卷文件 {path.name} 不是 PDF、图片或 .docx，无法复制", field="volume")


def _volume_pages(session: Session, conn, volume, spec: str | None, scratch: Path) -> tuple[list, tuple[int, ...]]:
    """The pages to copy and their numbers: the whole volume (its merged PDF when it has one),
    or the chosen pages by the item list's page numbers."""
    items = _items(session, conn, volume)
    total = sum(i.pages for i in items) or int(volume.pages)
    if not spec and volume.merged_pdf:
        from pypdf import PdfReader

        pages = list(PdfReader(_checked(session.ws.absolute(volume.merged_pdf), volume.merged_sha256)).pages)
        return pages, tuple(range(1, len(pages) + 1))
    if not items:
        raise StateError(f"案卷 {volume.archival_code} 没有登记卷内文件，无法制作复制件", field="volume")
    chosen = parse_pages(spec, total)
    loaded: dict[int, list] = {}
    pages = []
    for number in chosen:
        item = next((i for i in items if i.page_start <= number < i.page_start + i.pages), None)
        if item is None:
            raise StateError(f"卷内文件目录中找不到第 {number} 页", field="pages")
        if item.number not in loaded:
            loaded[item.number] = _file_pages(session, _checked(item.path, item.sha256), scratch)
        item_pages = loaded[item.number]
        index = number - item.page_start
        if index >= len(item_pages):
            raise StateError(f"卷内第 {item.number} 件只有 {len(item_pages)} 页，与卷内文件目录登记的 {item.pages} 页不符",
                             field="pages", hint="请先核查该案卷（archive verify）")
        pages.append(item_pages[index])
    return pages, chosen


# -- marks --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _cjk_font_path() -> str:
    for path in CJK_FONTS:
        if Path(path).exists():
            return path
    raise StateError("找不到中文字体，无法制作水印", field="font", hint="请安装 fonts-noto-cjk（make deps）")


def _font(size: int):
    from PIL import ImageFont

    path = _cjk_font_path()
    return ImageFont.truetype(path, size, index=2 if path.endswith(".ttc") and "Noto" in path else 0)


def watermark_tile(lines: list[str], *, angle: float = 30, px_per_pt: float = 2.5):
    """The watermark as a translucent RGBA image: the lines centred, the first larger, rotated."""
    from PIL import Image, ImageDraw

    big, small = _font(int(30 * px_per_pt)), _font(int(12 * px_per_pt))
    fonts = [big] + [small] * (len(lines) - 1)
    boxes = [ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font) for text, font in zip(lines, fonts)]
    gap = int(4 * px_per_pt)
    width = max(b[2] - b[0] for b in boxes) + 2 * gap
    height = sum(b[3] - b[1] for b in boxes) + gap * (len(lines) + 1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    y = gap
    for i, (text, font, box) in enumerate(zip(lines, fonts, boxes)):
        # The big 仅供查阅 can be faint; the small lines need more ink to stay legible.
        draw.text((width / 2, y - box[1]), text, font=font, fill=(80, 80, 80, 75 if i == 0 else 125), anchor="ma")
        y += box[3] - box[1] + gap
    return image.rotate(angle, resample=Image.BICUBIC, expand=True)


def caption_image(lines: list[str], *, px_per_pt: float = 3.0):
    """Dark lines of text on a transparent image (the certified copy's statement)."""
    from PIL import Image, ImageDraw

    font = _font(int(10 * px_per_pt))
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), text, font=font) for text in lines]
    gap = int(3 * px_per_pt)
    width = max(b[2] - b[0] for b in boxes) + 2 * gap
    height = sum(b[3] - b[1] for b in boxes) + gap * (len(lines) + 1)
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    y = gap
    for text, box in zip(lines, boxes):
        draw.text((gap - box[0], y - box[1]), text, font=font, fill=(20, 20, 20, 255))
        y += box[3] - box[1] + gap
    return image


def _image_xobject(writer, image):
    """Add ``image`` (RGBA) to ``writer`` as an image XObject with a soft mask; its reference."""
    from pypdf.generic import NameObject, NumberObject, StreamObject

    def stream(data: bytes, colorspace: str):
        obj = StreamObject()
        obj._data = zlib.compress(data, 9)
        obj.update({
            NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(image.width), NameObject("/Height"): NumberObject(image.height),
            NameObject("/ColorSpace"): NameObject(colorspace), NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/FlateDecode"),
        })
        return obj

    rgba = image.convert("RGBA")
    base = stream(rgba.convert("RGB").tobytes(), "/DeviceRGB")
    base[NameObject("/SMask")] = writer._add_object(stream(rgba.getchannel("A").tobytes(), "/DeviceGray"))
    return writer._add_object(base)


def _hidden_font(writer):
    """A non-embedded Adobe-GB1 font for the invisible text layer (codes are UTF-16BE)."""
    from pypdf.generic import (ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject)

    descriptor = DictionaryObject({
        NameObject("/Type"): NameObject("/FontDescriptor"), NameObject("/FontName"): NameObject("/STSong-Light"),
        NameObject("/Flags"): NumberObject(6),
        NameObject("/FontBBox"): ArrayObject([NumberObject(v) for v in (-25, -254, 1000, 880)]),
        NameObject("/ItalicAngle"): NumberObject(0), NameObject("/Ascent"): NumberObject(880),
        NameObject("/Descent"): NumberObject(-120), NameObject("/CapHeight"): NumberObject(880),
        NameObject("/StemV"): NumberObject(93),
    })
    cid_font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/CIDFontType0"),
        NameObject("/BaseFont"): NameObject("/STSong-Light"),
        NameObject("/CIDSystemInfo"): DictionaryObject({
            NameObject("/Registry"): TextStringObject("Adobe"), NameObject("/Ordering"): TextStringObject("GB1"),
            NameObject("/Supplement"): NumberObject(4),
        }),
        NameObject("/FontDescriptor"): writer._add_object(descriptor),
        NameObject("/DW"): NumberObject(1000),
    })
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type0"),
        NameObject("/BaseFont"): NameObject("/STSong-Light"), NameObject("/Encoding"): NameObject("/UniGB-UTF16-H"),
        NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
    })
    return writer._add_object(font)


def _hidden_text(lines: list[str], x: float, y: float) -> str:
    ops = ["BT 3 Tr /ArchWMF 8 Tf"]
    for i, text in enumerate(lines):
        ops.append(f"1 0 0 1 {x:.2f} {y - i * 10:.2f} Tm <{text.encode('utf-16-be').hex()}> Tj")
    ops.append("ET")
    return "\n".join(ops)


def _overlay(writer, page, content: str, xobjects: dict, fonts: dict) -> None:
    """Draw ``content`` (using the named image XObjects and fonts) over ``page``."""
    from pypdf import PageObject
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    box = page.mediabox
    overlay = PageObject.create_blank_page(writer, width=box.width, height=box.height)
    overlay.mediabox = box
    overlay[NameObject("/Resources")] = DictionaryObject({
        NameObject("/XObject"): DictionaryObject({NameObject(k): v for k, v in xobjects.items()}),
        NameObject("/Font"): DictionaryObject({NameObject(k): v for k, v in fonts.items()}),
    })
    stream = DecodedStreamObject()
    stream.set_data(content.encode("latin-1"))
    overlay[NameObject("/Contents")] = writer._add_object(stream)
    page.merge_page(overlay)


def _tiles(box, tile_w: float, tile_h: float) -> list[tuple[float, float]]:
    """Lower-left corners of watermark tiles covering ``box`` in a staggered grid."""
    x0, y0 = float(box.left), float(box.bottom)
    width, height = float(box.width), float(box.height)
    cols = max(1, round(width / (tile_w * 1.25)))
    rows = max(1, round(height / (tile_h * 1.3)))
    out = []
    for r in range(rows):
        for c in range(cols):
            shift = (tile_w * 0.25) if r % 2 else 0
            cx = x0 + (c + 0.5) * width / cols + shift - tile_w * 0.125
            cy = y0 + (r + 0.5) * height / rows
            out.append((cx - tile_w / 2, cy - tile_h / 2))
    return out


def _watermark_pages(writer, pages, lines: list[str]) -> None:
    tile = watermark_tile(lines)
    ref = _image_xobject(writer, tile)
    font = _hidden_font(writer)
    px_per_pt = 2.5
    for page in pages:
        box = page.mediabox
        scale = min(1.0, float(min(box.width, box.height)) / (tile.width / px_per_pt) * 0.8)
        tile_w, tile_h = tile.width / px_per_pt * scale, tile.height / px_per_pt * scale
        draws = [f"q {tile_w:.2f} 0 0 {tile_h:.2f} {x:.2f} {y:.2f} cm /ArchWM0 Do Q"
                 for x, y in _tiles(box, tile_w, tile_h)]
        text = _hidden_text(lines, float(box.left) + 20, float(box.top) - 20)
        _overlay(writer, page, "\n".join(draws + [text]), {"/ArchWM0": ref}, {"/ArchWMF": font})


def _certify_pages(writer, pages, stamp_path: Path, lines: list[str]) -> None:
    from PIL import Image

    with Image.open(stamp_path) as stamp:
        stamp_ref = _image_xobject(writer, stamp.convert("RGBA"))
    caption = caption_image(lines)
    caption_ref = _image_xobject(writer, caption)
    font = _hidden_font(writer)
    cap_w, cap_h = caption.width / 3.0, caption.height / 3.0
    stamp_size = 36 * MM
    for page in pages:
        box = page.mediabox
        right, bottom = float(box.right) - 12 * MM, float(box.bottom) + 12 * MM
        cx, cy = right - cap_w, bottom
        sx = right - cap_w / 2 - stamp_size / 2
        sy = bottom + cap_h / 2 - stamp_size / 2
        content = "\n".join([
            f"q {cap_w:.2f} 0 0 {cap_h:.2f} {cx:.2f} {cy:.2f} cm /ArchWM1 Do Q",
            f"q {stamp_size:.2f} 0 0 {stamp_size:.2f} {sx:.2f} {sy:.2f} cm /ArchWM0 Do Q",
            _hidden_text(lines, cx, cy + cap_h + 4),
        ])
        _overlay(writer, page, content, {"/ArchWM0": stamp_ref, "/ArchWM1": caption_ref}, {"/ArchWMF": font})


def _encrypted(writer) -> bytes:
    """``writer``'s document, encrypted: open and print freely, no editing without the owner password."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.constants import UserAccessPermissions as P

    # Write the marked pages out and encrypt a fresh clone: pypdf (7.x) loses the merged
    # content streams when a writer whose pages were merged in place is encrypted.
    plain = io.BytesIO()
    writer.write(plain)
    writer = PdfWriter(clone_from=PdfReader(plain))

    allowed = P.PRINT | P.PRINT_TO_REPRESENTATION | P.EXTRACT_TEXT_AND_GRAPHICS
    owner = secrets.token_urlsafe(24)
    try:
        writer.encrypt(user_password="", owner_password=owner, permissions_flag=allowed, algorithm="AES-256")
    except Exception:  # AES needs the cryptography package; RC4-128 is built into pypdf
        writer.encrypt(user_password="", owner_password=owner, permissions_flag=allowed, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stamp_path(session: Session) -> Path:
    """The archive's certification stamp: ``lending.certify_stamp`` in seals/, else the specimen."""
    name = rl.section(session).get("certify_stamp")
    if name:
        path = session.ws.home / "seals" / name
        if not path.exists():
            raise InputError(f"找不到档案证明章图片 {path}", field="lending.certify_stamp")
        return path
    return PACKAGED_STAMP


# -- the copy -----------------------------------------------------------------------------

@retrying
def make_copy(session: Session, loan_no: str, *, pages: str | None = None, certified: bool = False,
              approved_by: str | None = None, approver_level: str | None = None, on=None) -> Copy:
    """Make a watermarked (or, ``certified``, stamped) and edit-protected PDF copy for an open loan.

    The pages are gathered and marked first, in a read transaction (a .docx item may need
    LibreOffice, which takes seconds, and other archivists' writes should not wait for it);
    then, in one write, the loan is checked again, the copy numbered, written and recorded.
    """
    from pypdf import PdfWriter

    from .borrowers import from_row
    from ..documents.render import atomic_write_bytes, sha256_file
    from .loans import _approval, _check_decision, _day, _load, approval_missing

    from ..core.access import require

    require(session, "lending.lend")  # refuse before any work
    approved_by, approver_level = _approval(session, approved_by, approver_level)
    day = _day(on, "复制日期", session)
    with session.store.read() as conn:
        loan = _check_open(_load(conn, loan_no))
        volume = conn.execute(select(st.volumes).where(st.volumes.c.id == loan.volume_id)).first()
        borrower_row = conn.execute(select(st.borrowers).where(st.borrowers.c.id == loan.borrower_id)).first()
        borrower = from_row(borrower_row)
        if approved_by is None and loan.mode == "copy":
            # The loan was approved as a copy: that approval covers the copies made under it.
            approved_by, approver_level = loan.approved_by, loan.approver_level
        decision = rl.decide(session, borrower.type, volume.access, volume.security_level, "copy")
        _check_decision(decision, borrower_row, volume, approver_level, what="复制")
        if certified:
            needed = rl.section(session).get("certified_copy_approval", "head-in-charge")
            if rl.APPROVAL_RANK[approver_level or "none"] < rl.APPROVAL_RANK[needed]:
                raise approval_missing(f"加盖档案证明章的复制件须经{rl.APPROVALS[needed]}批准"
                                       "（lending.certified_copy_approval）", needed)
        with tempfile.TemporaryDirectory(prefix="archive-copy-") as scratch:
            source_pages, chosen = _volume_pages(session, conn, volume, pages, Path(scratch))
            writer = PdfWriter()
            for page in source_pages:
                writer.add_page(page)
    out_pages = list(writer.pages)
    if certified:
        marks = [CERTIFY_TEXT, f"档号：{volume.archival_code}", f"核对日期：{format_cn_date(day)}"]
        _certify_pages(writer, out_pages, stamp_path(session), marks)
    else:
        marks = [WATERMARK_TEXT, f"{borrower.name}（{borrower.unit}）", f"{format_cn_date(day)} 借阅单 {loan.number}"]
        _watermark_pages(writer, out_pages, marks)
    with session.work() as work:
        conn = work.conn
        loan = _check_open(_load(conn, loan.number))  # returned meanwhile?
        seq = conn.execute(select(func.count()).where(st.copies.c.loan_id == loan.id)).scalar() + 1
        number = f"{loan.number}-FZ{seq}"
        title = f"{volume.title}（{'核对一致的复制件' if certified else '复制件，仅供查阅'}）"
        writer.add_metadata({"/Title": title, "/Subject": volume.archival_code,
                             "/Author": session.ws.centre.get("name", ""), "/Keywords": "; ".join(marks),
                             "/CopyNumber": number})
        path = session.ws.documents_dir / "copies" / str(day.year) / f"{number}.pdf"
        work.track(atomic_write_bytes(path, _encrypted(writer), field="copy"))
        digest = sha256_file(path)
        conn.execute(st.copies.insert().values(
            number=number, loan_id=loan.id, pages=list(chosen), certified=certified, approved_by=approved_by,
            approver_level=approver_level, path=session.ws.relative(path), sha256=digest, made_on=day,
            made_at=session.now(), operator=session.operator,
        ))
        session.log(work, "copy", volume.archival_code, loan=loan.number, copy=number,
                    pages="all" if not pages else _page_spec(chosen),
                    certified=certified, approved_by=approved_by, approver_level=approver_level, sha256=digest)
    return Copy(copy=number, loan=loan.number, archival_code=volume.archival_code, borrower=borrower.code,
                path=str(path), pages=chosen, certified=certified, approved_by=approved_by,
                approver_level=approver_level, sha256=digest, made_on=day, marks=tuple(marks), whole=not pages)


def _check_open(loan):
    if loan.returned_on is not None:
        raise StateError(f"借阅单 {loan.number} 已于 {loan.returned_on.isoformat()} 归还，不能再复制；请重新登记借阅",
                         field="loan")
    return loan


# -- reading copies back ------------------------------------------------------------------

def _copy_value(session: Session, row, loan_number: str, code: str, borrower: str) -> Copy:
    pages = tuple(row.pages or ())
    return Copy(copy=row.number, loan=loan_number, archival_code=code, borrower=borrower,
                path=str(session.ws.absolute(row.path)), pages=pages, certified=bool(row.certified),
                approved_by=row.approved_by, approver_level=row.approver_level, sha256=row.sha256,
                made_on=row.made_on, marks=())


def _copies_query():
    C, L, V, B = st.copies.c, st.loans.c, st.volumes.c, st.borrowers.c
    return (select(st.copies, L.number.label("loan_number"), V.archival_code, V.access, V.security_level, V.fonds,
                   B.code.label("b_code"), B.account)
            .select_from(st.copies.join(st.loans, L.id == C.loan_id).join(st.volumes, V.id == L.volume_id)
                         .join(st.borrowers, B.id == L.borrower_id)))


def copies_for(session: Session, *, loan: str | None = None, borrower: str | None = None) -> list[Copy]:
    """The copies made for a loan or a borrower (the lending desk); a reader's own copies without either."""
    from ..core.access import require, role_of

    stmt = _copies_query().order_by(st.copies.c.id)
    if loan or borrower or role_of(session).may("lending.lend"):
        require(session, "lending.lend")
        if loan:
            stmt = stmt.where(st.loans.c.number == check_code(loan, "借阅单号", max_length=64).upper())
        if borrower:
            stmt = stmt.where(st.borrowers.c.code == check_code(borrower, "借阅人", max_length=32).upper())
    else:
        stmt = stmt.where(st.borrowers.c.account == session.operator)
    with session.store.read() as conn:
        return [_copy_value(session, r, r.loan_number, r.archival_code, r.b_code) for r in conn.execute(stmt)]


def copy_file(session: Session, number: str) -> tuple[Path, str]:
    """The stored file of a copy and its download name, checked and written to the audit trail.

    The lending desk may fetch any copy of a volume it may see; a reader only the copies made
    for their own loans. Anything else answers exactly as a copy that does not exist.
    """
    from ..core import audit
    from ..core.access import role_of, visible_to
    from ..core.errors import NotFoundError

    from ..documents.render import sha256_file

    text = check_code(number, "复制件编号", max_length=80).upper()
    with session.store.read() as conn:
        row = conn.execute(_copies_query().where(st.copies.c.number == text)).first()
    allowed = row is not None and visible_to(session, row.access, row.security_level, row.fonds) and (
        role_of(session).may("lending.lend") or (session.user is not None and row.account == session.user.name))
    if not allowed:
        raise NotFoundError(f"找不到复制件“{number}”", field="copy")
    path = session.ws.absolute(row.path)
    if not path.exists() or sha256_file(path) != row.sha256:
        raise StateError(f"复制件 {row.number} 的文件缺失或与制作时不符，请重新制作", field="copy")
    audit.record(session, "copy.download", row.archival_code, copy=row.number, loan=row.loan_number,
                 certified=bool(row.certified))
    return path, f"{row.number}.pdf"
