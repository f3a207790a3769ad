import datetime as dt
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

from archive.window import cases
from archive.core import store as st
from archive.window.cases import Applicant
from archive.core.errors import CalendarMissingError, InputError, NotFoundError, StateError

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID, at_window

FOOD = "SJ-XK-003"  # 食品经营许可（新办）: promised 5, statutory 10, M01–M06 required
FOOD_ALL = ["M01", "M02", "M03", "M04", "M05", "M06"]


def make_case(session, **overrides):
    """Receive a case with complete defaults; override any argument of cases.receive."""
    args = dict(item_code=FOOD, applicant=Applicant.person("张三", PERSON_ID, "13800138000"), materials=FOOD_ALL,
                received_on=DEMO_DAY)
    args.update(overrides)
    return cases.receive(at_window(session), **args)


def docx_text(path) -> str:
    doc = Document(path)
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def counts(session):
    with session.store.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (st.cases, st.notices, st.counters, st.events)}


def files(home: Path):
    return sorted(p for p in (home / "documents").rglob("*") if p.is_file())


def test_complete_materials_are_accepted_with_due_date_across_national_day(session):
    result = make_case(session)
    case = result.case
    assert case.status == "accepted"
    assert case.accepted_on == DEMO_DAY
    # 9-28 (Mon) receipt does not count: 9-29, 9-30, then 10-1…10-8 holiday (10-10 is a make-up Saturday)
    assert case.due_on == session.calendar.add_workdays(DEMO_DAY, 5)
    assert case.due_on > dt.date(2026, 10, 8)
    [notice] = result.notices
    assert notice.kind == "receipt"
    text = docx_text(notice.docx)
    assert notice.number in text and case.case_no in text
    assert "食品经营许可（新办）" in text
    assert "2026年9月28日" in text


def test_incomplete_materials_get_one_supplement_notice_listing_everything(session):
    result = make_case(session, materials=["M01", "M02", "M04"], defects={"M04": "未加盖公章"})
    case = result.case
    assert case.status == "needs_supplement"
    assert case.due_on is None
    assert set(case.missing) == {"M03", "M04", "M05", "M06"}
    [notice] = result.notices
    assert notice.kind == "supplement"
    text = docx_text(notice.docx)
    assert "未加盖公章" in text and "未提交" in text


def test_supplement_completes_and_clock_starts_from_that_day(session):
    first = make_case(session, materials=["M01", "M02"])
    later = dt.date(2026, 10, 9)
    done = cases.supplement(session, first.case.case_no, materials=["M03", "M04", "M05", "M06"], on=later)
    assert done.case.status == "accepted"
    assert done.case.accepted_on == later
    assert done.case.due_on == session.calendar.add_workdays(later, 5)
    assert done.notices[0].kind == "receipt"


def test_partial_supplement_issues_a_new_notice_for_what_is_still_missing(session):
    first = make_case(session, materials=["M01"])
    again = cases.supplement(session, first.case.case_no, materials=["M02"], on=DEMO_DAY)
    assert again.case.status == "needs_supplement"
    assert "M02" not in again.case.missing and "M03" in again.case.missing


def test_organisation_applicant_with_credit_code(session):
    who = Applicant.organisation("甲&乙<联合体>公司", ORG_CODE, "李四", "0792-85123456")
    result = make_case(session, applicant=who)
    text = docx_text(result.notices[0].docx)
    assert "甲&乙<联合体>公司" in text
    assert ORG_CODE in text


def test_unknown_material_code_is_refused_and_nothing_is_written(session, home):
    before, before_files = counts(session), files(home)
    with pytest.raises(InputError) as info:
        make_case(session, materials=["M01", "M99"])
    assert info.value.field == "materials"
    assert counts(session) == before and files(home) == before_files


def test_unknown_item_is_refused(session):
    with pytest.raises(NotFoundError):
        make_case(session, item_code="NOPE-1")


