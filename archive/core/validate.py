"""Validation of what people type at the window.

Every checker takes the raw value and the name of the field as the user knows it, and
either returns the cleaned value or raises :class:`~archive.core.errors.InputError` naming that
field. Check digits follow the national standards: GB 11643-1999 for resident ID numbers
and GB 32100-2015 for unified social credit codes.

Codes, numbers and dates are typed from many input methods, so full-width digits and
letters (``１１０１…``, ``２０２６－１０－１０``) arrive as often as ASCII ones: they are folded
with NFKC first, then checked with ASCII-only patterns, and the normal form is what the
caller stores. Names and free text keep what was typed, but invisible characters are
refused: control characters (Cc) and format characters (Cf: bidi overrides such as
U+202E, zero-width spaces and joiners, U+FEFF), which would make a printed notice read
differently from what the store holds.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

from .errors import InputError

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB/T 2260 province-level codes (the first two digits of a division code): the 31
# provinces, autonomous regions and municipalities, Taiwan (71), Hong Kong (81), Macao (82),
# and 83, which the residence permits of Taiwan residents carry.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})

# GB 32100-2015 table 1 with the codes assigned since: registration authority (position 1)
# -> the organisation types it registers (position 2).
REGISTRATION_AUTHORITIES = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                    "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商（市场监管）", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}

_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})", re.ASCII)
# Area code 010, 02x or 0 + three digits; a local number of 7 or 8 digits not starting
# with 0 or 1; an optional extension after -, 转, # or ext.
_LANDLINE = re.compile(
    r"(?:\+?86-?)?\(?(0(?:10|2[0-9]|[3-9][0-9]{2}))\)?-?([2-9][0-9]{6,7})(?:(?:-|转|#|EXT\.?)([0-9]{1,6}))?", re.ASCII)


def check_text(value: str | None, field: str, *, required: bool = True, max_length: int = 500) -> str:
    """Strip ``value`` and refuse invisible characters, empty values and overlong text."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if not value:
        if required:
            raise InputError(f"{field}不能为空", field=field)
        return ""
    for position, char in enumerate(value, start=1):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co") or char in "\u2028\u2029":
            raise InputError(
                f"{field}含有不可见的控制字符（第{position}个字符 U+{ord(char):04X}），请删除后重新输入",
                field=field,
            )
        if category == "Cf":
            raise InputError(
                f"{field}含有不可见的格式字符（第{position}个字符 U+{ord(char):04X}，如零宽字符或文字方向控制符），"
                "打印出来会与输入的不一致，请删除后重新输入",
                field=field,
            )
    if len(value) > max_length:
        raise InputError(f"{field}过长（{len(value)}个字符，最多{max_length}个）", field=field)
    return value


def normal_form(value: str | None, field: str, *, required: bool = True, max_length: int = 100) -> str:
    """A code, number or date as typed, folded to its normal form (NFKC: full-width to ASCII)."""
    return unicodedata.normalize("NFKC", check_text(value, field, required=required, max_length=max_length)).strip()


def check_code(value: str | None, field: str, *, max_length: int = 100) -> str:
    """A code the user refers to (case number, archival code, loan number …) in its normal form."""
    return normal_form(value, field, max_length=max_length)


def id_number_check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def check_id_number(value: str, field: str = "身份证号码") -> str:
    """Validate an 18-digit resident ID number: format, birth date and check digit."""
    value = normal_form(value, field).upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        raise InputError(f"{field}应为18位（前17位为数字，末位为数字或X），收到“{value}”", field=field)
    if value[:2] not in PROVINCES:
        raise InputError(f"{field}前两位“{value[:2]}”不是省级行政区划代码，请核对证件后重新输入", field=field)
    try:
        birth = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InputError(f"{field}中的出生日期 {value[6:14]} 不存在", field=field) from None
    if birth.year < 1900 or birth > _dt.date.today():
        raise InputError(f"{field}中的出生日期 {value[6:14]} 不合理", field=field)
    expected = id_number_check_digit(value[:17])
    if value[17] != expected:
        raise InputError(
            f"{field}校验位错误：末位应为 {expected}，收到 {value[17]}，请核对证件后重新输入", field=field
        )
    return value


