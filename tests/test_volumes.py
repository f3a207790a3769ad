import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.window import cases
from archive.core import store as st
from archive.shelf import fixity, volumes
from archive.core.errors import ArchiveError, InputError, NotFoundError, StateError

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID, add_account, at_window
from .test_cases import FOOD, docx_text, make_case

ROOT = Path(__file__).resolve().parent.parent
CONCLUDED_ON = dt.date(2026, 9, 30)


@pytest.fixture
def session(archivist):
    """The archive's tests act as the archivist 陈静; the window's steps are the clerk's (``at_window``)."""
    return archivist


def make_concluded(session, *, decision="approved", **overrides) -> str:
    """A concluded case (approved by default); ``decision="not_accepted"`` rejects it at the window."""
    session = at_window(session)
    if decision == "not_accepted":
        r = make_case(session, materials=["M01"], defer=True, **overrides)
        cases.reject(session, r.case.case_no, ground="out-of-scope", reason="该事项由区级部门实施",
                     competent_organ="江州市江城区市场监督管理局", on=DEMO_DAY)
        return r.case.case_no
    r = make_case(session, **overrides)
    cases.conclude(session, r.case.case_no, decision=decision, reason="经现场核查不符合条件" if decision == "denied" else None,
                   on=CONCLUDED_ON)
    return r.case.case_no


def volume_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "documents" / "volumes").rglob("*") if p.is_file())


def table_counts(session) -> dict:
    with session.store.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (st.volumes, st.volume_items, st.volume_notes, st.counters, st.events, st.attachments)}


def make_pdf(path: Path, pages: int = 1, *, text: str | None = None, password: str | None = None) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def make_png(path: Path, size=(120, 160)) -> Path:
    from PIL import Image

    Image.new("RGB", size, (250, 250, 240)).save(path, dpi=(150, 150))
    return path


# -- filing ------------------------------------------------------------------------------

def test_filing_an_approved_case_makes_one_volume_with_items_in_order(session, home):
    case_no = make_concluded(session)
    v = volumes.file_case(session, case_no)
    assert v.archival_code == "Z023-XK·JY·2026·D30-003-0001"
    assert (v.fonds, v.classification, v.catalogue, v.volume_no, v.retention, v.year) == ("Z023", "XK·JY", 3, 1, "D30", 2026)
    assert [i.kind for i in v.items] == ["application_record", "notice", "decision_record"]
    assert [i.title for i in v.items] == ["申请登记表", "受理通知书", "办结审批单"]
    assert [i.number for i in v.items] == [1, 2, 3]
    assert v.items[0].date == DEMO_DAY and v.items[-1].date == CONCLUDED_ON
    starts = [i.page_start for i in v.items]
    assert starts[0] == 1 and all(b == a + i.pages for a, b, i in zip(starts, starts[1:], v.items))
    assert v.pages == sum(i.pages for i in v.items)
    assert v.items[1].doc_number.startswith("江市监受字")
    for f in (*v.items, *v.forms):
        assert hashlib.sha256(Path(f.path).read_bytes()).hexdigest() == f.sha256
    assert {f.kind for f in v.forms} == {"volume_cover", "item_list", "notes_sheet"}
    assert v.merged_pdf is None  # no PDF output in the tests by default
    assert sorted(map(str, volume_files(home))) == sorted(f.path for f in (*v.items, *v.forms))
    assert (v.start_date, v.end_date) == (DEMO_DAY, CONCLUDED_ON)


def test_the_volume_is_recorded_and_the_case_knows_it(session):
    case_no = make_concluded(session)
    v = volumes.file_case(session, case_no)
    shown = volumes.show(session, v.archival_code)
    assert shown.to_dict() == dict(v.to_dict(), folder=shown.folder)
    assert shown.state == "on_shelf" and shown.filed_by == "陈静"
    with session.store.read() as conn:
        event = conn.execute(select(st.events).where(st.events.c.action == "file")).first()
    assert event.subject == case_no and event.detail["archival_code"] == v.archival_code