def test_failure_while_rendering_leaves_no_case_no_number_no_file(session, home, monkeypatch):
    from archive.documents import render as documents

    before, before_files = counts(session), files(home)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(documents, "render_notice", broken)
    with pytest.raises(RuntimeError):
        make_case(session)
    assert counts(session) == before and files(home) == before_files
    monkeypatch.undo()
    # the number that failed is not lost: the next notice takes it
    assert make_case(session).notices[0].number.endswith("〔2026〕1号")


def test_numbers_are_gap_free_per_unit_kind_and_year(session):
    numbers = [make_case(session).notices[0].number for _ in range(3)]
    assert [n.split("〕")[1] for n in numbers] == ["1号", "2号", "3号"]
    supplement = make_case(session, materials=["M01"]).notices[0].number
    assert supplement.split("〕")[1] == "1号"  # a different kind counts on its own


def test_reject_out_of_scope_names_competent_organ_and_appeal_rights(session):
    received = make_case(session, materials=["M01"])
    result = cases.reject(session, received.case.case_no, ground="out-of-scope", reason="由区级部门实施",
                          competent_organ="江州市江城区市场监督管理局", on=DEMO_DAY)
    assert result.case.status == "not_accepted"
    text = docx_text(result.notices[0].docx)
    assert "江州市江城区市场监督管理局" in text
    assert "60日内" in text and "6个月内" in text
    unit = session.ws.unit("SJ")
    assert unit["reconsideration_body"] in text and unit["court"] in text


def test_reject_out_of_scope_requires_competent_organ(session):
    received = make_case(session, materials=["M01"])
    with pytest.raises(InputError) as info:
        cases.reject(session, received.case.case_no, ground="out-of-scope", reason="x")
    assert info.value.field == "有权机关"


def test_accepted_case_cannot_be_rejected(session):
    accepted = make_case(session)
    with pytest.raises(StateError):
        cases.reject(session, accepted.case.case_no, ground="not-required", reason="x")


def test_pause_and_resume_move_due_date_by_paused_working_days(session):
    case = make_case(session).case
    paused = cases.pause(session, case.case_no, reason="专家评审", on=dt.date(2026, 9, 29), expected_days=3)
    assert paused.case.status == "paused"
    assert paused.notices[0].kind == "excluded_time"
    resumed = cases.resume(session, case.case_no, on=dt.date(2026, 10, 13))
    moved = session.calendar.workdays_between(dt.date(2026, 9, 29), dt.date(2026, 10, 13))
    assert resumed.case.paused_workdays == moved
    assert resumed.case.due_on == session.calendar.add_workdays(case.due_on, moved)


def test_extension_only_once_and_within_limit(session):
    """The clerk asks, the unit head 钱进 approves as himself (tests/test_extensions.py has the rest)."""
    case = make_case(session).case
    with pytest.raises(InputError):
        cases.extend(session, case.case_no, days=11, reason="复杂")
    asked = cases.extend(session, case.case_no, days=10, reason="需现场核查", on=DEMO_DAY)
    assert asked.notices == () and asked.case.due_on == case.due_on
    extended = cases.approve_extension(session.as_operator("钱进"), case.case_no, on=DEMO_DAY)
    assert extended.case.due_on == session.calendar.add_workdays(case.due_on, 10)
    assert extended.notices[0].kind == "extension"
    with pytest.raises(StateError, match="只能延长一次"):
        cases.extend(session, case.case_no, days=1, reason="再次")


def test_conclude_denied_issues_denial_with_reasons(session):
    case = make_case(session).case
    result = cases.conclude(session, case.case_no, decision="denied", reason="现场核查不符合条件", on=DEMO_DAY)
    assert result.case.status == "concluded" and result.case.sealed_at is not None
    text = docx_text(result.notices[0].docx)
    assert "现场核查不符合条件" in text and "行政复议" in text


def test_denial_needs_a_reason(session):
    case = make_case(session).case
    with pytest.raises(InputError):
        cases.conclude(session, case.case_no, decision="denied")


