"""The item catalogue (事项目录): service items, their materials lists and the window units.

A centre publishes, for every service item, its materials list, time limits, legal basis
and fees (行政许可法 art. 30); a supplement notice may only ask for materials on that list
(art. 31). Centres keep the catalogue in Excel, so it is read from and written to an
``.xlsx`` workbook (sheet ``事项``, one row per material) as well as JSON
(``schemas/catalog.json``). Units (``schemas/units.json``) carry what every notice prints
for the issuing organ: name, window, phones, the reconsideration body and the court named
in the appeal-rights sentence, the notice-number formats and the seal image.

Codes used by the sample centre (``archive/data/sample_centre.json``):

* unit code: two capital letters, the pinyin initials of the short name, e.g. ``SJ``
  (市监, 市场监督管理局);
* item code: ``<unit>-<category>-<seq>``, e.g. ``SJ-XK-003``, where category is ``XK``
  (行政许可), ``QR`` (行政确认), ``GG`` (公共服务) or ``QT`` (其他行政权力) and the
  three-digit sequence runs per unit;
* material code: ``M01``, ``M02`` … unique within an item.

Notice-number formats are Python format strings with the fields ``{year}`` (four-digit
year), ``{seq}`` (the gap-free number per unit, kind and year; ``{seq:04d}`` pads it),
``{prefix}`` (the unit's ``short_name``) and ``{unit}`` (the unit code); ``{year}`` and
``{seq}`` are required, e.g. ``江市监受字〔{year}〕{seq}号``.

Every reader raises :class:`~archive.core.errors.ConfigError` whose ``field`` names the place:
``第5行 承诺时限`` for a workbook, ``items[2].promised_days`` for JSON.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import string
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..core.errors import ConfigError, InputError, NotFoundError
from ..core.retry import retrying
from ..core.validate import check_code, check_text

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_CENTRE = DATA_DIR / "sample_centre.json"

CASE_TYPES: dict[str, str] = {
    "on_the_spot": "即办件",
    "promised": "承诺件",
    "joint": "联办件",
    "pending_materials": "补办件",
    "forwarded": "上报件",
    "reply": "答复件",
}
_CASE_TYPE_ALIASES = {
    **{key: key for key in CASE_TYPES},
    **{name: key for key, name in CASE_TYPES.items()},
    "报批件": "forwarded",
    "退回件": "reply",
}

MATERIAL_FORMS = ("原件", "复印件", "原件及复印件")
_FORM_ALIASES = {
    **{form: form for form in MATERIAL_FORMS},
    "原件和复印件": "原件及复印件",
    "原件与复印件": "原件及复印件",
    "原件、复印件": "原件及复印件",
    "原件+复印件": "原件及复印件",
    "原件＋复印件": "原件及复印件",
}

NOTICE_KINDS: dict[str, str] = {
    "receipt": "受理通知书",
    "supplement": "补正材料通知书",
    "rejection": "不予受理决定书",
    "denial": "不予许可决定书",
    "extension": "延期告知书",
    "excluded_time": "除外时间告知书",
    "appointment": "预约卡",
    "reminder": "催还通知单",
}
NUMBER_FIELDS = ("year", "seq", "prefix", "unit")

XLSX_SHEET = "事项"
ITEM_COLUMNS: dict[str, str] = {
    "code": "事项编码",
    "name": "事项名称",
    "unit": "实施单位",
    "case_type": "办件类型",
    "promised_days": "承诺时限",
    "statutory_days": "法定时限",
    "legal_basis": "设定依据",
    "fee": "收费",
    "delivery": "送达方式",
}
MATERIAL_COLUMNS: dict[str, str] = {
    "code": "材料编码",
    "name": "材料名称",
    "required": "是否必需",
    "copies": "份数",
    "form": "材料形式",
}
XLSX_COLUMNS: tuple[str, ...] = (*ITEM_COLUMNS.values(), *MATERIAL_COLUMNS.values())
# Item columns a workbook may leave out (read when present, written when an item uses them).
OPTIONAL_ITEM_COLUMNS: dict[str, str] = {"pending_days": "补交时限"}

UNIT_LABELS: dict[str, str] = {
    "code": "单位代码",
    "name": "单位名称",
    "short_name": "单位简称",
    "address": "办公地址",
    "window": "窗口",
    "phone": "咨询电话",
    "complaint_phone": "投诉监督电话",
    "reconsideration_body": "行政复议机关",
    "court": "行政诉讼法院",
    "number_formats": "文书编号格式",
    "seal": "印章图片",
    "seal_size_mm": "印章直径（毫米）",
}
CENTRE_LABELS: dict[str, str] = {
    "name": "中心名称",
    "short_name": "中心简称",
    "address": "地址",
    "phone": "咨询电话",
    "complaint_phone": "投诉监督电话",
    "hours": "办公时间",
    "website": "网址",
    "note": "备注",
    "default_unit": "默认单位",
}

_TRUE = {"是", "必需", "必须", "必要", "Y", "YES", "TRUE", "1", "√"}
_FALSE = {"否", "非必需", "可选", "选填", "N", "NO", "FALSE", "0", "×"}


# -- domain values ------------------------------------------------------------------------

@dataclass(frozen=True)
class Material:
    """One entry of an item's published materials list."""

    code: str
    name: str
    required: bool
    copies: int
    form: str  # 原件 | 复印件 | 原件及复印件