def test_forms_carry_the_da_t_13_fields(session):
    v = volumes.file_case(session, make_concluded(session))
    forms = {f.kind: docx_text(f.path) for f in v.forms}
    cover = forms["volume_cover"]
    for label in ("全宗名称", "类目名称", "案卷题名", "起止时间", "保管期限", "卷内件数", "卷内页数", "档"):
        assert label in cover
    assert "江州市政务服务中心" in cover and v.archival_code in cover and "定期30年" in cover
    assert "2026年9月28日至2026年9月30日" in cover and f"{v.pages}页" in cover
    listing = forms["item_list"]
    for label in ("序号", "文号", "责任者", "题名", "日期", "页号", "备注"):
        assert label in listing
    assert v.items[1].doc_number in listing and "20260928" in listing and "江州市市场监督管理局" in listing
    notes = forms["notes_sheet"]
    assert "本卷情况说明" in notes and "立卷人：陈静" in notes and "立卷时间：2026年9月28日" in notes


def test_application_record_shows_the_case_data_and_its_events(session):
    v = volumes.file_case(session, make_concluded(session))
    text = docx_text(v.items[0].path)
    assert "申请登记表" in text and "张三" in text and PERSON_ID in text and "食品经营许可（新办）" in text
    assert "收件" in text and "办结" in text and "出具文书" in text and "受理通知书" in text


def test_volume_numbers_continue_within_the_catalogue(session):
    first = volumes.file_case(session, make_concluded(session))
    second = volumes.file_case(session, make_concluded(session))
    other = volumes.file_case(session, make_concluded(session, decision="denied"))
    assert (first.volume_no, second.volume_no) == (1, 2)
    assert second.archival_code.endswith("-003-0002")
    assert other.archival_code == "Z023-XK·JY·2026·D10-004-0001"


def test_a_case_not_accepted_is_filed_as_a_refusal_kept_ten_years(session):
    v = volumes.file_case(session, make_concluded(session, decision="not_accepted"))
    assert (v.retention, v.catalogue) == ("D10", 4)
    assert [i.title for i in v.items] == ["申请登记表", "不予受理决定书"]
    assert "不予受理" in v.title


def test_a_denied_case_ends_with_the_denial_decision(session):
    v = volumes.file_case(session, make_concluded(session, decision="denied"))
    assert v.items[-1].title == "不予许可决定书" and v.items[-1].kind == "notice"
    assert v.retention == "D10"


def test_only_concluded_cases_can_be_filed_and_nothing_is_written(session, home):
    open_case = make_case(session).case.case_no
    before = table_counts(session)
    with pytest.raises(StateError) as err:
        volumes.file_case(session, open_case)
    assert err.value.exit_code == 2 and err.value.field == "case" and "已受理" in err.value.message
    assert table_counts(session) == before and volume_files(home) == []


def test_a_case_is_filed_once(session):
    case_no = make_concluded(session)
    v = volumes.file_case(session, case_no)
    with pytest.raises(StateError) as err:
        volumes.file_case(session, case_no)
    assert v.archival_code in err.value.message


def test_unknown_case_is_not_found(session):
    with pytest.raises(NotFoundError):
        volumes.file_case(session, "SJ209901010001")


def test_an_unclassified_item_is_refused_without_using_a_number(session, home):
    case_no = make_concluded(session)
    session.ws.data["archive"]["classes"][1]["items"].remove(FOOD)
    before = table_counts(session)
    with pytest.raises(InputError) as err:
        volumes.file_case(session, case_no)
    assert err.value.field == "class" and err.value.exit_code == 2
    assert table_counts(session) == before and volume_files(home) == []


def test_a_failure_half_way_leaves_no_volume_no_number_and_no_files(session, home, monkeypatch):
    case_no = make_concluded(session)
    before = table_counts(session)
    real_form = volumes._form

    def failing_form(writer, kind, *args, **kwargs):
        if kind == "notes_sheet":
            raise ArchiveError("模拟磁盘已满")
        return real_form(writer, kind, *args, **kwargs)

    monkeypatch.setattr(volumes, "_form", failing_form)
    with pytest.raises(ArchiveError, match="模拟磁盘已满"):
        volumes.file_case(session, case_no)
    assert table_counts(session) == before
    assert not (home / "documents" / "volumes").exists() or not any((home / "documents" / "volumes").rglob("*"))
    monkeypatch.setattr(volumes, "_form", real_form)
    v = volumes.file_case(session, case_no)
    assert v.volume_no == 1  # the number was not used up by the failed attempt


