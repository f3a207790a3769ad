"""Text extraction for the index: .docx with tables, PDF with and without a text layer."""

from pathlib import Path

import pytest

from archive.documents.extract import IMAGE_NO_TEXT, NO_TEXT_LAYER, docx_text, extract

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


def make_docx(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.sections[0].header.paragraphs[0].text = "江州市市场监督管理局（页眉）"
    document.add_paragraph("受理通知书")
    document.add_paragraph("申请人：張三   身份证号码：11010519491231002X")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "材料名称"
    table.cell(0, 1).text = "份数"
    table.cell(1, 0).text = "食品经营许可申请书"
    inner = table.cell(1, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "嵌套表格中的文字"
    document.add_paragraph("受理通知书")  # the second part (联) repeats the first
    document.add_paragraph("第二联 窗口存根")
    document.save(path)
    return path


def make_text_pdf(path: Path, text: str = "Permit SJ202609280001 issued 2026") -> Path:
    """A one-page PDF whose text layer says ``text`` (ASCII, Helvetica)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def make_scan_pdf(path: Path) -> Path:
    """A PDF made of an image only, like a scan: no text layer."""
    from PIL import Image

    Image.new("RGB", (200, 280), (250, 250, 240)).save(path, "PDF", resolution=72)
    return path


def test_docx_text_has_paragraphs_tables_nested_tables_and_headers_in_order(tmp_path):
    text = docx_text(make_docx(tmp_path / "n.docx"))
    lines = text.splitlines()
    assert lines[0] == "江州市市场监督管理局（页眉）"
    assert lines.index("受理通知书") < lines.index("材料名称") < lines.index("嵌套表格中的文字")
    assert "食品经营许可申请书" in lines and "第二联 窗口存根" in lines
    assert "申请人：張三 身份证号码：11010519491231002X" in lines  # runs of spaces collapse


def test_a_paragraph_repeated_in_another_part_is_kept_once(tmp_path):
    assert docx_text(make_docx(tmp_path / "n.docx")).splitlines().count("受理通知书") == 1


def test_pdf_with_a_text_layer(tmp_path):
    got = extract(make_text_pdf(tmp_path / "a.pdf"))
    assert got.has_text and got.problem is None and got.pages == 1
    assert "SJ202609280001" in got.text


def test_a_scanned_pdf_is_reported_as_having_no_text(tmp_path):
    got = extract(make_scan_pdf(tmp_path / "scan.pdf"))
    assert (got.has_text, got.text, got.pages, got.problem) == (False, "", 1, NO_TEXT_LAYER)
    assert "扫描件" in got.problem


def test_an_image_has_no_text(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.new("RGB", (10, 10)).save(path)
    got = extract(path)
    assert (got.has_text, got.problem) == (False, IMAGE_NO_TEXT)


@pytest.mark.parametrize("name, content, expected", [
    ("missing.docx", None, "文件不存在"),
    ("broken.docx", b"not a zip file", "无法读取文件内容"),
    ("broken.pdf", b"%PDF-1.4 garbage", "无法读取文件内容"),
    ("notes.txt", b"hello", "不支持提取该类型文件的文字（.txt）"),
])
def test_a_bad_file_is_reported_never_raised(tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    got = extract(path)
    assert not got.has_text and got.text == ""
    assert got.problem.startswith(expected)
    assert got.to_dict()["has_text"] is False



def _python_docx_text(path) -> str:
    """The same reading done with python-docx (what docx_text did before it read the package itself)."""
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(str(path))
    lines, seen = [], set()

    def collect(element):
        for paragraph in element.iter(qn("w:p")):
            parts = [node.text or "" if node.tag == qn("w:t") else " "
                     for node in paragraph.iter(qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"))]
            line = " ".join("".join(parts).split())
            if line and line not in seen:
                seen.add(line)
                lines.append(line)

    for section in document.sections:
        for part in (section.header, section.first_page_header, section.even_page_header):
            if not part.is_linked_to_previous:
                collect(part._element)
    collect(document.element.body)
    for section in document.sections:
        for part in (section.footer, section.first_page_footer, section.even_page_footer):
            if not part.is_linked_to_previous:
                collect(part._element)
    return "\n".join(lines)


def test_reading_the_package_directly_gives_what_python_docx_gives(tmp_path):
    from docx import Document

    two = Document()
    two.add_paragraph("第一节正文")
    two.sections[0].first_page_header.paragraphs[0].text = "首页页眉"
    two.sections[0].different_first_page_header_footer = True
    second = two.add_section()
    second.header.is_linked_to_previous = False
    second.header.paragraphs[0].text = "第二节页眉"
    second.even_page_footer.paragraphs[0].text = "偶数页页脚"
    two.add_paragraph("第二节正文")
    two.save(tmp_path / "two.docx")
    files = [make_docx(tmp_path / "sample.docx"), tmp_path / "two.docx"]
    files += sorted((Path(__file__).resolve().parent.parent / "templates").glob("*.docx"))
    for path in files:
        assert docx_text(path) == _python_docx_text(path), path.name


def _text_parts(path) -> list[bytes]:
    import re
    import zipfile

    with zipfile.ZipFile(path) as package:
        return [package.read(name) for name in package.namelist()
                if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name)]


def test_the_flat_reading_gives_what_the_parse_gives_and_steps_aside_when_unsure(tmp_path):
    from docx import Document
    from docx.oxml import parse_xml
    from lxml import etree

    from archive.documents.extract import _flat_outline, _parsed_outline

    plain = Document()
    paragraph = plain.add_paragraph("甲 & 乙 <丙> \"丁\" '戊'")
    run = paragraph.add_run("制表")
    run.add_tab()
    run.add_text("之后")
    run.add_break()
    run.add_text("换行&#之后")
    plain.add_paragraph("")
    plain.sections[0].footer.paragraphs[0].text = "页脚 A&B"
    plain.save(tmp_path / "plain.docx")
    files = [make_docx(tmp_path / "sample.docx"), tmp_path / "plain.docx"]
    files += sorted((Path(__file__).resolve().parent.parent / "templates").glob("*.docx"))
    flat = 0
    for path in files:
        for data in _text_parts(path):
            found = _flat_outline(data)
            if found is not None:
                flat += 1
                assert found == _parsed_outline(data), path.name
    assert flat >= len(files)  # every document part of these is read the flat way
    referenced = _text_parts(tmp_path / "plain.docx")[0].replace("甲".encode(), b"&#x7532;").replace("乙".encode(), b"&#20057;")
    assert _flat_outline(referenced) == _parsed_outline(referenced)
    assert _flat_outline(referenced)[0][0].startswith("甲 & 乙")
    assert docx_text(tmp_path / "plain.docx").splitlines() == ["甲 & 乙 <丙> \"丁\" '戊'制表 之后 换行&#之后", "页脚 A&B"]

    # A text box holds paragraphs inside a paragraph; a comment, or a part cut short: parsed.
    boxed = Document()
    outer = boxed.add_paragraph("框外文字")
    outer._p.append(parse_xml(
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:shape><v:textbox><w:txbxContent>'
        '<w:p><w:r><w:t>框中文字</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>'))
    boxed.add_paragraph("正文").runs[0]._r.append(etree.Comment("<w:t>注释里的字</w:t>"))
    boxed.save(tmp_path / "boxed.docx")
    document = _text_parts(tmp_path / "boxed.docx")[0]
    assert _flat_outline(document) is None
    assert docx_text(tmp_path / "boxed.docx").splitlines() == ["框外文字框中文字", "框中文字", "正文"]
    assert _flat_outline(document.replace(b"txbxContent", b"txbxContenu")) is None  # the comment
    assert _flat_outline(_text_parts(tmp_path / "plain.docx")[0][:-40]) is None
