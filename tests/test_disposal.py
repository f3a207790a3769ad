import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.shelf import catalogues
from archive.shelf import disposal
from archive.shelf import fixity
from archive.core import store as st
from archive.shelf import volumes
from archive.core.errors import ArchiveError, ForbiddenError, NotFoundError, StateError

from .test_cases import docx_text
from .test_volumes import make_concluded

EXPIRED = dt.date(2037, 1, 1)  # a 2026 volume kept ten years is kept through 2036


@pytest.fixture
def session(archivist):
    """Appraisal is the archivist's (陈静); approval the archive head's; the witnesses sign in themselves."""
    return archivist


def approve_and_witness(session, number):
    """周敏 approves; 陈静 and 赵立新 confirm as witnesses, each in their own session (the second executes)."""
    disposal.approve(session.as_operator("周敏"), number)
    disposal.witness(session.as_operator("陈静"), number)
    return disposal.witness(session.as_operator("赵立新"), number)


@pytest.fixture
def shelf(session):
    """Three 2026 volumes: approved (D30), denied (D10), not accepted (D10)."""
    return {kind: volumes.file_case(session, make_concluded(session, decision=kind))
            for kind in ("approved", "denied", "not_accepted")}


def test_retention_counts_whole_years_from_the_year_after():
    assert disposal.expires_on(2026, "D10") == dt.date(2036, 12, 31)
    assert disposal.expires_on(2026, "D30") == dt.date(2056, 12, 31)
    assert disposal.expires_on(2026, "Y") is None


def test_appraisal_lists_only_expired_volumes(session, shelf):
    assert disposal.appraise(session, "2036-12-31").status == "empty"
    found = disposal.appraise(session, EXPIRED, dry_run=True)
    assert {e.archival_code for e in found.entries} == {shelf["denied"].archival_code,
                                                         shelf["not_accepted"].archival_code}
    assert all(e.retention == "D10" and e.expired_on == dt.date(2036, 12, 31) for e in found.entries)
    later = disposal.appraise(session, "2057-01-01", dry_run=True)
    assert len(later.entries) == 3


def test_appraisal_writes_a_draft_destruction_list(session, shelf):
    result = disposal.appraise(session, EXPIRED)
    assert (result.number, result.status) == (1, "draft")
    text = docx_text(result.path)
    for label in ("档案销毁清册", "序号", "档号", "题名", "年度", "保管期限", "页数", "鉴定意见", "监销人", "批准人"):
        assert label in text
    assert shelf["denied"].archival_code in text and "定期10年" in text and "2037年1月1日" in text
    with session.store.read() as conn:
        row = conn.execute(select(st.destruction_lists)).one()
    assert row.status == "draft" and len(row.volume_ids) == 2 and row.created_by == "陈静"
    # Volumes on a draft list are not listed again.
    assert disposal.appraise(session, EXPIRED).status == "empty"


def test_the_approval_and_two_different_witnesses_are_accounts_acting_themselves(session, shelf, home):
    number = disposal.appraise(session, EXPIRED).number
    head, clerk = session.as_operator("周敏"), session.as_operator("王芳")
    with pytest.raises(StateError, match="尚未批准"):
        disposal.witness(session, number)  # nothing to witness before the approval
    with pytest.raises(ForbiddenError):
        disposal.approve(session, number)  # the archivist may not approve
    with pytest.raises(ForbiddenError):
        disposal.approve(clerk, number)
    with pytest.raises(NotFoundError):
        disposal.approve(head, 9)
    approved = disposal.approve(head, number)
    assert approved.approver == "周敏" and approved.status_text.startswith("已批准")
    with pytest.raises(StateError, match="已由周敏批准"):
        disposal.approve(head, number)
    with pytest.raises(ForbiddenError, match="不能同时担任监销人"):
        disposal.witness(head, number)
    with pytest.raises(ForbiddenError):
        disposal.witness(clerk, number)  # a window clerk is no witness
    first = disposal.witness(session, number)
    assert first.status == "draft" and [w for w, _ in first.confirmed] == ["陈静"]
    with pytest.raises(StateError, match="另一名监销人"):
        disposal.witness(session, number)  # the same account twice is one witness
    with pytest.raises(StateError, match="两名监销人"):
        disposal.destroy(session, number)  # not yet: one witness
    assert all(Path(v.folder).exists() for v in shelf.values())
    done = disposal.witness(session.as_operator("赵立新"), number)
    assert done.status == "executed" and done.witnesses == ("陈静", "赵立新") and done.approver == "周敏"
    with session.store.read() as conn:
        rows = conn.execute(select(st.destruction_witnesses.c.account, st.destruction_witnesses.c.client)).all()
    assert [r.account for r in rows] == ["陈静", "赵立新"]