@dataclass(frozen=True)
class ServiceItem:
    """One service item of the catalogue; limits are in working days."""

    code: str
    name: str
    unit: str
    case_type: str
    promised_days: int
    statutory_days: int
    legal_basis: str
    fee: str
    materials: tuple[Material, ...]
    delivery: str
    pending_days: int | None = None  # 补办件: working days to hand in pending materials

    @property
    def case_type_name(self) -> str:
        """The Chinese name of the case type, e.g. 承诺件."""
        return CASE_TYPES[self.case_type]

    def material(self, code: str) -> Material:
        """The material with ``code``; NotFoundError naming the published list otherwise."""
        for material in self.materials:
            if material.code == code:
                return material
        listed = "、".join(f"{m.code} {m.name}" for m in self.materials)
        raise NotFoundError(
            f"材料编码“{code}”不在事项“{self.name}”公布的材料目录中（可选：{listed}）", field="materials"
        )


@dataclass(frozen=True)
class Unit:
    """A window unit (实施单位) and what its notices print."""

    code: str
    name: str
    short_name: str
    address: str
    window: str
    phone: str
    complaint_phone: str
    reconsideration_body: str
    court: str
    number_formats: dict[str, str] = field(hash=False)  # kind -> format; treat as read-only
    seal: str
    seal_size_mm: float | None = None  # printed diameter; None: the default (42 mm)


# -- text -------------------------------------------------------------------------------

def validate_text(value: Any, field: str, *, required: bool = True, max_length: int = 500) -> str:
    """Strip ``value`` and refuse control characters; ConfigError naming ``field`` otherwise."""
    try:
        return check_text(value, field, required=required, max_length=max_length)
    except ConfigError:
        raise
    except InputError as exc:
        raise ConfigError(exc.message, field=exc.field or field, hint=exc.hint) from None


# -- schemas ----------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _schema(name: str) -> dict:
    from ..core.config import schemas_dir

    path = schemas_dir() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"无法读取格式定义文件 {path}（{exc}）", field=str(path), hint="安装可能不完整，请重新安装本软件"
        ) from None


@lru_cache(maxsize=None)
def _validator(schema_name: str, definition: str):
    import jsonschema

    schema = _schema(schema_name)
    sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(sub)


_PATTERN_HINTS = {
    "item.code": "事项编码只能由字母、数字和“-”“_”“.”组成，例如 SJ-XK-001",
    "material.code": "材料编码只能由字母、数字和“-”“_”“.”组成，例如 M01",
    "unit": "单位代码应为2～8位大写字母或数字、以字母开头，例如 SJ",
    "phone": "电话号码只能包含数字、空格和“-”，例如 0792-85120201 或 12345",
    "seal": "印章图片应为 PNG 文件名（不含文件夹），例如 seal_SJ.png",
    "number_format": "文书编号格式必须包含 {year}（年度）和 {seq}（序号），例如 江市监受字〔{year}〕{seq}号",
}


def _pattern_hint(path: tuple) -> str:
    keys = [p for p in path if isinstance(p, str)]
    last = keys[-1] if keys else ""
    if "number_formats" in keys:
        return _PATTERN_HINTS["number_format"]
    if last in ("phone", "complaint_phone"):
        return _PATTERN_HINTS["phone"]
    if last == "seal":
        return _PATTERN_HINTS["seal"]
    if last in ("unit", "default_unit"):
        return _PATTERN_HINTS["unit"]
    if last == "code":
        return _PATTERN_HINTS["material.code" if "materials" in keys else "item.code"]
    return ""


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f"“{value}”"


