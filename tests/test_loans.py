"""Lending, returns, renewals, overdue reminders; the factories the other lending tests share."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.core import store as st
from archive.core.errors import InputError, NotFoundError, RuleError, StateError

from archive.core.session import Session

from .conftest import DEMO_DAY, add_account, at_archive, at_window
from .test_cases import docx_text, make_case



def id_number(n: int) -> str:
    """A valid resident ID number (GB 11643 check digit) for the n-th test borrower."""
    from archive.core.validate import id_number_check_digit

    first17 = f"110105{1970 + n % 40}{n % 12 + 1:02d}{n % 28 + 1:02d}{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


# -- factories ----------------------------------------------------------------------------

@pytest.fixture
def session(archivist):
    """Lending is the archivist's (陈静); the window's steps are the clerk's (``at_window``)."""
    return archivist


def make_pdf(path: Path, pages: int, label: str = "材料") -> Path:
    """A real PDF of ``pages`` pages, each saying which page it is (Pillow, CJK font)."""
    from PIL import Image, ImageDraw

    from archive.lending.copies import _font

    font = _font(24)
    images = []
    for n in range(1, pages + 1):
        image = Image.new("RGB", (420, 595), "white")
        ImageDraw.Draw(image).text((40, 60), f"{label} 第{n}页", font=font, fill="black")
        images.append(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=50.0)
    return path


def make_volume(session, *, attachments=(3, 2), access: str | None = "开放", security_level: str | None = None,
                tmp: Path | None = None, **case_overrides) -> str:
    """File a real volume (receive → attach scanned PDFs → conclude → file); its archival code.

    ``attachments`` are the page counts of the PDFs attached as applicant materials;
    ``access``/``security_level`` set the volume's access status and security level the
    way an appraisal would (open by default: the volume of a person's case is filed as
    控制, see test_volumes).
    """
    from archive.window import cases
    from archive.shelf import volumes

    case_no = make_case(session, **case_overrides).case.case_no
    folder = Path(tmp or session.ws.home / "scans")
    for i, pages in enumerate(attachments, start=1):
        pdf = make_pdf(folder / f"{case_no}-{i}.pdf", pages, f"{case_no} 材料{i}")
        volumes.attach(session, case_no, pdf, title=f"申请材料{i}")
    cases.conclude(at_window(session), case_no, decision="approved", on=DEMO_DAY)
    code = volumes.file_case(at_archive(session), case_no).archival_code
    if access or security_level:
        values = {k: v for k, v in (("access", access), ("security_level", security_level)) if v}
        with session.store.write() as conn:
            conn.execute(st.volumes.update().where(st.volumes.c.archival_code == code).values(**values))
    return code


def principal_borrower(session):
    """A borrower with the principal's clearance, registered by someone whose role covers it."""
    with Session(session.ws, superuser=True, today=DEMO_DAY) as su:  # no desk's role covers the principal's
        return make_borrower(su, role="principal")


def make_borrower(session, **overrides):
    """Register a borrower with complete defaults (an internal member of staff)."""
    from archive.lending import borrowers

    count = len(borrowers.list_borrowers(session))
    args = dict(name=f"借阅人{count + 1}", unit="江州市市场监督管理局", type="internal", id_number=id_number(count),
                phone="13800138000")
    args.update(overrides)
    return borrowers.add(session, **args)


def lend(session, code, borrower, **overrides):
    from archive.lending import loans

    args = dict(borrower=borrower.code, purpose="工作查考", mode="read")
    args.update(overrides)
    return loans.lend(session, code, **args)


def volume_state(session, code):
    with session.store.read() as conn:
        return conn.execute(select(st.volumes.c.state).where(st.volumes.c.archival_code == code)).scalar()


def count(session, table):
    with session.store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def snapshot(session):
    return {t.name: count(session, t) for t in (st.loans, st.events, st.counters, st.volume_notes, st.reminders)}


# -- lending ------------------------------------------------------------------------------

def test_lend_read_in_the_room_records_the_use_and_takes_the_volume_off_the_shelf(session):
    from archive.lending import loans

    code = make_volume(session)
    reader = make_borrower(session)
    loan = lend(session, code, reader)
    assert loan.loan == "JY202600001"
    assert loan.archival_code == code and loan.borrower == reader.code
    assert (loan.mode, loan.purpose, loan.lent_on, loan.due_on) == ("read", "工作查考", DEMO_DAY, DEMO_DAY)
    assert loan.approval_needed == "none" and loan.approved_by is None
    assert loan.rules["allowed"] == "R01"
    assert volume_state(session, code) == "on_loan"
    assert loans.show(session, loan.loan).to_dict()["loan"] == loan.loan
    with session.store.read() as conn:
        event = conn.execute(select(st.events).where(st.events.c.action == "lend")).one()
    assert event.operator == "陈静" and event.subject == code and event.detail["loan"] == loan.loan
    assert event.at is not None