def test_the_compiler_of_a_list_does_not_approve_it(session, shelf):
    head = session.as_operator("周敏")  # the archive head may appraise too
    number = disposal.appraise(head, EXPIRED).number
    with pytest.raises(ForbiddenError, match="不能自己批准"):
        disposal.approve(head, number)
    assert disposal.approve(session.as_operator("赵立新"), number).approver == "赵立新"


def test_destroy_removes_the_files_and_keeps_the_catalogue_entry(session, shelf, home):
    number = disposal.appraise(session, EXPIRED).number
    gone = [shelf["denied"], shelf["not_accepted"]]
    files = sum(len(v.items) + len(v.forms) for v in gone)
    result = approve_and_witness(session, number)
    assert result.status == "executed" and result.removed_files == files
    for v in gone:
        assert not Path(v.folder).exists()
        shown = volumes.show(session, v.archival_code)
        # The tombstone: who executed it (the second witness), when, which list.
        assert shown.state == "destroyed" and shown.destroyed_by == "赵立新" and shown.destruction_list == number
        assert shown.destroyed_at is not None
        assert "批准人周敏，监销人陈静、赵立新" in shown.notes[-1].text
    assert Path(shelf["approved"].folder).exists()
    executed = docx_text(result.executed_path)
    assert "周敏" in executed and "监销人（签名）\n陈静\n监销人（签名）\n赵立新" in executed
    [sheet] = [s for s in catalogues.sheets(session) if s.number == 4]
    assert all(r.remark.startswith("已销毁") for r in sheet.rows)
    assert fixity.verify(session).ok  # nothing of the destroyed volumes is expected any more
    with pytest.raises(StateError):
        disposal.destroy(session, number)


def test_a_destroyed_code_is_never_used_again(session, shelf):
    number = disposal.appraise(session, EXPIRED).number
    approve_and_witness(session, number)
    again = volumes.file_case(session, make_concluded(session, decision="denied"))
    # denied and not accepted were 0001 and 0002 of catalogue 004; both destroyed, the next is 0003
    assert again.volume_no == 3 and again.archival_code.endswith("-004-0003")


def test_a_volume_on_loan_is_not_destroyed(session, shelf):
    number = disposal.appraise(session, EXPIRED).number
    with session.store.write() as conn:
        conn.execute(st.volumes.update().where(st.volumes.c.archival_code == shelf["denied"].archival_code)
                     .values(state="on_loan"))
    with pytest.raises(StateError, match="尚未归还"):
        approve_and_witness(session, number)
    assert Path(shelf["not_accepted"].folder).exists()


def test_a_failure_after_the_files_went_leaves_a_pending_destruction_a_rerun_finishes(session, shelf, monkeypatch):
    number = disposal.appraise(session, EXPIRED).number
    render = disposal._render

    def broken(*args, **kwargs):
        raise ArchiveError("模拟故障")

    monkeypatch.setattr(disposal, "_render", broken)
    with pytest.raises(ArchiveError, match="模拟故障"):
        approve_and_witness(session, number)
    report = fixity.verify(session)
    expired = {shelf["denied"].archival_code, shelf["not_accepted"].archival_code}
    assert {(p.archival_code, p.problem) for p in report.problems} == {(code, "destroying") for code in expired}
    assert {volumes.show(session, code).state for code in expired} == {"destroying"}
    assert volumes.show(session, shelf["approved"].archival_code).state == "on_shelf"
    assert disposal.show_list(session, number).status == "executing"
    monkeypatch.setattr(disposal, "_render", render)
    done = disposal.destroy(session, number)
    assert done.status == "executed" and fixity.verify(session).ok
    assert {volumes.show(session, code).state for code in expired} == {"destroyed"}
