"""archive.converter against a real LibreOffice (no mocks of the conversion).

The tests that convert skip, saying why, on a machine without LibreOffice; ``make deps``
(tools/install-debian-deps.sh) installs it on Debian/Ubuntu.
"""

from __future__ import annotations

import os
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest

from archive import converter
from archive.converter import (
    PdfConverter,
    libreoffice_available,
    pdf_page_count,
    pdf_text,
    stamp_metadata,
)
from archive.errors import ConversionError, InputError, StateError

needs_libreoffice = pytest.mark.skipif(
    not libreoffice_available(),
    reason="LibreOffice 或 python3-uno 未安装（make deps 可安装），跳过 DOCX→PDF 转换测试",
)


def make_docx(
    path: Path,
    *,
    title: str = "受理通知书",
    body: str = "甲&乙公司：你单位提交的申请材料齐全，符合法定形式，本机关决定予以受理。",
    heading: str | None = None,
) -> Path:
    """A one-page notice with the fonts the real templates use (小标宋, 仿宋, 黑体)."""
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    def run(paragraph, text: str, font: str, size: int) -> None:
        r = paragraph.add_run(text)
        r.font.name = font
        r.font.size = Pt(size)
        r._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)

    document = docx.Document()
    run(document.add_paragraph(), title, "方正小标宋简体", 22)
    if heading:
        run(document.add_paragraph(), heading, "黑体", 16)
    run(document.add_paragraph(), body, "仿宋", 16)
    document.save(path)
    return path


def soffice_processes(pgid: int) -> list[str]:
    """Command names of the processes still in the server's process group."""
    result = subprocess.run(["pgrep", "-l", "-g", str(pgid)], capture_output=True, text=True)
    return [line.split()[1] for line in result.stdout.splitlines() if line.strip()]


def embedded_font_names(pdf: Path) -> set[str]:
    from pypdf import PdfReader

    names = set()
    for page in PdfReader(pdf).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]))
            for descendant in font.get("/DescendantFonts", []):
                names.add(str(descendant.get_object()["/BaseFont"]))
    return names


@pytest.fixture(scope="module")
def shared_converter():
    """One server for the tests that only convert (starting LibreOffice takes seconds)."""
    if not libreoffice_available():
        pytest.skip("LibreOffice 未安装")
    with PdfConverter() as pdf_converter:
        yield pdf_converter


@needs_libreoffice
def test_convert_keeps_chinese_text(shared_converter, tmp_path):
    source = make_docx(tmp_path / "notice.docx")

    result = shared_converter.convert(source, tmp_path / "notice.pdf")

    assert result == tmp_path / "notice.pdf"
    assert pdf_page_count(result) == 1
    text = pdf_text(result)
    assert "受理通知书" in text
    assert "甲&乙公司" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notice.docx", "notice.pdf"]


@needs_libreoffice
def test_notice_fonts_become_noto_cjk(shared_converter, tmp_path):
    # 仿宋 / 方正小标宋简体 must not fall back to DejaVu or a Japanese sans face.
    source = make_docx(tmp_path / "fonts.docx", heading="一、办理依据")

    fonts = embedded_font_names(shared_converter.convert(source, tmp_path / "fonts.pdf"))

    assert any("NotoSerifCJK" in name for name in fonts), fonts  # 仿宋, 小标宋
    assert any("NotoSansCJK" in name for name in fonts), fonts  # 黑体
    assert not any("DejaVu" in name for name in fonts), fonts


@needs_libreoffice
def test_a_batch_uses_one_server_and_close_ends_it(tmp_path):
    # Titles without digits: text extraction puts spaces between Chinese and digits.
    names = "甲乙丙丁戊"
    sources = [make_docx(tmp_path / f"n{i}.docx", title=f"受理通知书之{names[i]}") for i in range(5)]

    pdf_converter = PdfConverter()
    with pdf_converter:
        pgid = pdf_converter.server_pid
        workdir = pdf_converter._workdir
        for source in sources:
            pdf_converter.convert(source, source.with_suffix(".pdf"))
        assert soffice_processes(pgid).count("soffice.bin") == 1
        assert pdf_converter.server_pid == pgid

    assert pdf_converter.starts == 1
    for i, source in enumerate(sources):
        assert f"受理通知书之{names[i]}" in pdf_text(source.with_suffix(".pdf"))
    # Leaving the block stopped LibreOffice and removed its temporary profile.
    assert soffice_processes(pgid) == []
    assert not workdir.exists()
    assert not pdf_converter.running
    pdf_converter.close()  # closing twice is harmless


