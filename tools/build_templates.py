"""Build the seven notice templates in ``templates/`` from code.

Run ``python tools/build_templates.py`` after changing a layout here; the generated .docx
files are committed so a centre can also restyle them in Word or WPS afterwards (the test
``tests/test_templates.py`` then checks that no field was lost). ``--specimen-seal PATH``
also draws the test seal image, a red circle visibly marked 样章 (a specimen, never a real
seal).

Layout follows GB/T 9704-2012: A4, margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm
(text block 156 x 225 mm); body 3号 (16 pt) 仿宋 on a fixed 28.95 pt line (22 lines a page);
title 2号 (22 pt) 方正小标宋简体, centred. Every font is named for w:ascii, w:hAnsi,
w:eastAsia and w:cs alike, and theme fonts are removed, because Word, WPS and LibreOffice
otherwise fall back to a sans face for the Chinese text.

Each template loops over ``parts`` (联): every part starts on a new page (a
``pageBreakBefore`` on its title, so no break follows the last part) and shows the title
with the part label at the right margin, the notice number with the check code, the notice
body, the organ name and date with the seal (``{{r seal }}``: a floating picture the
renderer centres over those two lines) and the applicant's signature line. The page footer
carries the clerk and the complaint phone, the same on every part.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

import template_package  # tools/template_package.py, beside this script

ROOT = Path(__file__).resolve().parent.parent

BODY_FONT = "仿宋"
TITLE_FONT = "方正小标宋简体"
LINE_PITCH = Pt(28.95)  # 225 mm / 22 lines
TEXT_WIDTH_MM = 156
# The organ name and date are centred in the right-hand block that starts here, so that
# the date ends about four characters from the right margin (GB/T 9704 7.3.5.1); the
# renderer reads this indent back from the template to centre the seal over the block.
SIGNATURE_BLOCK_INDENT_MM = 72

APPLICANT_SIGNATURE = "申请人（签收）：__________ 日期：__________"

# Fonts the documents use, described in the font table so that a machine lacking them
# substitutes a face of the same family (a serif CJK face) rather than the default sans.
FONT_TABLE = {
    BODY_FONT: ("FangSong", "02010609060101010101", "modern", "fixed"),
    TITLE_FONT: ("FZXiaoBiaoSong-B05S", "02000000000000000000", "roman", "variable"),
}


# --------------------------------------------------------------------------- styles

def _set_lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")


# Style names are what a clerk sees in Word/WPS; the ids stay ASCII for other tools.
STYLE_IDS = {
    "公文正文": "NoticeBody",
    "公文标题": "NoticeTitle",
    "文号": "NoticeNumber",
    "主送": "Addressee",
    "落款": "SignatureBlock",
    "签收": "ApplicantSignature",
    "表格文字": "TableText",
    "表格标签": "TableLabel",
    "附注": "SmallNote",
}


def _paragraph_style(doc, name, *, font=BODY_FONT, size=16, line=LINE_PITCH,
                     align=None, first_line=None, left=None, base="Normal",
                     keep_with_next=False):
    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.style_id = STYLE_IDS[name]
    if name != "Normal":
        style.base_style = doc.styles[base]
        style.quick_style = True
    style.font.size = Pt(size)
    template_package.set_fonts(style.element.get_or_add_rPr(), font)
    fmt = style.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = line
    fmt.widow_control = False
    if align is not None:
        fmt.alignment = align
    fmt.first_line_indent = first_line
    fmt.left_indent = left
    fmt.keep_with_next = keep_with_next
    return style


def _setup_styles(doc) -> None:
    styles = doc.styles.element
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    template_package.set_fonts(rpr_default, BODY_FONT)
    _set_lang(rpr_default)
    for sz in ("w:sz", "w:szCs"):
        rpr_default.find(qn(sz)).set(qn("w:val"), "32")
    ppr_default = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = ppr_default.find(qn("w:spacing"))
    spacing.attrib.clear()
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), str(LINE_PITCH.twips))
    spacing.set(qn("w:lineRule"), "exact")

    _paragraph_style(doc, "Normal", align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _paragraph_style(doc, "公文正文", first_line=Pt(32), align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    # Title and number lines: centred through a centre tab, part label / check code at a
    # right tab on the margin.
    for name, font, size in (("公文标题", TITLE_FONT, 22), ("文号", BODY_FONT, 16)):
        style = _paragraph_style(doc, name, font=font, size=size, align=WD_ALIGN_PARAGRAPH.LEFT,
                                 keep_with_next=True)
        style.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM / 2), WD_TAB_ALIGNMENT.CENTER)
        style.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM), WD_TAB_ALIGNMENT.RIGHT)
    _paragraph_style(doc, "主送", align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph_style(doc, "落款", align=WD_ALIGN_PARAGRAPH.CENTER,
                     left=Mm(SIGNATURE_BLOCK_INDENT_MM), keep_with_next=True)
    _paragraph_style(doc, "签收", align=WD_ALIGN_PARAGRAPH.LEFT)
    small = Pt(16)
    _paragraph_style(doc, "表格文字", size=12, line=small, align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph_style(doc, "表格标签", size=12, line=small, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(doc, "附注", size=12, line=Pt(18), align=WD_ALIGN_PARAGRAPH.CENTER)
    table_style = doc.styles["Table Grid"]
    template_package.set_fonts(table_style.element.get_or_add_rPr(), BODY_FONT)


def _setup_font_table(doc) -> None:
    # python-docx keeps the font table as an opaque blob: edit its XML and store it back.
    from lxml import etree

    font_table = doc.part.part_related_by(RT.FONT_TABLE)
    root = etree.fromstring(font_table.blob)
    for name, (alt, panose, family, pitch) in FONT_TABLE.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", alt), ("w:panose1", panose), ("w:charset", "86"),
                           ("w:family", family), ("w:pitch", pitch)):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        root.append(font)
    font_table._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                      standalone=True)


def _setup_settings(doc) -> None:
    settings = doc.settings.element
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def new_document(title: str):
    """An empty A4 document with the GB/T 9704 page setup and styles."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(28)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is not None:
        grid.set(qn("w:linePitch"), str(LINE_PITCH.twips))
    _setup_styles(doc)
    _setup_font_table(doc)
    _setup_settings(doc)
    props = doc.core_properties
    props.title = title
    props.author = "行政服务中心"
    props.comments = "docxtpl 模板：由 tools/build_templates.py 生成，字段见 schemas/ 同名文件"
    props.keywords = ""
    props.last_modified_by = ""
    props.revision = 1
    # python-docx puts one empty paragraph in a new document; the templates start clean.
    body = doc.element.body
    for p in body.findall(qn("w:p")):
        body.remove(p)
    return doc


