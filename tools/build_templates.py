"""Build the seven notice templates in ``templates/`` from code.

Run ``python tools/build_templates.py`` after changing a layout here; the generated .docx
files are committed so a centre can also restyle them in Word or WPS afterwards (the test
``tests/test_templates.py`` then checks that no field was lost). ``--specimen-seal PATH``
also draws the test seal image, a red circle visibly marked 样章 (a specimen, never a real
seal).

Layout follows GB/T 9704-2012: A4, margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm
(text block 156 x 225 mm); body 3号 (16 pt) 仿宋 on a fixed 28.95 pt line (22 lines a page),
condensed by a quarter point so that 28 characters fill a line; title 2号 (22 pt)
方正小标宋简体. Every font is named for w:ascii, w:hAnsi, w:eastAsia and w:cs alike, and
theme fonts are removed, because Word, WPS and LibreOffice otherwise fall back to a sans
face for the Chinese text; the font table gives 仿宋_GB2312 as the body font's other name.

Each template loops over ``parts`` (联): every part starts on a new page (a
``pageBreakBefore`` on its title, so no break follows the last part) and holds, in order:
the title with the part label at the right margin; the notice number with the check code;
a compact table (五号) of the applicant's identifiers and the case's numbers and dates,
wide enough that an 18-character ID number, credit code or case number never wraps; the
salutation; the letter itself, which names the matter and states the decision around a
legal citation the code supplies; the notice's list (materials received, materials to
supplement …) as a table; and the foot. The foot is one blank line, then the organ name
and the date centred on a tab stop 111 mm from the left margin (the date ends about four
characters from the right margin, GB/T 9704 7.3.5.1), the seal (``{{r seal }}``: a
floating picture the renderer places) with its top just below the last line of body text,
and at the left of those two lines the applicant's signature. The foot is kept with the
last lines of the body, so a part that runs over a page never leaves a page holding only a
seal and a date. Up to ten materials with 40-character names, or reasons of 200
characters, each part fits one page. The page footer (left, 五号) names the clerk and the
complaint phone.
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
# 16 pt characters are 5.64 mm wide: 27 of them fill 156 mm. Condensed by a quarter point
# (w:spacing -5 twentieths) 28 do, as GB/T 9704 asks.
BODY_CONDENSE = -5
TEXT_WIDTH_MM = 156
# The organ name and the date are centred on this tab stop (see the module docstring); the
# renderer reads it back from the template to centre the seal over them.
SIGNATURE_CENTRE_MM = 111
TABLE_SIZE = 10.5  # 五号
TABLE_LINE = Pt(11)
NUMBER_LINE = Pt(20)
TITLE_LINE = Pt(26)

# Fonts the documents use, described in the font table so that a machine lacking them
# substitutes a face of the same family (a serif CJK face) rather than the default sans.
FONT_TABLE = {
    BODY_FONT: ("仿宋_GB2312", "02010609060101010101", "modern", "fixed"),
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
    "表格文字": "TableText",
    "表格标签": "TableLabel",
    "附注": "SmallNote",
    "页脚": "NoticeFooter",
}
#: The styles of body text: every paragraph in them ends in 。 or ： (tests check).
BODY_STYLES = ("公文正文", "主送", "附注", "卡片附注")


def _condense(style, twentieths: int) -> None:
    rpr = style.element.get_or_add_rPr()
    spacing = rpr.find(qn("w:spacing"))
    if spacing is None:
        spacing = OxmlElement("w:spacing")
        rpr.append(spacing)
    spacing.set(qn("w:val"), str(twentieths))


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
    body = _paragraph_style(doc, "公文正文", first_line=Pt(32), align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _condense(body, BODY_CONDENSE)
    addressee = _paragraph_style(doc, "主送", align=WD_ALIGN_PARAGRAPH.LEFT)
    _condense(addressee, BODY_CONDENSE)
    # Title and number lines: centred through a centre tab, part label / check code at a
    # right tab on the margin.
    for name, font, size, line in (("公文标题", TITLE_FONT, 22, TITLE_LINE), ("文号", BODY_FONT, 16, NUMBER_LINE)):
        style = _paragraph_style(doc, name, font=font, size=size, line=line, align=WD_ALIGN_PARAGRAPH.LEFT,
                                 keep_with_next=True)
        style.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM / 2), WD_TAB_ALIGNMENT.CENTER)
        style.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM), WD_TAB_ALIGNMENT.RIGHT)
    signature = _paragraph_style(doc, "落款", align=WD_ALIGN_PARAGRAPH.LEFT)
    signature.paragraph_format.tab_stops.add_tab_stop(Mm(SIGNATURE_CENTRE_MM), WD_TAB_ALIGNMENT.CENTER)
    _paragraph_style(doc, "表格文字", size=TABLE_SIZE, line=TABLE_LINE, align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph_style(doc, "表格标签", size=TABLE_SIZE, line=TABLE_LINE, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(doc, "附注", size=TABLE_SIZE, line=Pt(12.5), align=WD_ALIGN_PARAGRAPH.JUSTIFY,
                     first_line=Pt(2 * TABLE_SIZE))
    _paragraph_style(doc, "页脚", size=TABLE_SIZE, line=Pt(13), align=WD_ALIGN_PARAGRAPH.LEFT)
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


def new_document(title: str, *, page_mm=(210, 297), margins_mm=(37, 35, 28, 26), footer_mm=20):
    """An empty document with the GB/T 9704 page setup (A4 unless ``page_mm``) and styles.

    ``margins_mm`` are top, bottom, left, right.
    """
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(page_mm[0]), Mm(page_mm[1])
    top, bottom, left, right = margins_mm
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    section.header_distance, section.footer_distance = Mm(min(15, top - 5)), Mm(footer_mm)
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

    def __init__(self, title: str, **page):
        self.doc = new_document(title, **page)

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

    def table(self, widths_mm, rows, *, header=None, loop=None, loop_row=None, label_columns=(0, 2),
              styles=("表格标签", "表格文字")):
        """A bordered table of 五号 text.

        ``rows`` are lists of cell texts; ``label_columns`` of them use 表格标签. A cell
        text of ``None`` merges the cell into its left neighbour. ``loop``/``loop_row`` add
        ``{%tr for ... %}`` / row / ``{%tr endfor %}``; the header row repeats on every page
        and no row splits across two.
        """
        def style_of(kind, column):
            label = kind == "header" or (kind == "pair" and column in label_columns)
            return styles[0] if label else styles[1]

        return template_package.grid_table(self.doc, widths_mm, rows, style_of, header=header, loop=loop,
                                           loop_row=loop_row)

    def save(self, path: Path) -> None:
        template_package.trim(self.doc)
        self.doc.save(path)


# Identifier columns are wide enough for 18 characters of 五号 on one line; labels of the
# third column (统一社会信用代码) may take two lines.
INFO_WIDTHS = [22, 58, 26, 50]
APPLICANT_ROWS = [
    ["申请人", "{{ applicant.name }}", "{{ applicant.id_label }}", "{{ applicant.id_number }}"],
    ["法定代表人", "{{ applicant.legal_rep or '／' }}", "联系电话", "{{ applicant.phone }}"],
]


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


def _part_foot(n: Notice, signer: str = "申请人") -> None:
    # One blank line, then organ name and date on the centre tab with the seal placed by the
    # renderer: its top a millimetre or two below the last line of body text (GB/T 9704
    # 7.3.5.1: 印章顶端应当上距正文一行之内), covering the organ name and the date. The
    # signer's lines sit at the left of the same two lines, clear of the seal. The blank
    # line and the block are kept with the last line of the body.
    n.doc.paragraphs[-1].paragraph_format.keep_with_next = True
    foot = n.p("{{r seal }}", "\n", (f"{signer}签收：______________", 12), "\t{{ organ }}\n",
               ("签收日期：____________", 12), "\t{{ issued_on }}", style="落款")
    foot.paragraph_format.keep_together = True
    n.tag("{%p endfor %}")
    # Clerk and complaint phone are the same on every part: the page footer carries them,
    # at the left, where the seal (which may reach below the text block) never is.
    footer = n.doc.sections[0].footer
    footer.is_linked_to_previous = False
    first = footer.paragraphs[0]
    first.style = n.doc.styles["页脚"]
    first.add_run("经办人：{{ clerk.name }}{% if clerk.phone %}　联系电话：{{ clerk.phone }}{% endif %}")
    footer.add_paragraph("监督投诉电话：{{ complaint_phone }}", style=n.doc.styles["页脚"])


def _info(n: Notice, *rows) -> None:
    n.table(INFO_WIDTHS, APPLICANT_ROWS + list(rows))


def _salutation(n: Notice) -> None:
    n.p("{{ applicant.name }}：", style="主送")


def build_receipt() -> Notice:
    n = Notice("受理通知书")
    _part_head(n)
    _info(n,
          ["办件编号", "{{ case_no }}", "事项编码", "{{ item.code }}"],
          ["承诺期限", "{% if on_the_spot %}当场办结{% else %}{{ promised_days }}个工作日"
                       "（法定{{ statutory_days }}个工作日）{% endif %}",
           "{% if on_the_spot %}办结日期{% else %}预计办结日期{% endif %}", "{{ due_on }}"])
    _salutation(n)
    n.p("{{ you }}于{{ received_on }}提出的{{ application }}，"
        "{% if deemed %}本机关未在五个工作日内一次告知需要补正的全部内容。根据{{ legal_basis }}的规定，"
        "自收到申请材料之日起即为受理。{% else %}{% if pending %}主要材料齐全。{% else %}材料齐全、符合法定形式。"
        "{% endif %}根据{{ legal_basis }}"
        "的规定，决定予以受理。{% endif %}"
        "{% if on_the_spot %}本事项当场办结。{% endif %}")
    n.table([10, 106, 14, 26], [], header=["序号", "收到的申请材料", "份数", "原件/复印件"],
            loop="m in materials",
            loop_row=["{{ loop.index }}", "{{ m.name }}", "{{ m.copies }}", "{{ m.form }}"])
    n.tag("{%p if pending %}")
    n.table([10, 106, 14, 26], [], header=["序号", "待补交的材料", "份数", "补交期限"],
            loop="m in pending",
            loop_row=["{{ loop.index }}", "{{ m.name }}", "{{ m.copies }}", "{{ m.due_on }}"])
    n.tag("{%p endif %}")
    n.p("{% if pending %}待补交材料请于补交期限前补齐，补齐前不作出准予许可的决定。{% endif %}"
        "{% if not on_the_spot %}依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在"
        "办理期限内，本机关将书面告知。{% endif %}收费：{{ fee }}。结果送达：{{ delivery }}。"
        "进度查询：{{ progress_query }}。", style="附注")
    _part_foot(n)
    return n


def build_supplement() -> Notice:
    n = Notice("补正材料通知书")
    _part_head(n)
    _info(n,
          ["办件编号", "{{ case_no }}", "事项编码", "{{ item.code }}"],
          ["提交地点", "{{ submit_to }}", None, None])
    _salutation(n)
    n.p("{{ you }}于{{ received_on }}提交的{{ application }}材料不齐全或者不符合法定形式。"
        "根据{{ legal_basis }}的规定，现一次性告知需要补正的全部材料如下：")
    n.table([10, 92, 54], [], header=["序号", "需要补正的材料", "存在问题及补正要求"],
            loop="m in missing",
            loop_row=["{{ loop.index }}", "{{ m.name }}", "{{ m.problem }}；{{ m.requirement }}。"])
    n.p("上述材料补齐后予以受理，办理期限自补齐之日起计算。")
    _part_foot(n)
    return n


APPEAL = ("如不服本决定，可以在收到本决定书之日起60日内向{{ reconsideration_body }}"
          "申请行政复议，或者在6个月内依法向{{ court }}提起行政诉讼。")


def build_rejection() -> Notice:
    n = Notice("不予受理决定书")
    _part_head(n)
    _info(n, ["办件编号", "{{ case_no }}", "事项编码", "{{ item.code }}"])
    _salutation(n)
    # Ground, the specific reasons, then the decision sentence around its citation; the
    # competent organ (out of competence) in a sentence of its own; then appeal rights.
    n.p("{{ you }}于{{ received_on }}提出的{{ application }}，{{ ground_text }}。理由：{{ reasons }}")
    n.p("根据{{ legal_basis }}的规定，决定不予受理。"
        "{% if competent_organ %}本事项请向{{ competent_organ }}提出申请。{% endif %}" + APPEAL)
    _part_foot(n)
    return n


def build_denial() -> Notice:
    n = Notice("不予许可决定书")
    _part_head(n)
    _info(n, ["办件编号", "{{ case_no }}", "事项编码", "{{ item.code }}"])
    _salutation(n)
    n.p("{{ you }}于{{ received_on }}提出的{{ application }}，经审查，不符合法定条件、标准。"
        "理由：{{ reasons }}")
    n.p("根据{{ legal_basis }}的规定，决定不予行政许可。" + APPEAL)
    _part_foot(n)
    return n


def build_extension() -> Notice:
    n = Notice("延期告知书")
    _part_head(n)
    _info(n, ["办件编号", "{{ case_no }}", "事项编码", "{{ item.code }}"])
    _salutation(n)
    n.p("{{ you }}于{{ received_on }}提出的{{ application }}，本机关已于{{ accepted_on }}受理，原定办结日期为"
        "{{ original_due_on }}。因{{ reason }}，本机关不能在规定期限内作出决定。经本机关负责人{{ approver }}"
        "批准，根据{{ legal_basis }}的规定，办理期限延长{{ extra_days }}个工作日，"
        "延长后的办结日期为{{ new_due_on }}。")
    _part_foot(n)
    return n


def build_excluded_time() -> Notice:
    n = Notice("除外时间告知书")
    _part_head(n)
    _info(n, ["办件编号", "{{ case_no }}", "事项编码", "{{ item.code }}"])
    _salutation(n)
    n.p("{{ you }}于{{ received_on }}提出的{{ application }}，本机关已于{{ accepted_on }}受理。因{{ reason }}，"
        "根据{{ legal_basis }}的规定，所需时间不计算在办理期限内。本机关自{{ paused_on }}起暂停计算办理期限，"
        "{% if expected_days is none %}所需时间尚不能确定，相关程序结束后本机关将另行告知。"
        "{% else %}预计需要{{ expected_days }}个工作日（至{{ expected_until }}）。{% endif %}"
        "相关程序结束后，办理期限继续计算，办结日期相应顺延。")
    _part_foot(n)
    return n


# The appointment card is card-sized: one A6 page (105 x 148 mm) per part, card and stub,
# each with the issuing organ, the date and the seal (30 mm at most on a card).
CARD_PAGE = dict(page_mm=(105, 148), margins_mm=(8, 10, 8, 8), footer_mm=5)
CARD_WIDTHS = [20, 69]
CARD_STYLES = {  # name: (style id, size pt, line pt, alignment)
    "卡片标题": ("CardTitle", 15, 22, WD_ALIGN_PARAGRAPH.CENTER),
    "卡片副题": ("CardSubtitle", 9, 14, WD_ALIGN_PARAGRAPH.CENTER),
    "卡片标签": ("CardLabel", 9, 11, WD_ALIGN_PARAGRAPH.CENTER),
    "卡片文字": ("CardText", 9, 11, WD_ALIGN_PARAGRAPH.LEFT),
    "卡片附注": ("CardNote", 9, 12, WD_ALIGN_PARAGRAPH.JUSTIFY),
    "卡片落款": ("CardSignature", 10.5, 15, WD_ALIGN_PARAGRAPH.CENTER),
}


def build_appointment() -> Notice:
    n = Notice("预约卡", **CARD_PAGE)
    for name, (style_id, size, line, align) in CARD_STYLES.items():
        STYLE_IDS[name] = style_id
        style = _paragraph_style(n.doc, name, size=size, line=Pt(line), align=align)
        if name == "卡片落款":
            style.paragraph_format.left_indent = Mm(40)
    n.tag("{%p for part in parts %}")
    n.tag("{%p if loop.first %}")
    n.p(("{{ title }}", None, TITLE_FONT), style="卡片标题")
    n.tag("{%p else %}")
    n.p(("{{ title }}", None, TITLE_FONT), style="卡片标题", page_break_before=True)
    n.tag("{%p endif %}")
    n.p("{{ part.label }}　{{ part.destination }}{% if reprint %}（补打）{% endif %}　校验码：{{ check_code }}",
        style="卡片副题")
    n.table(CARD_WIDTHS, [
        ["预约卡号", "{{ number }}"],
        ["预约人", "{{ visitor.name }}"],
        ["身份证号码", "{{ visitor.masked_id }}"],
        ["联系电话", "{{ visitor.phone }}"],
        ["预约事项", "{{ matter }}"],
        ["接待人", "{{ with_whom }}"],
        ["预约时间", "{{ date }} {{ time_slot }}"],
        ["地点", "{{ place }}"],
        ["经办人", "{{ clerk.name }}"],
        ["携带材料", "{% if not materials_to_bring %}无{% endif %}{% for m in materials_to_bring %}"
                     "{{ loop.index }}. {{ m }}{% if not loop.last %}\n{% endif %}{% endfor %}"],
    ], label_columns=(0,), styles=("卡片标签", "卡片文字"))
    n.p("{{ reschedule }}对服务有意见或建议，可拨打监督投诉电话{{ complaint_phone }}。", style="卡片附注")
    n.p("{{r seal }}{{ organ }}", style="卡片落款")
    n.p("{{ issued_on }}", style="卡片落款")
    n.tag("{%p endfor %}")
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