def _check_schema(schema_name: str, definition: str, instance: Any, place: Callable[[tuple], str],
                  labels: Callable[[tuple], str]) -> None:
    """Validate ``instance`` against ``$defs/<definition>``; the first error as a ConfigError."""
    error = next(iter(_validator(schema_name, definition).iter_errors(instance)), None)
    if error is None:
        return
    path = tuple(error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = next((n for n in expected if n not in value), expected[0])
        path += (missing,)
        raise ConfigError(f"缺少必填项“{labels(path)}”（{missing}）", field=place(path))
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = sorted(k for k in value if k not in allowed)
        raise ConfigError(
            f"不认识的字段“{extra[0] if extra else '?'}”，请检查拼写",
            field=place(path + ((extra[0],) if extra else ())),
            hint=f"可用字段：{'、'.join(allowed)}",
        )
    label = labels(path)
    if place(path).endswith(label):  # 第5行 承诺时限：应为整数 (the place already names the column)
        label = ""
    if kind == "type":
        wanted = {"integer": "整数", "string": "文字", "boolean": "true 或 false", "array": "列表（[…]）",
                  "object": "对象（{…}）"}.get(expected if isinstance(expected, str) else expected[0], str(expected))
        message = f"{label}应为{wanted}，收到 {_shown(value)}"
    elif kind == "enum":
        choices = list(CASE_TYPES.values()) if path and path[-1] == "case_type" else expected
        message = f"{label}{_shown(value)}无效，可选：{'、'.join(map(str, choices))}"
    elif kind == "minimum":
        message = f"{label}不能小于{expected}，收到 {value}"
    elif kind == "maximum":
        message = f"{label}不能大于{expected}，收到 {value}"
    elif kind == "minLength" or (kind == "pattern" and expected == "\\S"):
        message = f"{label}不能为空"
    elif kind == "maxLength":
        message = f"{label}过长（{len(value)}个字符，最多{expected}个）"
    elif kind == "pattern":
        message = f"{label}格式不正确：{_shown(value)}。{_pattern_hint(path)}".rstrip("。")
    elif kind == "minItems":
        message = f"{label}至少需要{expected}项" if path[-1:] != ("materials",) else "至少需要列出一项申报材料"
    elif kind == "maxItems":
        message = f"{label}最多{expected}项"
    else:
        message = f"{label}不符合要求（{error.message}）"
    raise ConfigError(message, field=place(path))


def _json_place(prefix: str) -> Callable[[tuple], str]:
    def place(path: tuple) -> str:
        out = prefix
        for part in path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out or "（根）"

    return place


def _item_label(path: tuple) -> str:
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return "事项"
    if keys[0] == "materials" and len(keys) > 1:
        return MATERIAL_COLUMNS.get(keys[-1], keys[-1])
    if keys[0] == "materials":
        return "申报材料"
    return ITEM_COLUMNS.get(keys[-1], keys[-1])


def _unit_label(path: tuple) -> str:
    keys = [p for p in path if isinstance(p, str)]
    if "number_formats" in keys and keys[-1] != "number_formats":
        return f"{NOTICE_KINDS.get(keys[-1], keys[-1])}编号格式"
    return UNIT_LABELS.get(keys[-1], keys[-1]) if keys else "单位"


def _centre_label(path: tuple) -> str:
    keys = [p for p in path if isinstance(p, str)]
    return CENTRE_LABELS.get(keys[-1], keys[-1]) if keys else "服务中心"


# -- items ------------------------------------------------------------------------------

def item_to_dict(item: ServiceItem) -> dict:
    """The JSON form of an item (``schemas/catalog.json``), with the English case-type key."""
    return {
        "code": item.code,
        "name": item.name,
        "unit": item.unit,
        "case_type": item.case_type,
        "promised_days": item.promised_days,
        "statutory_days": item.statutory_days,
        "legal_basis": item.legal_basis,
        "fee": item.fee,
        "delivery": item.delivery,
        **({"pending_days": item.pending_days} if item.pending_days else {}),
        "materials": [
            {"code": m.code, "name": m.name, "required": m.required, "copies": m.copies, "form": m.form}
            for m in item.materials
        ],
    }


def item_summary(item: ServiceItem) -> dict:
    """:func:`item_to_dict` plus the Chinese case-type name, for ``--json`` listings."""
    data = item_to_dict(item)
    data["case_type_name"] = item.case_type_name
    return data


def item_from_dict(data: Mapping, *, field: str = "") -> ServiceItem:
    """Validate one item in its JSON form and build it; ``field`` prefixes error places."""
    return _build_item(data, _json_place(field))


def _build_item(data: Any, place: Callable[[tuple], str]) -> ServiceItem:
    if not isinstance(data, Mapping):
        raise ConfigError("每个事项应为一个对象（{…}）", field=place(()))
    _check_schema("catalog", "item", data, place, _item_label)
    text = {key: validate_text(data[key], place((key,)), max_length=1000)
            for key in ("code", "name", "unit", "legal_basis", "fee", "delivery")}
    case_type = _CASE_TYPE_ALIASES[data["case_type"]]
    promised, statutory = data["promised_days"], data["statutory_days"]
    if case_type == "on_the_spot" and promised != 0:
        raise ConfigError(
            f"即办件应当场办结，承诺时限应为0，收到 {promised}", field=place(("promised_days",)),
            hint="需要审查后办结的事项，请把办件类型改为承诺件",
        )
    if case_type != "on_the_spot" and promised == 0:
        raise ConfigError(
            f"{CASE_TYPES[case_type]}的承诺时限至少为1个工作日", field=place(("promised_days",)),
            hint="当场办结的事项请把办件类型设为即办件",
        )
    if promised > statutory:
        raise ConfigError(
            f"承诺时限（{promised}个工作日）不能超过法定时限（{statutory}个工作日）",
            field=place(("promised_days",)),
        )
    materials = []
    seen: dict[str, int] = {}
    for j, entry in enumerate(data["materials"]):
        code = validate_text(entry["code"], place(("materials", j, "code")))
        if code in seen:
            raise ConfigError(
                f"材料编码“{code}”在本事项中重复（与{place(('materials', seen[code], 'code'))}相同）",
                field=place(("materials", j, "code")),
            )
        seen[code] = j
        materials.append(Material(
            code=code,
            name=validate_text(entry["name"], place(("materials", j, "name"))),
            required=entry["required"],
            copies=entry["copies"],
            form=entry["form"],
        ))
    return ServiceItem(
        code=text["code"], name=text["name"], unit=text["unit"], case_type=case_type,
        promised_days=promised, statutory_days=statutory, legal_basis=text["legal_basis"], fee=text["fee"],
        materials=tuple(materials), delivery=text["delivery"], pending_days=data.get("pending_days"),
    )


def _unit_lookup(units) -> dict[str, str] | None:
    """Map unit codes, full names and short names to codes (names only when unambiguous)."""
    if units is None:
        return None
    lookup: dict[str, str] = {}
    names: dict[str, set[str]] = {}
    for unit in units:
        if isinstance(unit, str):
            lookup[unit] = unit
            continue
        if isinstance(unit, Unit):
            code, full, short = unit.code, unit.name, unit.short_name
        else:
            code, full, short = unit["code"], unit.get("name"), unit.get("short_name")
        lookup[code] = code
        for name in (full, short):
            if name:
                names.setdefault(name, set()).add(code)
    for name, codes in names.items():
        if len(codes) == 1 and name not in lookup:
            lookup[name] = next(iter(codes))
    return lookup


def _check_catalogue(items: list[ServiceItem], places: list[Callable[[tuple], str]],
                     lookup: dict[str, str] | None) -> None:
    """Checks across items: unique codes and (with a unit list) known units."""
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.code in first:
            raise ConfigError(
                f"事项编码“{item.code}”重复（{places[first[item.code]](('code',))}已有该编码）",
                field=places[i](("code",)),
            )
        first[item.code] = i
        if lookup is not None and item.unit not in lookup.values():
            known = "、".join(sorted(set(lookup.values()))) or "（未配置任何单位）"
            raise ConfigError(f"实施单位“{item.unit}”不在单位名单中（已配置：{known}）", field=places[i](("unit",)),
                              hint="请填写已配置单位的代码或全称")


def read_catalog_file(path: str | os.PathLike, *, units: Iterable | None = None) -> list[ServiceItem]:
    """Read and validate a catalogue from ``.xlsx`` (sheet 事项) or ``.json``.

    ``units`` (Unit objects, unit dicts from the configuration, or codes) lets 实施单位 be
    given as a unit's full or short name and makes an unknown unit an error.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xls", ".et", ".csv", ".ods", ".xlsm", ".wps"):
        raise ConfigError(
            f"不支持 {suffix} 格式的事项目录：{path.name}", field=str(path),
            hint="请在 Excel 或 WPS 中“另存为”Excel 工作簿（*.xlsx）后再导入",
        )
    if suffix not in (".xlsx", ".json"):
        raise ConfigError(f"事项目录应为 .xlsx 或 .json 文件：{path.name}", field=str(path))
    if not path.is_file():
        raise ConfigError(f"找不到文件：{path}", field=str(path))
    lookup = _unit_lookup(units)
    if suffix == ".json":
        raw = _read_json(path, "事项目录")
        if isinstance(raw, Mapping) and isinstance(raw.get("items"), list):
            raw = raw["items"]
        if not isinstance(raw, list):
            raise ConfigError("JSON 事项目录应为事项列表（[…]），或含有 items 列表的对象", field="items")
        places = [_json_place(f"items[{i}]") for i in range(len(raw))]
        if lookup is not None:
            raw = [dict(d, unit=lookup.get(d["unit"], d["unit"])) if isinstance(d, Mapping) and isinstance(
                d.get("unit"), str) else d for d in raw]
        entries = list(zip(raw, places))
    else:
        entries = _read_xlsx(path, lookup)
    if not entries:
        raise ConfigError(f"文件中没有任何事项：{path.name}", field=str(path))
    items = [_build_item(data, place) for data, place in entries]
    _check_catalogue(items, [place for _, place in entries], lookup)
    return items


def _read_json(path: Path, what: str) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"无法读取{what}文件 {path}（{exc.strerror or exc}）", field=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{what}文件不是 UTF-8 编码的文本：{path.name}", field=str(path),
                          hint="请用 UTF-8 编码另存该文件") from None
    from ..core.config import parse_json

    try:
        return parse_json(text, what, path.name)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what}文件不是有效的 JSON（第{exc.lineno}行第{exc.colno}列：{exc.msg}）：{path.name}",
                          field=f"第{exc.lineno}行") from None


# -- Excel ------------------------------------------------------------------------------

def _header_name(value: Any) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = re.sub(r"[\s*]", "", text)
    return re.sub(r"\(.*\)$", "", text)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell_text(value: Any, where: str, *, required: bool = True, max_length: int = 1000) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (_dt.datetime, _dt.date)):
        text = value.isoformat()
    else:
        text = str(value)
    return validate_text(text, where, required=required, max_length=max_length)


def _cell_int(value: Any, where: str, *, default: int | None = None) -> int:
    if _blank(value):
        if default is not None:
            return default
        raise ConfigError(f"{where}不能为空", field=where, hint="请填写工作日数，例如 5")
    if isinstance(value, bool):
        raise ConfigError(f"{where}应为整数，收到 {value}", field=where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ConfigError(f"{where}应为整数，收到 {value}", field=where, hint="只填整数，例如 5")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    raise ConfigError(f"{where}应为整数，收到“{text}”", field=where, hint="只填数字，例如 5（不要写“5个工作日”）")


def _cell_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _cell_text(value, where)).upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{where}应填“是”或“否”，收到“{text}”", field=where)


def _cell_form(value: Any, where: str) -> str:
    text = _cell_text(value, where)
    form = _FORM_ALIASES.get(text.replace(" ", ""))
    if form is None:
        raise ConfigError(f"{where}“{text}”无效，可选：{'、'.join(MATERIAL_FORMS)}", field=where)
    return form


def _xlsx_place(item_row: int, material_rows: list[int]) -> Callable[[tuple], str]:
    def place(path: tuple) -> str:
        if not path:
            return f"第{item_row}行"
        if path[0] == "materials":
            if len(path) >= 3 and isinstance(path[1], int) and path[1] < len(material_rows):
                return f"第{material_rows[path[1]]}行 {MATERIAL_COLUMNS.get(path[2], path[2])}"
            if len(path) == 2 and isinstance(path[1], int) and path[1] < len(material_rows):
                return f"第{material_rows[path[1]]}行"
            return f"第{item_row}行 {MATERIAL_COLUMNS['name']}"
        return f"第{item_row}行 {ITEM_COLUMNS.get(path[0], path[0])}"

    return place


def _read_xlsx_rows(path: Path) -> list[tuple[int, tuple]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError, OSError …
        raise ConfigError(
            f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 格式（{type(exc).__name__}）",
            field=str(path), hint="请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（*.xlsx）",
        ) from None
    try:
        if XLSX_SHEET not in workbook.sheetnames:
            raise ConfigError(
                f"找不到名为“{XLSX_SHEET}”的工作表（文件中的工作表：{'、'.join(workbook.sheetnames)}）",
                field="工作表", hint=f"请把事项目录所在的工作表改名为“{XLSX_SHEET}”",
            )
        sheet = workbook[XLSX_SHEET]
        return [(number, tuple(row)) for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()


def _read_xlsx(path: Path, lookup: dict[str, str] | None) -> list[tuple[dict, Callable[[tuple], str]]]:
    rows = _read_xlsx_rows(path)
    header_row, index = None, {}
    for number, row in rows[:10]:
        names = [_header_name(cell) for cell in row]
        if ITEM_COLUMNS["code"] in names:
            header_row = number
            for position, name in enumerate(names):
                if name in XLSX_COLUMNS or name in OPTIONAL_ITEM_COLUMNS.values():
                    if name in index:
                        raise ConfigError(f"列“{name}”出现了两次", field=f"第{number}行 {name}")
                    index[name] = position
            break
    if header_row is None:
        raise ConfigError(
            f"找不到表头：工作表“{XLSX_SHEET}”前10行中没有“{ITEM_COLUMNS['code']}”列", field="第1行 表头",
            hint=f"第一行应为表头：{'、'.join(XLSX_COLUMNS)}",
        )
    missing = [name for name in XLSX_COLUMNS if name not in index]
    if missing:
        raise ConfigError(f"缺少列：{'、'.join(missing)}", field=f"第{header_row}行 表头",
                          hint=f"表头应包含：{'、'.join(XLSX_COLUMNS)}")

    def parse_item_value(key: str, value: Any, where: str):
        if key in ("promised_days", "statutory_days"):
            return _cell_int(value, where)
        text = _cell_text(value, where)
        if key == "case_type":
            return _CASE_TYPE_ALIASES.get(text, text)
        if key == "unit" and lookup is not None:
            return lookup.get(text, text)
        return text

    groups: list[dict] = []
    first_row: dict[str, int] = {}
    current: dict | None = None
    for number, row in rows[header_row:]:
        cells = {name: (row[position] if position < len(row) else None) for name, position in index.items()}
        if all(_blank(cells[name]) for name in XLSX_COLUMNS):
            continue
        code_cell = cells[ITEM_COLUMNS["code"]]
        code = "" if _blank(code_cell) else _cell_text(code_cell, f"第{number}行 {ITEM_COLUMNS['code']}")
        if code and (current is None or code != current["data"]["code"]):
            if code in first_row:
                raise ConfigError(
                    f"事项编码“{code}”重复（第{first_row[code]}行已有该事项；同一事项的材料行应连续排列）",
                    field=f"第{number}行 {ITEM_COLUMNS['code']}",
                )
            data = {key: parse_item_value(key, cells[column], f"第{number}行 {column}")
                    for key, column in ITEM_COLUMNS.items()}
            for key, column in OPTIONAL_ITEM_COLUMNS.items():
                if column in cells and not _blank(cells[column]):
                    data[key] = _cell_int(cells[column], f"第{number}行 {column}")
            data["materials"] = []
            current = {"row": number, "data": data, "material_rows": []}
            groups.append(current)
            first_row[code] = number
        elif current is None:
            raise ConfigError("这一行没有事项编码，前面也没有可归属的事项", field=f"第{number}行 {ITEM_COLUMNS['code']}",
                              hint="每个事项的第一行必须填写事项编码")
        else:
            for key, column in ITEM_COLUMNS.items():
                if key == "code" or _blank(cells[column]):
                    continue
                where = f"第{number}行 {column}"
                value = parse_item_value(key, cells[column], where)
                if value != current["data"][key]:
                    raise ConfigError(
                        f"{column}与第{current['row']}行不一致（{_shown(value)} ≠ {_shown(current['data'][key])}）",
                        field=where, hint="同一事项的后续行，事项各列请留空或与首行完全一致",
                    )
        if all(_blank(cells[column]) for column in MATERIAL_COLUMNS.values()):
            continue
        columns = MATERIAL_COLUMNS
        current["data"]["materials"].append({
            "code": _cell_text(cells[columns["code"]], f"第{number}行 {columns['code']}"),
            "name": _cell_text(cells[columns["name"]], f"第{number}行 {columns['name']}"),
            "required": _cell_bool(cells[columns["required"]], f"第{number}行 {columns['required']}"),
            "copies": _cell_int(cells[columns["copies"]], f"第{number}行 {columns['copies']}", default=1),
            "form": _cell_form(cells[columns["form"]], f"第{number}行 {columns['form']}"),
        })
        current["material_rows"].append(number)
    return [(group["data"], _xlsx_place(group["row"], group["material_rows"])) for group in groups]


def write_catalog_xlsx(items: Iterable[ServiceItem], path: str | os.PathLike, *, units: Iterable | None = None,
                       repeat_item_columns: bool = False, overwrite: bool = False) -> Path:
    """Write items as a workbook that :func:`read_catalog_file` reads back unchanged.

    One row per material on sheet 事项; the item columns are filled on the item's first
    row only (or on every row with ``repeat_item_columns``). With ``units`` 实施单位 shows the
    unit's full name. An existing file is an error unless ``overwrite``.
    """
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..documents.sheets import print_layout

    items = list(items)
    for i, item in enumerate(items):
        if not isinstance(item, ServiceItem):
            raise InputError(f"第{i + 1}个事项不是 ServiceItem", field=f"items[{i}]")
        item_from_dict(item_to_dict(item), field=f"items[{i}]")
    _check_catalogue(items, [_json_place(f"items[{i}]") for i in range(len(items))], None)
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"导出的文件名应以 .xlsx 结尾：{path.name}", field="path")
    if path.exists() and not overwrite:
        raise InputError(f"文件已存在：{path}", field="path", hint="换一个文件名，或先移走原文件")
    names = {}
    for unit in units or ():
        if isinstance(unit, Unit):
            names[unit.code] = unit.name
        elif isinstance(unit, Mapping) and unit.get("name"):
            names[unit["code"]] = unit["name"]

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = XLSX_SHEET
    pending = any(item.pending_days for item in items)
    columns = (*ITEM_COLUMNS.values(), *((OPTIONAL_ITEM_COLUMNS["pending_days"],) if pending else ()),
               *MATERIAL_COLUMNS.values())
    sheet.append(list(columns))
    for item in items:
        item_cells = [item.code, item.name, names.get(item.unit, item.unit), item.case_type_name,
                      item.promised_days, item.statutory_days, item.legal_basis, item.fee, item.delivery]
        if pending:
            item_cells.append(item.pending_days)
        for j, material in enumerate(item.materials):
            head = item_cells if j == 0 or repeat_item_columns else [None] * len(item_cells)
            sheet.append([*head, material.code, material.name, "是" if material.required else "否",
                          material.copies, material.form])

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    widths = {"事项编码": 14, "事项名称": 30, "实施单位": 22, "办件类型": 10, "承诺时限": 10, "法定时限": 10,
              "设定依据": 48, "收费": 30, "送达方式": 22, "材料编码": 10, "材料名称": 48, "是否必需": 10,
              "份数": 8, "材料形式": 14}
    last = sheet.max_row
    for position, name in enumerate(columns, start=1):
        letter = get_column_letter(position)
        cell = sheet.cell(row=1, column=position)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        sheet.column_dimensions[letter].width = widths.get(name, 14)
        if name in ("事项编码", "材料编码"):
            for row in range(2, last + 1):
                sheet.cell(row=row, column=position).number_format = "@"
    column = {name: get_column_letter(position) for position, name in enumerate(columns, start=1)}
    for name, choices in (("办件类型", CASE_TYPES.values()), ("是否必需", ("是", "否")), ("材料形式", MATERIAL_FORMS)):
        rule = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
        rule.error, rule.errorTitle = f"请从列表中选择：{'、'.join(choices)}", name
        rule.add(f"{column[name]}2:{column[name]}{max(last, 2) + 500}")
        sheet.add_data_validation(rule)

    notes = workbook.create_sheet("填写说明")
    for line in (
        ("列", "说明"),
        ("事项编码", "事项目录编码，例如 SJ-XK-001；同一事项占连续多行（每行一项材料），后续行的事项各列可留空"),
        ("实施单位", "单位代码（如 SJ）或单位全称"),
        ("办件类型", "即办件、承诺件、联办件、补办件、上报件、答复件"),
        ("承诺时限 / 法定时限", "工作日数，只填整数；即办件承诺时限为0；承诺时限不得超过法定时限"),
        ("材料编码", "本事项内不重复，例如 M01"),
        ("是否必需", "是 / 否"),
        ("份数", "整数，留空视为1份"),
        ("材料形式", "原件、复印件、原件及复印件"),
        ("注意", "单元格内不要换行（Alt+Enter），多项依据请用“；”分隔"),
    ):
        notes.append(list(line))
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 90
    notes["A1"].font = notes["B1"].font = bold
    for cell in notes["B"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    print_layout(sheet, header_row=1)
    print_layout(notes, header_row=1)

    _save_new(workbook, path, overwrite=overwrite)
    return path


def _save_new(workbook, path: Path, *, overwrite: bool) -> None:
    """Save to a temporary file beside ``path`` and move it into place without replacing."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
    try:
        try:
            workbook.save(tmp)
        except OSError as exc:
            raise InputError(f"无法写入 {path}（{exc.strerror or exc}）", field="path",
                             hint="请确认文件夹存在且可写") from None
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise InputError(f"文件已存在：{path}", field="path", hint="换一个文件名，或先移走原文件") from None
        except OSError:  # no hard links on this file system
            if path.exists():
                raise InputError(f"文件已存在：{path}", field="path", hint="换一个文件名，或先移走原文件") from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# -- units and the centre -----------------------------------------------------------------

def _check_number_format(fmt: str, where: str) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None]
    except ValueError:
        raise ConfigError(f"文书编号格式有误（花括号不成对？）：“{fmt}”", field=where,
                          hint="花括号只用于 {year} {seq} {prefix} {unit}；文字中的花括号请写成 {{ }}") from None
    for name in names:
        if name not in NUMBER_FIELDS:
            raise ConfigError(f"文书编号格式中的“{{{name}}}”无法识别：“{fmt}”", field=where,
                              hint="可用字段：{year} 年度、{seq} 序号、{prefix} 单位简称、{unit} 单位代码")
    try:
        fmt.format(year=2026, seq=1, prefix="简称", unit="SJ")
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ConfigError(f"文书编号格式无法使用：“{fmt}”（{exc}）", field=where,
                          hint="例如 江市监受字〔{year}〕{seq}号，或 {unit}-{year}-{seq:04d}") from None