def credit_code_check_digit(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def check_credit_code(value: str, field: str = "统一社会信用代码") -> str:
    """Validate an 18-character unified social credit code and its check character."""
    value = normal_form(value, field).upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        raise InputError(
            f"{field}应为18位，由数字和大写字母组成（不含 I、O、Z、S、V），收到“{value}”", field=field
        )
    authority = REGISTRATION_AUTHORITIES.get(value[0])
    if authority is None:
        raise InputError(f"{field}第1位“{value[0]}”不是登记管理部门代码（GB 32100：1、5、9、Y 等）", field=field)
    name, kinds = authority
    if value[1] not in kinds:
        listed = "、".join(f"{k} {v}" for k, v in kinds.items())
        raise InputError(f"{field}第2位“{value[1]}”不是{name}登记的机构类别代码（可为：{listed}）", field=field)
    region = value[2:8]
    if not region.isdigit() or (region[:2] not in PROVINCES and region[:2] != "10"):
        raise InputError(f"{field}第3～8位“{region}”应为登记管理机关的行政区划代码（6位数字）", field=field)
    expected = credit_code_check_digit(value[:17])
    if value[17] != expected:
        raise InputError(f"{field}校验位错误：末位应为 {expected}，收到 {value[17]}", field=field)
    return value


def check_phone(value: str, field: str = "联系电话") -> str:
    """A mainland mobile number, or a landline with its area code (and an extension).

    Stored as ``13800138000`` or ``0571-87654321`` (``-808`` for an extension); short
    service numbers, 400 numbers and anything else are refused: these numbers are printed
    on official notices for the applicant to be called back.
    """
    typed = check_text(value, field, max_length=40)
    text = re.sub(r"[\s\-]+", "-", unicodedata.normalize("NFKC", typed).upper()).strip("-")
    compact = text.replace("-", "")
    mobile = _MOBILE.fullmatch(compact)
    if mobile:
        return mobile.group(1)
    landline = _LANDLINE.fullmatch(compact) or _LANDLINE.fullmatch(text)
    if landline:
        area, number, extension = landline.groups()
        return f"{area}-{number}" + (f"-{extension}" if extension else "")
    raise InputError(
        f"{field}格式不正确：“{typed}”（手机号为11位；固定电话须带区号，如 0571-87654321，分机号写在最后，如 -808）",
        field=field,
    )


def parse_date(value: str | _dt.date | None, field: str) -> _dt.date:
    """Parse ``YYYY-MM-DD`` into a date, refusing impossible dates such as 2026-02-30."""
    if isinstance(value, _dt.date):
        return value
    text = normal_form(value, field)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", text):
        raise InputError(f"{field}格式应为 YYYY-MM-DD（例如 2026-10-10），收到“{text}”", field=field)
    try:
        return _dt.date(*(int(part) for part in text.split("-")))
    except ValueError:
        raise InputError(f"{field}“{text}”不是一个存在的日期", field=field) from None


def parse_datetime(value: str, field: str) -> _dt.datetime:
    """Parse ``YYYY-MM-DD HH:MM``."""
    text = normal_form(value, field)
    match = re.fullmatch(r"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[ T]+([0-9]{1,2}):([0-9]{2})", text)
    if not match:
        raise InputError(f"{field}格式应为 “YYYY-MM-DD HH:MM”（例如 2026-10-12 09:30），收到“{text}”", field=field)
    day = parse_date(match.group(1), field)
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InputError(f"{field}中的时间 {hour}:{minute:02d} 不存在", field=field)
    return _dt.datetime(day.year, day.month, day.day, hour, minute)


def check_positive_int(value, field: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer within bounds (full-width digits are read as digits)."""
    try:
        number = int(unicodedata.normalize("NFKC", value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise InputError(f"{field}应为整数，收到“{value}”", field=field) from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"{minimum}～{maximum}" if maximum is not None else f"不小于{minimum}"
        raise InputError(f"{field}应为{bound}的整数，收到 {number}", field=field)
    return number


def check_choice(value: str, field: str, choices: dict[str, str]) -> str:
    """Map ``value`` (an English key or its Chinese label) to the English key."""
    text = check_text(value, field)
    if text in choices:
        return text
    for key, label in choices.items():
        if text == label:
            return key
    listed = "、".join(f"{k}（{v}）" for k, v in choices.items())
    raise InputError(f"{field}“{text}”无效，可选：{listed}", field=field)


def mask_id(value: str) -> str:
    """Mask an ID number for printing: keep the first 6 and last 4 characters."""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def format_cn_date(day: _dt.date) -> str:
    """``2026年10月10日``: Arabic numerals, no zero padding (GB/T 9704)."""
    return f"{day.year}年{day.month}月{day.day}日"
