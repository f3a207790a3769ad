"""Tests for archive.window.catalog: the sample centre, JSON/Excel catalogues, units and seals.

``tests/data/catalog_sample.xlsx`` is written by :func:`build_catalog_sample`; regenerate
it with ``.venv/bin/python tests/test_catalog.py``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script to regenerate the fixture workbook
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.window import catalog
from archive.window.catalog import (
    CASE_TYPES,
    XLSX_COLUMNS,
    Material,
    ServiceItem,
    item_from_dict,
    item_to_dict,
    load_sample_centre,
    read_catalog_file,
    read_units,
    write_catalog_xlsx,
)
from archive.core.errors import ConfigError, InputError, NotFoundError

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE_XLSX = DATA / "catalog_sample.xlsx"


# -- factories ------------------------------------------------------------------------------

def make_item(**overrides) -> dict:
    """A valid item in its JSON form."""
    data = {
        "code": "SJ-XK-003",
        "name": "食品经营许可（新办）",
        "unit": "SJ",
        "case_type": "promised",
        "promised_days": 5,
        "statutory_days": 10,
        "legal_basis": "《中华人民共和国食品安全法》第三十五条",
        "fee": "不收费",
        "delivery": "窗口领取或邮寄送达",
        "materials": [
            {"code": "M01", "name": "食品经营许可申请书", "required": True, "copies": 1, "form": "原件"},
            {"code": "M02", "name": "营业执照", "required": True, "copies": 1, "form": "复印件"},
            {"code": "M03", "name": "授权委托书", "required": False, "copies": 1, "form": "原件"},
        ],
    }
    data.update(overrides)
    return data


def make_unit(**overrides) -> dict:
    data = load_sample_centre()["units_raw"][0]
    data.update(overrides)
    return data


HEADER = list(XLSX_COLUMNS)


def item_rows() -> list[list]:
    """One item on rows 2-4 of a workbook (row 1 is the header)."""
    return [
        ["SJ-XK-003", "食品经营许可（新办）", "SJ", "承诺件", 5, 10, "《中华人民共和国食品安全法》第三十五条", "不收费",
         "窗口领取或邮寄送达", "M01", "食品经营许可申请书", "是", 1, "原件"],
        [None] * 9 + ["M02", "营业执照", "是", 1, "复印件"],
        [None] * 9 + ["M03", "授权委托书", "否", 1, "原件"],
    ]


def write_rows(path: Path, rows: list[list], *, header=HEADER, sheet="事项") -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheet
    if header is not None:
        ws.append(header)
    for row in rows:
        ws.append(row)
    workbook.save(path)
    return path


def expect_error(path, field: str, *words: str, units=None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        read_catalog_file(path, units=units)
    assert info.value.field == field, str(info.value)
    for word in words:
        assert word in str(info.value)
    assert info.value.exit_code == 2
    return info.value


# -- the sample centre ------------------------------------------------------------------------

def test_sample_centre_loads_with_all_case_types():
    centre = load_sample_centre()
    assert centre["centre"]["name"] == "江州市政务服务中心"
    assert centre["centre"]["phone"]
    units, items = centre["units"], centre["items"]
    assert len(units) >= 3
    assert len(items) >= 12
    assert {item.case_type for item in items} == set(CASE_TYPES)
    assert sum(item.case_type == "promised" for item in items) >= 3
    codes = {unit.code for unit in units}
    for item in items:
        assert isinstance(item, ServiceItem)
        assert item.unit in codes
        assert 3 <= len(item.materials) <= 7
        assert item.promised_days <= item.statutory_days
        if item.case_type == "on_the_spot":
            assert item.promised_days == 0
        assert "《" in item.legal_basis
    assert any(not m.required for item in items for m in item.materials)
    names = " ".join(item.name for item in items)
    assert "不动产转移登记" in names and "食品经营许可" in names
    joint = [item for item in items if item.case_type == "joint"]
    assert all(item.statutory_days == 45 for item in joint)
    forwarded = [item for item in items if item.case_type == "forwarded"]
    assert all(item.statutory_days == 20 for item in forwarded)


def test_sample_units_are_complete():
    for unit in load_sample_centre()["units"]:
        assert set(unit.number_formats) == set(catalog.NOTICE_KINDS)
        assert unit.reconsideration_body.endswith("人民政府")
        assert unit.court.endswith("人民法院")
        assert unit.seal == f"seal_{unit.code}.png"
        assert unit.complaint_phone and unit.phone and unit.window and unit.address


def test_sample_file_validates_against_schemas():
    import jsonschema

    data = json.loads((ROOT / "archive" / "data" / "sample_centre.json").read_text(encoding="utf-8"))
    units_schema = json.loads((ROOT / "schemas" / "units.json").read_text(encoding="utf-8"))
    catalog_schema = json.loads((ROOT / "schemas" / "catalog.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(units_schema)
    jsonschema.Draft202012Validator.check_schema(catalog_schema)
    jsonschema.validate(data["units"], units_schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(data, catalog_schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(data["items"], catalog_schema, cls=jsonschema.Draft202012Validator)
    centre_schema = {"$defs": units_schema["$defs"], "$ref": "#/$defs/centre"}
    jsonschema.validate(data["centre"], centre_schema, cls=jsonschema.Draft202012Validator)


def test_units_raw_round_trip():
    centre = load_sample_centre()
    assert read_units(centre["units_raw"]) == centre["units"]
    assert read_units({"units": centre["units_raw"]}) == centre["units"]


def test_notice_numbers():
    unit = load_sample_centre()["units"][0]
    assert catalog.format_notice_number(unit, "receipt", year=2026, seq=1) == "江市监受字〔2026〕1号"
    assert catalog.format_notice_number(unit, "appointment", year=2026, seq=12) == "SJ-YY-2026-0012"
    raw = dict(catalog.unit_to_dict(unit), number_formats={"receipt": "{prefix}受〔{year}〕{seq}号"})
    assert catalog.format_notice_number(raw, "receipt", year=2027, seq=3) == "市场监管局受〔2027〕3号"
    with pytest.raises(InputError):
        catalog.format_notice_number(unit, "licence", year=2026, seq=1)


def test_item_material_lookup():
    item = load_sample_centre()["items"][0]
    assert item.material("M01").name
    assert item.case_type_name == CASE_TYPES[item.case_type]
    with pytest.raises(NotFoundError):
        item.material("M99")


# -- seals ------------------------------------------------------------------------------------

def test_specimen_seals_exist_and_are_png():
    from PIL import Image

    for unit in load_sample_centre()["units"]:
        path = catalog.seal_path(unit)
        assert path.is_file(), f"缺少样章 {path}：运行 tools/make_specimen_seals.py"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.mode == "RGBA"
            assert 300 <= image.width == image.height <= 600
            assert image.getpixel((2, 2))[3] == 0  # transparent corner
            data = image.tobytes()
            pixels = zip(data[0::4], data[1::4], data[2::4], data[3::4])
            red = sum(1 for r, g, b, a in pixels if a > 128 and r > 150 and g < 80 and b < 80)
            assert red > image.width * image.height * 0.05
            assert "样章" in image.info.get("Title", "")


# -- JSON items -------------------------------------------------------------------------------

def test_item_dict_round_trip():
    for item in load_sample_centre()["items"]:
        assert item_from_dict(item_to_dict(item)) == item
        assert json.loads(json.dumps(item_to_dict(item), ensure_ascii=False)) == item_to_dict(item)


def test_chinese_case_type_names_are_accepted():
    assert item_from_dict(make_item(case_type="承诺件")).case_type == "promised"
    assert item_from_dict(make_item(case_type="报批件", statutory_days=20)).case_type == "forwarded"
    assert item_from_dict(make_item(case_type="退回件")).case_type == "reply"
    assert item_from_dict(make_item(case_type="即办件", promised_days=0)).case_type == "on_the_spot"


def test_read_json_catalogue(tmp_path):
    items = [make_item(), make_item(code="SJ-XK-004", name="食品经营许可变更", case_type="补办件")]
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"items": items}, ensure_ascii=False), encoding="utf-8")
    read = read_catalog_file(path)
    assert [i.code for i in read] == ["SJ-XK-003", "SJ-XK-004"]
    assert read[1].case_type == "pending_materials"
    assert read[0].materials[2] == Material("M03", "授权委托书", False, 1, "原件")
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    assert read_catalog_file(path) == read


def write_json(tmp_path, items) -> Path:
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"items": items}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("items", "field", "words"),
    [
        ([make_item(), make_item(code="A"), make_item(code="B", promised_days=12)], "items[2].promised_days",
         ("承诺时限", "法定时限")),
        ([make_item(promised_days="5")], "items[0].promised_days", ("应为整数",)),
        ([make_item(promised_days=2.5)], "items[0].promised_days", ("应为整数",)),
        ([make_item(case_type="特急件")], "items[0].case_type", ("特急件", "即办件")),
        ([make_item(case_type="on_the_spot")], "items[0].promised_days", ("即办件",)),
        ([make_item(case_type="promised", promised_days=0, statutory_days=0)], "items[0].promised_days", ("承诺件",)),
        ([{k: v for k, v in make_item().items() if k != "fee"}], "items[0].fee", ("缺少",)),
        ([make_item(), make_item(name="另一个")], "items[1].code", ("重复",)),
        ([make_item(materials=[make_item()["materials"][0]] * 2)], "items[0].materials[1].code", ("M01", "重复")),
        ([make_item(name="食品\u0007经营许可")], "items[0].name", ("控制字符",)),
        ([make_item(legal_basis="第一条\n第二条")], "items[0].legal_basis", ("控制字符",)),
        ([make_item(materials=[dict(make_item()["materials"][0], name="申请书\x1b")])], "items[0].materials[0].name",
         ("控制字符",)),
        ([make_item(materials=[])], "items[0].materials", ("申报材料",)),
        ([make_item(materials=[dict(make_item()["materials"][0], form="扫描件")])], "items[0].materials[0].form",
         ("扫描件",)),
        ([make_item(materials=[dict(make_item()["materials"][0], copies=0)])], "items[0].materials[0].copies",
         ("不能小于",)),
        ([make_item(colour="红")], "items[0].colour", ("不认识",)),
        ([make_item(code="SJ XK 003")], "items[0].code", ("格式不正确",)),
        ([make_item(name="   ")], "items[0].name", ("不能为空",)),
        ([make_item(promised_days=-1)], "items[0].promised_days", ("不能小于",)),
        (["SJ-XK-003"], "items[0]", ("对象",)),
    ],
)
def test_bad_json_items(tmp_path, items, field, words):
    expect_error(write_json(tmp_path, items), field, *words)


def test_json_unknown_unit_needs_unit_list(tmp_path):
    path = write_json(tmp_path, [make_item(unit="XX")])
    assert read_catalog_file(path)[0].unit == "XX"
    expect_error(path, "items[0].unit", "XX", "SJ", units=load_sample_centre()["units"])


def test_json_unit_may_be_given_by_name(tmp_path):
    path = write_json(tmp_path, [make_item(unit="江州市市场监督管理局")])
    assert read_catalog_file(path, units=load_sample_centre()["units"])[0].unit == "SJ"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("items.json", b"{\"items\": [", ("JSON",)),
        ("items.json", "{\"items\": []}".encode("utf-16"), ("UTF-8",)),
        ("items.json", b"{\"things\": []}", ("items",)),
        ("items.json", b"[]", ("没有任何事项",)),
        ("items.txt", b"hello", (".xlsx", ".json")),
        ("items.xls", b"\xd0\xcf\x11\xe0", ("另存为",)),
        ("items.xlsx", b"this is not a zip file", ("无法读取",)),
    ],
)
def test_unreadable_files(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_catalog_file(path)
    text = str(info.value)
    assert all(word in text for word in words), text


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="找不到文件"):
        read_catalog_file(tmp_path / "nothing.xlsx")


# -- Excel ------------------------------------------------------------------------------------

def test_xlsx_round_trip(tmp_path):
    items = load_sample_centre()["items"]
    path = write_catalog_xlsx(items, tmp_path / "事项目录.xlsx")
    assert read_catalog_file(path) == items
    assert [p.name for p in tmp_path.iterdir()] == ["事项目录.xlsx"]  # no temporary file left


def test_xlsx_round_trip_with_unit_names_and_repeated_columns(tmp_path):
    import openpyxl

    centre = load_sample_centre()
    path = write_catalog_xlsx(centre["items"], tmp_path / "out.xlsx", units=centre["units"],
                              repeat_item_columns=True)
    sheet = openpyxl.load_workbook(path)["事项"]
    assert [c.value for c in sheet[1]] == list(XLSX_COLUMNS)
    assert sheet["C2"].value == "江州市市场监督管理局"
    assert sheet["C3"].value == "江州市市场监督管理局"
    assert sheet["D2"].value == "即办件"
    assert read_catalog_file(path, units=centre["units"]) == centre["items"]


def test_xlsx_written_layout_leaves_item_columns_blank_after_first_row(tmp_path):
    import openpyxl

    item = load_sample_centre()["items"][0]
    path = write_catalog_xlsx([item], tmp_path / "one.xlsx")
    rows = list(openpyxl.load_workbook(path)["事项"].iter_rows(values_only=True))
    assert rows[1][:2] == (item.code, item.name)
    assert rows[2][:9] == (None,) * 9
    assert rows[2][9] == "M02"
    assert len(rows) == 1 + len(item.materials)


def test_write_refuses_existing_file(tmp_path):
    items = load_sample_centre()["items"]
    path = write_catalog_xlsx(items, tmp_path / "a.xlsx")
    before = path.read_bytes()
    with pytest.raises(InputError, match="已存在"):
        write_catalog_xlsx(items[:1], path)
    assert path.read_bytes() == before
    write_catalog_xlsx(items[:1], path, overwrite=True)
    assert read_catalog_file(path) == items[:1]
    with pytest.raises(InputError):
        write_catalog_xlsx(items, tmp_path / "a.json")


def test_write_refuses_duplicate_codes(tmp_path):
    item = load_sample_centre()["items"][0]
    with pytest.raises(ConfigError, match="重复"):
        write_catalog_xlsx([item, item], tmp_path / "dup.xlsx")
    assert not (tmp_path / "dup.xlsx").exists()


def test_read_minimal_xlsx(tmp_path):
    items = read_catalog_file(write_rows(tmp_path / "ok.xlsx", item_rows()))
    assert items == [item_from_dict(make_item())]


def test_xlsx_tolerates_title_row_header_notes_and_number_cells(tmp_path):
    rows = item_rows()
    rows[0][4], rows[0][5] = 5.0, "10"  # Excel numbers stored as float, or typed as text
    rows[1][12] = None  # 份数 left blank: one copy
    rows[2][11] = "否"
    header = [f"{name}（工作日）" if name.endswith("时限") else f"*{name}" for name in HEADER]
    path = write_rows(tmp_path / "ok.xlsx", [header, *rows, [None] * 14], header=["江州市政务服务中心事项目录"])
    items = read_catalog_file(path)
    assert items[0].promised_days == 5 and items[0].statutory_days == 10
    assert items[0].materials[1].copies == 1


def _mutate(row: int, column: str, value):
    rows = item_rows()
    rows[row - 2][HEADER.index(column)] = value
    return rows


@pytest.mark.parametrize(
    ("rows", "field", "words"),
    [
        (_mutate(2, "办件类型", "特急件"), "第2行 办件类型", ("特急件", "即办件")),
        (_mutate(2, "承诺时限", 12), "第2行 承诺时限", ("法定时限",)),
        (_mutate(2, "承诺时限", "5个工作日"), "第2行 承诺时限", ("应为整数",)),
        (_mutate(2, "法定时限", 7.5), "第2行 法定时限", ("应为整数",)),
        (_mutate(2, "法定时限", None), "第2行 法定时限", ("不能为空",)),
        (_mutate(2, "办件类型", "即办件"), "第2行 承诺时限", ("即办件",)),
        (_mutate(4, "材料编码", "M02"), "第4行 材料编码", ("M02", "重复")),
        (_mutate(3, "材料名称", None), "第3行 材料名称", ("不能为空",)),
        (_mutate(3, "是否必需", "也许"), "第3行 是否必需", ("是", "否")),
        (_mutate(3, "份数", "两份"), "第3行 份数", ("应为整数",)),
        (_mutate(3, "材料形式", "扫描件"), "第3行 材料形式", ("扫描件",)),
        (_mutate(2, "设定依据", "第一条\n第二条"), "第2行 设定依据", ("控制字符",)),
        (_mutate(3, "材料名称", "营业\t执照"), "第3行 材料名称", ("控制字符",)),
        (_mutate(3, "事项名称", "别的名称"), "第3行 事项名称", ("不一致",)),
        (_mutate(2, "事项编码", "SJ XK 003"), "第2行 事项编码", ("格式不正确",)),
        (_mutate(2, "事项编码", None), "第2行 事项编码", ("事项编码",)),
        (item_rows() + [["SJ-XK-009", *item_rows()[0][1:]], *item_rows()], "第6行 事项编码", ("重复", "第2行")),
        (item_rows()[:1] + [["SJ-XK-009", *item_rows()[0][1:9], None, None, None, None, None]],
         "第3行 材料名称", ("申报材料",)),
    ],
)
def test_bad_xlsx_rows(tmp_path, rows, field, words):
    expect_error(write_rows(tmp_path / "bad.xlsx", rows), field, *words)


def test_xlsx_same_item_repeated_columns_are_accepted(tmp_path):
    rows = item_rows()
    rows[1][:9] = rows[0][:9]
    rows[2][0] = rows[0][0]
    assert read_catalog_file(write_rows(tmp_path / "ok.xlsx", rows)) == [item_from_dict(make_item())]


def test_xlsx_missing_column(tmp_path):
    header = [name for name in HEADER if name != "法定时限"]
    rows = [row[:5] + row[6:] for row in item_rows()]
    error = expect_error(write_rows(tmp_path / "bad.xlsx", rows, header=header), "第1行 表头", "法定时限")
    assert "事项编码" in error.hint


def test_xlsx_without_header(tmp_path):
    expect_error(write_rows(tmp_path / "bad.xlsx", item_rows(), header=None), "第1行 表头", "表头")


def test_xlsx_wrong_sheet_name(tmp_path):
    expect_error(write_rows(tmp_path / "bad.xlsx", item_rows(), sheet="Sheet1"), "工作表", "事项", "Sheet1")


def test_xlsx_unknown_unit(tmp_path):
    units = load_sample_centre()["units"]
    expect_error(write_rows(tmp_path / "bad.xlsx", _mutate(2, "实施单位", "江州市教育局")), "第2行 实施单位",
                 "江州市教育局", units=units)


# -- the fixture workbook ---------------------------------------------------------------------

def build_catalog_sample(path: Path) -> Path:
    """The kind of workbook a centre keeps: a title row, annotated headers, unit names,
    Chinese case types, item columns filled on the first row only (or repeated)."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "事项"
    sheet.append(["江州市政务服务中心 事项目录（2026年版）"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["*事项编码", "*事项名称", "实施单位", "办件类型", "承诺时限（工作日）", "法定时限（工作日）", "设定依据",
                  "收费", "送达方式", "材料编码", "材料名称", "是否必需", "份数", "材料形式", "备注"])
    basis_food = "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》（国家市场监督管理总局令第78号）"
    rows = [
        ["SJ-XK-001", "个体工商户设立登记", "江州市市场监督管理局", "即办件", 0, 3,
         "《中华人民共和国市场主体登记管理条例》第十六条、第十九条", "不收费", "窗口领取或邮寄送达",
         "M01", "个体工商户登记（备案）申请书", "是", 1, "原件", None],
        [None] * 9 + ["M02", "经营者身份证件", "是", 1, "原件及复印件", "现场核验后退还原件"],
        [None] * 9 + ["M03", "经营场所使用证明（产权证明或租赁合同）", "是", 1, "复印件", None],
        [None] * 9 + ["M04", "授权委托书及代理人身份证件（委托办理的）", "否", None, "原件", None],
        ["SJ-XK-003", "食品经营许可（新办）", "江州市市场监督管理局", "承诺件", 5, 10, basis_food, "不收费",
         "窗口领取或邮寄送达", "M01", "食品经营许可申请书", "是", 1, "原件", None],
        ["SJ-XK-003", "食品经营许可（新办）", "江州市市场监督管理局", "承诺件", 5, 10, basis_food, "不收费",
         "窗口领取或邮寄送达", "M02", "营业执照或者其他主体资格证明文件", "是", 1, "复印件", None],
        ["SJ-XK-003", None, None, None, None, None, None, None, None,
         "M03", "法定代表人（负责人）身份证件", "是", 1, "复印件", None],
        [None] * 15,
        ["ZR-QR-001", "不动产转移登记（存量房买卖）", "自然资源和规划局", "承诺件", 5, 30,
         "《中华人民共和国民法典》第二百零九条；《不动产登记暂行条例》第十四条、第二十条",
         "住宅每件80元，非住宅每件550元（发改价格规〔2016〕2559号）", "窗口领取或邮寄送达",
         "M01", "不动产登记申请书", "是", 1, "原件", None],
        [None] * 9 + ["M02", "买卖双方身份证明", "是", 1, "原件及复印件", None],
        [None] * 9 + ["M03", "不动产权属证书", "是", 1, "原件", None],
        [None] * 9 + ["M04", "存量房买卖合同（网签备案）", "是", 1, "原件", None],
        [None] * 9 + ["M05", "契税等税费完税凭证或减免税证明", "是", 1, "复印件", None],
        ["ZJ-XK-003", "建筑业企业资质核准（省级审批，市级初审上报）", "ZJ", "报批件", 10, 20,
         "《中华人民共和国行政许可法》第三十五条、第四十三条", "不收费", "省级审批后窗口领取或邮寄送达",
         "M01", "建筑业企业资质申请表", "是", 1, "原件", None],
        [None] * 9 + ["M02", "营业执照", "是", 1, "复印件", None],
        [None] * 9 + ["M03", "企业净资产证明（上一年度财务审计报告）", "是", 1, "复印件", None],
    ]
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_fixture_workbook_is_current(tmp_path):
    units = load_sample_centre()["units"]
    fresh = read_catalog_file(build_catalog_sample(tmp_path / "fresh.xlsx"), units=units)
    assert read_catalog_file(SAMPLE_XLSX, units=units) == fresh, "运行 python tests/test_catalog.py 重新生成样例"


def test_fixture_workbook_reads_like_the_sample_centre():
    centre = load_sample_centre()
    sample = {item.code: item for item in centre["items"]}
    items = read_catalog_file(SAMPLE_XLSX, units=centre["units"])
    assert [i.code for i in items] == ["SJ-XK-001", "SJ-XK-003", "ZR-QR-001", "ZJ-XK-003"]
    assert {i.unit for i in items} == {"SJ", "ZR", "ZJ"}
    assert items[0].case_type == "on_the_spot" and items[3].case_type == "forwarded"
    assert items[0].materials[3] == Material("M04", "授权委托书及代理人身份证件（委托办理的）", False, 1, "原件")
    for item in items:
        published = sample[item.code]
        assert dataclasses.replace(published, materials=published.materials[: len(item.materials)],
                                   legal_basis=item.legal_basis, delivery=item.delivery, fee=item.fee) == item


def test_fixture_needs_units_to_resolve_names():
    with pytest.raises(ConfigError) as info:
        read_catalog_file(SAMPLE_XLSX)
    assert info.value.field == "第3行 实施单位"


# -- units ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"phone": "电话0792"}, "units[0].phone", ("格式不正确",)),
        ({"number_formats": dict(make_unit()["number_formats"], receipt="江市监受字〔{year}〕号")},
         "units[0].number_formats.receipt", ("{seq}",)),
        ({"number_formats": dict(make_unit()["number_formats"], receipt="{org}〔{year}〕{seq}号")},
         "units[0].number_formats.receipt", ("{org}",)),
        ({"number_formats": dict(make_unit()["number_formats"], receipt="〔{year}〕{seq:x5}号")},
         "units[0].number_formats.receipt", ("无法使用",)),
        ({"number_formats": {"receipt": "{year}{seq}"}}, "units[0].number_formats.supplement", ("缺少",)),
        ({"name": "江州市\u0000市场监督管理局"}, "units[0].name", ("控制字符",)),
        ({"court": ""}, "units[0].court", ("不能为空",)),
        ({"code": "sj"}, "units[0].code", ("单位代码",)),
        ({"seal": "../seal.png"}, "units[0].seal", ("PNG",)),
    ],
)
def test_bad_units(overrides, field, words):
    with pytest.raises(ConfigError) as info:
        read_units([make_unit(**overrides)])
    assert info.value.field == field, str(info.value)
    for word in words:
        assert word in str(info.value)


