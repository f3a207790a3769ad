"""Extensions (art. 42) and conclusions approved by accounts, never by typed names.

A clerk asks; a unit head of the case's unit approves or refuses in their own session;
nobody decides their own request; a head who asks is approved at once. The limit rules stay:
once only, within the statutory extension, before the due date.
"""

import datetime as dt
import json

import pytest
from docx import Document
from sqlalchemy import select

from archive.core import store as st
from archive.core.errors import ForbiddenError, InputError, NotFoundError, StateError
from archive.window import cases

from .conftest import DEMO_DAY, add_account
from .test_cases import docx_text, make_case


def _events(session, case_no):
    return [(s.action, s.operator, s.detail.get("approver")) for s in cases.timeline(session, case_no)]


def test_a_clerk_asks_and_the_unit_head_approves_as_himself(session):
    case = make_case(session).case  # SJ: 王芳 (clerk) asks, 钱进 (SJ's unit head) decides
    asked = cases.extend(session, case.case_no, days=10, reason="需现场核查", on=DEMO_DAY)
    assert asked.notices == () and asked.case.due_on == case.due_on and asked.case.extended_days == 0
    shown = cases.show(session, case.case_no)
    assert shown.extension.status == "pending" and shown.extension.status_text == "延期待批"
    assert shown.to_dict()["extension"]["requested_by"] == "王芳"
    with pytest.raises(StateError, match="无须重复申请"):
        cases.extend(session, case.case_no, days=5, reason="再问一次", on=DEMO_DAY)
    with pytest.raises(ForbiddenError):  # a clerk may not approve, nor see the heads' queue
        cases.approve_extension(session, case.case_no)
    with pytest.raises(ForbiddenError):
        cases.pending_extensions(session)

    head = session.as_operator("钱进")
    [waiting] = cases.pending_extensions(head)
    assert (waiting.case_no, waiting.days, waiting.requested_by, waiting.due_on) == (
        case.case_no, 10, "王芳", case.due_on)
    approved = cases.approve_extension(head, case.case_no, on=DEMO_DAY + dt.timedelta(days=1))
    new_due = session.calendar.add_workdays(case.due_on, 10)
    assert approved.case.due_on == new_due and approved.case.extended_days == 10
    assert approved.case.extension.status == "approved" and approved.case.extension.decided_by == "钱进"
    [notice] = approved.notices
    assert notice.kind == "extension"
    text = "".join(docx_text(notice.docx).split())
    assert "经本机关负责人钱进" in text and "需现场核查" in text
    footer = " ".join(p.text for section in Document(notice.docx).sections for p in section.footer.paragraphs)
    assert "经办人：王芳" in footer  # the clerk who asked stays the notice's 经办人
    assert f"{new_due.year}年{new_due.month}月{new_due.day}日" in text
    assert cases.pending_extensions(head) == []
    assert [e for e in _events(session, case.case_no) if e[0] in ("extension_request", "extend")] == [
        ("extension_request", "王芳", None), ("extend", "钱进", "钱进")]
    with pytest.raises(StateError, match="只能延长一次"):
        cases.extend(session, case.case_no, days=1, reason="再次")


def test_a_head_who_asks_is_approved_at_once_and_recorded_so(session):
    case = make_case(session).case
    done = cases.extend(session.as_operator("钱进"), case.case_no, days=5, reason="需专家论证", on=DEMO_DAY)
    assert done.case.due_on == session.calendar.add_workdays(case.due_on, 5)
    assert done.notices[0].kind == "extension" and "负责人钱进" in "".join(docx_text(done.notices[0].docx).split())
    ext = done.case.extension
    assert (ext.status, ext.requested_by, ext.decided_by, ext.decided_on) == ("approved", "钱进", "钱进", DEMO_DAY)


def test_nobody_approves_their_own_request(session, home):
    """李强 asked as a clerk of SJ, then became its unit head: he still may not approve his own request."""
    from archive.core import accounts
    from archive.core.config import open_workspace
    from archive.core.session import Session

    add_account(home, "李强", "clerk", units=["SJ"])
    case = make_case(session).case
    cases.extend(session.as_operator("李强"), case.case_no, days=3, reason="需补充核查", on=DEMO_DAY)
    with Session(open_workspace(home), superuser=True) as su:
        accounts.grant(su, "李强", role="unit_head", units=["SJ"])
    promoted = session.as_operator("李强")
    assert cases.pending_extensions(promoted) == []  # not his to decide
    with pytest.raises(ForbiddenError, match="不能批准自己提出的延期申请"):
        cases.approve_extension(promoted, case.case_no)
    with pytest.raises(ForbiddenError, match="不能审批自己提出的延期申请"):
        cases.refuse_extension(promoted, case.case_no, reason="不必")
    assert cases.show(session, case.case_no).extension.status == "pending"
    assert cases.approve_extension(session.as_operator("钱进"), case.case_no).case.extended_days == 3


def test_the_head_of_another_unit_sees_no_such_case(session, home):
    add_account(home, "刘洋", "unit_head", units=["ZR"])
    case = make_case(session).case  # an SJ case
    cases.extend(session, case.case_no, days=3, reason="需补充核查", on=DEMO_DAY)
    other = session.as_operator("刘洋")
    assert cases.pending_extensions(other) == []
    for decide in (lambda: cases.approve_extension(other, case.case_no),
                   lambda: cases.refuse_extension(other, case.case_no, reason="不同意")):
        with pytest.raises(NotFoundError) as info:
            decide()
        assert info.value.message == f"找不到办件编号为“{case.case_no}”的办件"
    # The principal's account names no unit: every unit's requests are theirs to decide.
    assert [r.case_no for r in cases.pending_extensions(session.as_operator("赵立新"))] == [case.case_no]