def test_lend_json_shape(session):
    code = make_volume(session)
    data = lend(session, code, make_borrower(session), mode="外借", approved_by="周敏").to_dict()
    assert {"loan", "archival_code", "borrower", "mode", "purpose", "lent_on", "due_on", "approved_by"} <= set(data)
    assert data["mode"] == "loan" and data["due_on"] == "2026-10-05" and data["approved_by"] == "周敏"
    assert data["approver_level"] == "head-in-charge"


@pytest.mark.parametrize("word, key", [("阅览", "read"), ("摘抄", "excerpt"), ("read", "read"), ("EXCERPT", "excerpt")])
def test_chinese_and_english_mode_words(session, word, key):
    code = make_volume(session)
    assert lend(session, code, make_borrower(session), mode=word).mode == key


def test_unknown_mode_and_purpose_are_refused_naming_the_choices(session):
    code = make_volume(session)
    reader = make_borrower(session)
    with pytest.raises(InputError) as exc:
        lend(session, code, reader, mode="借走")
    assert exc.value.field == "mode" and "外借" in exc.value.message
    with pytest.raises(InputError) as exc:
        lend(session, code, reader, purpose="好奇")
    assert exc.value.field == "purpose" and "编史修志" in exc.value.message
    assert lend(session, code, reader, purpose="research").purpose == "学术研究"


def test_loan_needs_the_head_in_charge_and_nothing_is_recorded_when_refused(session):
    code = make_volume(session)
    reader = make_borrower(session)
    before = snapshot(session)
    with pytest.raises(RuleError) as exc:
        lend(session, code, reader, mode="外借")
    assert exc.value.exit_code == 2 and exc.value.field == "approved_by"
    assert "分管负责人" in exc.value.message and "R04" in exc.value.message
    assert snapshot(session) == before
    assert volume_state(session, code) == "on_shelf"
    loan = lend(session, code, reader, mode="外借", approved_by="周敏", approver_level="分管负责人")
    assert loan.due_on == DEMO_DAY + dt.timedelta(days=7)


def test_classified_volume_needs_the_principal_head(session):
    code = make_volume(session, security_level="秘密")
    reader = principal_borrower(session)
    with pytest.raises(RuleError) as exc:
        lend(session, code, reader, approved_by="周敏", approver_level="head-in-charge")
    assert "主要负责人" in exc.value.message and "R06" in exc.value.message
    loan = lend(session, code, reader, approved_by="赵立新", approver_level="principal-head")
    assert loan.approval_needed == "principal-head"


def test_public_reads_open_volumes_only(session):
    open_code = make_volume(session)
    controlled = make_volume(session, access="控制")
    citizen = make_borrower(session, type="public", unit=None)
    assert citizen.role == "public" and citizen.unit == "个人"
    with pytest.raises(RuleError) as exc:
        lend(session, open_code, citizen, mode="外借", approved_by="周敏")
    assert exc.value.field == "rule" and "R08" in exc.value.message and "社会公众只能阅览开放档案" in exc.value.message
    with pytest.raises(RuleError) as exc:
        lend(session, controlled, citizen)
    assert exc.value.field == "role"  # the role refuses before the rules are asked
    assert lend(session, open_code, citizen).mode == "read"


def test_role_decides_what_a_borrower_may_see(session):
    secret = make_volume(session, security_level="机密")
    staff = make_borrower(session)
    with pytest.raises(RuleError) as exc:
        lend(session, secret, staff, approved_by="赵立新", approver_level="principal-head")
    assert exc.value.field == "role" and "机密" in exc.value.message


def test_volume_out_destroyed_flagged_or_not_filed_is_refused(session):
    code = make_volume(session)
    first, second = make_borrower(session), make_borrower(session)
    loan = lend(session, code, first)
    with pytest.raises(RuleError) as exc:
        lend(session, code, second)
    assert "已借出" in exc.value.message and loan.loan in exc.value.message
    for state, words in (("destroyed", "销毁"), ("flagged", "待检查")):
        other = make_volume(session)
        with session.store.write() as conn:
            conn.execute(st.volumes.update().where(st.volumes.c.archival_code == other).values(state=state))
        with pytest.raises(RuleError) as exc:
            lend(session, other, second)
        assert words in exc.value.message
    open_case = make_case(session).case.case_no
    with pytest.raises(StateError) as exc:
        lend(session, open_case, second)
    assert "尚未归档" in exc.value.message
    with pytest.raises(NotFoundError):
        lend(session, "Z023-XK·ZC·2026·D30-001-9999", second)