# --------------------------------------------------------------------------- builders

class Notice:
    """Appends the paragraphs and tables of one template, in order."""

    def __init__(self, title: str):
        self.doc = new_document(title)

    def p(self, *runs, style="公文正文", page_break_before=False):
        """A paragraph; each run is text, (text, size_pt) or (text, size_pt, font)."""
        para = self.doc.add_paragraph(style=style)
        for run in runs:
            text, size, font = (*((run,) if isinstance(run, str) else run), None, None)[:3]
            r = para.add_run(text)
            if size:
                r.font.size = Pt(size)
            if font:
                template_package.set_fonts(r._r.get_or_add_rPr(), font)
        if page_break_before:
            para.paragraph_format.page_break_before = True
        return para

    def tag(self, text):
        """A paragraph holding only a ``{%p ... %}`` tag (docxtpl removes the paragraph)."""
        return self.p(text, style="Normal")

    def blank(self, n=1, keep_with_next=False):
        for _ in range(n):
            self.p("", style="Normal").paragraph_format.keep_with_next = keep_with_next or None

    def table(self, widths_mm, rows, *, header=None, loop=None, loop_row=None):
        """A bordered table of 12 pt text.

        ``rows`` are lists of cell texts; ``(label, value)`` pairs use 标签 style for
        even columns. A cell text of ``None`` merges the cell into its left neighbour.
        ``loop``/``loop_row`` add ``{%tr for ... %}`` / row / ``{%tr endfor %}``.
        """
        def style_of(kind, column):
            label = kind == "header" or (kind == "pair" and column % 2 == 0)
            return "表格标签" if label else "表格文字"

        return template_package.grid_table(self.doc, widths_mm, rows, style_of, header=header, loop=loop,
                                           loop_row=loop_row)

    def save(self, path: Path) -> None:
        template_package.trim(self.doc)
        self.doc.save(path)