def test_paused_case_cannot_be_concluded(session):
    case = make_case(session).case
    cases.pause(session, case.case_no, reason="检测", on=DEMO_DAY)
    with pytest.raises(StateError, match="恢复计时"):
        cases.conclude(session, case.case_no, decision="approved")


def test_deferred_case_warns_then_is_deemed_accepted_after_five_working_days(session):
    case = make_case(session, materials=["M01"], defer=True).case
    assert case.status == "received"
    assert case.check_due_on == session.calendar.add_workdays(DEMO_DAY, 5)
    assert any("补正告知期限" in w for w in case.warnings)
    session.today = case.check_due_on + dt.timedelta(days=1)
    shown = cases.show(session, case.case_no)
    assert shown.status == "accepted" and shown.deemed_accepted
    assert shown.accepted_on == DEMO_DAY
    assert [n.kind for n in shown.notices] == ["receipt"]


def test_deferred_case_examined_in_time_gets_supplement_notice(session):
    case = make_case(session, materials=["M01"], defer=True).case
    result = cases.examine(session, case.case_no, on=dt.date(2026, 9, 29))
    assert result.case.status == "needs_supplement"


def test_pending_materials_case_is_accepted_with_pending_list(session):
    result = make_case(session, item_code="SJ-XK-004", materials=["M01", "M02"])
    assert result.case.status == "accepted"
    assert "待补交" in docx_text(result.notices[0].docx)



@pytest.mark.parametrize("kind, overrides", [
    ("complete", {}),
    ("supplement", {"materials": ["M01", "M02", "M04"], "defects": {"M04": "未加盖公章"}}),
    ("deferred", {"defer": True}),
    ("pending materials", {"item_code": "SJ-XK-004", "materials": ["M01", "M02"]}),
    ("joint", {"item_code": "SJ-XK-002", "materials": ["M01", "M02", "M03", "M04", "M05", "M06"]}),
])
def test_the_case_receive_returns_is_the_case_as_stored(session, kind, overrides):
    # receive builds the new case from what it inserted instead of reading it back
    result = make_case(session, **overrides)
    assert result.case == cases.show(session, result.case.case_no)
    assert result.case.notices == result.notices

def test_joint_case_prints_three_parts(session):
    result = make_case(session, item_code="SJ-XK-002", materials=["M01", "M02", "M03", "M04", "M05", "M06"])
    text = docx_text(result.notices[0].docx)
    assert "第三联" in text and "中心存查" in text


def test_missing_calendar_year_is_an_error_naming_the_year(session):
    with pytest.raises(CalendarMissingError) as info:
        make_case(session, item_code="SJ-XK-002", received_on=dt.date(2027, 3, 1),
                  materials=["M01", "M02", "M03", "M04", "M05", "M06"])
    assert "2027" in str(info.value) and "calendar load" in str(info.value)


def test_every_action_records_the_operator(session):
    case = make_case(session).case
    with session.store.read() as conn:
        operators = set(conn.execute(select(st.events.c.operator).where(st.events.c.subject == case.case_no)).scalars())
    assert operators == {"王芳"}


def test_list_filters(session):
    a = make_case(session).case
    make_case(session, materials=["M01"])
    assert [c.case_no for c in cases.list_cases(session, status="accepted")] == [a.case_no]
    session.today = a.due_on + dt.timedelta(days=7)
    assert [c.case_no for c in cases.list_cases(session, overdue=True)] == [a.case_no]


def test_reprint_keeps_number_and_is_marked(session):
    from archive.window import notices

    original = make_case(session).notices[0]
    again = notices.reprint(session, original.number)
    assert again.number == original.number and again.docx != original.docx
    assert "补打" in docx_text(again.docx)
    assert Path(original.docx).exists()