def test_a_refusal_needs_a_reason_keeps_the_due_date_and_the_clerk_may_ask_again(session):
    case = make_case(session).case
    cases.extend(session, case.case_no, days=10, reason="需现场核查", on=DEMO_DAY)
    head = session.as_operator("钱进")
    with pytest.raises(InputError) as info:
        cases.refuse_extension(head, case.case_no, reason=" ")
    assert info.value.field == "不批准的理由"
    refused = cases.refuse_extension(head, case.case_no, reason="可在承诺期限内办结")
    assert refused.notices == () and refused.case.due_on == case.due_on and refused.case.extended_days == 0
    assert (refused.case.extension.status, refused.case.extension.refusal) == ("refused", "可在承诺期限内办结")
    with pytest.raises(StateError, match="没有待批准的延期申请"):
        cases.approve_extension(head, case.case_no)
    cases.extend(session, case.case_no, days=5, reason="现场核查发现新情况", on=DEMO_DAY)
    assert cases.approve_extension(head, case.case_no).case.extended_days == 5
    with session.store.read() as conn:
        rows = conn.execute(select(st.extension_requests.c.status).order_by(st.extension_requests.c.id)).scalars()
        assert list(rows) == ["refused", "approved"]


def test_too_late_once_the_due_date_has_passed(session):
    case = make_case(session).case
    after = session.calendar.add_workdays(case.due_on, 1)
    with pytest.raises(StateError) as info:
        cases.extend(session, case.case_no, days=5, reason="需现场核查", on=after)
    assert "届满" in info.value.message and "第四十二条" in info.value.message
    cases.extend(session, case.case_no, days=5, reason="需现场核查", on=case.due_on)  # the last day will do
    with pytest.raises(StateError, match=r"办结期限已于.*届满，不能再批准延期"):
        cases.approve_extension(session.as_operator("钱进"), case.case_no, on=after)
    assert cases.show(session, case.case_no).extension.status == "pending"


def test_a_paused_case_is_not_extended_until_it_resumes(session):
    case = make_case(session).case
    cases.extend(session, case.case_no, days=5, reason="需现场核查", on=DEMO_DAY)
    cases.pause(session, case.case_no, reason="专家评审", on=dt.date(2026, 9, 29))
    with pytest.raises(StateError, match="未暂停"):
        cases.approve_extension(session.as_operator("钱进"), case.case_no, on=dt.date(2026, 9, 29))


def test_a_conclusion_is_approved_by_the_head_who_concludes_and_a_waiting_request_lapses(session):
    by_clerk = make_case(session).case
    cases.extend(session, by_clerk.case_no, days=5, reason="需现场核查", on=DEMO_DAY)
    done = cases.conclude(session, by_clerk.case_no, decision="approved", on=DEMO_DAY)
    assert (done.case.approver, done.case.approved_on) == (None, None)
    assert done.case.extension.status == "lapsed"
    assert cases.pending_extensions(session.as_operator("钱进")) == []
    by_head = make_case(session).case
    done = cases.conclude(session.as_operator("钱进"), by_head.case_no, decision="approved", on=DEMO_DAY)
    assert (done.case.approver, done.case.approved_on) == ("钱进", DEMO_DAY)
    with pytest.raises(TypeError):  # no typed name is taken any more
        cases.conclude(session, make_case(session).case.case_no, decision="approved", approver="赵立新")


# -- the CLI ------------------------------------------------------------------------------------

def _run(home, *args, operator="王芳"):
    from click.testing import CliRunner

    from cli import main

    return CliRunner().invoke(main, list(args), env={"ARCHIVE_OPERATOR": operator, "ARCHIVE_HOME": str(home)},
                              catch_exceptions=False)


def test_the_cli_asks_then_the_head_approves_and_a_typed_approver_is_refused(session, home):
    case = make_case(session).case
    typed = _run(home, "case", "extend", case.case_no, "--days", "5", "--reason", "需现场核查", "--approver", "赵局长",
                 "--on", "2026-09-29")
    assert typed.exit_code == 2 and "--approver" in typed.output and "批准人不再手工填写" in typed.output
    typed = _run(home, "case", "conclude", case.case_no, "--decision", "approved", "--approver", "赵局长", "--json")
    assert typed.exit_code == 2 and json.loads(typed.stdout)["error"]["field"] == "--approver"
    assert cases.show(session, case.case_no).extension is None  # nothing written

    asked = _run(home, "case", "extend", case.case_no, "--days", "5", "--reason", "需现场核查", "--on", "2026-09-29")
    assert asked.exit_code == 0, asked.output
    assert "延期申请：延期待批（5个工作日，王芳）" in asked.output and "文书：" not in asked.output
    own = _run(home, "case", "approve-extension", case.case_no, "--on", "2026-09-29")
    assert own.exit_code == 2 and "无权批准延期" in own.output
    queue = _run(home, "case", "extensions", "--json", operator="钱进")
    assert [r["case"] for r in json.loads(queue.stdout)] == [case.case_no]
    approved = _run(home, "case", "approve-extension", case.case_no, "--on", "2026-09-29", "--json", operator="钱进")
    assert approved.exit_code == 0, approved.output
    data = json.loads(approved.stdout)
    assert data["extended_days"] == 5 and data["extension"]["decided_by"] == "钱进"
    assert [n["kind"] for n in data["notices"]] == ["extension"]
    refused = _run(home, "case", "refuse-extension", case.case_no, "--reason", "不必", operator="钱进")
    assert refused.exit_code == 2 and "没有待批准的延期申请" in refused.output