def test_blocked_borrower_and_borrower_with_overdue_loan_cannot_borrow(session):
    from archive.lending import borrowers
    from archive.lending import loans

    a, b = make_volume(session), make_volume(session)
    reader = make_borrower(session)
    borrowers.block(session, reader.code, reason="损坏档案")
    with pytest.raises(RuleError) as exc:
        lend(session, a, reader)
    assert "停止借阅" in exc.value.message and "损坏档案" in exc.value.message
    borrowers.block(session, reader.code, unblock=True)
    lend(session, a, reader, mode="loan", approved_by="周敏")
    later = DEMO_DAY + dt.timedelta(days=8)
    with pytest.raises(RuleError) as exc:
        lend(session, b, reader, on=later)
    assert "逾期未还" in exc.value.message and a in exc.value.message
    assert lend(session, b, reader, on=DEMO_DAY + dt.timedelta(days=7)).loan  # due that day: not overdue yet
    assert loans.overdue(session, as_of=later).loans[0].archival_code == a


def test_maximum_volumes_out(session):
    codes = [make_volume(session, attachments=(1,)) for _ in range(4)]
    reader = make_borrower(session)
    for code in codes[:3]:
        lend(session, code, reader, mode="loan", approved_by="周敏")
    with pytest.raises(RuleError) as exc:
        lend(session, codes[3], reader, mode="loan", approved_by="周敏")
    assert exc.value.field == "max_out" and "3" in exc.value.message and "R04" in exc.value.message
    assert lend(session, codes[3], reader).mode == "read"  # reading allows five out


def test_dry_run_checks_everything_and_records_nothing(session):
    code = make_volume(session)
    reader = make_borrower(session)
    before = snapshot(session)
    loan = lend(session, code, reader, mode="loan", approved_by="周敏", dry_run=True)
    assert loan.dry_run and loan.loan is None and loan.due_on == DEMO_DAY + dt.timedelta(days=7)
    assert snapshot(session) == before and volume_state(session, code) == "on_shelf"
    with pytest.raises(RuleError):
        lend(session, code, reader, mode="loan", dry_run=True)


def test_the_store_refuses_a_second_open_loan_of_one_volume(session):
    """The unique open_volume_id holds even if the checks above it were bypassed."""
    from sqlalchemy.exc import IntegrityError

    from archive.core.errors import StoreError

    code = make_volume(session)
    loan = lend(session, code, make_borrower(session))
    with session.store.write() as conn:
        row = conn.execute(select(st.loans).where(st.loans.c.number == loan.loan)).one()._asdict()
    row.update(id=None, number="JY-COPY")
    with pytest.raises(StoreError) as err:  # the driver's error, told in Chinese
        with session.store.write() as conn:
            conn.execute(st.loans.insert().values(**row))
    assert isinstance(err.value.__cause__, IntegrityError) and err.value.exit_code == 1
    assert "数据库拒绝了这次写入" in err.value.message


def _lend_in_process(home: str, code: str, borrower: str, barrier, results) -> None:
    """Child process: open the workspace, wait for the other archivist, lend."""
    from archive.core.config import open_workspace
    from archive.core.errors import ArchiveError
    from archive.lending.loans import lend as lend_volume
    from archive.core.session import Session

    with Session(open_workspace(home), operator=f"档案员{borrower}", today=DEMO_DAY) as session:
        session.store  # connect before the race starts
        barrier.wait(timeout=60)
        try:
            loan = lend_volume(session, code, borrower=borrower, purpose="工作查考", mode="read")
            results.put(("ok", borrower, loan.loan))
        except ArchiveError as exc:
            results.put(("refused", borrower, exc.message))


