"""Copies: the chosen pages, watermarked on every page, encrypted against editing; certified copies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.constants import UserAccessPermissions as P
from sqlalchemy import select

from archive.lending import copies
from archive.lending import loans
from archive.shelf import volumes
from archive.core import store as st
from archive.core.errors import InputError, RuleError, StateError

from .test_loans import lend, make_borrower, make_volume

# make_volume files: 1 application record (.docx, p1), two scanned PDFs (p2-4, p5-6),
# the receipt notice (.docx, p7-8) and the decision record (.docx, p9).
SCANS = (3, 2)


def open_copy(path) -> PdfReader:
    reader = PdfReader(path)
    assert reader.is_encrypted
    assert reader.decrypt("")  # anyone may open it: empty user password
    return reader


def page_images(page) -> list[str]:
    """Digests of the page's own images (not the watermark's)."""
    xobjects = page["/Resources"]["/XObject"]
    return [hashlib.sha256(xobjects[name].get_object()._data).hexdigest()
            for name in sorted(xobjects) if not name.startswith("/ArchWM")]


def scan_pages(session, code) -> list[str]:
    """Image digests of the volume's scanned pages, by volume page number."""
    out = {}
    for item in volumes.show(session, code).items:
        if item.path.endswith(".pdf"):
            for i, page in enumerate(PdfReader(item.path).pages):
                out[item.page_start + i] = page_images(page)[0]
    return out


def copy_loan(session, *, mode="copy", approved_by="赵局长", **borrower):
    code = make_volume(session, attachments=SCANS)
    reader = make_borrower(session, **borrower)
    return code, reader, lend(session, code, reader, mode=mode, approved_by=approved_by)


def test_copy_of_chosen_pages_is_watermarked_on_every_page_and_protected(session):
    code, reader, loan = copy_loan(session)
    made = copies.make_copy(session, loan.loan, pages="2-3,6")
    assert made.copy == f"{loan.loan}-FZ1" and made.pages == (2, 3, 6)
    path = Path(made.path)
    assert path.is_file() and path.parent == session.ws.documents_dir / "copies" / "2026"
    pdf = open_copy(path)
    assert len(pdf.pages) == 3
    scans = scan_pages(session, code)
    assert [page_images(p)[0] for p in pdf.pages] == [scans[2], scans[3], scans[6]]
    for page in pdf.pages:
        text = page.extract_text()
        assert "仅供查阅" in text and reader.name in text and reader.unit in text
        assert "2026年9月28日" in text and loan.loan in text
        assert any(name.startswith("/ArchWM") for name in page["/Resources"]["/XObject"])
    permissions = pdf.user_access_permissions
    assert permissions & P.PRINT
    assert not permissions & P.MODIFY and not permissions & P.ADD_OR_MODIFY and not permissions & P.ASSEMBLE_DOC
    data = made.to_dict()
    assert data["pages"] == "2-3,6" and data["page_count"] == 3 and data["encrypted"] and not data["certified"]
    with session.store.read() as conn:
        row = conn.execute(select(st.copies)).one()
        event = conn.execute(select(st.events).where(st.events.c.action == "copy")).one()
    assert row.pages == [2, 3, 6] and row.sha256 == made.sha256 and row.operator == "王芳"
    assert event.detail["copy"] == made.copy and event.operator == "王芳"


def test_watermark_is_visible_when_rendered(session, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from PIL import Image

    _, _, loan = copy_loan(session)
    made = copies.make_copy(session, loan.loan, pages="2")
    plain = PdfReader(volumes.show(session, made.archival_code).items[1].path)
    src = tmp_path / "src.pdf"
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_page(plain.pages[0])
    writer.write(src)
    for pdf, name in ((src, "src"), (Path(made.path), "copy")):
        subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", str(pdf), str(tmp_path / name)], check=True,
                       capture_output=True)
    before = Image.open(next(tmp_path.glob("src*.png"))).convert("L")
    after = Image.open(next(tmp_path.glob("copy*.png"))).convert("L")
    grey = lambda im: sum(im.histogram()[121:250])  # noqa: E731  (pixels between black text and white)
    assert grey(after) > grey(before) + 500  # the translucent watermark shows on the white page


def test_copy_rules_and_approval(session):
    code = make_volume(session)
    reader = make_borrower(session)
    read = lend(session, code, reader)  # read in the room, no approval
    with pytest.raises(RuleError) as exc:
        copies.make_copy(session, read.loan, pages="2")
    assert "R03" in exc.value.message and "分管负责人" in exc.value.message
    assert copies.make_copy(session, read.loan, pages="2", approved_by="赵局长").approved_by == "赵局长"
    citizen = make_borrower(session, type="public", unit=None)
    open_code = make_volume(session)
    public_read = lend(session, open_code, citizen)
    with pytest.raises(RuleError) as exc:
        copies.make_copy(session, public_read.loan, pages="2", approved_by="赵局长")
    assert "R08" in exc.value.message