def test_a_notice_changed_since_it_was_issued_is_not_filed(session, home):
    case_no = make_concluded(session)
    notice = cases.show(session, case_no).notices[0]
    with open(notice.docx, "ab") as fh:
        fh.write(b"tampered")
    before = table_counts(session)
    with pytest.raises(ArchiveError, match="校验值不符"):
        volumes.file_case(session, case_no)
    assert table_counts(session) == before and volume_files(home) == []


def test_dry_run_shows_the_volume_and_writes_nothing(session, home):
    case_no = make_concluded(session)
    before = table_counts(session)
    preview = volumes.file_case(session, case_no, dry_run=True)
    assert preview.dry_run and preview.archival_code == "Z023-XK·JY·2026·D30-003-0001"
    assert table_counts(session) == before and volume_files(home) == []
    filed = volumes.file_case(session, case_no)
    assert [(i.title, i.pages) for i in filed.items] == [(i.title, i.pages) for i in preview.items]
    assert [i.path for i in filed.items] == [i.path for i in preview.items]


def test_file_all_due_files_every_concluded_case_and_reports_progress(session):
    done = [make_concluded(session) for _ in range(3)] + [make_concluded(session, decision="not_accepted")]
    make_case(session)  # still open: not due
    seen = []
    result = volumes.file_all_due(session, progress=lambda d, t, label: seen.append((d, t, label)))
    assert sorted(v.case for v in result.filed) == sorted(done) and not result.failed
    assert seen[-1][:2] == (4, 4) and [s[0] for s in seen] == [1, 2, 3, 4]
    assert volumes.due_cases(session) == []


def test_a_batch_dry_run_previews_consecutive_numbers(session, home):
    for _ in range(3):
        make_concluded(session)
    preview = volumes.file_all_due(session, dry_run=True)
    assert [v.volume_no for v in preview.filed] == [1, 2, 3] and all(v.dry_run for v in preview.filed)
    assert volume_files(home) == [] and volumes.list_volumes(session) == []
    real = volumes.file_all_due(session)
    assert [v.archival_code for v in real.filed] == [v.archival_code for v in preview.filed]


def test_file_all_due_reports_a_case_it_cannot_file_and_goes_on(session):
    make_concluded(session)
    odd = make_concluded(session, item_code="ZR-GG-003", materials=["M01", "M02"])
    session.ws.data["archive"]["classes"][4]["items"].remove("ZR-GG-003")
    result = volumes.file_all_due(session)
    assert len(result.filed) == 1
    [(case_no, error)] = result.failed
    assert case_no == odd and error.field == "class"


def test_every_write_says_what_it_changed_in_the_change_log(session):
    from archive.core import changelog

    def logged_since(seq):
        with session.store.read() as conn:
            return [change for entry in changelog.entries(conn, seq) for change in entry.changes]

    case_no = make_concluded(session)  # at the window: other sessions' entries
    with session.store.read() as conn:
        before = changelog.head(conn)
    v = volumes.file_case(session, case_no)
    assert session.last_change == before + 1
    assert set(logged_since(before)) == {("volume", v.archival_code), ("case", case_no)}
    before = session.last_change
    volumes.note(session, v.archival_code, text="复核无误")
    assert logged_since(before) == [("volume", v.archival_code)]


# -- attachments ---------------------------------------------------------------------------

def test_attachments_are_filed_after_the_application_record(session, tmp_path):
    case_no = make_case(session).case.case_no
    pdf = volumes.attach(session, case_no, make_pdf(tmp_path / "licence.pdf", pages=2), title="营业场所证明")
    png = volumes.attach(session, case_no, make_png(tmp_path / "id.png"), title="身份证复印件")
    assert (pdf.kind, pdf.pages, pdf.number) == ("pdf", 2, 1)
    assert (png.kind, png.pages, png.number) == ("image", 1, 2)
    assert hashlib.sha256(Path(pdf.path).read_bytes()).hexdigest() == pdf.sha256
    cases.conclude(at_window(session), case_no, decision="approved", on=CONCLUDED_ON)
    v = volumes.file_case(session, case_no)
    assert [i.title for i in v.items] == ["申请登记表", "营业场所证明", "身份证复印件", "受理通知书", "办结审批单"]
    assert [i.pages for i in v.items[1:3]] == [2, 1]
    assert v.items[1].path.endswith(".pdf") and v.items[2].path.endswith(".png")
    assert v.items[1].sha256 == pdf.sha256 and v.items[1].responsible == "张三"