def test_appointment_on_a_holiday_is_refused(session):
    from archive.window import appointments

    with pytest.raises(StateError, match="不是工作日"):
        appointments.book(session, name="张三", phone="13800138000", with_whom="赵局长", at="2026-10-01 09:30",
                          place="三楼", matter="咨询")


# -- issue 12: approvals, pending materials, on-the-spot, excluded time ------------------------

PENDING = "SJ-XK-004"  # 食品经营许可变更: 补办件, M01–M03 required


def test_pending_materials_are_due_by_a_date_and_block_an_approval(session):
    result = make_case(session, item_code=PENDING, materials=["M01", "M02"])
    case = result.case
    assert case.status == "accepted" and case.missing == ("M03",)
    due = session.calendar.add_workdays(DEMO_DAY, int(session.ws.get("pending_materials_days")))
    assert case.pending_due == {"M03": due}
    assert any("待补交材料M03须于" in w for w in case.warnings)
    with pytest.raises(StateError) as info:
        cases.conclude(session.as_operator("钱进"), case.case_no, decision="approved", on=DEMO_DAY)
    assert "待补交材料" in info.value.message
    handed = cases.supplement(session, case.case_no, materials=["M03"], on=dt.date(2026, 9, 29))
    assert handed.case.missing == () and handed.notices == () and handed.case.status == "accepted"
    # The unit head concludes: the approver is his account, not a typed name.
    done = cases.conclude(session.as_operator("钱进"), case.case_no, decision="approved", on=dt.date(2026, 9, 30))
    assert done.case.approver == "钱进" and done.case.approved_on == dt.date(2026, 9, 30)


def test_a_denial_may_still_be_made_while_materials_are_owed(session):
    case = make_case(session, item_code=PENDING, materials=["M01", "M02"]).case
    result = cases.conclude(session, case.case_no, decision="denied", reason="场所不符", on=DEMO_DAY)
    text = docx_text(result.notices[0].docx)
    assert "理由：场所不符。" in text and "决定不予行政许可。" in text


def test_on_the_spot_cases_never_count_down(session):
    case = make_case(session, item_code="SJ-XK-001", materials=["M01", "M02", "M03", "M04", "M05"]).case
    assert not case.warnings  # no “即将届满” on the day itself
    text = docx_text(case.notices[0].docx)
    assert "当场办结" in text and "0个工作日" not in text and "即将届满" not in text
    session.today = dt.date(2026, 9, 29)
    assert cases.show(session, case.case_no).warnings == ("即办件应于2026年9月28日当场办结，至今尚未办结",)


def test_the_excluded_time_notice_and_the_case_agree_on_the_pause(session):
    case = make_case(session).case
    paused = cases.pause(session, case.case_no, reason="需要组织专家评审。", expected_days=3, on=dt.date(2026, 9, 29))
    until = session.calendar.add_workdays(dt.date(2026, 9, 29), 3)
    text = docx_text(paused.notices[0].docx)
    assert f"预计需要3个工作日（至{until.year}年{until.month}月{until.day}日）" in text
    assert "因需要组织专家评审，" in text  # the clerk's full stop does not break the sentence
    assert paused.case.pause_expected_days == 3
    resumed = cases.resume(session, case.case_no, on=until)
    assert resumed.case.paused_workdays == 3  # as announced: counted the same way
    assert resumed.case.due_on == session.calendar.add_workdays(case.due_on, 3)


def test_the_unit_decides_the_size_of_its_seal(session, home):
    import json

    from docx.oxml.ns import qn
    from docx.shared import Mm

    from archive.core.config import open_workspace

    data = json.loads((home / "config.json").read_text(encoding="utf-8"))
    next(u for u in data["units"] if u["code"] == "SJ")["seal_size_mm"] = 45
    (home / "config.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    session.ws = open_workspace(home)
    notice = make_case(session).notices[0]
    anchor = Document(notice.docx).element.body.find(".//" + qn("wp:anchor"))
    assert int(anchor.find(qn("wp:extent")).get("cx")) == Mm(45)
