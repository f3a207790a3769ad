import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import select

from archive.window import notices
from archive.core import store as st
from archive.documents.render import sha256_file
from archive.core.errors import NotFoundError, StateError

from .conftest import add_account
from .test_cases import docx_text, make_case

WORKER = textwrap.dedent("""
    import datetime as dt, json, sys
    from archive.window.cases import Applicant, receive
    from archive.core.config import open_workspace
    from archive.core.session import Session

    home, count = sys.argv[1], int(sys.argv[2])
    out = []
    with Session(open_workspace(home), operator="并发测试", today=dt.date(2026, 9, 28)) as session:
        for _ in range(count):
            r = receive(session, item_code="SJ-XK-003",
                        applicant=Applicant.person("张三", "11010519491231002X", "13800138000"),
                        materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on=dt.date(2026, 9, 28))
            out.append([r.case.case_no, r.notices[0].number])
    print(json.dumps(out))
""")


def test_two_clerks_at_the_same_moment_get_unique_gap_free_numbers(home):
    add_account(home, "并发测试", "clerk")
    count = 6
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(home), str(count)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results += json.loads(out)
    case_numbers = [c for c, _ in results]
    seqs = sorted(int(n.split("〕")[1].rstrip("号")) for _, n in results)
    assert len(set(case_numbers)) == 2 * count
    assert seqs == list(range(1, 2 * count + 1))


def test_notice_is_recorded_with_sha256_under_the_workspace(session, home):
    notice = make_case(session).notices[0]
    path = Path(notice.docx)
    assert home / "documents" in path.parents
    assert notice.sha256 == sha256_file(path)
    with session.store.read() as conn:
        row = conn.execute(select(st.notices).where(st.notices.c.number == notice.number)).one()
    assert not Path(row.path).is_absolute()  # the workspace folder can move
    assert row.sha256 == notice.sha256


def test_each_part_on_its_own_page_with_number_and_check_code(session):
    notice = make_case(session).notices[0]
    doc = Document(notice.docx)
    body = doc.element.body.xml
    parts = session.ws.parts_for("receipt")
    assert body.count('w:pageBreakBefore') + body.count('w:type="page"') >= len(parts) - 1
    text = docx_text(notice.docx)
    assert text.count(notice.check_code) >= len(parts)
    for label, destination in parts:
        assert label in text and destination in text


def test_existing_file_is_never_overwritten(session):
    notice = make_case(session).notices[0]
    # Simulate a stray file where the next notice would go: the issue must fail and write nothing.
    next_path = Path(notice.docx.replace("〔2026〕1号", "〔2026〕2号"))
    next_path.write_bytes(b"not ours")
    with session.store.read() as conn:
        before = conn.execute(select(st.notices)).all()
    with pytest.raises(StateError):
        make_case(session)
    assert next_path.read_bytes() == b"not ours"
    with session.store.read() as conn:
        assert conn.execute(select(st.notices)).all() == before


def test_reprint_of_unknown_number(session):
    with pytest.raises(NotFoundError):
        notices.reprint(session, "不存在〔2026〕9号")


def test_pdf_when_libreoffice_is_installed(session, monkeypatch):
    from archive.documents.office import libreoffice_available
    from archive.documents.pdf import pdf_text

    if not libreoffice_available():
        pytest.skip("LibreOffice 未安装（make deps 可安装）")
    monkeypatch.setenv("ARCHIVE_PDF", "always")
    notice = make_case(session).notices[0]
    assert notice.pdf and Path(notice.pdf).exists()
    assert notice.number in "".join(pdf_text(notice.pdf).split())
    from pypdf import PdfReader

    meta = PdfReader(notice.pdf).metadata
    assert notice.number in meta.title
    with session.store.read() as conn:
        row = conn.execute(select(st.notices).where(st.notices.c.number == notice.number)).one()
    assert row.pdf_sha256 == sha256_file(notice.pdf)
