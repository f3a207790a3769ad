"""Benchmark: rendering receipt notices (3 parts, seal) and converting them to PDF.

    python bench/notices.py [--count 1000] [--pdf-count 100] [--pdf-single]

Prints, from one run:

* ``render_notice``: the library's path (schema validation, Jinja over the document XML,
  one deflated part, the other ZIP members copied compressed, atomic no-overwrite write);
* the floor: the same documents made by plain ``str.replace`` of markers in a document XML
  rendered once with placeholder values, that one part deflated, every other member
  copied in its compressed form, written with a plain ``open(..., "xb")``. No validation,
  no escaping beyond XML's, no template engine: nothing is faster and still a .docx;
* their ratio;
* when ``archive.documents.office`` and LibreOffice are present: the PDF start-up (entering
  ``PdfConverter`` to the first PDF; also the first-ever start, which builds the cached
  LibreOffice profile), and PDFs/s for the batch through ``PdfConverter.convert_many``
  (a pool of one LibreOffice per core); ``--pdf-single`` adds the same batch through
  one LibreOffice with ``convert``.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.documents.render import DEFLATE_LEVEL, render_notice  # noqa: E402

SEAL = ROOT / "tests" / "data" / "seal_test.png"
PARTS = [
    {"label": "第一联", "destination": "申请人收执"},
    {"label": "第二联", "destination": "窗口存根"},
    {"label": "第三联", "destination": "中心存查"},
]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"


def receipt_context(i: int) -> dict:
    """The i-th of a run of distinct, realistic receipt notices."""
    day = 1 + i % 28
    name = f"{SURNAMES[i % len(SURNAMES)]}氏{i}号餐饮&管理<有限>公司"
    return {
        "organ": "示例市行政审批服务局",
        "title": "受理通知书",
        "number": f"示审受字〔2026〕{i + 1}号",
        "check_code": f"{(i * 7919) % 1000003:06X}",
        "case_no": f"SP202609{day:02d}{i:05d}",
        "applicant": {"kind": "organisation", "name": name, "id_label": "统一社会信用代码",
                      "id_number": f"913501{i:06d}M00010Y", "legal_rep": f"{SURNAMES[i % 7]}某",
                      "phone": f"138{i:08d}"},
        "item": {"code": f"XK-{i % 50:04d}-01", "name": "食品经营许可（新办）"},
        "clerk": {"name": "王芳", "phone": "0591-88888888"},
        "complaint_phone": "12345",
        "issued_on": f"2026年9月{day}日",
        "seal": str(SEAL),
        "parts": PARTS,
        "reprint": False,
        "you": "你单位",
        "application": "食品经营许可（新办）申请",
        "received_on": f"2026年9月{day}日",
        "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（五）项",
        "deemed": False,
        "on_the_spot": False,
        "pending": [],
        "materials": [
            {"name": f"食品经营许可申请书（{i}）", "copies": 1, "form": "原件"},
            {"name": "营业执照", "copies": 1 + i % 2, "form": "复印件"},
            {"name": "法定代表人身份证明", "copies": 1, "form": "复印件"},
        ],
        "promised_days": 5,
        "statutory_days": 20,
        "due_on": f"2026年10月{day}日",
        "fee": "不收费",
        "progress_query": f"凭办件编号SP202609{day:02d}{i:05d}在窗口或政务服务网查询",
        "delivery": "窗口领取",
    }


# Fields that vary per notice, as (path, marker) pairs; the markers satisfy the schema so
# the placeholder notice goes through the same render_notice as the real ones.
VARYING = [
    (("number",), "〔MARK-NUMBER〕"),
    (("check_code",), "MARKCHECK"),
    (("case_no",), "MARKCASE"),
    (("applicant", "name"), "MARK-APPLICANT"),
    (("applicant", "id_number"), "MARK-IDNUMBER"),
    (("applicant", "legal_rep"), "MARK-LEGALREP"),
    (("applicant", "phone"), "MARK-PHONE"),
    (("item", "code"), "MARK-ITEMCODE"),
    (("issued_on",), "9001年1月1日"),
    (("received_on",), "9002年1月1日"),
    (("due_on",), "9004年1月1日"),
    (("materials", 0, "name"), "MARK-MATERIAL0"),
    (("materials", 1, "copies"), 900001),
    (("progress_query",), "MARK-PROGRESS"),
]


def _get(ctx, path):
    for key in path:
        ctx = ctx[key]
    return ctx


def _set(ctx, path, value):
    for key in path[:-1]:
        ctx = ctx[key]
    ctx[path[-1]] = value


class Floor:
    """str.replace into a pre-rendered document.xml; other members copied compressed."""

    def __init__(self, workdir: Path):
        placeholder = receipt_context(0)
        for path, marker in VARYING:
            _set(placeholder, path, marker)
        sample = render_notice("receipt", placeholder, workdir / "placeholder.docx")
        self.members = []  # (local header + data, central header without offset, name)
        with zipfile.ZipFile(sample) as zf, open(sample, "rb") as fp:
            for info in zf.infolist():
                if info.filename == "word/document.xml":
                    self.doc_info = info
                    self.xml = zf.read(info).decode("utf-8")
                    continue
                fp.seek(info.header_offset)
                head = fp.read(30)
                n, m = struct.unpack("<2H", head[26:30])
                fp.seek(info.header_offset + 30 + n + m)
                raw = fp.read(info.compress_size)
                self.members.append(self._records(info.filename, info.compress_type, info.CRC,
                                                  raw, info.file_size))
        for _, marker in VARYING:
            assert str(marker) in self.xml, marker

    @staticmethod
    def _records(name, method, crc, raw, size):
        encoded = name.encode()
        local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, method, 0, 33, crc,
                            len(raw), size, len(encoded), 0) + encoded + raw
        central = struct.pack("<4s4B4HL2L5HL", b"PK\x01\x02", 20, 0, 20, 0, 0, method, 0, 33,
                              crc, len(raw), size, len(encoded), 0, 0, 0, 0, 0)
        return local, central, encoded

    def render(self, ctx: dict, out: Path) -> None:
        xml = self.xml
        for path, marker in VARYING:
            value = _get(ctx, path)
            xml = xml.replace(str(marker), escape(value) if isinstance(value, str) else str(value))
        data = xml.encode("utf-8")
        comp = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
        raw = comp.compress(data) + comp.flush()
        members = self.members + [self._records("word/document.xml", 8, zlib.crc32(data), raw,
                                                len(data))]
        chunks, central, offset = [], [], 0
        for local, head, name in members:
            chunks.append(local)
            central.append(head + struct.pack("<L", offset) + name)
            offset += len(local)
        directory = b"".join(central)
        chunks += [directory, struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members),
                                          len(members), len(directory), offset, 0)]
        with open(out, "xb") as fh:
            fh.write(b"".join(chunks))


def _timed(label: str, count: int, fn) -> float:
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    elapsed = time.perf_counter() - start
    print(f"{label:<28} {count / elapsed:9.1f} notices/s  {elapsed / count * 1000:7.3f} ms/notice")
    return elapsed / count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="notices to render (1000)")
    parser.add_argument("--pdf-count", type=int, default=100, help="notices to convert (100)")
    parser.add_argument("--pdf-single", action="store_true",
                        help="also time the same batch through one LibreOffice, one at a time")
    args = parser.parse_args(argv)

    contexts = [receipt_context(i) for i in range(args.count)]
    work = Path(tempfile.mkdtemp(prefix="bench-notices-"))
    try:
        ours_dir, floor_dir = work / "ours", work / "floor"
        ours_dir.mkdir()
        floor_dir.mkdir()
        # Warm up: the first call loads and compiles the template and registers the seal.
        start = time.perf_counter()
        render_notice("receipt", receipt_context(10**6), work / "warm.docx")
        print(f"first render (load + compile + seal)  {(time.perf_counter() - start) * 1000:.1f} ms")
        floor = Floor(work)
        floor.render(receipt_context(10**6), work / "warm-floor.docx")

        print(f"receipt notices, 3 parts with seal, {args.count} each:")
        ours = _timed("render_notice", args.count,
                      lambda i: render_notice("receipt", contexts[i], ours_dir / f"{i}.docx"))
        base = _timed("floor (str.replace + raw copy)", args.count,
                      lambda i: floor.render(contexts[i], floor_dir / f"{i}.docx"))
        print(f"ratio render_notice / floor: {ours / base:.2f}x")
        naive_count = max(1, args.count // 20)
        naive_dir = work / "naive"
        naive_dir.mkdir()
        naive = _timed(f"naive docxtpl ({naive_count})", naive_count,
                       lambda i: _naive_docxtpl(contexts[i], naive_dir / f"{i}.docx"))
        print(f"ratio naive docxtpl / floor: {naive / base:.1f}x")

        # Both outputs must be the same document.
        import docx

        for i in (0, args.count - 1):
            a = [p.text for p in docx.Document(ours_dir / f"{i}.docx").paragraphs]
            b = [p.text for p in docx.Document(floor_dir / f"{i}.docx").paragraphs]
            assert a == b, f"notice {i}: floor and render_notice differ"

        _bench_pdf(ours_dir, work / "pdf", min(args.pdf_count, args.count), single=args.pdf_single)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _naive_docxtpl(ctx: dict, out: Path) -> None:
    """docxtpl as documented: load, render, save for every notice (seal inline here)."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage
    from jinja2 import Environment, StrictUndefined

    class SealRun(InlineImage):  # {{r seal }} replaces a whole run: give it one
        def __html__(self):
            return f"<w:r><w:t>{self._insert_image()}</w:t></w:r>"

    tpl = DocxTemplate(ROOT / "templates" / "receipt.docx")
    context = dict(ctx, seal=SealRun(tpl, ctx["seal"], width=Mm(40)))
    tpl.render(context, Environment(autoescape=True, undefined=StrictUndefined))
    tpl.save(out)


