"""archive.documents.office against a real LibreOffice (no mocks of the conversion).

The tests that convert skip, saying why, on a machine without LibreOffice; ``make deps``
(tools/install-debian-deps.sh) installs it on Debian/Ubuntu.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archive.documents import office as converter
from archive.documents.office import PdfConverter, libreoffice_available
from archive.documents.pdf import pdf_page_count, pdf_text, stamp_metadata
from archive.core.errors import ConversionError, InputError, StateError

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


needs_libreoffice = pytest.mark.skipif(
    not libreoffice_available(),
    reason="LibreOffice 或 python3-uno 未安装（make deps 可安装），跳过 DOCX→PDF 转换测试",
)


def make_docx(
    path: Path,
    *,
    title: str = "受理通知书",
    body: str = "甲&乙公司：你单位提交的申请材料齐全，符合法定形式，本机关决定予以受理。",
    heading: str | None = None,
) -> Path:
    """A one-page notice with the fonts the real templates use (小标宋, 仿宋, 黑体)."""
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    def run(paragraph, text: str, font: str, size: int) -> None:
        r = paragraph.add_run(text)
        r.font.name = font
        r.font.size = Pt(size)
        r._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)

    document = docx.Document()
    run(document.add_paragraph(), title, "方正小标宋简体", 22)
    if heading:
        run(document.add_paragraph(), heading, "黑体", 16)
    run(document.add_paragraph(), body, "仿宋", 16)
    document.save(path)
    return path


def soffice_processes(pgid: int) -> list[str]:
    """Command names of the live processes still in the server's process group.

    Zombies do not count: LibreOffice's gpgconf/gpg helpers are left as zombies of the
    process that adopts them, which reaps them in its own time (a second later in some
    containers); they are not running and hold nothing.
    """
    result = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    names = []
    for pid in result.stdout.split():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
        if state != "Z":
            names.append(name)
    return names


def processes_using(folder: Path) -> list[str]:
    """``pgrep -f``: processes whose command line names ``folder`` (LibreOffice's profile)."""
    result = subprocess.run(["pgrep", "-a", "-f", str(folder)], capture_output=True, text=True)
    return result.stdout.splitlines()


def embedded_font_names(pdf: Path) -> set[str]:
    from pypdf import PdfReader

    names = set()
    for page in PdfReader(pdf).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]))
            for descendant in font.get("/DescendantFonts", []):
                names.add(str(descendant.get_object()["/BaseFont"]))
    return names


@pytest.fixture(scope="module")
def shared_converter():
    """One server for the tests that only convert (starting LibreOffice takes seconds)."""
    if not libreoffice_available():
        pytest.skip("LibreOffice 未安装")
    with PdfConverter() as pdf_converter:
        yield pdf_converter


@needs_libreoffice
def test_convert_keeps_chinese_text(shared_converter, tmp_path):
    source = make_docx(tmp_path / "notice.docx")

    result = shared_converter.convert(source, tmp_path / "notice.pdf")

    assert result == tmp_path / "notice.pdf"
    assert pdf_page_count(result) == 1
    text = pdf_text(result)
    assert "受理通知书" in text
    assert "甲&乙公司" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notice.docx", "notice.pdf"]


@needs_libreoffice
def test_notice_fonts_become_noto_cjk(shared_converter, tmp_path):
    # 仿宋 / 方正小标宋简体 must not fall back to DejaVu or a Japanese sans face.
    source = make_docx(tmp_path / "fonts.docx", heading="一、办理依据")

    fonts = embedded_font_names(shared_converter.convert(source, tmp_path / "fonts.pdf"))

    assert any("NotoSerifCJK" in name for name in fonts), fonts  # 仿宋, 小标宋
    assert any("NotoSansCJK" in name for name in fonts), fonts  # 黑体
    assert not any("DejaVu" in name for name in fonts), fonts


