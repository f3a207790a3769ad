import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.shelf import catalogues
from archive.shelf import disposal
from archive.shelf import fixity
from archive.core import store as st
from archive.shelf import volumes
from archive.core.errors import ArchiveError, InputError, NotFoundError, StateError

from .test_cases import docx_text
from .test_volumes import make_concluded

EXPIRED = dt.date(2037, 1, 1)  # a 2026 volume kept ten years is kept through 2036


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
    assert row.status == "draft" and len(row.volume_ids) == 2 and row.created_by == "王芳"
    # Volumes on a draft list are not listed again.
    assert disposal.appraise(session, EXPIRED).status == "empty"


def test_destroy_needs_an_approver_and_two_distinct_witnesses(session, shelf):
    number = disposal.appraise(session, EXPIRED).number
    for witnesses, field_text in ((["王芳"], "两名"), (["王芳", "王芳"], "重复"), (["赵立新", "李强"], "不能同时")):
        with pytest.raises(InputError) as err:
            disposal.destroy(session, number, approver="赵立新", witnesses=witnesses)
        assert field_text in err.value.message and err.value.field == "witness" and err.value.exit_code == 2
    with pytest.raises(InputError):
        disposal.destroy(session, number, approver=" ", witnesses=["王芳", "李强"])
    with pytest.raises(NotFoundError):
        disposal.destroy(session, 9, approver="赵立新", witnesses=["王芳", "李强"])


def test_destroy_removes_the_files_and_keeps_the_catalogue_entry(session, shelf, home):
    number = disposal.appraise(session, EXPIRED).number
    gone = [shelf["denied"], shelf["not_accepted"]]
    preview = disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"], dry_run=True)
    assert preview.removed_files == sum(len(v.items) + len(v.forms) for v in gone)
    assert all(Path(v.folder).exists() for v in gone)
    result = disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"])
    assert result.status == "executed" and result.removed_files == preview.removed_files
    for v in gone:
        assert not Path(v.folder).exists()
        shown = volumes.show(session, v.archival_code)
        assert shown.state == "destroyed" and shown.destroyed_by == "王芳" and shown.destruction_list == number
        assert shown.destroyed_at is not None
        assert "批准人赵立新，监销人王芳、李强" in shown.notes[-1].text
    assert Path(shelf["approved"].folder).exists()
    executed = docx_text(result.executed_path)
    assert "赵立新" in executed and "监销人（签名）\n王芳\n监销人（签名）\n李强" in executed
    from archive.core.session import Session

    with Session(session.ws, operator="陈静") as archivist:  # catalogues are the archivist's
        [sheet] = [s for s in catalogues.sheets(archivist) if s.number == 4]
    assert all(r.remark.startswith("已销毁") for r in sheet.rows)
    assert fixity.verify(session).ok  # nothing of the destroyed volumes is expected any more
    with pytest.raises(StateError):
        disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"])


def test_a_destroyed_code_is_never_used_again(session, shelf):
    number = disposal.appraise(session, EXPIRED).number
    disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"])
    again = volumes.file_case(session, make_concluded(session, decision="denied"))
    # denied and not accepted were 0001 and 0002 of catalogue 004; both destroyed, the next is 0003
    assert again.volume_no == 3 and again.archival_code.endswith("-004-0003")


def test_a_volume_on_loan_is_not_destroyed(session, shelf):
    number = disposal.appraise(session, EXPIRED).number
    with session.store.write() as conn:
        conn.execute(st.volumes.update().where(st.volumes.c.archival_code == shelf["denied"].archival_code)
                     .values(state="on_loan"))
    with pytest.raises(StateError, match="尚未归还"):
        disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"])
    assert Path(shelf["not_accepted"].folder).exists()


def test_a_failure_after_the_files_went_leaves_a_pending_destruction_a_rerun_finishes(session, shelf, monkeypatch):
    number = disposal.appraise(session, EXPIRED).number
    render = disposal._render

    def broken(*args, **kwargs):
        raise ArchiveError("模拟故障")

    monkeypatch.setattr(disposal, "_render", broken)
    with pytest.raises(ArchiveError, match="模拟故障"):
        disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"])
    report = fixity.verify(session)
    expired = {shelf["denied"].archival_code, shelf["not_accepted"].archival_code}
    assert {(p.archival_code, p.problem) for p in report.problems} == {(code, "destroying") for code in expired}
    assert {volumes.show(session, code).state for code in expired} == {"destroying"}
    assert volumes.show(session, shelf["approved"].archival_code).state == "on_shelf"
    assert disposal.show_list(session, number).status == "executing"
    monkeypatch.setattr(disposal, "_render", render)
    done = disposal.destroy(session, number, approver="赵立新", witnesses=["王芳", "李强"])
    assert done.status == "executed" and fixity.verify(session).ok
    assert {volumes.show(session, code).state for code in expired} == {"destroyed"}