@pytest.mark.parametrize("maker, expected", [
    (lambda p: p.write_bytes(make_pdf(p).read_bytes()[:-200]) and p, "不完整"),
    (lambda p: make_pdf(p, password="secret"), "加密"),
    (lambda p: p.write_bytes(b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 9 0 R>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF")
     and p, "不是可读的 PDF"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64) and p, "不是可读的 PDF 或图片"),
    (lambda p: p.write_text("只是一段文字", encoding="utf-8") and p, "不是可读的 PDF 或图片"),
    (lambda p: p.write_bytes(b"") is not None and p, "空文件"),
])
def test_an_unreadable_attachment_is_refused_and_nothing_is_written(session, home, tmp_path, maker, expected):
    case_no = make_case(session).case.case_no
    path = tmp_path / "bad.pdf"
    maker(path)
    before = table_counts(session)
    with pytest.raises(InputError) as err:
        volumes.attach(session, case_no, path, title="坏文件")
    assert expected in err.value.message and err.value.field == "file" and err.value.exit_code == 2
    assert table_counts(session) == before
    assert not (home / "documents" / "cases").exists() or not any((home / "documents" / "cases").rglob("*.*"))


def test_a_truncated_image_is_refused(session, tmp_path):
    case_no = make_case(session).case.case_no
    good = make_png(tmp_path / "scan.png", size=(400, 400))
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 80).save(buffer, "JPEG")
    (tmp_path / "scan.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError):
        volumes.attach(session, case_no, tmp_path / "scan.jpg", title="扫描件")
    assert volumes.attach(session, case_no, good, title="扫描件").pages == 1


def test_no_attachment_to_a_filed_case(session, tmp_path):
    case_no = make_concluded(session)
    v = volumes.file_case(session, case_no)
    with pytest.raises(StateError) as err:
        volumes.attach(session, case_no, make_pdf(tmp_path / "late.pdf"), title="迟交材料")
    assert v.archival_code in err.value.message and "volume note" in err.value.hint


def test_attaching_needs_a_title_and_an_existing_file(session, tmp_path):
    case_no = make_case(session).case.case_no
    with pytest.raises(InputError):
        volumes.attach(session, case_no, make_pdf(tmp_path / "a.pdf"), title="  ")
    with pytest.raises(InputError) as err:
        volumes.attach(session, case_no, tmp_path / "missing.pdf", title="材料")
    assert err.value.field == "file"


# -- show, list, notes -----------------------------------------------------------------------

def test_notes_go_on_a_new_notes_sheet_and_filed_items_never_change(session, home):
    v = volumes.file_case(session, make_concluded(session))
    items_before = {i.path: i.sha256 for i in v.items}
    shown = volumes.note(session, v.archival_code, text="申请人补交营业执照原件，核验无误")
    assert [n.text for n in shown.notes] == ["申请人补交营业执照原件，核验无误"]
    assert {i.path: i.sha256 for i in shown.items} == items_before
    sheet = next(f for f in shown.forms if f.kind == "notes_sheet")
    assert sheet.path.endswith("99-卷内备考表-2.docx")
    assert "申请人补交营业执照原件，核验无误（陈静）" in docx_text(sheet.path)
    old = next(f for f in v.forms if f.kind == "notes_sheet")
    assert Path(old.path).exists()  # the earlier sheet is kept, not replaced
    with session.store.read() as conn:
        roles = conn.execute(select(st.volume_items.c.role).where(st.volume_items.c.path.like("%卷内备考表%"))).scalars()
        assert sorted(roles) == ["form", "superseded"]
    volumes.note(session, v.archival_code, text="第二条")
    assert next(f for f in volumes.show(session, v.archival_code).forms if f.kind == "notes_sheet").path.endswith("-3.docx")
    from archive.shelf import fixity

    assert fixity.verify(session).ok


def test_list_volumes_filters_by_class_year_catalogue_and_state(session):
    a = volumes.file_case(session, make_concluded(session))
    b = volumes.file_case(session, make_concluded(session, decision="denied"))
    c = volumes.file_case(session, make_concluded(session, item_code="SJ-XK-001", materials=["M01", "M02", "M03"]))
    assert [v.archival_code for v in volumes.list_volumes(session, class_code="XK·JY")] == [a.archival_code, b.archival_code]
    assert [v.archival_code for v in volumes.list_volumes(session, catalogue=1)] == [c.archival_code]
    assert len(volumes.list_volumes(session, year=2026)) == 3 and volumes.list_volumes(session, year=2025) == []
    assert len(volumes.list_volumes(session, state="on_shelf")) == 3
    with pytest.raises(InputError) as err:
        volumes.list_volumes(session, class_code="NO·SUCH")
    assert err.value.field == "class"
    with pytest.raises(InputError) as err:
        volumes.list_volumes(session, catalogue=99)
    assert err.value.field == "catalogue"


def test_show_unknown_code_is_not_found(session):
    with pytest.raises(NotFoundError) as err:
        volumes.show(session, "Z023-XK·ZC·2026·D30-001-9999")
    assert err.value.field == "archival_code"


def test_docx_page_count_counts_explicit_breaks():
    from docx import Document as New

    doc = New()
    doc.add_paragraph("一")
    doc.add_page_break()
    doc.add_paragraph("二").paragraph_format.page_break_before = True
    buffer = io.BytesIO()
    doc.save(buffer)
    assert volumes.docx_page_count(buffer.getvalue()) == 3


# -- concurrency: two real processes ---------------------------------------------------------

def test_two_processes_filing_at_once_get_unique_gap_free_numbers(session, home):
    numbers = 12
    for _ in range(numbers):
        make_concluded(session)
    add_account(home, "档案员", "archivist")
    env = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_OPERATOR="档案员", ARCHIVE_PDF="never")
    command = [sys.executable, str(ROOT / "cli.py"), "file", "--all-due"]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with session.store.read() as conn:
        rows = conn.execute(select(st.volumes.c.volume_no, st.volumes.c.case_id)).all()
    assert sorted(r.volume_no for r in rows) == list(range(1, numbers + 1))
    assert len({r.case_id for r in rows}) == numbers
    # Both processes did part of the work (each printed its own volumes).
    filed = [out.decode().count("Z023-") for out, _err in outputs]
    assert sum(filed) == numbers