APPLICANT_ROWS = [
    ["申请人", "{{ applicant.name }}", "{{ applicant.id_label }}", "{{ applicant.id_number }}"],
    ["法定代表人", "{{ applicant.legal_rep or '／' }}", "联系电话", "{{ applicant.phone }}"],
    ["申请事项", "{{ item.name }}", "事项编码", "{{ item.code }}"],
]
INFO_WIDTHS = [25, 43, 38, 50]


def _part_head(n: Notice) -> None:
    # The title line also carries the part label at the right margin, and the number line
    # the check code, so that a part's 22 lines go to the notice itself. A part starts on
    # a new page through pageBreakBefore on its title, which the first part's copy lacks.
    title = ("\t", ("{{ title }}", None, TITLE_FONT), ("{% if reprint %}（补打）{% endif %}", 16),
             "\t", ("{{ part.label }}　{{ part.destination }}", 12, BODY_FONT))
    n.tag("{%p for part in parts %}")
    n.tag("{%p if loop.first %}")
    n.p(*title, style="公文标题")
    n.tag("{%p else %}")
    n.p(*title, style="公文标题", page_break_before=True)
    n.tag("{%p endif %}")
    n.p("\t{{ number }}\t", ("校验码：{{ check_code }}", 12), style="文号")


def _part_foot(n: Notice, signer: str = APPLICANT_SIGNATURE) -> None:
    # One blank line above and below the organ/date pair: the seal (40 mm) centred on
    # the boundary between those two lines then touches neither body text nor signature.
    # The block is kept together, and with the last line of the body, so that a part
    # that runs over a page never leaves the seal on a page without text (GB/T 9704).
    n.doc.paragraphs[-1].paragraph_format.keep_with_next = True
    n.blank(keep_with_next=True)
    n.p("{{r seal }}", "{{ organ }}", style="落款")
    n.p("{{ issued_on }}", style="落款")
    n.blank(keep_with_next=True)
    n.p(signer, style="签收")
    n.tag("{%p endfor %}")
    # Clerk and complaint phone are the same on every part: the page footer carries them.
    footer = n.doc.sections[0].footer
    footer.is_linked_to_previous = False
    para = footer.paragraphs[0]
    para.style = n.doc.styles["附注"]
    para.add_run("经办人：{{ clerk.name }}　经办人电话：{{ clerk.phone }}　"
                 "监督投诉电话：{{ complaint_phone }}")


def _applicant_table(n: Notice, *extra_rows) -> None:
    n.table(INFO_WIDTHS, APPLICANT_ROWS + list(extra_rows))


def build_receipt() -> Notice:
    n = Notice("受理通知书")
    _part_head(n)
    _applicant_table(
        n,
        ["办件编号", "{{ case_no }}", "受理日期", "{{ accepted_on }}"],
        ["承诺时限", "{{ promised_days }}个工作日", "法定时限", "{{ statutory_days }}个工作日"],
        ["收费", "{{ fee }}", "结果送达", "{{ delivery }}"],
        ["进度查询", "{{ progress_query }}", None, None],
    )
    n.p("{{ applicant.name }}：", style="主送")
    # legal_basis is a whole sentence (citing law art. 32(1)(5)) that states the decision.
    n.p("你（单位）于{{ received_on }}提出的{{ item.name }}申请已收到。{{ legal_basis }}"
        "本事项承诺{{ promised_days }}个工作日内办结，预计办结日期为{{ due_on }}。")
    n.table([14, 96, 18, 28], [], header=["序号", "收到的申请材料", "份数", "原件/复印件"],
            loop="m in materials",
            loop_row=["{{ loop.index }}", "{{ m.name }}", "{{ m.copies }}", "{{ m.form }}"])
    n.p("{{ excluded_time_statement }}")
    _part_foot(n)
    return n