def unit_to_dict(unit: Unit) -> dict:
    """The JSON form of a unit (``schemas/units.json``)."""
    return {
        "code": unit.code, "name": unit.name, "short_name": unit.short_name, "address": unit.address,
        "window": unit.window, "phone": unit.phone, "complaint_phone": unit.complaint_phone,
        "reconsideration_body": unit.reconsideration_body, "court": unit.court,
        "number_formats": dict(unit.number_formats), "seal": unit.seal,
        **({"seal_size_mm": unit.seal_size_mm} if unit.seal_size_mm else {}),
    }


def read_units(data: Any, *, field: str = "units") -> list[Unit]:
    """Validate units (a list, or a mapping with ``units``) and build them.

    Errors name the place as ``units[1].phone`` or ``units[0].number_formats.receipt``.
    """
    if isinstance(data, Mapping) and "units" in data:
        data = data["units"]
    if not isinstance(data, list):
        raise ConfigError("单位名单应为列表（[…]）", field=field)
    units: list[Unit] = []
    first: dict[str, int] = {}
    for i, entry in enumerate(data):
        place = _json_place(f"{field}[{i}]")
        if not isinstance(entry, Mapping):
            raise ConfigError("每个单位应为一个对象（{…}）", field=place(()))
        _check_schema("units", "unit", entry, place, _unit_label)
        values = {key: validate_text(entry[key], place((key,)))
                  for key in UNIT_LABELS if key not in ("number_formats", "seal_size_mm")}
        formats = {}
        for kind, fmt in entry["number_formats"].items():
            where = place(("number_formats", kind))
            formats[kind] = validate_text(fmt, where, max_length=100)
            _check_number_format(formats[kind], where)
        code = values["code"]
        if code in first:
            raise ConfigError(f"单位代码“{code}”重复（与{field}[{first[code]}]相同）", field=place(("code",)))
        first[code] = i
        units.append(Unit(number_formats=formats, seal_size_mm=entry.get("seal_size_mm"), **values))
    return units