def test_duplicate_unit_code():
    with pytest.raises(ConfigError) as info:
        read_units([make_unit(), make_unit(name="另一个单位")])
    assert info.value.field == "units[1].code"


def test_read_centre_file_checks_item_units(tmp_path):
    data = json.loads(catalog.SAMPLE_CENTRE.read_text(encoding="utf-8"))
    data["items"][4]["unit"] = "JY"
    path = tmp_path / "centre.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        catalog.read_centre_file(path)
    assert info.value.field == "items[4].unit"


# -- the store --------------------------------------------------------------------------------

# ``session`` (a fresh sample workspace) comes from conftest.py.

def test_store_round_trip(session, tmp_path):
    items = load_sample_centre()["items"]
    assert catalog.list_items(session) == sorted(items, key=lambda i: i.code)
    assert [i.code for i in catalog.list_items(session, unit="ZR")] == ["ZR-GG-003", "ZR-QR-001", "ZR-QR-002"]
    with session.store.read() as conn:
        assert catalog.get_item(conn, "SJ-XK-003") == next(i for i in items if i.code == "SJ-XK-003")
        with pytest.raises(NotFoundError):
            catalog.get_item(conn, "NO-SUCH-1")
    assert catalog.save_items(session, items) == []  # already there: kept


def test_import_file(session, tmp_path):
    with pytest.raises(InputError, match="已存在"):
        catalog.import_file(session, SAMPLE_XLSX)
    changed = dataclasses.replace(load_sample_centre()["items"][0], name="个体工商户设立登记（新版）")
    path = write_catalog_xlsx([changed], tmp_path / "new.xlsx")
    assert catalog.import_file(session, path, replace=True) == [changed]
    with session.store.read() as conn:
        assert catalog.get_item(conn, changed.code).name == "个体工商户设立登记（新版）"
    new = item_from_dict(make_item(code="SJ-XK-099"))
    path = write_catalog_xlsx([new], tmp_path / "more.xlsx")
    assert catalog.import_file(session, path) == [new]
    assert len(catalog.list_items(session)) == 16
    summary = catalog.item_summary(new)
    assert summary["case_type_name"] == "承诺件" and summary["code"] == "SJ-XK-099"


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    if SAMPLE_XLSX.exists():
        SAMPLE_XLSX.unlink()
    print(build_catalog_sample(SAMPLE_XLSX))
