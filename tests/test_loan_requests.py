"""Loan requests: a reader asks, a head decides in their own session, the desk lends on it."""

import pytest

from archive.core.errors import ForbiddenError, InputError, NotFoundError, StateError
from archive.lending import borrowers, loans, requests

from .test_loans import id_number, make_volume


@pytest.fixture
def session(archivist):
    return archivist


@pytest.fixture
def reader(session):
    """吴刚 (role reader) with a borrower's card linked to his account."""
    card = borrowers.add(session, name="吴刚", unit="江州市档案馆", type="internal", id_number=id_number(5),
                         phone="13800138000", account="吴刚")
    return session.as_operator("吴刚"), card


def test_a_request_the_rules_do_not_make_wait_is_approved_at_once(session, reader):
    as_reader, card = reader
    code = make_volume(session)
    made = requests.request(as_reader, code, mode="read", purpose="学术研究")
    assert (made.status, made.approval_needed, made.borrower) == ("approved", "none", card.code)
    assert [r.number for r in requests.mine(as_reader)] == [made.number]
    loan = loans.lend(session, code, borrower=card.code, purpose="学术研究", mode="read")
    assert loan.loan and requests.mine(as_reader)[0].status == "used"


def test_a_loan_waits_for_a_head_who_is_not_the_reader_and_the_desk_lends_on_the_approval(session, reader):
    as_reader, card = reader
    code = make_volume(session)
    made = requests.request(as_reader, code, mode="loan", purpose="工作查考", note="编写年鉴")
    assert made.status == "pending" and made.approval_needed == "head-in-charge"
    with pytest.raises(StateError):
        requests.request(as_reader, code, mode="loan")  # once is enough
    with pytest.raises(ForbiddenError):
        requests.pending(as_reader)  # the queue is the heads'
    head = session.as_operator("周敏")
    assert [r.number for r in requests.pending(head)] == [made.number]
    with pytest.raises(InputError):
        requests.decide(head, made.number, approve=False)  # a refusal says why
    decided = requests.decide(head, made.number, approve=True)
    assert decided.status == "approved" and decided.decided_by == "周敏"
    with pytest.raises(StateError):
        requests.decide(head, made.number, approve=False, note="再议")
    loan = loans.lend(session, code, borrower=card.code, purpose="工作查考", mode="loan")
    assert (loan.approved_by, loan.approver_level) == ("周敏", "head-in-charge")


def test_what_the_reader_may_not_see_cannot_be_requested_and_nobody_approves_their_own(session, reader):
    as_reader, _card = reader
    hidden = make_volume(session, access="控制")
    with pytest.raises(NotFoundError):
        requests.request(as_reader, hidden, mode="read")
    principal = session.as_operator("赵立新")  # may both ask and approve
    borrowers.add(session, name="赵立新", unit="江州市政务服务中心", type="internal", id_number=id_number(6),
                  phone="13800138000", account="赵立新")
    own = requests.request(principal, make_volume(session), mode="loan")
    with pytest.raises(ForbiddenError):
        requests.decide(principal, own.number, approve=True)
    assert requests.decide(session.as_operator("周敏"), own.number, approve=True).status == "approved"
