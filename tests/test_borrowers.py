"""Borrowers: registration with a validated ID number, roles, listing, blocking."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from archive.lending import borrowers
from archive.core import store as st
from archive.core.errors import InputError, NotFoundError, StateError

from archive.core.session import Session

from .conftest import DEMO_DAY, PERSON_ID
from .test_loans import id_number, lend, make_borrower, make_volume


def test_add_gives_a_borrower_number_and_the_default_role_of_the_type(session):
    b = borrowers.add(session, name="李四", unit="江州市市场监督管理局", type="internal", id_number=PERSON_ID,
                      phone="13800138000")
    assert (b.code, b.type, b.role, b.blocked) == ("JZ0001", "internal", "staff", False)
    data = b.to_dict()
    assert data["borrower"] == "JZ0001" and data["type_name"] == "内部人员"
    assert data["id_number"] == "110105********002X"  # masked in every output
    citizen = borrowers.add(session, name="王五", unit=None, type="社会公众", id_number=id_number(7), phone="0792-8512345")
    assert (citizen.code, citizen.type, citizen.role, citizen.unit) == ("JZ0002", "public", "public", "个人")
    with session.store.read() as conn:
        events = conn.execute(select(st.events).where(st.events.c.action == "borrower_add")).all()
    assert [e.subject for e in events] == ["JZ0001", "JZ0002"] and events[0].operator == "王芳"


@pytest.mark.parametrize("bad, field, words", [
    ({"id_number": "110105194912310021"}, "id_number", "校验位"),
    ({"id_number": "11010519491331002X"}, "id_number", "出生日期"),
    ({"phone": "12345678901234"}, "phone", "联系电话"),
    ({"type": "visitor"}, "type", "社会公众"),
    ({"name": "  "}, "借阅人姓名", "不能为空"),
    ({"unit": None}, "借阅人单位", "不能为空"),
    ({"role": "boss"}, "role", "staff"),
])
def test_bad_input_is_refused_naming_the_field(session, bad, field, words):
    args = dict(name="李四", unit="江州市市场监督管理局", type="internal", id_number=PERSON_ID, phone="13800138000")
    args.update(bad)
    with pytest.raises(InputError) as exc:
        borrowers.add(session, **args)
    assert exc.value.field == field and words in str(exc.value)
    assert borrowers.list_borrowers(session) == []


def test_an_id_number_is_registered_once(session):
    make_borrower(session, id_number=PERSON_ID)
    with pytest.raises(StateError) as exc:
        make_borrower(session, id_number=PERSON_ID.lower())
    assert "JZ0001" in exc.value.message


def test_explicit_role(session):
    with Session(session.ws, operator="陈静", today=DEMO_DAY) as archivist:
        assert make_borrower(archivist, role="archivist").role == "archivist"


def test_a_role_wider_than_ones_own_cannot_be_given_to_a_borrower(session):
    from archive.core.errors import ForbiddenError

    with pytest.raises(ForbiddenError) as exc:  # 王芳 is a clerk: 开放 and 控制, nothing classified
        make_borrower(session, role="principal")
    assert exc.value.field == "role" and "principal" in exc.value.message
    assert make_borrower(session, role="staff").role == "staff"


def test_find_by_number_or_id_number_and_list_filters(session):
    a = make_borrower(session, name="李四", unit="江州市档案馆")
    b = make_borrower(session, name="王五", type="agency", unit="江州市地方志办公室")
    assert borrowers.get(session, a.id_number).code == a.code
    assert borrowers.get(session, a.code.lower()).code == a.code
    with pytest.raises(NotFoundError):
        borrowers.get(session, "JZ9999")
    assert [x.code for x in borrowers.list_borrowers(session, type="agency")] == [b.code]
    assert [x.code for x in borrowers.list_borrowers(session, query="档案")] == [a.code]
    borrowers.block(session, b.code, reason="逾期不还")
    assert [x.code for x in borrowers.list_borrowers(session, blocked=True)] == [b.code]
    assert [x.code for x in borrowers.list_borrowers(session, blocked=False)] == [a.code]


def test_show_lists_open_loans(session):
    reader = make_borrower(session)
    code = make_volume(session)
    loan = lend(session, code, reader)
    record = borrowers.show(session, reader.code)
    assert [x.loan for x in record.open_loans] == [loan.loan] and record.uses == 1
    assert record.to_dict()["open_loans"][0]["archival_code"] == code


def test_block_and_unblock_are_recorded(session):
    reader = make_borrower(session)
    with pytest.raises(InputError):
        borrowers.block(session, reader.code)  # a reason is required
    blocked = borrowers.block(session, reader.code, reason="损坏档案，待处理")
    assert blocked.blocked and blocked.blocked_reason == "损坏档案，待处理"
    with pytest.raises(StateError):
        borrowers.block(session, reader.code, reason="again")
    assert not borrowers.block(session, reader.code, unblock=True).blocked
    with pytest.raises(StateError):
        borrowers.block(session, reader.code, unblock=True)
    with session.store.read() as conn:
        actions = [e.action for e in conn.execute(select(st.events).where(st.events.c.subject == reader.code))]
    assert actions == ["borrower_add", "borrower_block", "borrower_unblock"]
