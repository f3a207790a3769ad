"""archive.documents.render: notices rendered to real .docx files and read back with python-docx."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm

from archive.documents.render import (
    atomic_write_bytes,
    format_cn_date,
    render_notice,
    sha256_file,
    template_variables,
)
from archive.core.errors import InputError, StateError

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


DATA = Path(__file__).parent / "data"
SEAL = DATA / "seal_test.png"
JOINT = "甲&乙<联合体>公司"
KINDS = ["receipt", "supplement", "rejection", "denial", "extension", "excluded_time", "appointment"]
TITLES = {
    "receipt": "受理通知书",
    "supplement": "补正材料通知书",
    "rejection": "不予受理决定书",
    "denial": "不予许可决定书",
    "extension": "延期告知书",
    "excluded_time": "除外时间告知书",
    "appointment": "预约卡",
}
PARTS = [
    {"label": "第一联", "destination": "申请人收执"},
    {"label": "第二联", "destination": "窗口存根"},
    {"label": "第三联", "destination": "中心存查"},
]
APPEAL = ("如不服本决定，可以在收到本决定书之日起60日内向示例市人民政府申请行政复议，"
          "或者在6个月内依法向示例市鼓楼区人民法院提起行政诉讼。")


def make_context(kind: str, **overrides) -> dict:
    """A complete context for ``kind``; keyword arguments replace top-level fields."""
    common = {
        "organ": "示例市行政审批服务局",
        "title": TITLES[kind],
        "number": "示审受字〔2026〕1号",
        "check_code": "7K3P9Q",
        "clerk": {"name": "王芳", "phone": "0591-88888888"},
        "complaint_phone": "12345",
        "issued_on": "2026年9月28日",
        "seal": str(SEAL),
        "parts": copy.deepcopy(PARTS),
        "reprint": False,
    }
    case = {
        "case_no": "SP2026092800012",
        "applicant": {"kind": "organisation", "name": JOINT, "id_label": "统一社会信用代码",
                      "id_number": "91350100M000100Y43", "legal_rep": "张三", "phone": "13800138000"},
        "item": {"code": "XK-0012-01", "name": "食品经营许可（新办）"},
        "you": "你单位",
        "application": "食品经营许可（新办）申请",
    }
    appeal = {"reconsideration_body": "示例市人民政府", "court": "示例市鼓楼区人民法院"}
    specific = {
        "receipt": {
            "received_on": "2026年9月28日",
            "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（五）项",
            "deemed": False,
            "on_the_spot": False,
            "materials": [
                {"name": "食品经营许可申请书", "copies": 1, "form": "原件"},
                {"name": "营业执照", "copies": 1, "form": "复印件"},
                {"name": "法定代表人身份证明", "copies": 2, "form": "复印件"},
            ],
            "pending": [],
            "promised_days": 5,
            "statutory_days": 20,
            "due_on": "2026年10月12日",
            "fee": "不收费",
            "progress_query": "凭办件编号在窗口或政务服务网查询",
            "delivery": "窗口领取",
        },
        "supplement": {
            "received_on": "2026年9月28日",
            "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（四）项",
            "missing": [
                {"name": "营业执照", "problem": "未提交", "requirement": "提交复印件1份"},
                {"name": "场所平面图", "problem": "未加盖公章", "requirement": "加盖公章后提交原件1份"},
            ],
            "submit_to": "示例市政务服务中心二楼12号窗口",
        },
        "rejection": {
            "received_on": "2026年9月28日",
            "ground_text": "该申请事项依法不属于本机关职权范围",
            "reasons": "药品零售企业许可由市市场监督管理局负责。",
            "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（二）项",
            "competent_organ": "示例市市场监督管理局",
            **appeal,
        },
        "denial": {
            "received_on": "2026年9月28日",
            "reasons": "经现场核查，经营场所与申请材料不符。",
            "legal_basis": "《中华人民共和国行政许可法》第三十八条第二款",
            **appeal,
        },
        "extension": {
            "received_on": "2026年9月28日",
            "accepted_on": "2026年9月28日",
            "original_due_on": "2026年10月27日",
            "extra_days": 10,
            "new_due_on": "2026年11月10日",
            "reason": "需要对申请人的多个经营场所进行现场核查",
            "approver": "本机关负责人",
            "legal_basis": "《中华人民共和国行政许可法》第四十二条第一款",
        },
        "excluded_time": {
            "received_on": "2026年9月28日",
            "accepted_on": "2026年9月28日",
            "reason": "依法需要组织专家评审",
            "paused_on": "2026年10月9日",
            "expected_days": 15,
            "expected_until": "2026年10月30日",
            "legal_basis": "《中华人民共和国行政许可法》第四十五条",
        },
    }
    if kind == "appointment":
        context = {
            **common,
            "number": "示审约字〔2026〕8号",
            "visitor": {"name": JOINT, "masked_id": "110105********002X", "phone": "13800138000"},
            "matter": "咨询食品经营许可办理流程",
            "with_whom": "李局长",
            "date": "2026年10月9日",
            "time_slot": "9:00—9:30",
            "place": "示例市政务服务中心三楼接待室",
            "materials_to_bring": ["本人有效身份证件", "营业执照复印件"],
            "reschedule": "如需改约，请于预约时间前一个工作日致电0591-88888888。",
        }
    else:
        context = {**common, **case, **specific[kind]}
    context.update(overrides)
    return context


def split_parts(document) -> list[list]:
    """Body blocks (paragraphs and tables) grouped by part: a part starts at a page break."""
    parts: list[list] = [[]]
    for block in document.element.body.iterchildren():
        if block.tag == qn("w:p"):
            ppr = block.find(qn("w:pPr"))
            if ppr is not None and ppr.find(qn("w:pageBreakBefore")) is not None:
                parts.append([])
        if block.tag in (qn("w:p"), qn("w:tbl")):
            parts[-1].append(block)
    return parts


def text_of(blocks) -> str:
    return "\n".join("".join(t.text or "" for t in b.iter(qn("w:t"))) for b in blocks)


def anchors_in(blocks) -> list:
    return [a for b in blocks for a in b.iter(qn("wp:anchor"))]


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out" / "notice.docx"


# --------------------------------------------------------------------------- every kind

@pytest.mark.parametrize("kind", KINDS)
def test_each_part_is_a_full_copy_on_its_own_page(kind, out):
    render_notice(kind, make_context(kind), out)
    document = docx.Document(out)
    parts = split_parts(document)
    assert len(parts) == 3
    for part, meta in zip(parts, PARTS):
        text = text_of(part)
        assert TITLES[kind] in text
        assert make_context(kind)["number"] in text
        assert "校验码：7K3P9Q" in text
        assert f"{meta['label']}　{meta['destination']}" in text
        assert "示例市行政审批服务局" in text and "2026年9月28日" in text
        if kind != "appointment":
            assert "签收：______________" in text and "签收日期：____________" in text
        assert JOINT in text
        assert len(anchors_in(part)) == 1
    # Exactly one break between parts and none after the last; no hard page-break runs.
    xml = document.element.xml
    assert xml.count("<w:pageBreakBefore/>") == 2
    assert 'w:type="page"' not in xml
    assert "（补打）" not in xml


@pytest.mark.parametrize("kind", KINDS)
def test_output_is_a_valid_package(kind, out):
    render_notice(kind, make_context(kind), out)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None  # every member's CRC matches
        names = zf.namelist()
        assert names[0] == "[Content_Types].xml"
        media = [n for n in names if n.startswith("word/media/")]
        assert len(media) == 1 and zf.read(media[0]) == SEAL.read_bytes()
        assert 'Extension="png"' in zf.read("[Content_Types].xml").decode()
    document = docx.Document(out)
    blips = document.element.body.findall(".//" + qn("a:blip"))
    assert len(blips) == 3
    rid = blips[0].get(qn("r:embed"))
    assert document.part.related_parts[rid].blob == SEAL.read_bytes()
    ids = [e.get("id") for e in document.element.body.iter(qn("wp:docPr"))]
    assert len(set(ids)) == 3


def test_joint_applicant_name_prints_intact(out):
    render_notice("receipt", make_context("receipt"), out)
    document = docx.Document(out)
    assert f"{JOINT}：" in [p.text for p in document.paragraphs]
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert JOINT in cells


def test_receipt_lists_materials_as_table_rows(out):
    render_notice("receipt", make_context("receipt"), out)
    document = docx.Document(out)
    materials = [t for t in document.tables if t.rows[0].cells[1].text == "收到的申请材料"]
    assert len(materials) == 3  # one per part
    rows = [[c.text for c in row.cells] for row in materials[0].rows]
    assert rows == [
        ["序号", "收到的申请材料", "份数", "原件/复印件"],
        ["1", "食品经营许可申请书", "1", "原件"],
        ["2", "营业执照", "1", "复印件"],
        ["3", "法定代表人身份证明", "2", "复印件"],
    ]
    text = text_of(split_parts(document)[0])
    assert "5个工作日（法定20个工作日）" in text and "预计办结日期2026年10月12日" in text
    assert "根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，决定予以受理。" in text


def test_on_the_spot_receipt_says_settled_on_the_spot(out):
    render_notice("receipt", make_context("receipt", on_the_spot=True, promised_days=0), out)
    text = text_of(split_parts(docx.Document(out))[0])
    assert "当场办结" in text and "本事项当场办结。" in text
    assert "0个工作日" not in text and "预计办结日期" not in text


def test_pending_materials_are_listed_apart_with_their_due_dates(out):
    pending = [{"name": "食品安全管理制度", "copies": 1, "due_on": "2026年10月13日"}]
    render_notice("receipt", make_context("receipt", pending=pending), out)
    document = docx.Document(out)
    tables = [t for t in document.tables if t.rows[0].cells[1].text == "待补交的材料"]
    assert len(tables) == 3
    assert [c.text for c in tables[0].rows[1].cells] == ["1", "食品安全管理制度", "1", "2026年10月13日"]
    received = [t for t in document.tables if t.rows[0].cells[1].text == "收到的申请材料"][0]
    assert "食品安全管理制度" not in [c.text for row in received.rows for c in row.cells]


def test_supplement_lists_every_missing_material(out):
    render_notice("supplement", make_context("supplement"), out)
    document = docx.Document(out)
    rows = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert rows[1:] == [["1", "营业执照", "未提交；提交复印件1份。"],
                        ["2", "场所平面图", "未加盖公章；加盖公章后提交原件1份。"]]
    text = text_of(split_parts(document)[0])
    assert "现一次性告知需要补正的全部材料如下：" in text
    assert "办理期限自补齐之日起计算" in text


@pytest.mark.parametrize("kind", ["rejection", "denial"])
def test_decisions_print_the_appeal_sentence(kind, out):
    render_notice(kind, make_context(kind), out)
    assert APPEAL in text_of(split_parts(docx.Document(out))[0])


@pytest.mark.parametrize("organ, expected", [("示例市市场监督管理局", "决定不予受理。本事项请向示例市市场监督管理局提出申请。"),
                                             ("", None)])
def test_rejection_names_the_competent_organ_only_when_given(organ, expected, out):
    render_notice("rejection", make_context("rejection", competent_organ=organ), out)
    text = text_of(split_parts(docx.Document(out))[0])
    if expected:
        assert expected in text
    else:
        assert "请向" not in text


@pytest.mark.parametrize("days, expected", [(15, "预计需要15个工作日（至2026年10月30日）"), (None, "尚不能确定")])
def test_excluded_time_expected_days(days, expected, out):
    until = "2026年10月30日" if days else ""
    render_notice("excluded_time", make_context("excluded_time", expected_days=days, expected_until=until), out)
    assert expected in text_of(split_parts(docx.Document(out))[0])


def test_person_applicant_has_no_legal_representative(out):
    person = {"kind": "person", "name": "李四", "id_label": "身份证号码",
              "id_number": "11010519491231002X", "legal_rep": "", "phone": "13800138000"}
    render_notice("denial", make_context("denial", applicant=person), out)
    cells = [c.text for row in docx.Document(out).tables[0].rows for c in row.cells]
    assert cells[:8] == ["申请人", "李四", "身份证号码", "11010519491231002X",
                         "法定代表人", "／", "联系电话", "13800138000"]


def test_appointment_card_lists_materials_to_bring(out):
    render_notice("appointment", make_context("appointment"), out)
    text = text_of(split_parts(docx.Document(out))[0])
    assert "1. 本人有效身份证件" in text and "2. 营业执照复印件" in text
    assert "2026年10月9日 9:00—9:30" in text and "李局长" in text


def test_reprint_mark_next_to_the_title(out):
    render_notice("receipt", make_context("receipt", reprint=True), out)
    document = docx.Document(out)
    titles = [p.text for p in document.paragraphs if p.style.name == "公文标题"]
    assert titles == [f"\t受理通知书（补打）\t{p['label']}　{p['destination']}" for p in PARTS]


def test_footer_names_clerk_and_complaint_phone(out):
    render_notice("extension", make_context("extension"), out)
    footer = docx.Document(out).sections[0].footer
    assert [p.text for p in footer.paragraphs] == ["经办人：王芳　联系电话：0591-88888888", "监督投诉电话：12345"]


def test_line_breaks_in_values_become_breaks(out):
    render_notice("denial", make_context("denial", reasons="一、场所不符。\n二、设备不全。"), out)
    document = docx.Document(out)
    para = next(p for p in document.paragraphs if "一、场所不符。" in p.text)
    assert para.text.endswith("一、场所不符。\n二、设备不全。")


# --------------------------------------------------------------------------- layout

def test_page_setup_is_gb_t_9704(out):
    render_notice("receipt", make_context("receipt"), out)
    section = docx.Document(out).sections[0]
    mm = pytest.approx  # Word stores twips: 210 mm is 11906 twips, 0.01 mm off
    assert (section.page_width.mm, section.page_height.mm) == (mm(210, abs=0.1), mm(297, abs=0.1))
    assert section.top_margin.mm == mm(37, abs=0.1) and section.bottom_margin.mm == mm(35, abs=0.1)
    assert section.left_margin.mm == mm(28, abs=0.1) and section.right_margin.mm == mm(26, abs=0.1)


def _east_asia_font(paragraph) -> str | None:
    """The w:eastAsia font a paragraph's text gets: run, then the style chain."""
    for run in paragraph.runs:
        rfonts = run._r.rPr.rFonts if run._r.rPr is not None else None
        if rfonts is not None and rfonts.get(qn("w:eastAsia")):
            return rfonts.get(qn("w:eastAsia"))
    style = paragraph.style
    while style is not None:
        rpr = style.element.rPr
        if rpr is not None and rpr.rFonts is not None and rpr.rFonts.get(qn("w:eastAsia")):
            return rpr.rFonts.get(qn("w:eastAsia"))
        style = style.base_style
    return None