def test_two_processes_cannot_lend_the_same_volume_at_once(session, home):
    from archive.lending import loans
    from archive.shelf import volumes

    code = make_volume(session)
    readers = [make_borrower(session).code for _ in range(2)]
    for reader in readers:
        add_account(home, f"档案员{reader}", "archivist")
    ctx = multiprocessing.get_context("spawn")
    pages = volumes.show(session, code).pages
    for attempt in range(3):  # race a few times; the winner returns the volume before the next race
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_lend_in_process, args=(str(home), code, r, barrier, results)) for r in readers]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
        assert "已借出" in next(o[2] for o in outcomes if o[0] == "refused")
        with session.store.read() as conn:
            open_loans = conn.execute(select(func.count()).select_from(st.loans).where(
                st.loans.c.returned_on.is_(None), st.loans.c.volume_id == select(st.volumes.c.id).where(
                    st.volumes.c.archival_code == code).scalar_subquery())).scalar()
        assert open_loans == 1
        winner = next(o[2] for o in outcomes if o[0] == "ok")
        loans.return_loan(session, winner, pages=pages)


def _lend_holding_the_transaction(home, code, borrower, checked, release, results) -> None:
    """Child process A: lend, but stop after every check has passed, inside the transaction."""
    import time

    import archive.lending.loans as lending
    from archive.core.config import open_workspace
    from archive.core.session import Session

    checks = lending._check_request

    def check_then_wait(*args, **kwargs):
        found = checks(*args, **kwargs)  # the volume is on the shelf, for A
        checked.set()
        release.wait(timeout=60)
        return found

    lending._check_request = check_then_wait
    with Session(open_workspace(home), operator="档案员甲", today=DEMO_DAY) as session:
        loan = lending.lend(session, code, borrower=borrower, purpose="工作查考", mode="read")
        results.put(("A", "ok", loan.loan, time.monotonic()))


def _lend_after_a_checked(home, code, borrower, checked, results) -> None:
    """Child process B: lend the same volume while A sits between its check and its write."""
    import time

    from archive.core.config import open_workspace
    from archive.core.errors import ArchiveError
    from archive.lending.loans import lend as lend_volume
    from archive.core.session import Session

    checked.wait(timeout=60)
    with Session(open_workspace(home), operator="档案员乙", today=DEMO_DAY) as session:
        try:
            loan = lend_volume(session, code, borrower=borrower, purpose="工作查考", mode="read")
            results.put(("B", "ok", loan.loan, time.monotonic()))
        except ArchiveError as exc:
            results.put(("B", "refused", exc.message, time.monotonic()))


def test_a_second_lend_waits_for_the_first_transaction_and_then_sees_the_volume_out(session, home):
    """The check and the change are one BEGIN IMMEDIATE transaction: B cannot even read the
    volume's state while A holds it between its check and its write, so "both saw it on the
    shelf" cannot happen."""
    import queue
    import time

    code = make_volume(session)
    a, b = make_borrower(session).code, make_borrower(session).code
    add_account(home, "档案员甲", "archivist")
    add_account(home, "档案员乙", "archivist")
    ctx = multiprocessing.get_context("spawn")
    checked, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    first = ctx.Process(target=_lend_holding_the_transaction, args=(str(home), code, a, checked, release, results))
    second = ctx.Process(target=_lend_after_a_checked, args=(str(home), code, b, checked, results))
    first.start()
    second.start()
    assert checked.wait(timeout=120)
    time.sleep(1.5)  # B has had ample time; it must still be waiting for A's transaction
    with pytest.raises(queue.Empty):
        results.get(timeout=0.1)
    released = time.monotonic()
    release.set()
    outcomes = {who: (status, detail, at) for who, status, detail, at in (results.get(timeout=120) for _ in range(2))}
    for p in (first, second):
        p.join(timeout=60)
    assert outcomes["A"][0] == "ok"
    assert outcomes["B"][0] == "refused" and "已借出" in outcomes["B"][1] and outcomes["A"][1] in outcomes["B"][1]
    assert outcomes["B"][2] >= outcomes["A"][2] >= released


# -- returns ------------------------------------------------------------------------------

def test_return_counts_pages_against_the_item_list(session):
    from archive.lending import loans

    code = make_volume(session, attachments=(3, 2))
    loan = lend(session, code, make_borrower(session), mode="loan", approved_by="周敏")
    with session.store.read() as conn:
        volume = conn.execute(select(st.volumes).where(st.volumes.c.archival_code == code)).one()
        expected = loans.pages_expected(conn, volume.id, volume.pages)
    assert expected == volume.pages and expected >= 5
    result = loans.return_loan(session, loan.loan, pages=expected, on=DEMO_DAY + dt.timedelta(days=3))
    data = result.to_dict()
    assert {"loan", "returned_on", "pages_expected", "pages_counted", "discrepancy", "late_days"} <= set(data)
    assert (data["pages_counted"], data["discrepancy"], data["late_days"], data["flagged"]) == (expected, 0, 0, False)
    assert volume_state(session, code) == "on_shelf"
    with pytest.raises(StateError):
        loans.return_loan(session, loan.loan, pages=expected)
    assert lend(session, code, make_borrower(session)).loan  # back on the shelf, lendable again


