"""Notices' PDFs made after the write commits (the server), or on demand, with real LibreOffice.

The server calls ``notices.convert_later``: a receive then writes and commits its .docx
notice and a thread makes the PDF; whoever asks for the PDF first makes it and the other
waits. A workspace that made no PDFs before gets them when asked for.
"""

from __future__ import annotations

import os
import time

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.errors import ArchiveError, InputError
from archive.core.session import Session
from archive.shelf import fixity
from archive.window import notices

from .conftest import DEMO_DAY, at_archive
from .test_cases import make_case
from .test_converter import needs_libreoffice


def _session(home, **overrides) -> Session:
    return Session(open_workspace(home, **overrides), operator="王芳", today=DEMO_DAY)


def _row(session, notice_id):
    with session.store.read() as conn:
        return conn.execute(select(st.notices).where(st.notices.c.id == notice_id)).one()


def _pdfs(home):
    return sorted(p.name for p in (home / "documents").rglob("*.pdf"))


def test_a_unit_of_work_runs_its_later_actions_only_after_it_commits(session):
    ran = []
    with pytest.raises(InputError):
        with session.work() as work:
            work.later(lambda: ran.append("failed"))
            raise InputError("中途出错", field="x")
    assert ran == []

    def seen_from_outside():
        with session.store.read() as conn:  # another connection: the write must be visible already
            ran.append(conn.execute(select(st.counters.c.value).where(st.counters.c.scope == "probe")).scalar())

    with session.work() as work:
        st.next_number(work.conn, "probe")
        work.later(seen_from_outside)
        assert ran == []
    assert ran == [1]


@needs_libreoffice
def test_the_receive_commits_without_its_pdf_and_the_thread_makes_it(home):
    with _session(home, pdf="auto") as session:
        later = notices.convert_later(session)
        receipt = make_case(session).notices[-1]
        assert receipt.pdf is None and receipt.pdf_pending and receipt.to_dict()["pdf_pending"] is True
        deadline = time.monotonic() + 180
        while _row(session, receipt.id).pdf_path is None:
            assert time.monotonic() < deadline, "the thread made no PDF"
            time.sleep(0.2)
        row = _row(session, receipt.id)
        path, name = notices.notice_file(session, receipt.id, "pdf")
        assert name == f"{receipt.number}.pdf" and path == session.ws.absolute(row.pdf_path)
        reader = PdfReader(path)
        assert receipt.number in "".join(page.extract_text() for page in reader.pages)
        assert reader.metadata.title == f"受理通知书 {receipt.number}"
        shown = notices.from_row(session, row)
        assert shown.pdf == str(path) and not shown.pdf_pending
        later.close()
        assert later.failures == 0
        assert fixity.verify(at_archive(session)).ok  # the PDF's recorded SHA-256 is its own


@needs_libreoffice
def test_the_pdfs_of_several_receives_are_spread_over_the_converters_servers(home):
    from archive.documents import office

    with _session(home, pdf="auto") as session:
        later = notices.convert_later(session)
        receipts = [make_case(session).notices[-1] for _ in range(4)]
        later.close()  # every PDF asked for is made before the threads stop
        assert later.failures == 0 and all(_row(session, r.id).pdf_path for r in receipts)
        pool = office.converter(session)
        # One thread per server the pool may run (one per core, at most four), each on its own.
        assert len(later.threads) == 0 and pool.max_servers == min(4, max(1, len(os.sched_getaffinity(0))))
        assert len(pool.server_pids) == pool.max_servers
        assert len(set(pool.server_pids)) == pool.max_servers


@needs_libreoffice
def test_asking_first_makes_the_pdf_once_and_the_thread_finds_it_made(home):
    with _session(home, pdf="auto") as session:
        later = notices.convert_later(session)
        receipt = make_case(session).notices[-1]
        path, _name = notices.notice_file(session, receipt.id, "pdf")  # the viewer asks at once
        later.close()  # the queued request finds it made
        assert later.failures == 0
        assert _pdfs(home) == [path.name]
        assert notices.make_pdf(session, receipt.id) == path
        parts, _ = notices.part_pdf(session, receipt.id, 1)
        assert parts.startswith(b"%PDF-")


@needs_libreoffice
def test_a_notice_written_without_pdf_gets_one_when_asked_and_a_changed_docx_gets_none(home):
    with _session(home) as session:  # ARCHIVE_PDF=never in the tests
        first = make_case(session).notices[-1]
        second = make_case(session).notices[-1]
        assert first.pdf is None and not first.pdf_pending
    assert _pdfs(home) == []
    with _session(home, pdf="auto") as session:
        path = notices.make_pdf(session, first.id)
        assert path.is_file() and _row(session, first.id).pdf_sha256
        docx = session.ws.absolute(_row(session, second.id).path)
        docx.write_bytes(docx.read_bytes() + b"\0")
        with pytest.raises(ArchiveError) as caught:
            notices.notice_file(session, second.id, "pdf")
        assert "已被改动" in caught.value.message and caught.value.field == "notice"
        assert _row(session, second.id).pdf_path is None
        assert _pdfs(home) == [path.name]