def test_fonts_are_named_for_east_asian_text(out):
    render_notice("receipt", make_context("receipt"), out)
    document = docx.Document(out)
    normal = document.styles["Normal"].element.rPr.rFonts
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        assert normal.get(qn(attr)) == "仿宋"
    assert normal.get(qn("w:asciiTheme")) is None and normal.get(qn("w:eastAsiaTheme")) is None
    assert document.styles["Normal"].font.size.pt == 16
    body = [p for p in document.paragraphs if p.style.name == "公文正文"]
    assert body and all(_east_asia_font(p) == "仿宋" for p in body)
    assert all(p.paragraph_format.line_spacing is None or p.paragraph_format.line_spacing.pt == 28.95
               for p in body)
    assert document.styles["公文正文"].paragraph_format.line_spacing.pt == 28.95
    title = next(p for p in document.paragraphs if p.style.name == "公文标题")
    assert _east_asia_font(title) == "方正小标宋简体"
    assert document.styles["公文标题"].font.size.pt == 22
    defaults = document.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:rFonts"))
    assert defaults.get(qn("w:eastAsia")) == "仿宋"


def test_seal_is_placed_behind_the_organ_name_and_date(out):
    render_notice("receipt", make_context("receipt"), out, seal_mm=45)
    document = docx.Document(out)
    foot = next(p for p in document.paragraphs if "示例市行政审批服务局" in p.text and p.style.name == "落款")
    assert foot.text.startswith("\n")  # the blank line above the organ name opens the paragraph
    anchor = foot._p.find(".//" + qn("wp:anchor"))
    assert anchor is not None
    # Behind the text, so that the organ name and the date stay legible under the seal.
    assert anchor.get("behindDoc") == "1"
    assert anchor.find(qn("wp:wrapNone")) is not None
    extent = anchor.find(qn("wp:extent"))
    assert int(extent.get("cx")) == Mm(45)  # the unit's seal size
    # Centred on the tab stop that centres the organ name and the date (111 mm) ...
    offset = int(anchor.find(qn("wp:positionH")).find(qn("wp:posOffset")).text)
    assert abs(offset + int(extent.get("cx")) // 2 - Mm(111)) < Mm(1)
    # ... its top 1.5 mm into the blank line that follows the body: within one line of it.
    top = int(anchor.find(qn("wp:positionV")).find(qn("wp:posOffset")).text)
    assert anchor.find(qn("wp:positionV")).get("relativeFrom") == "paragraph"
    assert top == Mm(1.5)


def test_seal_size_defaults_to_42_mm(out):
    render_notice("rejection", make_context("rejection"), out)
    anchor = docx.Document(out).element.body.find(".//" + qn("wp:anchor"))
    assert int(anchor.find(qn("wp:extent")).get("cx")) == Mm(42)


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("drop, field", [
    (("due_on",), "due_on"),
    (("applicant", "name"), "applicant.name"),
    (("materials", 1, "form"), "materials[1].form"),
    (("parts", 0, "destination"), "parts[0].destination"),
])
def test_missing_field_is_named(drop, field, out):
    context = make_context("receipt")
    target = context
    for key in drop[:-1]:
        target = target[key]
    del target[drop[-1]]
    with pytest.raises(InputError) as info:
        render_notice("receipt", context, out)
    assert info.value.field == field
    assert field in info.value.message and "缺少" in info.value.message
    assert not out.exists()


@pytest.mark.parametrize("overrides, field", [
    ({"promised_days": "5"}, "promised_days"),
    ({"reprint": "否"}, "reprint"),
    ({"issued_on": dt.date(2026, 9, 28)}, "issued_on"),
    ({"issued_on": "2026-09-28"}, "issued_on"),
    ({"materials": [{"name": "营业执照", "copies": "1", "form": "原件"}]}, "materials[0].copies"),
    ({"materials": [{"name": "营业执照", "copies": 1, "form": "扫描件"}]}, "materials[0].form"),
    ({"parts": []}, "parts"),
    ({"stamp": "x"}, "stamp"),
])
def test_wrong_value_is_named(overrides, field, out):
    with pytest.raises(InputError) as info:
        render_notice("receipt", make_context("receipt", **overrides), out)
    assert info.value.field == field
    assert info.value.exit_code == 2


def test_person_with_credit_code_label_is_refused(out):
    applicant = dict(make_context("receipt")["applicant"], kind="person", legal_rep="")
    with pytest.raises(InputError) as info:
        render_notice("receipt", make_context("receipt", applicant=applicant), out)
    assert info.value.field == "applicant.id_label"


def test_control_characters_are_refused(out):
    with pytest.raises(InputError) as info:
        render_notice("denial", make_context("denial", reasons="场所\x07不符"), out)
    assert info.value.field == "reasons"


def test_unknown_kind_and_missing_seal(out):
    with pytest.raises(InputError) as info:
        render_notice("licence", make_context("receipt"), out)
    assert info.value.field == "kind" and "receipt" in info.value.message
    with pytest.raises(InputError) as info:
        render_notice("receipt", make_context("receipt", seal=str(out.parent / "none.png")), out)
    assert info.value.field == "seal"
    bogus = out.parent / "seal.png"
    bogus.parent.mkdir(parents=True)
    bogus.write_bytes(b"not an image")
    with pytest.raises(InputError) as info:
        render_notice("receipt", make_context("receipt", seal=str(bogus)), out)
    assert info.value.field == "seal"


def test_variable_missing_from_schema_and_data_is_named(tmp_path, out, monkeypatch):
    """A template that uses a field its schema lost fails loudly, naming the field."""
    schemas = tmp_path / "schemas"
    shutil.copytree(Path(__file__).parent.parent / "schemas", schemas)
    schema = json.loads((schemas / "receipt.json").read_text(encoding="utf-8"))
    del schema["properties"]["fee"]
    schema["required"].remove("fee")
    (schemas / "receipt.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("ARCHIVE_SCHEMAS_DIR", str(schemas))
    context = make_context("receipt")
    del context["fee"]
    with pytest.raises(InputError) as info:
        render_notice("receipt", context, out)
    assert info.value.field == "fee"
    assert not out.exists()


# --------------------------------------------------------------------------- files

def test_existing_output_is_never_replaced(out):
    render_notice("receipt", make_context("receipt"), out)
    before = out.read_bytes()
    with pytest.raises(StateError) as info:
        render_notice("receipt", make_context("receipt", reprint=True), out)
    assert info.value.field == "out_path"
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["notice.docx"]  # no temp left


def test_atomic_write_bytes(tmp_path):
    target = tmp_path / "a" / "b.bin"
    assert atomic_write_bytes(target, b"one") == target
    assert target.read_bytes() == b"one"
    with pytest.raises(StateError):
        atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"one"
    assert [p.name for p in target.parent.iterdir()] == ["b.bin"]


def test_small_helpers(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert format_cn_date(dt.date(2026, 10, 1)) == "2026年10月1日"
    assert {"seal", "parts", "materials", "applicant"} <= template_variables("receipt")


def test_renders_are_independent(tmp_path):
    """The cached package is shared: one render must not leak into the next."""
    first, second = tmp_path / "1.docx", tmp_path / "2.docx"
    render_notice("receipt", make_context("receipt", check_code="AAAAAA"), first)
    render_notice("receipt", make_context("receipt", check_code="BBBBBB", reprint=True), second)
    assert "AAAAAA" in text_of(docx.Document(first).element.body)
    text = text_of(docx.Document(second).element.body)
    assert "BBBBBB" in text and "AAAAAA" not in text and "（补打）" in text


def test_each_seal_image_is_placed(tmp_path):
    """A second unit's seal (here a JPEG) goes into its own documents, not the first's."""
    from PIL import Image

    other = tmp_path / "other_seal.jpg"
    Image.new("RGB", (300, 200), (200, 20, 20)).save(other)
    first, second = tmp_path / "1.docx", tmp_path / "2.docx"
    render_notice("extension", make_context("extension"), first)
    render_notice("extension", make_context("extension", seal=str(other)), second)
    for path, image in ((first, SEAL), (second, other)):
        document = docx.Document(path)
        blip = document.element.body.find(".//" + qn("a:blip"))
        assert document.part.related_parts[blip.get(qn("r:embed"))].blob == image.read_bytes()
    extent = docx.Document(second).element.body.find(".//" + qn("wp:extent"))
    assert int(extent.get("cy")) == int(extent.get("cx")) * 2 // 3  # aspect ratio kept
    with zipfile.ZipFile(second) as zf:
        assert 'Extension="jpg" ContentType="image/jpeg"' in zf.read("[Content_Types].xml").decode()


def test_templates_dir_can_be_moved(tmp_path, out, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).parent.parent / "templates", templates)
    monkeypatch.setenv("ARCHIVE_TEMPLATES_DIR", str(templates))
    render_notice("receipt", make_context("receipt"), out)
    (templates / "receipt.docx").unlink()
    with pytest.raises(InputError) as info:
        render_notice("receipt", make_context("receipt"), tmp_path / "again.docx")
    assert info.value.field == "kind"