def test_shortfall_goes_on_the_notes_sheet_flags_the_volume_and_the_return_is_recorded(session):
    from archive.lending import loans
    from archive.shelf import volumes

    code = make_volume(session)
    reader = make_borrower(session)
    loan = lend(session, code, reader, mode="loan", approved_by="周敏")
    expected = volumes.show(session, code).pages
    late = DEMO_DAY + dt.timedelta(days=10)
    result = loans.return_loan(session, loan.loan, pages=expected - 2, condition="第3页有撕裂", on=late)
    assert result.discrepancy == -2 and result.late_days == 3 and result.flagged
    assert "缺少 2 页" in result.note and "第3页有撕裂" in result.note and reader.name in result.note
    assert volume_state(session, code) == "flagged"
    shown = volumes.show(session, code)
    [note] = [n for n in shown.notes if n.kind == "return"]
    assert note.text == result.note and note.operator == "陈静"
    sheet = next(f for f in shown.forms if f.kind == "notes_sheet")
    assert "缺少 2 页" in docx_text(sheet.path)  # the re-issued 卷内备考表 carries it
    assert loans.show(session, loan.loan).returned_on == late
    with pytest.raises(RuleError) as exc:
        lend(session, code, make_borrower(session))
    assert "待检查" in exc.value.message
    from archive.shelf import fixity

    assert fixity.verify(session).ok and volume_state(session, code) == "flagged"  # intact files clear no return's flag
    done = loans.inspect(session, code, result="缺页已由借阅人交回并归位")
    assert done["state"] == "on_shelf" and volume_state(session, code) == "on_shelf"
    assert [n.kind for n in volumes.show(session, code).notes] == ["return", "inspection"]


def test_extra_pages_are_a_discrepancy_too(session):
    from archive.lending import loans
    from archive.shelf import volumes

    code = make_volume(session)
    loan = lend(session, code, make_borrower(session))
    result = loans.return_loan(session, loan.loan, pages=volumes.show(session, code).pages + 1, condition="完好")
    assert result.discrepancy == 1 and "多出 1 页" in result.note and volume_state(session, code) == "flagged"


# -- renewals -----------------------------------------------------------------------------

def test_renew_once_with_approval(session):
    from archive.lending import loans

    code = make_volume(session)
    loan = lend(session, code, make_borrower(session), mode="loan", approved_by="周敏")
    with pytest.raises(RuleError) as exc:
        loans.renew(session, loan.loan)
    assert exc.value.field == "approved_by" and "续借" in exc.value.message
    renewed = loans.renew(session, loan.loan, approved_by="周敏", on=DEMO_DAY + dt.timedelta(days=6))
    assert renewed.due_on == loan.due_on + dt.timedelta(days=7)
    assert renewed.renewals[0]["approved_by"] == "周敏"
    with pytest.raises(RuleError) as exc:
        loans.renew(session, loan.loan, approved_by="周敏")
    assert "最多续借 1 次" in exc.value.message and "R04" in exc.value.message


def test_reading_in_the_room_cannot_be_renewed_and_overdue_loans_neither(session):
    from archive.lending import loans

    code, other = make_volume(session), make_volume(session)
    read = lend(session, code, make_borrower(session))
    with pytest.raises(RuleError) as exc:
        loans.renew(session, read.loan, approved_by="周敏")
    assert "不允许续借" in exc.value.message
    out = lend(session, other, make_borrower(session), mode="loan", approved_by="周敏")
    with pytest.raises(RuleError) as exc:
        loans.renew(session, out.loan, approved_by="周敏", on=DEMO_DAY + dt.timedelta(days=9))
    assert "逾期" in exc.value.message


def test_classified_loan_cannot_be_renewed(session):
    from archive.lending import loans

    code = make_volume(session, security_level="秘密")
    loan = lend(session, code, principal_borrower(session), mode="loan", approved_by="赵立新",
                approver_level="principal-head")
    assert loan.rules["approval"] == "R07"
    with pytest.raises(RuleError) as exc:
        loans.renew(session, loan.loan, approved_by="赵立新", approver_level="principal-head")
    assert "R07" in exc.value.message


# -- overdue and reminders ------------------------------------------------------------------