@needs_libreoffice
def test_a_batch_uses_one_server_and_close_ends_it(tmp_path):
    # Titles without digits: text extraction puts spaces between Chinese and digits.
    names = "甲乙丙丁戊"
    sources = [make_docx(tmp_path / f"n{i}.docx", title=f"受理通知书之{names[i]}") for i in range(5)]

    pdf_converter = PdfConverter()
    with pdf_converter:
        pgid = pdf_converter.server_pid
        workdir = pdf_converter._workdir
        for source in sources:
            pdf_converter.convert(source, source.with_suffix(".pdf"))
        assert soffice_processes(pgid).count("soffice.bin") == 1
        assert pdf_converter.server_pid == pgid

    assert pdf_converter.starts == 1
    for i, source in enumerate(sources):
        assert f"受理通知书之{names[i]}" in pdf_text(source.with_suffix(".pdf"))
    # Leaving the block stopped LibreOffice and removed its temporary profile.
    assert soffice_processes(pgid) == []
    assert not workdir.exists()
    assert not pdf_converter.running
    pdf_converter.close()  # closing twice is harmless


@needs_libreoffice
def test_server_that_died_is_started_again(tmp_path):
    with PdfConverter() as pdf_converter:
        pdf_converter.convert(make_docx(tmp_path / "a.docx"), tmp_path / "a.pdf")
        old = pdf_converter.server_pid
        os.killpg(old, signal.SIGKILL)  # LibreOffice and unoserver crash together

        pdf_converter.convert(make_docx(tmp_path / "b.docx"), tmp_path / "b.pdf")

        assert pdf_converter.starts == 2
        assert pdf_converter.server_pid != old
    assert "受理通知书" in pdf_text(tmp_path / "b.pdf")


@needs_libreoffice
def test_existing_target_is_refused(shared_converter, tmp_path):
    source = make_docx(tmp_path / "notice.docx")
    target = tmp_path / "notice.pdf"
    target.write_bytes(b"earlier print")

    with pytest.raises(StateError) as caught:
        shared_converter.convert(source, target)

    assert caught.value.field == "pdf_path"
    assert "已存在" in caught.value.message
    assert target.read_bytes() == b"earlier print"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notice.docx", "notice.pdf"]


@needs_libreoffice
def test_garbage_docx_fails_without_output(shared_converter, tmp_path):
    source = tmp_path / "broken.docx"
    source.write_bytes(b"\x00not a word file" * 50)

    with pytest.raises(ConversionError) as caught:
        shared_converter.convert(source, tmp_path / "broken.pdf")

    assert caught.value.exit_code == 1
    assert "broken.docx" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.docx"]