def _read_centre(data: Any, where: str = "centre") -> dict:
    place = _json_place(where)
    if not isinstance(data, Mapping):
        raise ConfigError("服务中心信息应为一个对象（{…}）", field=where)
    _check_schema("units", "centre", data, place, _centre_label)
    return {key: validate_text(value, place((key,))) for key, value in data.items()}


def read_centre_file(path: str | os.PathLike) -> dict:
    """Read a centre file (the shape of ``archive/data/sample_centre.json``).

    Returns ``{"centre": dict, "units": [Unit], "units_raw": [dict], "items": [ServiceItem]}``;
    ``units_raw`` is the units' JSON form, ready for the workspace configuration.
    """
    path = Path(path)
    data = _read_json(path, "服务中心")
    if not isinstance(data, Mapping):
        raise ConfigError("服务中心文件应为一个对象，含 centre、units 和 items", field="（根）")
    for key in ("centre", "units", "items"):
        if key not in data:
            raise ConfigError(f"服务中心文件缺少“{key}”", field=key)
    centre = _read_centre(data["centre"])
    units = read_units(data["units"])
    if not isinstance(data["items"], list):
        raise ConfigError("items 应为事项列表（[…]）", field="items")
    places = [_json_place(f"items[{i}]") for i in range(len(data["items"]))]
    items = [_build_item(entry, place) for entry, place in zip(data["items"], places)]
    _check_catalogue(items, places, _unit_lookup(u.code for u in units))
    return {"centre": centre, "units": units, "units_raw": [unit_to_dict(u) for u in units], "items": items}