def test_overdue_lists_and_escalates_reminders(session):
    from archive.lending import loans

    code = make_volume(session)
    reader = make_borrower(session)
    loan = lend(session, code, reader, mode="loan", approved_by="周敏")  # due 10-05
    assert loans.overdue(session, as_of="2026-10-05").loans == ()
    listing = loans.overdue(session, as_of="2026-10-06")
    data = listing.to_dict()
    assert data["as_of"] == "2026-10-06"
    [entry] = data["loans"]
    assert {"loan", "archival_code", "borrower", "due_on", "days_overdue", "reminder_level", "notice"} <= set(entry)
    assert (entry["loan"], entry["days_overdue"], entry["reminder_level"], entry["notice"]) == (loan.loan, 1, 0, None)
    before = count(session, st.notices)
    first = loans.overdue(session, as_of="2026-10-06", notices=True).loans[0]
    assert first.reminder_level == 1 and first.notice.kind == "reminder"
    assert first.notice.number == "江市监档催字〔2026〕1号"
    text = docx_text(first.notice.docx)
    assert "第一次催还" in text and reader.name in text and code in text and "逾期1天" in text
    assert "最后一次催还" not in text and "借阅人收执" in text and "档案室存根" in text
    again = loans.overdue(session, as_of="2026-10-07", notices=True).loans[0]
    assert again.notice is None and again.reminder_level == 1  # not yet time for the second
    second = loans.overdue(session, as_of="2026-10-13", notices=True).loans[0]
    assert second.reminder_level == 2 and "第二次催还" in docx_text(second.notice.docx)
    final = loans.overdue(session, as_of="2026-10-20", notices=True).loans[0]
    assert final.reminder_level == 3
    final_text = docx_text(final.notice.docx)
    assert "最后一次催还" in final_text and "停止你的借阅资格" in final_text
    assert loans.overdue(session, as_of="2026-11-30", notices=True).loans[0].notice is None
    assert count(session, st.notices) == before + 3
    assert [r["level"] for r in loans.reminders_of(session, loan.loan)] == [1, 2, 3]
    with session.store.read() as conn:
        actions = [r.action for r in conn.execute(select(st.events).where(st.events.c.action == "remind"))]
    assert actions == ["remind"] * 3
    loans.return_loan(session, loan.loan, pages=5, on="2026-11-30")
    assert loans.overdue(session, as_of="2026-11-30").loans == ()


def test_reminder_template_matches_its_schema():
    import json

    from archive.documents.render import template_variables

    root = Path(__file__).resolve().parent.parent
    schema = json.loads((root / "schemas" / "reminder.json").read_text(encoding="utf-8"))
    assert template_variables("reminder") == set(schema["properties"]) == set(schema["required"])
    assert schema["additionalProperties"] is False


def test_reminder_notice_with_a_configured_issuing_unit(session, home):
    import json

    from archive.lending import loans
    from archive.core.config import open_workspace
    from archive.core.session import Session

    config = json.loads((home / "config.json").read_text(encoding="utf-8"))
    config["lending"]["issuing_unit"] = "ZR"
    (home / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    code = make_volume(session)
    lend(session, code, make_borrower(session))
    with Session(open_workspace(home), operator="陈静", today=DEMO_DAY) as other:
        entry = loans.overdue(other, as_of="2026-09-30", notices=True).loans[0]
    assert entry.notice.number == "江自然资规档催字〔2026〕1号"


# -- the migration ------------------------------------------------------------------------

def test_migration_0003_creates_exactly_the_lending_tables(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = st.open_store(f"sqlite:///{tmp_path / 'm.db'}", migrate=True)
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), st.metadata)
    finally:
        store.dispose()
    mine = {"borrowers", "loans", "reminders", "copies"}

    def table_of(entry):
        entry = entry[0] if isinstance(entry, list) else entry
        for part in entry[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in mine:
                return name
        return None

    assert [d for d in diff if table_of(d) in mine] == []


def test_a_reminder_can_be_reprinted(session):
    from archive.lending import loans
    from archive.window import notices

    code = make_volume(session)
    loan = lend(session, code, make_borrower(session), mode="loan", approved_by="周敏")
    first = loans.overdue(session, as_of="2026-10-06", notices=True).loans[0].notice
    with Session(session.ws, operator="陈静", today=DEMO_DAY) as archivist:  # reminders are the lending desk's
        again = notices.reprint(archivist, first.number)
    assert again.number == first.number and again.case == loan.loan
    assert "补打" in docx_text(again.docx)