def test_certified_copy_needs_approval_and_carries_the_stamp(session):
    code, reader, loan = copy_loan(session, mode="read", approved_by=None)
    files_before = sorted((session.ws.documents_dir / "copies").rglob("*")) if \
        (session.ws.documents_dir / "copies").exists() else []
    with pytest.raises(RuleError) as exc:
        copies.make_copy(session, loan.loan, pages="2-4", certified=True)
    assert exc.value.field == "approved_by"
    assert (sorted((session.ws.documents_dir / "copies").rglob("*"))
            if (session.ws.documents_dir / "copies").exists() else []) == files_before
    made = copies.make_copy(session, loan.loan, pages="2-4", certified=True, approved_by="赵局长")
    assert made.certified
    pdf = open_copy(made.path)
    stamp = Path(copies.PACKAGED_STAMP)
    for page in pdf.pages:
        text = page.extract_text()
        assert copies.CERTIFY_TEXT in text and code in text and "仅供查阅" not in text
        names = [n for n in page["/Resources"]["/XObject"] if n.startswith("/ArchWM")]
        assert len(names) == 2  # the stamp and the statement
    from PIL import Image

    with Image.open(stamp) as image:
        assert image.size == (600, 600)  # the specimen stamp, marked 样章


def test_copy_needs_an_open_loan_and_valid_pages(session):
    code, reader, loan = copy_loan(session)
    with pytest.raises(InputError) as exc:
        copies.make_copy(session, loan.loan, pages="8-12")
    assert exc.value.field == "pages" and "共 8 页" in exc.value.message
    with pytest.raises(InputError):
        copies.make_copy(session, loan.loan, pages="三")
    loans.return_loan(session, loan.loan, pages=volumes.show(session, code).pages)
    with pytest.raises(StateError) as exc:
        copies.make_copy(session, loan.loan, pages="2")
    assert "已于" in exc.value.message


def test_docx_pages_need_pdf_output(session):
    _, _, loan = copy_loan(session)
    with pytest.raises(StateError) as exc:
        copies.make_copy(session, loan.loan, pages="1")  # the application record is a .docx
    assert "LibreOffice" in exc.value.hint


def test_a_changed_file_is_not_copied(session):
    code, _, loan = copy_loan(session)
    scan = Path(volumes.show(session, code).items[1].path)
    scan.write_bytes(scan.read_bytes() + b"\n% tampered")
    with pytest.raises(StateError) as exc:
        copies.make_copy(session, loan.loan, pages="2")
    assert "校验值" in exc.value.message


def test_second_copy_gets_the_next_number(session):
    _, _, loan = copy_loan(session)
    assert copies.make_copy(session, loan.loan, pages="2").copy.endswith("-FZ1")
    assert copies.make_copy(session, loan.loan, pages="5").copy.endswith("-FZ2")


@pytest.mark.parametrize("spec, pages", [("1-3", (1, 2, 3)), ("2,4-5", (2, 4, 5)), ("3，1", (3, 1)),
                                         (" 2 - 3 ", (2, 3)), ("", (1, 2, 3, 4, 5, 6)), ("2-3,3", (2, 3))])
def test_parse_pages(spec, pages):
    assert copies.parse_pages(spec, 6) == pages


def test_with_pdf_output_docx_items_are_converted_and_whole_copies_use_the_merged_pdf(session, monkeypatch):
    """A volume filed without PDF has .docx items, converted for the copy once PDF output is
    on; a volume filed with PDF output has a merged PDF, and a whole-volume copy is made from it."""
    from archive.documents.office import libreoffice_available

    if not libreoffice_available():
        pytest.skip("LibreOffice not installed")
    _, _, old_loan = copy_loan(session)  # filed with PDF output off: the application record is a .docx
    monkeypatch.setenv("ARCHIVE_PDF", "always")
    converted = open_copy(copies.make_copy(session, old_loan.loan, pages="1").path)
    assert len(converted.pages) == 1
    assert "申请登记表" in converted.pages[0].extract_text() and "仅供查阅" in converted.pages[0].extract_text()
    code, reader, loan = copy_loan(session)
    merged = volumes.show(session, code).merged_pdf
    assert merged
    made = copies.make_copy(session, loan.loan)
    pdf = open_copy(made.path)
    assert len(pdf.pages) == len(PdfReader(merged).pages) and made.to_dict()["pages"] == "all"
    assert all("仅供查阅" in page.extract_text() for page in pdf.pages)
    part = copies.make_copy(session, loan.loan, pages="1")  # the application record, as filed (PDF)
    assert len(open_copy(part.path).pages) == 1
