"""Validation of what people type at the window.

Every checker takes the raw value and the name of the field as the user knows it, and
either returns the cleaned value or raises :class:`~archive.core.errors.InputError` naming that
field. Check digits follow the national standards: GB 11643-1999 for resident ID numbers
and GB 32100-2015 for unified social credit codes.
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

_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{5,8})$")


def check_text(value: str | None, field: str, *, required: bool = True, max_length: int = 500) -> str:
    """Strip ``value`` and refuse control characters, empty values and overlong text."""
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
        if unicodedata.category(char) in ("Cc", "Cs", "Co") or char in "\u2028\u2029":
            raise InputError(
                f"{field}含有不可见的控制字符（第{position}个字符 U+{ord(char):04X}），请删除后重新输入",
                field=field,
            )
    if len(value) > max_length:
        raise InputError(f"{field}过长（{len(value)}个字符，最多{max_length}个）", field=field)
    return value


def id_number_check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def check_id_number(value: str, field: str = "身份证号码") -> str:
    """Validate an 18-digit resident ID number: format, birth date and check digit."""
    value = check_text(value, field).upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise InputError(f"{field}应为18位（前17位为数字，末位为数字或X），收到“{value}”", field=field)
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
    value = check_text(value, field).upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        raise InputError(
            f"{field}应为18位，由数字和大写字母组成（不含 I、O、Z、S、V），收到“{value}”", field=field
        )
    expected = credit_code_check_digit(value[:17])
    if value[17] != expected:
        raise InputError(f"{field}校验位错误：末位应为 {expected}，收到 {value[17]}", field=field)
    return value


def check_phone(value: str, field: str = "联系电话") -> str:
    """A mobile number, a landline with area code, or a short service number."""
    value = check_text(value, field).replace(" ", "")
    if not _PHONE.fullmatch(value):
        raise InputError(f"{field}格式不正确：“{value}”（手机号11位，固定电话请带区号）", field=field)
    return value


def parse_date(value: str | _dt.date | None, field: str) -> _dt.date:
    """Parse ``YYYY-MM-DD`` into a date, refusing impossible dates such as 2026-02-30."""
    if isinstance(value, _dt.date):
        return value
    text = check_text(value, field)
    if not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        raise InputError(f"{field}格式应为 YYYY-MM-DD（例如 2026-10-10），收到“{text}”", field=field)
    try:
        return _dt.date(*(int(part) for part in text.split("-")))
    except ValueError:
        raise InputError(f"{field}“{text}”不是一个存在的日期", field=field) from None


def parse_datetime(value: str, field: str) -> _dt.datetime:
    """Parse ``YYYY-MM-DD HH:MM``."""
    text = check_text(value, field)
    match = re.fullmatch(r"(\d{4}-\d{1,2}-\d{1,2})[ T](\d{1,2}):(\d{2})", text)
    if not match:
        raise InputError(f"{field}格式应为 “YYYY-MM-DD HH:MM”（例如 2026-10-12 09:30），收到“{text}”", field=field)
    day = parse_date(match.group(1), field)
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InputError(f"{field}中的时间 {hour}:{minute:02d} 不存在", field=field)
    return _dt.datetime(day.year, day.month, day.day, hour, minute)


def check_positive_int(value, field: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer within bounds."""
    try:
        number = int(value)
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
