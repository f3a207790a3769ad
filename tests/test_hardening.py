"""Defects found by a hostile tester (issue 11), each shown here failing before its fix.

Input that looks right but is not what the store should hold: full-width digits, invisible
format characters, empty supplements, devices instead of files, padded operator names.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select

from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.errors import InputError, StateError
from archive.core.session import Session
from archive.lending import borrowers, copies
from archive.shelf import volumes
from archive.window import appointments, cases
from archive.window.cases import Applicant

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID
from .test_cases import counts, files, make_case
from .test_loans import lend, make_borrower, make_volume

FULL_WIDTH_ID = "１１０１０５１９４９１２３１００２X"


# -- 3. full-width digits are folded and stored in their normal form ------------------------

def test_a_full_width_id_number_is_stored_in_ascii_and_found_as_a_duplicate(session):
    first = borrowers.add(session, name="李四", unit="江州市市场监督管理局", type="internal", id_number=FULL_WIDTH_ID,
                          phone="１３８００１３８０００")
    with session.store.read() as conn:
        row = conn.execute(select(st.borrowers.c.id_number, st.borrowers.c.phone)).one()
    assert tuple(row) == (PERSON_ID, "13800138000")
    with pytest.raises(StateError, match="已登记") as info:
        borrowers.add(session, name="李四", unit="江州市市场监督管理局", type="internal", id_number=PERSON_ID,
                      phone="13800138000")
    assert first.code in info.value.message
    assert borrowers.get(session, "ＪＺ０００１").code == first.code


def test_full_width_dates_and_codes_reach_the_store_as_ascii(session):
    result = make_case(session, received_on="２０２６－０９－２８", applicant=Applicant.person("张三", FULL_WIDTH_ID, "13800138000"),
                       materials=["Ｍ０１", "M02", "M03", "M04", "M05", "M06"])
    case = result.case
    assert case.received_on == DEMO_DAY and case.applicant.id_number == PERSON_ID
    assert case.materials[0] == "M01"
    wide_no = case.case_no.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert cases.show(session, wide_no).case_no == case.case_no
    booked = appointments.book(session, name="张三", phone="13800138000", id_number=FULL_WIDTH_ID, with_whom="赵局长",
                               at="２０２６－１２－０１　０９：３０", place="三楼", matter="咨询")
    assert booked.starts_at == dt.datetime(2026, 12, 1, 9, 30)


def test_full_width_page_specs_are_read_as_pages():
    assert copies.parse_pages("１－３，５", 9) == (1, 2, 3, 5)
    with pytest.raises(InputError, match="页码"):
        copies.parse_pages("١-٣", 9)


# -- 4. invisible format characters in text fields --------------------------------------------

@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u200f", "\ufeff"])
def test_an_applicant_name_with_a_format_character_is_refused_and_nothing_is_written(session, home, char):
    before, documents = counts(session), files(home)
    with pytest.raises(InputError, match="申请人姓名.*格式字符"):
        make_case(session, applicant=Applicant.person(f"张{char}三李", PERSON_ID, "13800138000"))
    assert counts(session) == before and files(home) == documents


def test_format_characters_are_refused_in_other_text_fields_naming_them(session):
    case_no = make_case(session).case.case_no
    with pytest.raises(InputError) as info:
        cases.conclude(session, case_no, decision="denied", reason="不符合\u200b条件")
    assert "不予许可的理由" in info.value.message or "理由" in str(info.value.field)
    with pytest.raises(InputError, match="格式字符"):
        make_borrower(session, name="王\u2066五")


# -- 5. an empty supplement -------------------------------------------------------------------

@pytest.mark.parametrize("materials", [[], [""], [","], ["，", " "]])
def test_a_supplement_with_no_materials_is_refused_and_takes_no_number(session, materials):
    case_no = make_case(session, materials=["M01"]).case.case_no
    before = counts(session)
    with pytest.raises(InputError, match="补交的材料") as info:
        cases.supplement(session, case_no, materials=materials)
    assert info.value.field == "materials" and info.value.exit_code == 2
    assert counts(session) == before


# -- 6. attaching something that is not a regular file ------------------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_attaching_a_device_is_refused_without_reading_it(session, device):
    case_no = make_case(session).case.case_no
    with pytest.raises(InputError, match="不是普通文件") as info:
        volumes.attach(session, case_no, device, title="扫描件")
    assert info.value.field == "file"


def test_attaching_a_pipe_is_refused_without_waiting_for_a_writer(session, tmp_path):
    case_no = make_case(session).case.case_no
    fifo = tmp_path / "scan.pdf"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="不是普通文件"):
        volumes.attach(session, case_no, fifo, title="扫描件")


def test_an_oversized_attachment_is_refused_before_it_is_read(session, tmp_path, monkeypatch):
    case_no = make_case(session).case.case_no
    big = tmp_path / "big.pdf"
    with open(big, "wb") as fh:  # sparse: 300 MB that take no disk
        fh.truncate(300 * 1024 * 1024)
    with pytest.raises(InputError, match="超过 200MB"):
        volumes.attach(session, case_no, big, title="扫描件")


# -- 11. operator names and the order of the applicant checks ----------------------------------

def test_a_padded_operator_is_recorded_stripped(home):
    with Session(open_workspace(home), operator="  王芳 ", today=DEMO_DAY) as session:
        assert session.operator_name == "王芳"
        make_case(session)
        with session.store.read() as conn:
            assert set(conn.execute(select(st.events.c.operator).where(st.events.c.action == "receive")).scalars()) == {"王芳"}


def test_the_credit_code_is_checked_before_the_legal_representative_and_the_phone():
    with pytest.raises(InputError) as info:
        Applicant.organisation("甲公司", ORG_CODE[:-1] + "0", "", "12345")
    assert info.value.field == "统一社会信用代码"
    with pytest.raises(InputError) as info:
        Applicant.organisation("甲公司", ORG_CODE, "", "12345")
    assert info.value.field == "法定代表人"
