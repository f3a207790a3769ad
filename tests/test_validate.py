import datetime as dt

import pytest

from archive.core.errors import InputError
from archive.core.validate import (
    check_credit_code,
    check_id_number,
    check_phone,
    check_text,
    credit_code_check_digit,
    format_cn_date,
    id_number_check_digit,
    mask_id,
    parse_date,
    parse_datetime,
)

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


def test_id_number_valid_and_lowercase_x_is_folded():
    assert check_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("bad", ["110105194912310021", "11010519491231002", "1101051949123100ZX", "110105194902300028"])
def test_id_number_invalid_names_the_field(bad):
    with pytest.raises(InputError) as info:
        check_id_number(bad)
    assert info.value.field == "身份证号码"
    assert info.value.exit_code == 2


def test_id_number_check_digit_message_says_expected_digit():
    with pytest.raises(InputError, match="末位应为 X"):
        check_id_number("110105194912310021")


def test_id_check_digit_known_value():
    assert id_number_check_digit("11010519491231002") == "X"


def test_credit_code_valid():
    assert check_credit_code("91350100m000100y43") == "91350100M000100Y43"


@pytest.mark.parametrize("bad", ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100I43"])
def test_credit_code_invalid(bad):
    with pytest.raises(InputError) as info:
        check_credit_code(bad)
    assert info.value.field == "统一社会信用代码"


def test_credit_code_check_digit_zero_case():
    first = "91110000MA0000000"
    digit = credit_code_check_digit(first)
    assert check_credit_code(first + digit)


@pytest.mark.parametrize("text", ["张三\x07", "甲\u0000乙", "a\u2028b"])
def test_control_characters_are_refused(text):
    with pytest.raises(InputError, match="控制字符"):
        check_text(text, "申请人姓名")


def test_text_is_stripped_and_required():
    assert check_text("  张三 ", "姓名") == "张三"
    with pytest.raises(InputError, match="不能为空"):
        check_text("   ", "姓名")


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "26-1-1", "2026/10/10"])
def test_impossible_or_malformed_dates(value):
    with pytest.raises(InputError) as info:
        parse_date(value, "收件日期")
    assert info.value.field == "收件日期"


def test_parse_datetime():
    assert parse_datetime("2026-12-01 09:30", "预约时间") == dt.datetime(2026, 12, 1, 9, 30)
    with pytest.raises(InputError):
        parse_datetime("2026-12-01 25:00", "预约时间")


@pytest.mark.parametrize("phone", ["13800138000", "0571-87654321", "057187654321", "12345"])
def test_phones(phone):
    assert check_phone(phone)


def test_bad_phone():
    with pytest.raises(InputError, match="联系电话"):
        check_phone("abc")


def test_mask_and_format():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert format_cn_date(dt.date(2026, 1, 5)) == "2026年1月5日"