def build_supplement() -> Notice:
    n = Notice("补正材料通知书")
    _part_head(n)
    _applicant_table(n, ["办件编号", "{{ case_no }}", "收件日期", "{{ received_on }}"])
    n.p("{{ applicant.name }}：", style="主送")
    n.p("你（单位）于{{ received_on }}提交的{{ item.name }}申请材料不齐全或者不符合法定形式。"
        "根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，"
        "现一次性告知需要补正的全部材料如下：")
    n.table([14, 42, 46, 54], [], header=["序号", "材料名称", "存在问题", "补正要求"],
            loop="m in missing",
            loop_row=["{{ loop.index }}", "{{ m.name }}", "{{ m.problem }}",
                      "{{ m.requirement }}"])
    n.p("补正材料请提交至{{ submit_to }}。{{ submit_deadline_text }}"
        "补正材料齐全、符合法定形式后，本机关予以受理，办理时限自收到全部补正材料之日起计算。")
    _part_foot(n)
    return n


APPEAL = ("如不服本决定，可以在收到本决定书之日起60日内向{{ reconsideration_body }}"
          "申请行政复议，或者在6个月内依法向{{ court }}提起行政诉讼。")


def build_rejection() -> Notice:
    n = Notice("不予受理决定书")
    _part_head(n)
    _applicant_table(n, ["办件编号", "{{ case_no }}", "收件日期", "{{ received_on }}"])
    n.p("{{ applicant.name }}：", style="主送")
    n.p("你（单位）于{{ received_on }}提出的{{ item.name }}申请，经审查，{{ ground_text }}。"
        "理由如下：{{ reasons }}")
    n.p("{{ legal_basis }}{% if competent_organ %}请向{{ competent_organ }}申请。{% endif %}")
    n.p(APPEAL)
    _part_foot(n)
    return n


def build_denial() -> Notice:
    n = Notice("不予许可决定书")
    _part_head(n)
    _applicant_table(n, ["办件编号", "{{ case_no }}", "决定日期", "{{ decided_on }}"])
    n.p("{{ applicant.name }}：", style="主送")
    n.p("你（单位）于{{ received_on }}提出的{{ item.name }}申请，本机关已于{{ accepted_on }}受理。"
        "经审查，你（单位）的申请不符合法定条件、标准，理由如下：{{ reasons }}")
    n.p("{{ legal_basis }}")
    n.p(APPEAL)
    _part_foot(n)
    return n


def build_extension() -> Notice:
    n = Notice("延期告知书")
    _part_head(n)
    _applicant_table(n, ["办件编号", "{{ case_no }}", "受理日期", "{{ accepted_on }}"])
    n.p("{{ applicant.name }}：", style="主送")
    n.p("你（单位）提出的{{ item.name }}申请，本机关已于{{ accepted_on }}受理，原定办结日期为"
        "{{ original_due_on }}。因{{ reason }}，本机关不能在规定期限内作出决定。经{{ approver }}"
        "批准，办理期限延长{{ extra_days }}个工作日，延长后的办结日期为{{ new_due_on }}。")
    n.p("{{ legal_basis }}")
    _part_foot(n)
    return n


def build_excluded_time() -> Notice:
    n = Notice("除外时间告知书")
    _part_head(n)
    _applicant_table(n, ["办件编号", "{{ case_no }}", "受理日期", "{{ accepted_on }}"])
    n.p("{{ applicant.name }}：", style="主送")
    n.p("你（单位）提出的{{ item.name }}申请，本机关已于{{ accepted_on }}受理。因{{ reason }}，"
        "自{{ paused_on }}起所需时间不计算在办理期限内，预计"
        "{% if expected_days is none %}所需时间待定{% else %}需要{{ expected_days }}个工作日"
        "{% endif %}。相关程序结束后，办理期限继续计算。")
    n.p("{{ legal_basis }}")
    _part_foot(n)
    return n