def load_sample_centre() -> dict:
    """The packaged sample centre (江州市政务服务中心): see :func:`read_centre_file`."""
    return read_centre_file(SAMPLE_CENTRE)


def seal_path(unit: Unit | Mapping, folder: str | os.PathLike | None = None) -> Path:
    """Where the unit's seal image is: in ``folder`` (default: the packaged data folder)."""
    name = unit.seal if isinstance(unit, Unit) else unit["seal"]
    return Path(folder) / name if folder is not None else DATA_DIR / name


def format_notice_number(unit: Unit | Mapping, kind: str, *, year: int, seq: int) -> str:
    """The notice number of ``kind`` for ``unit``, e.g. 江市监受字〔2026〕1号."""
    if kind not in NOTICE_KINDS:
        raise InputError(f"未知的文书种类“{kind}”，可选：{'、'.join(NOTICE_KINDS)}", field="kind")
    data = unit_to_dict(unit) if isinstance(unit, Unit) else unit
    fmt = data.get("number_formats", {}).get(kind)
    if not fmt:
        raise ConfigError(f"单位“{data['name']}”未配置{NOTICE_KINDS[kind]}的文书编号格式",
                          field=f"units.{data['code']}.number_formats.{kind}")
    return fmt.format(year=year, seq=seq, prefix=data.get("short_name", ""), unit=data["code"])