def _bench_pdf(source: Path, target: Path, count: int, *, single: bool = False) -> None:
    try:
        from archive.documents.office import PdfConverter, libreoffice_available
    except ImportError as exc:
        print(f"PDF: skipped (archive.documents.office not importable: {exc})")
        return
    if count <= 0:
        return
    if not libreoffice_available():
        print("PDF: skipped (LibreOffice not installed)")
        return
    target.mkdir()

    # Start-up as a clerk printing one notice sees it: PdfConverter() entered -> first PDF.
    # "cold" builds the cached LibreOffice profile first (once per machine and version).
    def first_pdf(name: str, **options) -> tuple[float, float]:
        start = time.perf_counter()
        with PdfConverter(**options) as converter:
            ready = time.perf_counter()
            converter.convert(source / "0.docx", target / f"{name}.pdf")
            done = time.perf_counter()
        return ready - start, done - start

    cold_ready, cold = first_pdf("cold", profile_cache=target / "profile-cache")
    with PdfConverter():  # makes sure the usual cached profile exists (untimed)
        pass
    ready, warm = first_pdf("warm")
    print(f"PDF start-up (PdfConverter() -> first PDF): {warm:.2f} s (server ready {ready:.2f} s); "
          f"first ever, building the cached profile: {cold:.2f} s")

    pairs = [(source / f"{i}.docx", target / "pool" / f"{i}.pdf") for i in range(count)]
    with PdfConverter() as converter:
        converter.convert(source / "0.docx", target / "pool-warm.pdf")
        started = time.perf_counter()
        converter.convert_many(pairs)  # the extra servers start inside the timing
        elapsed = time.perf_counter() - started
        servers = len(converter.server_pids)
    print(f"PDF via pool of {servers} LibreOffice (convert_many): {count} notices (3 parts each) "
          f"{count / elapsed:.2f} PDFs/s ({elapsed / count * 1000:.0f} ms/PDF)")

    if single:
        with PdfConverter() as converter:
            converter.convert(source / "0.docx", target / "single-warm.pdf")
            started = time.perf_counter()
            for i in range(count):
                converter.convert(source / f"{i}.docx", target / f"single-{i}.pdf")
            elapsed = time.perf_counter() - started
        print(f"PDF via one LibreOffice (convert): {count} notices "
              f"{count / elapsed:.2f} PDFs/s ({elapsed / count * 1000:.0f} ms/PDF)")


if __name__ == "__main__":
    raise SystemExit(main())