@needs_libreoffice
def test_damaged_docx_fails_in_libreoffice_without_output(shared_converter, tmp_path):
    # A real zip with word/document.xml cut in half: only LibreOffice can tell.
    good = make_docx(tmp_path / "good.docx")
    source = tmp_path / "damaged.docx"
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(source, "w") as damaged:
        for name in original.namelist():
            data = original.read(name)
            if name == "word/document.xml":
                data = data[: len(data) // 2]
            damaged.writestr(name, data)

    with pytest.raises(ConversionError) as caught:
        shared_converter.convert(source, tmp_path / "damaged.pdf")

    assert "damaged.docx" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.docx", "good.docx"]
    # The server survives a bad document and goes on with the batch.
    shared_converter.convert(good, tmp_path / "good.pdf")
    assert pdf_page_count(tmp_path / "good.pdf") == 1


@needs_libreoffice
def test_missing_source_is_an_input_error(shared_converter, tmp_path):
    with pytest.raises(InputError) as caught:
        shared_converter.convert(tmp_path / "nope.docx", tmp_path / "nope.pdf")
    assert caught.value.field == "docx_path"


@needs_libreoffice
def test_stamp_metadata_round_trip(shared_converter, tmp_path):
    from pypdf import PdfReader

    pdf = shared_converter.convert(make_docx(tmp_path / "n.docx"), tmp_path / "n.pdf")

    stamp_metadata(
        pdf,
        title="受理通知书",
        number="某审受字〔2026〕1号",
        case="SL-2026-000123",
        subject="甲&乙公司 食品经营许可",
        author="某市行政服务中心",
        keywords=["受理", "食品经营许可"],
    )

    info = PdfReader(pdf).metadata
    assert info["/Title"] == "受理通知书"
    assert info["/NoticeNumber"] == "某审受字〔2026〕1号"
    assert info["/CaseNumber"] == "SL-2026-000123"
    assert info["/Subject"] == "甲&乙公司 食品经营许可"
    assert info["/Author"] == "某市行政服务中心"
    assert info["/Keywords"] == "受理; 食品经营许可"
    assert "LibreOffice" in info["/Producer"]  # what was there is kept
    assert "甲&乙公司" in pdf_text(pdf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.docx", "n.pdf"]


def test_stamp_metadata_needs_title_and_number(tmp_path):
    with pytest.raises(InputError) as caught:
        stamp_metadata(tmp_path / "x.pdf", title=" ", number="1")
    assert caught.value.field == "title"


def test_pdf_helpers_reject_a_file_that_is_not_pdf(tmp_path):
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"this is no pdf")
    with pytest.raises(InputError):
        pdf_page_count(fake)
    with pytest.raises(InputError):
        pdf_text(tmp_path / "missing.pdf")


def test_missing_libreoffice_says_how_to_install(monkeypatch):
    monkeypatch.setattr(converter, "_discover", lambda: (None, None))

    with pytest.raises(ConversionError) as caught:
        PdfConverter().start()

    assert caught.value.exit_code == 1
    assert "make deps" in caught.value.message
    assert "sudo apt-get install libreoffice-writer-nogui fonts-noto-cjk" in caught.value.message


# --------------------------------------------------------------------------- pool


SEAL = Path(__file__).parent / "data" / "seal_test.png"


def make_sealed_docx(path: Path, *, title: str) -> Path:
    """A notice with the 600×600 test seal 40 mm wide, as the real notices carry it."""
    import docx
    from docx.shared import Mm

    make_docx(path, title=title)
    document = docx.Document(path)
    document.add_picture(str(SEAL), width=Mm(40))
    document.save(path)
    return path


def pdf_summary(pdf: Path) -> tuple[int, str]:
    return pdf_page_count(pdf), pdf_text(pdf)


@needs_libreoffice
def test_pool_of_two_servers_gives_the_same_pdfs_as_one(shared_converter, tmp_path):
    names = "甲乙丙丁戊己"
    sources = [
        make_sealed_docx(tmp_path / f"n{i}.docx", title=f"受理通知书之{names[i]}") for i in range(6)
    ]
    single = tmp_path / "single"
    for source in sources:
        shared_converter.convert(source, single / f"{source.stem}.pdf")
    calls = []

    pool = PdfConverter(servers=2, parallel_threshold=4)
    with pool:
        pairs = [(source, tmp_path / "pool" / f"{source.stem}.pdf") for source in sources]
        result = pool.convert_many(pairs, progress=lambda *args: calls.append(args))
        assert pool.starts == 2
        pgids = pool.server_pids
        assert len(pgids) == 2
        workdirs = [server.workdir for server in pool._servers]
        for pgid in pgids:
            assert soffice_processes(pgid).count("soffice.bin") == 1

    assert result == [pdf for _, pdf in pairs]
    for source in sources:
        assert pdf_summary(tmp_path / "pool" / f"{source.stem}.pdf") == pdf_summary(
            single / f"{source.stem}.pdf"
        )
    assert [(done, total) for done, total, _ in calls] == [(i, 6) for i in range(1, 7)]
    assert sorted(name for _, _, name in calls) == sorted(pdf.name for _, pdf in pairs)
    assert sorted(p.name for p in (tmp_path / "pool").iterdir()) == sorted(pdf.name for _, pdf in pairs)
    # close() ended both servers and removed both temporary folders.
    for pgid in pgids:
        assert soffice_processes(pgid) == []
    for workdir in workdirs:
        assert not workdir.exists()
        assert processes_using(workdir) == []
    assert pool.server_pids == []


@needs_libreoffice
def test_small_batch_and_single_conversions_use_one_server(tmp_path):
    sources = [make_docx(tmp_path / f"n{i}.docx") for i in range(3)]

    with PdfConverter(servers=2, parallel_threshold=4) as pool:
        pool.convert_many([(s, s.with_suffix(".pdf")) for s in sources[:2]])
        pool.convert(sources[2], sources[2].with_suffix(".pdf"))
        assert pool.starts == 1
        assert len(pool.server_pids) == 1

    assert all(pdf_page_count(s.with_suffix(".pdf")) == 1 for s in sources)


@needs_libreoffice
def test_seal_is_embedded_at_its_own_resolution(shared_converter, tmp_path):
    # LibreOffice's default export resamples it to 300 dpi JPEG (slow and blurred).
    from pypdf import PdfReader

    pdf = shared_converter.convert(make_sealed_docx(tmp_path / "s.docx", title="受理通知书"), tmp_path / "s.pdf")

    images = [
        xobject.get_object()
        for page in PdfReader(pdf).pages
        for xobject in page["/Resources"].get_object().get("/XObject", {}).values()
    ]
    assert [(image["/Width"], image["/Height"], image["/Filter"]) for image in images] == [
        (600, 600, "/FlateDecode")
    ]


@needs_libreoffice
def test_batch_with_a_damaged_document_leaves_nothing(tmp_path):
    sources = [make_docx(tmp_path / f"n{i}.docx") for i in range(5)]
    damaged = tmp_path / "n3.docx"
    with zipfile.ZipFile(sources[0]) as original, zipfile.ZipFile(damaged, "w") as broken:
        for name in original.namelist():
            data = original.read(name)
            if name == "word/document.xml":
                data = data[: len(data) // 2]
            broken.writestr(name, data)
    out = tmp_path / "out"

    with PdfConverter(servers=2, parallel_threshold=2) as pool:
        with pytest.raises(ConversionError) as caught:
            pool.convert_many([(s, out / f"{s.stem}.pdf") for s in sources])
        assert "n3.docx" in caught.value.message
        assert list(out.iterdir()) == []  # all or nothing
        # The servers survive and the next batch goes through.
        good = [s for s in sources if s != damaged]
        pool.convert_many([(s, out / f"{s.stem}.pdf") for s in good])

    assert sorted(p.name for p in out.iterdir()) == ["n0.pdf", "n1.pdf", "n2.pdf", "n4.pdf"]


@needs_libreoffice
def test_batch_is_checked_before_anything_is_converted(shared_converter, tmp_path):
    sources = [make_docx(tmp_path / f"n{i}.docx") for i in range(3)]
    (tmp_path / "n2.pdf").write_bytes(b"earlier print")
    starts = shared_converter.starts

    with pytest.raises(StateError):
        shared_converter.convert_many([(s, s.with_suffix(".pdf")) for s in sources])
    with pytest.raises(InputError) as caught:
        shared_converter.convert_many([(sources[0], tmp_path / "x.pdf"), (sources[1], tmp_path / "x.pdf")])

    assert caught.value.field == "pdf_path"
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["n2.pdf"]
    assert shared_converter.starts == starts
    assert shared_converter.convert_many([]) == []


@needs_libreoffice
def test_batch_goes_on_when_an_extra_server_cannot_start(monkeypatch, tmp_path):
    sources = [make_docx(tmp_path / f"n{i}.docx") for i in range(4)]
    pool = PdfConverter(servers=2, parallel_threshold=2)
    real_start = converter._Server.start

    def start(server, cfg):
        if server is not cfg._servers[0]:
            raise ConversionError("第二个服务起不来")
        real_start(server, cfg)

    monkeypatch.setattr(converter._Server, "start", start)
    with pool:
        pool.convert_many([(s, s.with_suffix(".pdf")) for s in sources])
        assert pool.starts == 1

    assert all(pdf_page_count(s.with_suffix(".pdf")) == 1 for s in sources)


@needs_libreoffice
def test_cached_profile_is_built_once_and_holds_no_document_paths(tmp_path):
    cache = tmp_path / "cache"
    source = make_docx(tmp_path / "secret-applicant.docx")

    with PdfConverter(profile_cache=cache) as first:
        first.convert(source, tmp_path / "a.pdf")
    templates = list(cache.glob("libreoffice-profile-*"))
    assert len(templates) == 1
    built = templates[0].stat().st_mtime_ns
    with PdfConverter(profile_cache=cache) as second:
        assert (second._workdir / "profile" / "user" / "registrymodifications.xcu").is_file()
        second.convert(source, tmp_path / "b.pdf")

    assert list(cache.glob("libreoffice-profile-*")) == templates
    assert templates[0].stat().st_mtime_ns == built
    assert [p.name for p in cache.iterdir()] == [templates[0].name]  # no building leftovers
    for path in templates[0].rglob("*"):
        if path.is_file():
            assert b"secret-applicant" not in path.read_bytes(), path
    assert "受理通知书" in pdf_text(tmp_path / "b.pdf")


@needs_libreoffice
def test_converter_without_profile_cache_starts_with_a_new_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    with PdfConverter(profile_cache=None) as pdf_converter:
        pdf_converter.convert(make_docx(tmp_path / "n.docx"), tmp_path / "n.pdf")

    # No profile is kept (LibreOffice puts its dconf under XDG_CACHE_HOME, but not there); the
    # machine's font cache (archive.documents.fonts) is the only thing in the folder.
    kept = [p.name for p in (tmp_path / "xdg" / "archive").iterdir()] if (tmp_path / "xdg" / "archive").exists() else []
    assert not [name for name in kept if not name.startswith("fonts-")], kept
    assert pdf_page_count(tmp_path / "n.pdf") == 1


@needs_libreoffice
def test_libreoffice_temporary_files_go_with_the_server(tmp_path):
    pdf_converter = PdfConverter()
    with pdf_converter:
        pdf_converter.convert(make_docx(tmp_path / "n.docx"), tmp_path / "n.pdf")
        lo_temp = list((pdf_converter._workdir / "tmp").glob("lu*.tmp"))
        assert lo_temp  # LibreOffice's own temporary folder is inside the server's folder
    assert not any(path.exists() for path in lo_temp)


@needs_libreoffice
def test_prewarm_starts_in_the_background_and_convert_waits_for_it(tmp_path):
    pdf_converter = PdfConverter()
    try:
        pdf_converter.prewarm()
        pdf_converter.prewarm()  # a start in progress is not doubled
        source = make_docx(tmp_path / "n.docx")  # meanwhile the caller does its own work

        pdf_converter.convert(source, tmp_path / "n.pdf")

        assert pdf_converter.starts == 1
        assert pdf_page_count(tmp_path / "n.pdf") == 1
    finally:
        pdf_converter.close()
    assert not pdf_converter.running


@needs_libreoffice
def test_close_right_after_prewarm_leaves_no_server(tmp_path):
    import time

    pdf_converter = PdfConverter()
    pdf_converter.prewarm()
    pdf_converter.close()
    time.sleep(0.5)  # a background start that outlived close() would show by now

    assert pdf_converter._servers[0].proc is None
    assert pdf_converter.server_pids == []


@needs_libreoffice
def test_cached_profile_that_does_not_start_is_thrown_away(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    with PdfConverter(profile_cache=cache):
        pass  # builds the cached profile
    template = next(cache.glob("libreoffice-profile-*"))
    real_launch = converter._Server._launch
    used = []

    def launch(server, cfg, soffice, python, package, dist_infos, profile_template):
        used.append(profile_template)
        if profile_template is not None:
            raise converter._ServerExited("LibreOffice 转换服务启动失败（模拟）")
        real_launch(server, cfg, soffice, python, package, dist_infos, profile_template)

    monkeypatch.setattr(converter._Server, "_launch", launch)
    with PdfConverter(profile_cache=cache) as pdf_converter:
        pdf_converter.convert(make_docx(tmp_path / "n.docx"), tmp_path / "n.pdf")

    assert used == [template, None]
    assert not template.exists()
    assert pdf_page_count(tmp_path / "n.pdf") == 1


@needs_libreoffice
def test_server_whose_starter_died_ends_and_cleans_up(tmp_path):
    # A batch killed outright (no close(), no finalizers): the watchdog ends the server.
    import time

    script = (
        "import os, sys\n"
        "from archive.documents.office import PdfConverter\n"
        "c = PdfConverter()\n"
        "c.start()\n"
        "print(c.server_pid, c._workdir, flush=True)\n"
        "os._exit(0)\n"
    )
    root = Path(converter.__file__).resolve().parent.parent.parent
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
                            check=True)
    pgid, workdir = result.stdout.split()
    for _ in range(100):  # the watchdog looks twice a second
        if not soffice_processes(int(pgid)) and not Path(workdir).exists():
            break
        time.sleep(0.1)
    assert soffice_processes(int(pgid)) == []
    assert not Path(workdir).exists()


@needs_libreoffice
def test_port_taken_by_another_program_is_replaced(monkeypatch, tmp_path):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real_reserve = converter._reserve_port
    ports = iter([taken.getsockname()[1]])
    monkeypatch.setattr(converter, "_reserve_port", lambda: next(ports, None) or real_reserve())
    cache = tmp_path / "cache"
    try:
        with PdfConverter(profile_cache=cache) as pdf_converter:
            pdf_converter.convert(make_docx(tmp_path / "n.docx"), tmp_path / "n.pdf")
            assert pdf_converter.starts == 2  # the first server could not listen
    finally:
        taken.close()
    assert len(list(cache.glob("libreoffice-profile-*"))) == 1  # a port clash keeps the profile