# -- the store ----------------------------------------------------------------------------

def _item_from_row(row) -> ServiceItem:
    return ServiceItem(
        code=row.code, name=row.name, unit=row.unit, case_type=row.case_type, promised_days=row.promised_days,
        statutory_days=row.statutory_days, legal_basis=row.legal_basis, fee=row.fee,
        materials=tuple(Material(**m) for m in row.materials), delivery=row.delivery,
        pending_days=row.pending_days,
    )


def _item_values(item: ServiceItem, now) -> dict:
    data = item_to_dict(item)
    data["updated_at"] = now
    data["pending_days"] = item.pending_days
    return data


def get_item(conn, code: str) -> ServiceItem:
    """The stored item with ``code``; NotFoundError that says how to list the codes."""
    from sqlalchemy import select

    from ..core import store as st

    code = check_code(code, "事项编码", max_length=64)
    row = conn.execute(select(st.items).where(st.items.c.code == code)).first()
    if row is None:
        raise NotFoundError(f"事项目录中没有编码为“{code}”的事项", field="item",
                            hint="用 archive catalog list 查看可用的事项编码")
    return _item_from_row(row)


def list_items(session, *, unit: str | None = None) -> list[ServiceItem]:
    """All stored items (of one unit if given), ordered by code."""
    from sqlalchemy import select

    from ..core import store as st

    query = select(st.items).order_by(st.items.c.code)
    if unit:
        session.ws.unit(unit)  # an unknown unit is an error naming the configured ones
        query = query.where(st.items.c.unit == unit)
    with session.store.read() as conn:
        return [_item_from_row(row) for row in conn.execute(query)]