# -- PDF output (needs LibreOffice) --------------------------------------------------------

def _needs_libreoffice():
    from archive.documents.office import libreoffice_available

    if not libreoffice_available():
        pytest.skip("需要 LibreOffice 才能生成 PDF")


def test_with_pdf_items_are_pdfs_and_one_merged_pdf_is_stamped_with_the_code(session, tmp_path, monkeypatch):
    _needs_libreoffice()
    from pypdf import PdfReader

    from archive.documents.pdf import pdf_text

    monkeypatch.setenv("ARCHIVE_PDF", "always")
    case_no = make_case(session).case.case_no
    volumes.attach(session, case_no, make_pdf(tmp_path / "scan.pdf", pages=2), title="经营场所证明")
    volumes.attach(session, case_no, make_png(tmp_path / "id.png"), title="身份证复印件")
    cases.conclude(at_window(session), case_no, decision="approved", on=CONCLUDED_ON)
    v = volumes.file_case(session, case_no)
    assert [Path(i.path).suffix for i in v.items] == [".pdf", ".pdf", ".png", ".pdf", ".pdf"]
    for item in v.items:
        if item.path.endswith(".pdf"):
            assert len(PdfReader(item.path).pages) == item.pages
    assert v.items[0].pages >= 1 and v.items[2].pages == 1
    merged = Path(v.merged_pdf)
    reader = PdfReader(merged)
    assert len(reader.pages) >= v.pages + 3  # cover, item list and notes sheet around the items
    for page in reader.pages:
        assert v.archival_code in (page.extract_text() or "")
    assert reader.metadata["/ArchivalCode"] == v.archival_code
    text = pdf_text(merged)
    assert "卷内文件目录" in text and "申请登记表" in text and "卷内备考表" in text
    merged_form = next(f for f in v.forms if f.kind == "merged_pdf")
    assert merged_form.pages == len(reader.pages)
    assert hashlib.sha256(merged.read_bytes()).hexdigest() == merged_form.sha256
    # Item pages carry their page number after the code; the forms (cover first) do not.
    assert f"档号：{v.archival_code}   第1页" in reader.pages[2].extract_text()
    assert f"档号：{v.archival_code}" in reader.pages[0].extract_text()
    assert "第1页" not in reader.pages[0].extract_text()
    # The stamp's font is embedded (a CJK subset, so 档号 reads back as text).
    fonts = [f for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    stamp = next(f.get_object() for f in fonts if f.get_object()["/BaseFont"] == "/NotoSansCJKsc-Regular")
    descendant = stamp["/DescendantFonts"][0].get_object()
    assert "/FontFile3" in descendant["/FontDescriptor"]
    # Every item PDF is PDF/A-2b; the merged PDF does not claim it (pypdf drops the metadata).
    from archive.documents.pdf import pdfa_claim
    assert all(pdfa_claim(i.path) == "2B" for i in v.items if i.kind != "attachment")
    assert pdfa_claim(merged) is None


# -- issue 12: access and security, forms -------------------------------------------------------

def test_a_persons_volume_is_controlled_and_a_change_is_approved_logged_and_noted(session):
    from sqlalchemy import select

    case_no = make_case(session).case.case_no  # a person: the volume holds an ID number
    cases.conclude(session.as_operator("钱进"), case_no, decision="approved", on=CONCLUDED_ON)  # SJ's head
    v = volumes.file_case(session, case_no)
    assert v.access == "控制" and v.security_level is None
    cover = next(f for f in v.forms if f.kind == "volume_cover")
    assert "控制" in docx_text(cover.path) and "无" in docx_text(cover.path)
    from archive.core.errors import ForbiddenError
    from archive.shelf import access_changes

    code = v.archival_code
    with pytest.raises(InputError):
        access_changes.propose(session, code, access="公开", reason="审核")
    with pytest.raises(InputError):
        access_changes.propose(session, code, access="开放", reason=" ")
    with pytest.raises(StateError):
        access_changes.propose(session, code, access="控制", reason="审核")
    with session.store.read() as conn:  # nothing written on bad input
        assert conn.execute(select(st.access_changes)).all() == []
    proposal = access_changes.propose(session, code, access="开放", security_level="秘密",
                                      reason="经开放审核，个人信息已作技术处理")  # the archivist proposes
    assert proposal.status == "pending" and proposal.requested_by == session.operator
    assert volumes.show(session, code).access == "控制"  # nothing applies before the approval
    with pytest.raises(StateError):  # one pending proposal per volume
        access_changes.propose(session, code, access="延期开放", reason="另议")
    with pytest.raises(ForbiddenError):  # access.change is the archive head's, not the archivist's
        access_changes.decide(session, proposal.number, approve=True)
    head = session.as_operator("周敏")  # access.change: the archive head
    assert [p.number for p in access_changes.pending(head)] == [proposal.number]
    with pytest.raises(InputError):  # a refusal needs a reason
        access_changes.decide(head, proposal.number, approve=False, note="")
    with pytest.raises(NotFoundError):
        access_changes.decide(head, 999, approve=True)
    decided = access_changes.decide(head, proposal.number, approve=True)
    assert decided.status == "approved" and decided.decided_by == "周敏"
    with pytest.raises(StateError):  # decided once
        access_changes.decide(head, proposal.number, approve=False, note="改主意")
    changed = volumes.show(session, code)
    assert changed.access == "开放" and changed.security_level == "秘密"
    assert ("开放标识由“控制”改为“开放”；密级由“无”改为“秘密”。提出人："
            f"{session.operator}；批准人：周敏") in changed.notes[-1].text
    new_cover = next(f for f in changed.forms if f.kind == "volume_cover")
    assert new_cover.path != cover.path and Path(cover.path).exists()  # the old cover is kept
    assert "秘密" in docx_text(new_cover.path)
    with session.store.read() as conn:
        event = conn.execute(select(st.events).where(st.events.c.action == "access_change")).one()
        proposed = conn.execute(select(st.events).where(st.events.c.action == "access_change_propose")).one()
    assert event.detail["approver"] == "周敏" and event.detail["previous_access"] == "控制"
    assert event.operator == "周敏" and proposed.operator == session.operator
    assert fixity.verify(session).ok


def test_an_organisations_volume_follows_its_class(session):
    from archive.window.cases import Applicant

    org = Applicant.organisation("江州市某某餐饮有限公司", ORG_CODE, "李四", "0792-88886666")
    case_no = make_case(session, applicant=org).case.case_no
    cases.conclude(at_window(session), case_no, decision="approved", on=CONCLUDED_ON)
    assert volumes.file_case(session, case_no).access == "开放"


def test_the_volume_keeps_the_stub_not_the_applicants_part(session):
    case_no = make_case(session).case.case_no
    cases.conclude(session.as_operator("钱进"), case_no, decision="approved", on=CONCLUDED_ON)  # SJ's head
    v = volumes.file_case(session, case_no)
    notice = next(i for i in v.items if i.kind == "notice")
    text = docx_text(notice.path)
    assert "窗口存根" in text and "申请人收执" not in text
    record = next(i for i in v.items if i.kind == "decision_record")
    text = docx_text(record.path)
    assert "批准人\n钱进" in text and "批准日期\n2026年9月30日" in text
    notes = next(f for f in v.forms if f.kind == "notes_sheet")
    assert "archive" not in docx_text(notes.path) and "窗口存根联" in docx_text(notes.path)


def test_nobody_approves_their_own_access_proposal_and_a_refusal_changes_nothing(session):
    from sqlalchemy import select

    from archive.core.errors import ForbiddenError
    from archive.shelf import access_changes

    case_no = make_case(session).case.case_no
    cases.conclude(session.as_operator("钱进"), case_no, decision="approved", on=CONCLUDED_ON)  # SJ's head
    code = volumes.file_case(session, case_no).archival_code
    head = session.as_operator("周敏")  # the head may propose too, but not approve it herself
    own = access_changes.propose(head, code, access="开放", reason="经开放审核")
    with pytest.raises(ForbiddenError):
        access_changes.decide(head, own.number, approve=True)
    # a second archive head refuses it with a reason: nothing changes but the record
    add_account(session.ws.home, "吕强", "archive_head")
    other = session.as_operator("吕强")
    refused = access_changes.decide(other, own.number, approve=False, note="卷内仍有未处理的个人信息")
    assert refused.status == "refused" and refused.decision_note == "卷内仍有未处理的个人信息"
    volume = volumes.show(session, code)
    assert volume.access == "控制" and not any(n.kind == "access" for n in volume.notes)
    with session.store.read() as conn:
        actions = [r.action for r in conn.execute(select(st.events.c.action).where(st.events.c.subject == code))]
    assert "access_change_refuse" in actions and "access_change" not in actions
    assert [p.status for p in access_changes.for_volume(session, code)] == ["refused"]


def test_showing_and_listing_volumes_needs_volume_read(session):
    from archive.core.errors import ForbiddenError

    case_no = make_case(session).case.case_no
    cases.conclude(session.as_operator("钱进"), case_no, decision="approved", on=CONCLUDED_ON)  # SJ's head
    code = volumes.file_case(session, case_no).archival_code
    for admin in ("冯涛", "蒋丽", "韩梅"):  # sysadmin, secadmin, auditor: refused, not told "nothing"
        other = session.as_operator(admin)
        with pytest.raises(ForbiddenError) as refused:
            volumes.list_volumes(other)
        assert "无权查看案卷" in refused.value.message
        with pytest.raises(ForbiddenError):
            volumes.show(other, code)
    clerk = session.as_operator("王芳")  # a window clerk reads volumes within clearance (控制 included)
    assert [v.archival_code for v in volumes.list_volumes(clerk)] == [code]
    public = session.as_operator("郑洁")  # may read volumes, not a 控制 one: as if it did not exist
    assert volumes.list_volumes(public) == []
    with pytest.raises(NotFoundError):
        volumes.show(public, code)