@needs_libreoffice
def test_server_that_died_is_started_again(tmp_path):
    with PdfConverter() as pdf_converter:
        pdf_converter.convert(make_docx(tmp_path / "a.docx"), tmp_path / "a.pdf")
        old = pdf_converter.server_pid
        os.killpg(old, signal.SIGKILL)  # LibreOffice and unoserver crash together

        pdf_converter.convert(make_docx(tmp_path / "b.docx"), tmp_path / "b.pdf")

        assert pdf_converter.starts == 2
        assert pdf_converter.server_pid != old
    assert "受理通知书" in pdf_text(tmp_path / "b.pdf")


@needs_libreoffice
def test_existing_target_is_refused(shared_converter, tmp_path):
    source = make_docx(tmp_path / "notice.docx")
    target = tmp_path / "notice.pdf"
    target.write_bytes(b"earlier print")

    with pytest.raises(StateError) as caught:
        shared_converter.convert(source, target)

    assert caught.value.field == "pdf_path"
    assert "已存在" in caught.value.message
    assert target.read_bytes() == b"earlier print"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notice.docx", "notice.pdf"]


@needs_libreoffice
def test_garbage_docx_fails_without_output(shared_converter, tmp_path):
    source = tmp_path / "broken.docx"
    source.write_bytes(b"\x00not a word file" * 50)

    with pytest.raises(ConversionError) as caught:
        shared_converter.convert(source, tmp_path / "broken.pdf")

    assert caught.value.exit_code == 1
    assert "broken.docx" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.docx"]


@needs_libreoffice
def test_damaged_docx_fails_in_libreoffice_without_output(shared_converter, tmp_path):
    # A real zip with word/document.xml cut in half: only LibreOffice can tell.
    good = make_docx(tmp_path / "good.docx")
    source = tmp_path / "damaged.docx"
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(source, "w") as damaged:
        for name in original.namelist():
            data = original.read(name)
            if name == "word/document.xml":
                data = data[: len(data) // 2]
            damaged.writestr(name, data)

    with pytest.raises(ConversionError) as caught:
        shared_converter.convert(source, tmp_path / "damaged.pdf")

    assert "damaged.docx" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.docx", "good.docx"]
    # The server survives a bad document and goes on with the batch.
    shared_converter.convert(good, tmp_path / "good.pdf")
    assert pdf_page_count(tmp_path / "good.pdf") == 1


@needs_libreoffice
def test_missing_source_is_an_input_error(shared_converter, tmp_path):
    with pytest.raises(InputError) as caught:
        shared_converter.convert(tmp_path / "nope.docx", tmp_path / "nope.pdf")
    assert caught.value.field == "docx_path"


@needs_libreoffice
def test_stamp_metadata_round_trip(shared_converter, tmp_path):
    from pypdf import PdfReader

    pdf = shared_converter.convert(make_docx(tmp_path / "n.docx"), tmp_path / "n.pdf")

    stamp_metadata(
        pdf,
        title="受理通知书",
        number="某审受字〔2026〕1号",
        case="SL-2026-000123",
        subject="甲&乙公司 食品经营许可",
        author="某市行政服务中心",
        keywords=["受理", "食品经营许可"],
    )

    info = PdfReader(pdf).metadata
    assert info["/Title"] == "受理通知书"
    assert info["/NoticeNumber"] == "某审受字〔2026〕1号"
    assert info["/CaseNumber"] == "SL-2026-000123"
    assert info["/Subject"] == "甲&乙公司 食品经营许可"
    assert info["/Author"] == "某市行政服务中心"
    assert info["/Keywords"] == "受理; 食品经营许可"
    assert "LibreOffice" in info["/Producer"]  # what was there is kept
    assert "甲&乙公司" in pdf_text(pdf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.docx", "n.pdf"]


def test_stamp_metadata_needs_title_and_number(tmp_path):
    with pytest.raises(InputError) as caught:
        stamp_metadata(tmp_path / "x.pdf", title=" ", number="1")
    assert caught.value.field == "title"


def test_pdf_helpers_reject_a_file_that_is_not_pdf(tmp_path):
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"this is no pdf")
    with pytest.raises(InputError):
        pdf_page_count(fake)
    with pytest.raises(InputError):
        pdf_text(tmp_path / "missing.pdf")


def test_missing_libreoffice_says_how_to_install(monkeypatch):
    monkeypatch.setattr(converter, "_discover", lambda: (None, None))

    with pytest.raises(ConversionError) as caught:
        PdfConverter().start()

    assert caught.value.exit_code == 1
    assert "make deps" in caught.value.message
    assert "sudo apt-get install libreoffice-writer-nogui fonts-noto-cjk" in caught.value.message
