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


@pytest.mark.parametrize("phone, stored", [
    ("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"), ("１３８００１３８０００", "13800138000"),
    ("0571-87654321", "0571-87654321"), ("057187654321", "0571-87654321"), ("(0571)87654321", "0571-87654321"),
    ("010 8765 4321", "010-87654321"), ("0591-8765432", "0591-8765432"), ("0571-87654321-808", "0571-87654321-808"),
    ("0571-87654321转808", "0571-87654321-808"), ("０５７１－８７６５４３２１", "0571-87654321"),
])
def test_phones_are_stored_in_their_normal_form(phone, stored):
    assert check_phone(phone) == stored


@pytest.mark.parametrize("bad", ["abc", "12345", "95588", "400-800-1234", "1380013800", "23800138000",
                                 "0571-0765432", "87654321", "0571-876543210"])
def test_anything_but_a_mobile_or_a_landline_with_area_code_is_refused(bad):
    with pytest.raises(InputError, match="联系电话") as info:
        check_phone(bad)
    assert info.value.field == "联系电话"


FULL_WIDTH_ID = "１１０１０５１９４９１２３１００２X"


def test_full_width_codes_and_dates_are_folded_to_ascii_before_checking():
    assert check_id_number(FULL_WIDTH_ID) == "11010519491231002X"
    assert check_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert check_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"
    assert parse_date("２０２６－１０－１０", "收件日期") == dt.date(2026, 10, 10)
    assert parse_datetime("２０２６－１２－０１　０９：３０", "预约时间") == dt.datetime(2026, 12, 1, 9, 30)


def test_a_full_width_check_digit_is_reported_in_ascii():
    with pytest.raises(InputError) as info:
        check_id_number("１１０１０５１９４９１２３１００２１")
    assert info.value.message.endswith("末位应为 X，收到 1，请核对证件后重新输入")


@pytest.mark.parametrize("digits", ["١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "११०१०५१९४९१२३१००२X"])
def test_other_scripts_digits_are_not_digits_of_an_id_number(digits):
    with pytest.raises(InputError, match="应为18位"):
        check_id_number(digits)


@pytest.mark.parametrize("char", ["\u202e", "\u202d", "\u200b", "\u200f", "\u200d", "\ufeff", "\u2066", "\u00ad"])
def test_invisible_format_characters_are_refused_naming_the_field(char):
    with pytest.raises(InputError, match="格式字符") as info:
        check_text(f"张{char}三李", "申请人姓名")
    assert info.value.field == "申请人姓名" and "申请人姓名" in info.value.message


def test_id_number_must_start_with_a_province_level_code():
    first = "990105194912310" + "02"  # 99 is no province
    with pytest.raises(InputError, match="省级行政区划代码"):
        check_id_number(first + id_number_check_digit(first))
    old = "43302119850101001"  # an abolished county (433021) stays valid for life
    assert check_id_number(old + id_number_check_digit(old))


@pytest.mark.parametrize("first17, reason", [
    ("295B0126EMU7QBEQ7", "第3～8位"),    # letters in the region
    ("91990100M000100Y4", "第3～8位"),    # 99 is no province
    ("B1350100M000100Y4", "第1位"),       # no such registration authority
    ("94350100M000100Y4", "第2位"),       # market regulation registers types 1-3 only
    ("Y2350100M000100Y4", "第2位"),
])
def test_credit_code_region_and_gb32100_tables(first17, reason):
    with pytest.raises(InputError, match=reason):
        check_credit_code(first17 + credit_code_check_digit(first17))


@pytest.mark.parametrize("first17", ["91350100M000100Y4", "12100000400000398", "51110000500021676",
                                     "N2350100MA000000X", "31350000MD0000000", "Y1350100MA0000000"])
def test_credit_codes_of_each_kind_pass(first17):
    code = first17 + credit_code_check_digit(first17)
    assert check_credit_code(code) == code


def test_mask_and_format():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert format_cn_date(dt.date(2026, 1, 5)) == "2026年1月5日"
