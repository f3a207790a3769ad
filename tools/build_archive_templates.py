"""Build the archive's templates in ``templates/`` from code.

    python tools/build_archive_templates.py [KIND ...]

Eight docxtpl templates, each described exactly by ``schemas/<kind>.json``:

* ``application_record`` 申请登记表 and ``decision_record`` 办结审批单: the first and the
  last item of a volume, made from the case's data and its events;
* ``volume_cover`` 案卷封面, ``item_list`` 卷内文件目录 and ``notes_sheet`` 卷内备考表: the
  volume's forms (DA/T 13: 全宗名称, 类目名称, 案卷题名, 起止时间, 保管期限, 件数, 页数, 档号;
  序号, 文号, 责任者, 题名, 日期, 页号, 备注; 本卷情况说明, 立卷人, 检查人, 立卷时间);
* ``catalogue`` 案卷目录 (landscape, one table per catalogue number) and
  ``destruction_list`` 销毁清册 (landscape; 序号, 档号, 题名, 年度, 保管期限, 页数, 鉴定意见,
  with the approver's and the two witnesses' lines).
* ``loan_slip`` 档案借阅单: printed at the lending desk for a loan (its number is the loan's).

Fonts are named for every script (w:ascii, w:hAnsi, w:eastAsia, w:cs) and theme fonts are
removed, so Word, WPS and LibreOffice keep the Chinese text in 仿宋/黑体/小标宋 instead of
falling back to a sans face. The generated files are committed; a centre may restyle them
in Word or WPS, and ``tests/test_archive_templates.py`` checks no field was lost.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

import template_package  # tools/template_package.py, beside this script

ROOT = Path(__file__).resolve().parent.parent

BODY_FONT = "仿宋"
TITLE_FONT = "方正小标宋简体"
HEAD_FONT = "黑体"

STYLES = {  # name shown in Word/WPS: (style id, font, size pt, alignment, line pt)
    "档案正文": ("ArchiveBody", BODY_FONT, 14, WD_ALIGN_PARAGRAPH.JUSTIFY, 24),
    "档案标题": ("ArchiveTitle", TITLE_FONT, 22, WD_ALIGN_PARAGRAPH.CENTER, 36),
    "档案副标题": ("ArchiveSubtitle", BODY_FONT, 12, WD_ALIGN_PARAGRAPH.CENTER, 20),
    "表头": ("ArchiveTableHead", HEAD_FONT, 10.5, WD_ALIGN_PARAGRAPH.CENTER, 12),
    "表格内容": ("ArchiveTableText", BODY_FONT, 10.5, WD_ALIGN_PARAGRAPH.LEFT, 12),
    "表格居中": ("ArchiveTableCentre", BODY_FONT, 10.5, WD_ALIGN_PARAGRAPH.CENTER, 12),
    "封面标签": ("CoverLabel", HEAD_FONT, 14, WD_ALIGN_PARAGRAPH.CENTER, 22),
    "封面内容": ("CoverText", BODY_FONT, 14, WD_ALIGN_PARAGRAPH.LEFT, 22),
    "签名": ("ArchiveSignature", BODY_FONT, 12, WD_ALIGN_PARAGRAPH.LEFT, 24),
}


def _setup(doc) -> None:
    styles = doc.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    template_package.set_fonts(rpr, BODY_FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    for name in ("Normal", "Table Grid"):
        template_package.set_fonts(doc.styles[name].element.get_or_add_rPr(), BODY_FONT)
    normal = doc.styles["Normal"].paragraph_format
    normal.space_before = normal.space_after = Pt(0)
    for name, (style_id, font, size, align, line) in STYLES.items():
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.style_id = style_id
        style.base_style = doc.styles["Normal"]
        style.quick_style = True
        style.font.size = Pt(size)
        template_package.set_fonts(style.element.get_or_add_rPr(), font)
        fmt = style.paragraph_format
        fmt.alignment = align
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
        fmt.widow_control = False


def new_document(title: str, *, landscape: bool = False):
    doc = Document()
    section = doc.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    else:
        section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    section.header_distance, section.footer_distance = Mm(12), Mm(10)
    _setup(doc)
    props = doc.core_properties
    props.title = title
    props.author = "政务服务中心档案室"
    props.comments = "docxtpl 模板：由 tools/build_archive_templates.py 生成，字段见 schemas/ 同名文件"
    props.revision = 1
    body = doc.element.body
    for p in body.findall(qn("w:p")):
        body.remove(p)
    return doc


class Form:
    """Appends paragraphs and tables to one template, in order."""

    def __init__(self, title: str, *, landscape: bool = False):
        self.doc = new_document(title, landscape=landscape)
        section = self.doc.sections[0]
        self.width_mm = (section.page_width - section.left_margin - section.right_margin) / 36000

    def p(self, text: str = "", style: str = "档案正文", *, page_break_before: bool = False, space_after: int = 0):
        para = self.doc.add_paragraph(style=style)
        if text:
            para.add_run(text)
        if page_break_before:
            para.paragraph_format.page_break_before = True
        if space_after:
            para.paragraph_format.space_after = Pt(space_after)
        return para

    def tag(self, text: str):
        return self.p(text, "Normal")

    def table(self, widths_mm, rows, *, header=None, loop=None, loop_row=None, label_columns=(0, 2),
              row_height_mm=None, label_style="表头", centre_columns=()):
        """A bordered table. ``rows`` are lists of texts; a text of None merges the cell into its
        left neighbour. ``loop``/``loop_row`` add ``{%tr for … %}`` / row / ``{%tr endfor %}``."""
        def style_of(kind, column):
            if kind == "header" or (kind == "pair" and column in label_columns):
                return label_style
            return "表格居中" if column in centre_columns else "表格内容"

        def prepare_row(row, kind):
            if row_height_mm and kind != "tag":
                row.height = Mm(row_height_mm)

        return template_package.grid_table(self.doc, widths_mm, rows, style_of, header=header, loop=loop,
                                           loop_row=loop_row, prepare_row=prepare_row)

    def footer(self, text: str) -> None:
        footer = self.doc.sections[0].footer
        footer.is_linked_to_previous = False
        para = footer.paragraphs[0]
        para.style = self.doc.styles["档案副标题"]
        para.add_run(text)

    def save(self, path: Path) -> None:
        template_package.trim(self.doc)
        self.doc.save(path)


# --------------------------------------------------------------------------- items

APPLICANT_ROWS = [
    ["申请人", "{{ applicant.name }}", "{{ applicant.id_label }}", "{{ applicant.id_number }}"],
    ["法定代表人", "{{ applicant.legal_rep or '／' }}", "联系电话", "{{ applicant.phone }}"],
]


def build_application_record() -> Form:
    f = Form("申请登记表")
    f.p("{{ organ }}", "档案副标题")
    f.p("申请登记表", "档案标题", space_after=6)
    f.p("办件编号：{{ case_no }}", "档案副标题", space_after=6)
    f.table([28, 52, 34, 51], [
        ["申请事项", "{{ item.name }}", "事项编码", "{{ item.code }}"],
        *APPLICANT_ROWS,
        ["办件类型", "{{ case_type }}", "收件日期", "{{ received_on }}"],
        ["受理日期", "{{ accepted_on }}", "承诺时限", "{{ promised_days }}"],
    ], row_height_mm=7)
    f.p("收到的申请材料", "表头", space_after=3).paragraph_format.space_before = Pt(6)
    f.table([14, 101, 20, 30], [], header=["序号", "材料名称", "份数", "原件/复印件"], loop="m in materials",
            loop_row=["{{ loop.index }}", "{{ m.name }}", "{{ m.copies }}", "{{ m.form }}"], centre_columns=(0, 2, 3))
    f.p("办理过程", "表头", space_after=3).paragraph_format.space_before = Pt(6)
    f.table([46, 18, 16, 85], [], header=["日期（录入时间）", "环节", "经办人", "说明"], loop="e in events",
            loop_row=["{{ e.at }}", "{{ e.action }}", "{{ e.operator }}", "{{ e.detail }}"], centre_columns=(0, 2))
    f.footer("本表由系统根据办件登记信息和办理记录生成　生成日期：{{ printed_on }}")
    return f


def build_decision_record() -> Form:
    f = Form("办结审批单")
    f.p("{{ organ }}", "档案副标题")
    f.p("办结审批单", "档案标题", space_after=6)
    f.p("办件编号：{{ case_no }}", "档案副标题", space_after=6)
    f.table([30, 135], [
        ["申请事项", "{{ item.name }}（{{ item.code }}）"],
        ["申请人", "{{ applicant }}"],
        ["收件日期", "{{ received_on }}"],
        ["受理日期", "{{ accepted_on }}"],
        ["办结日期", "{{ concluded_on }}"],
        ["办理结果", "{{ outcome }}"],
        ["审批意见", "{{ opinion }}"],
        ["办结（签章）时间", "{{ sealed_at }}"],
        ["经办人", "{{ operator }}"],
        ["批准人", "{{ approver }}"],
        ["批准日期", "{{ approved_on }}"],
    ], label_columns=(0,), row_height_mm=11)
    f.footer("本单由系统根据办结记录生成　生成日期：{{ printed_on }}")
    return f


# --------------------------------------------------------------------------- forms

def build_volume_cover() -> Form:
    f = Form("案卷封面")
    f.table([28, 28, 28], [["全宗号", "目录号", "案卷号"],
                           ["{{ fonds.code }}", "{{ catalogue }}", "{{ volume_no }}"]],
            label_columns=(0, 1, 2), centre_columns=(0, 1, 2), row_height_mm=8).alignment = WD_TABLE_ALIGNMENT.RIGHT
    for _ in range(3):
        f.p("")
    f.p("{{ fonds.name }}", "档案标题", space_after=12)
    f.p("案　卷", "档案标题", space_after=24)
    f.table([36, 129], [
        ["全宗名称", "{{ fonds.name }}"],
        ["类目名称", "{{ class_name }}（{{ class_code }}）"],
        ["案卷题名", "{{ title }}"],
        ["立卷单位", "{{ unit }}"],
        ["起止时间", "{{ start_date }}至{{ end_date }}"],
        ["保管期限", "{{ retention }}"],
        ["开放标识", "{{ access }}"],
        ["密　　级", "{{ security_level or '无' }}"],
        ["卷内件数", "{{ items_count }}件"],
        ["卷内页数", "{{ pages }}页"],
        ["档　　号", "{{ archival_code }}"],
    ], label_columns=(0,), row_height_mm=13, label_style="封面标签")
    for row in f.doc.tables[-1].rows:
        row.cells[1].paragraphs[0].style = f.doc.styles["封面内容"]
    return f


def build_item_list() -> Form:
    f = Form("卷内文件目录")
    f.p("卷内文件目录", "档案标题", space_after=6)
    f.p("档号：{{ archival_code }}", "档案副标题", space_after=6)
    # 文号 is an identifier: its column holds 江市监不受字〔2026〕123号 on one line.
    f.table([10, 50, 24, 43, 20, 10, 8], [], header=["序号", "文号", "责任者", "题名", "日期", "页号", "备注"],
            loop="r in rows",
            loop_row=["{{ r.number }}", "{{ r.doc_number }}", "{{ r.responsible }}", "{{ r.title }}",
                      "{{ r.date }}", "{{ r.page }}", "{{ r.remark }}"], centre_columns=(0, 4, 5))
    f.footer("{{ archival_code }}　卷内文件目录")
    return f


def build_notes_sheet() -> Form:
    f = Form("卷内备考表")
    f.p("卷内备考表", "档案标题", space_after=6)
    f.p("档号：{{ archival_code }}", "档案副标题", space_after=12)
    f.p("本卷情况说明：", "表头")
    f.p("{{ explanation }}", space_after=6).paragraph_format.first_line_indent = Pt(28)
    f.tag("{%p for n in notes %}")
    f.p("{{ n.at }}　{{ n.text }}（{{ n.operator }}）").paragraph_format.first_line_indent = Pt(28)
    f.tag("{%p endfor %}")
    for _ in range(2):
        f.p("")
    f.p("立卷人：{{ compiler }}", "签名").paragraph_format.left_indent = Mm(90)
    f.p("检查人：{{ checker or '' }}", "签名").paragraph_format.left_indent = Mm(90)
    f.p("立卷时间：{{ compiled_on }}", "签名").paragraph_format.left_indent = Mm(90)
    f.footer("{{ archival_code }}　卷内备考表")
    return f


def build_catalogue() -> Form:
    f = Form("案卷目录", landscape=True)
    f.tag("{%p for c in catalogues %}")
    f.tag("{%p if loop.first %}")
    f.p("案卷目录", "档案标题", space_after=6)
    f.tag("{%p else %}")
    f.p("案卷目录", "档案标题", page_break_before=True, space_after=6)
    f.tag("{%p endif %}")
    f.p("全宗：{{ fonds.code }} {{ fonds.name }}　目录号：{{ c.number }}　分类：{{ c.class_code }} {{ c.class_name }}"
        "　保管期限：{{ c.retention }}{% if c.year %}　年度：{{ c.year }}{% endif %}", "档案副标题", space_after=6)
    f.table([16, 64, 72, 40, 12, 22, 26], [], header=["案卷号", "档号", "案卷题名", "起止日期", "页数", "保管期限", "备注"],
            loop="r in c.rows",
            loop_row=["{{ r.volume_no }}", "{{ r.archival_code }}", "{{ r.title }}", "{{ r.dates }}",
                      "{{ r.pages }}", "{{ r.retention }}", "{{ r.remark }}"], centre_columns=(0, 4, 5))
    f.p("本目录共{{ c.rows|length }}卷，{{ c.pages }}页。", "档案副标题")
    f.tag("{%p endfor %}")
    f.footer("{{ fonds.name }}　案卷目录　打印日期：{{ printed_on }}")
    return f


def build_destruction_list() -> Form:
    f = Form("档案销毁清册", landscape=True)
    f.p("档案销毁清册", "档案标题", space_after=6)
    f.p("清册编号：第{{ list_no }}号　全宗：{{ fonds.code }} {{ fonds.name }}　鉴定截止日期：{{ as_of }}",
        "档案副标题", space_after=6)
    f.table([12, 68, 92, 14, 22, 12, 32], [], header=["序号", "档号", "题名", "年度", "保管期限", "页数", "鉴定意见"],
            loop="r in rows",
            loop_row=["{{ r.number }}", "{{ r.archival_code }}", "{{ r.title }}", "{{ r.year }}", "{{ r.retention }}",
                      "{{ r.pages }}", "{{ r.opinion }}"], centre_columns=(0, 3, 4, 5))
    # The totals and the signatures stay together on the list's last page.
    f.p("以上共{{ total_volumes }}卷，{{ total_pages }}页。", "签名", space_after=6).paragraph_format.keep_with_next = True
    # Who appraised, who approved, and the two witnesses (监销人) each sign on their own line;
    # a draft list leaves the names blank for signing on paper.
    signatures = f.table([52, 75, 40, 85], [
        ["鉴定小组意见", "{{ appraisal_opinion }}", None, None],
        ["鉴定小组成员（签名）", "{{ appraisers }}", "编制人", "{{ compiled_by }}"],
        ["档案部门负责人审核（签名）", "{{ reviewer }}", "编制日期", "{{ compiled_on }}"],
        ["批准人（签名）", "{{ approver }}", "批准日期", "{{ approved_on }}"],
        ["监销人（签名）", "{{ witness_1 }}", "监销人（签名）", "{{ witness_2 }}"],
        ["销毁日期", "{{ executed_on }}", "销毁方式", "{{ method }}"],
    ], row_height_mm=10)
    for row in signatures.rows[:-1]:
        for cell in row.cells:
            for para in cell.paragraphs:
                para.paragraph_format.keep_with_next = True
    f.footer("{{ fonds.name }}　档案销毁清册 第{{ list_no }}号")
    return f


def build_loan_slip() -> Form:
    """借阅单: printed at the lending desk when a volume is lent; its number is the loan's."""
    f = Form("档案借阅单")
    f.p("{{ organ }}", "档案副标题")
    f.p("档案借阅单", "档案标题", space_after=6)
    f.p("借阅单号：{{ loan }}　　借阅日期：{{ lent_on }}", "档案副标题", space_after=6)
    f.table([28, 55, 28, 54], [
        ["借阅人", "{{ borrower.name }}", "借阅证号", "{{ borrower.code }}"],
        ["工作单位", "{{ borrower.unit }}", "联系电话", "{{ borrower.phone }}"],
        ["档号", "{{ archival_code }}", None, None],
        ["案卷题名", "{{ title }}", None, None],
        ["页数", "{{ pages }}页", "利用目的", "{{ purpose }}"],
        ["利用方式", "{{ mode }}", "应还日期", "{{ due_on }}"],
        ["审批", "{{ approval }}", None, None],
        ["借阅规则", "{{ rule }}", None, None],
    ], row_height_mm=9)
    f.p("借阅须知", "表头", space_after=3).paragraph_format.space_before = Pt(8)
    f.tag("{%p for text in terms %}")
    f.p("{{ loop.index }}. {{ text }}")
    f.tag("{%p endfor %}")
    for _ in range(2):
        f.p("")
    f.p("借阅人（签名）：＿＿＿＿＿＿＿＿　　经办人：{{ operator }}", "签名")
    f.p("归还日期：＿＿＿＿年＿＿月＿＿日　　归还清点：＿＿＿＿页　　接收人：＿＿＿＿", "签名")
    f.footer("{{ organ }}　档案借阅单 {{ loan }}　打印日期：{{ printed_on }}")
    return f


BUILDERS = {
    "application_record": build_application_record,
    "decision_record": build_decision_record,
    "volume_cover": build_volume_cover,
    "item_list": build_item_list,
    "notes_sheet": build_notes_sheet,
    "catalogue": build_catalogue,
    "loan_slip": build_loan_slip,
    "destruction_list": build_destruction_list,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "templates", help="folder for the .docx templates")
    parser.add_argument("kinds", nargs="*", metavar="KIND", help=f"kinds to build (default: {', '.join(BUILDERS)})")
    args = parser.parse_args(argv)
    unknown = [k for k in args.kinds if k not in BUILDERS]
    if unknown:
        parser.error(f"未知的模板：{', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in args.kinds or BUILDERS:
        path = args.out / f"{kind}.docx"
        BUILDERS[kind]().save(path)
        print(f"已生成 {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