def items_for(session) -> list[ServiceItem]:
    """The items the acting account may receive: those of its units (every unit when it names none)."""
    from ..core import access

    access.require(session, "case.receive")
    user = session.user
    return [i for i in list_items(session) if user is None or not user.units or i.unit in user.units]


@retrying
def save_items(session, items: Iterable[ServiceItem], *, replace: bool = False) -> list[ServiceItem]:
    """Store items in one transaction; codes already stored are kept unless ``replace``.

    Returns the items written. Replacing updates the row in place, so cases that refer to
    the item keep their reference.
    """
    from sqlalchemy import select

    from ..core import store as st

    items = list(items)
    _check_catalogue(items, [_json_place(f"items[{i}]") for i in range(len(items))], None)
    written = []
    with session.work() as work:
        stored = set(work.conn.execute(select(st.items.c.code)).scalars())
        now = session.now()
        for item in items:
            if item.code in stored:
                if not replace:
                    continue
                values = _item_values(item, now)
                work.conn.execute(st.items.update().where(st.items.c.code == item.code).values(**values))
            else:
                work.conn.execute(st.items.insert().values(**_item_values(item, now)))
            written.append(item)
        if written:
            session.log(work, "catalog_save", "catalog", items=[i.code for i in written], replace=replace)
    return written


def import_file(session, path: str | os.PathLike, *, replace: bool = False) -> list[ServiceItem]:
    """Read a catalogue file, check it against the configured units and store it.

    Without ``replace`` an item code that is already stored is an error and nothing is
    imported; with it those items are updated.
    """
    from sqlalchemy import select

    from ..core import store as st

    items = read_catalog_file(path, units=list(session.ws.units.values()))
    if not replace:
        with session.store.read() as conn:
            stored = set(conn.execute(select(st.items.c.code)).scalars())
        existing = [item.code for item in items if item.code in stored]
        if existing:
            shown = "、".join(existing[:10]) + (f" 等{len(existing)}个" if len(existing) > 10 else "")
            raise InputError(f"事项编码已存在：{shown}", field="事项编码", hint="如需用文件中的内容覆盖，请加 --replace")
    save_items(session, items, replace=replace)
    return items