def build_appointment() -> Notice:
    n = Notice("预约卡")
    _part_head(n)
    n.table([24, 56, 24, 52], [
        ["预约卡号", "{{ card_no }}", "预约人", "{{ visitor.name }}"],
        ["身份证号码", "{{ visitor.masked_id }}", "联系电话", "{{ visitor.phone }}"],
        ["预约事项", "{{ matter }}", None, None],
        ["接待人", "{{ with_whom }}", "预约时间", "{{ date }} {{ time_slot }}"],
        ["地点", "{{ place }}", None, None],
    ])
    n.p("请携带以下材料：{% if not materials_to_bring %}无。{% endif %}")
    n.tag("{%p for m in materials_to_bring %}")
    n.p("{{ loop.index }}. {{ m }}")
    n.tag("{%p endfor %}")
    n.p("如需改约：{{ reschedule }}")
    _part_foot(n, signer="预约人（签收）：__________ 日期：__________")
    return n


BUILDERS = {
    "receipt": build_receipt,
    "supplement": build_supplement,
    "rejection": build_rejection,
    "denial": build_denial,
    "extension": build_extension,
    "excluded_time": build_excluded_time,
    "appointment": build_appointment,
}


# --------------------------------------------------------------------------- seal

def draw_specimen_seal(path: Path, size_px: int = 600) -> None:
    """Draw a round red specimen seal marked 样章 on a transparent background."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = _cjk_font()
    red = (215, 25, 32, 235)
    img = Image.new("RGBA", (size_px, size_px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size_px / 2
    ring = size_px * 0.035
    draw.ellipse([ring / 2, ring / 2, size_px - ring / 2, size_px - ring / 2],
                 outline=red, width=int(ring))

    # Five-pointed star in the centre.
    r_out, r_in = size_px * 0.13, size_px * 0.05
    pts = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = math.pi / 2 + k * math.pi / 5
        pts.append((c + r * math.cos(a), c - 0.02 * size_px - r * math.sin(a)))
    draw.polygon(pts, fill=red)

    # Organ name along the upper arc, one glyph at a time.
    text = "示例市行政审批服务局"
    font = ImageFont.truetype(font_path, int(size_px * 0.095), index=_font_index(font_path))
    radius = c - ring - size_px * 0.075
    span = math.radians(230)
    for i, ch in enumerate(text):
        a = math.pi / 2 + span / 2 - span * i / (len(text) - 1)
        glyph = Image.new("RGBA", (int(size_px * 0.14),) * 2, (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font,
                                   fill=red, anchor="mm")
        glyph = glyph.rotate(math.degrees(a - math.pi / 2), resample=Image.BICUBIC)
        x = c + radius * math.cos(a) - glyph.width / 2
        y = c - radius * math.sin(a) - glyph.height / 2
        img.alpha_composite(glyph, (int(x), int(y)))

    small = ImageFont.truetype(font_path, int(size_px * 0.07), index=_font_index(font_path))
    draw.text((c, c + size_px * 0.17), "行政许可专用章", font=small, fill=red, anchor="mm")
    big = ImageFont.truetype(font_path, int(size_px * 0.16), index=_font_index(font_path))
    draw.text((c, c + size_px * 0.30), "样 章", font=big, fill=(150, 0, 0, 255), anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, dpi=(381, 381))  # 600 px = 40 mm


def _cjk_font() -> str:
    candidates = [
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    ]
    for candidate in candidates:
        if Path(candidate).exists():
            return candidate
    sys.exit("找不到中文字体（Noto CJK），无法绘制样章：请安装 fonts-noto-cjk")


def _font_index(path: str) -> int:
    # Noto CJK collections order their faces JP, KR, SC, TC, HK.
    return 2 if path.endswith(".ttc") else 0


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "templates",
                        help="folder for the .docx templates (default: templates/)")
    parser.add_argument("--specimen-seal", type=Path, metavar="PATH",
                        help="also draw the specimen seal image (样章) to PATH")
    parser.add_argument("kinds", nargs="*", metavar="KIND",
                        help=f"kinds to build (default: all of {', '.join(BUILDERS)})")
    args = parser.parse_args(argv)
    unknown = [k for k in args.kinds if k not in BUILDERS]
    if unknown:
        parser.error(f"未知的文书种类：{', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in args.kinds or BUILDERS:
        path = args.out / f"{kind}.docx"
        BUILDERS[kind]().save(path)
        print(f"已生成 {path}")
    if args.specimen_seal:
        draw_specimen_seal(args.specimen_seal)
        print(f"已生成 {args.specimen_seal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
