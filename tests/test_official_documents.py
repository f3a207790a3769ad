"""Every notice kind and archive form as a document a legal reviewer would sign (issue 12).

Real cases go through the window desk — items of 1, 6 and 10 materials with 40-character
names, reasons of 200 characters, for a person and for an organisation — and LibreOffice
makes the PDFs. Each PDF is read back (pypdf, and poppler's pdftotext/pdftoppm) to prove:
one page per part; the seal's top within one line of the last line of body text (GB/T
9704 7.3.5.1), never over it; every paragraph of body text ending in 。 or ：; the decision
sentences; 你 or 你单位, never 你（单位）; identifiers (ID numbers, credit codes, case and
notice numbers, 档号) on one line; Simplified Chinese font names only, a bold title; the
PDF/A-2b claim. The archive forms of the same cases are checked likewise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import docx
import pytest

from archive.documents.office import PdfConverter, libreoffice_available
from archive.documents.pdf import pdfa_claim

from .conftest import DEMO_DAY, ORG_CODE, PERSON_ID

# The module's fixtures build one workspace shared by its tests. On PostgreSQL its store is a
# database of the module's own (``module_database``), named to every session explicitly:
# each test's ARCHIVE_DB_URL names that test's own database, which the workspace is not in.
#
# What these tests check is the documents' layout (GB/T 9704), which no store changes, and on
# PostgreSQL the module adds some six minutes to the longer half of `make test` (CI has 30):
# it runs on SQLite only. It works on PostgreSQL too: remove the marker below and run
# `pytest --store postgresql tests/test_official_documents.py`.
pytestmark = pytest.mark.sqlite_only

SIZES = (1, 6, 10)
WHO = ("person", "organisation")
MATERIAL = "申请人及其法定代表人的身份证明和住所使用证明以及营业执照复印件等相关材料第{:02d}份"
REASON = ("经现场核查，申请人提交的经营场所平面图与实际场所不符，食品处理区与非食品处理区未有效分隔，"
          "清洗消毒设施不足，冷藏冷冻设备容量与经营规模不相适应，从业人员健康证明不全，"
          "不符合《食品经营许可和备案管理办法》规定的食品经营许可条件。本机关已于现场核查时一次性告知整改要求，"
          "申请人在规定期限内未能完成整改，经复查，场所布局、设施设备和人员管理仍不符合要求，"
          "存在较大食品安全隐患，不能保证所经营食品的安全卫生")
ORGAN = "江州市市场监督管理局"
ORG_NAME = "江州市江城区某某餐饮管理有限责任公司"
LINE_MM = 28.95 * 25.4 / 72  # one line of GB/T 9704 body text
BODY_STYLES = ("公文正文", "主送", "附注", "卡片附注")


def needs_libreoffice():
    if libreoffice_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI 环境必须安装 LibreOffice（make deps）")
    pytest.skip("LibreOffice 或 python3-uno 未安装（make deps 可安装）")


def material_name(i: int) -> str:
    name = MATERIAL.format(i)
    assert len(name) == 40
    return name


def reason() -> str:
    assert len(REASON) == 200 - 1  # the notice adds the closing 。 a clerk left out
    return REASON


def make_items(n: int):
    from archive.window.catalog import item_from_dict

    materials = [{"code": f"M{i:02d}", "name": material_name(i), "required": True, "copies": 1,
                  "form": "原件及复印件" if i % 2 else "复印件"} for i in range(1, n + 1)]
    base = {"unit": "SJ", "statutory_days": 20, "fee": "不收费", "delivery": "窗口领取或邮寄送达",
            "legal_basis": "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》（国家市场监督管理总局令第78号）",
            "materials": materials}
    return {
        "promised": item_from_dict(dict(base, code=f"SJ-XK-9{n:02d}", name="食品经营许可（新办）",
                                        case_type="promised", promised_days=5)),
        "pending": item_from_dict(dict(base, code=f"SJ-XK-8{n:02d}", name="食品经营许可变更",
                                       case_type="pending_materials", promised_days=5, pending_days=3)),
        "on_the_spot": item_from_dict(dict(base, code=f"SJ-XK-7{n:02d}", name="食品经营许可注销",
                                           case_type="on_the_spot", promised_days=0)),
        "joint": item_from_dict(dict(base, code=f"SJ-XK-6{n:02d}", name="餐饮服务企业开办联办",
                                     case_type="joint", promised_days=10, statutory_days=45)),
    }


def applicant(who: str):
    from archive.window.cases import Applicant

    if who == "person":
        return Applicant.person("张三", PERSON_ID, "13800138000")
    return Applicant.organisation(ORG_NAME, ORG_CODE, "李四", "0792-88886666")


@pytest.fixture(scope="module")
def module_database(request):
    """The URL of the module workspace's PostgreSQL database (None on SQLite: its archive.db)."""
    if request.config.getoption("--store") != "postgresql":
        yield None
        return
    server = request.getfixturevalue("pg_server")
    server.drop_database("official_documents")
    yield server.create_database("official_documents")
    server.drop_database("official_documents")


def open_workspace(home: Path):
    """The module's workspace, in its own store whatever this test's ARCHIVE_DB_URL says."""
    from archive.core.config import open_workspace as open_it

    url = json.loads((home / "config.json").read_text(encoding="utf-8")).get("settings", {}).get("database_url")
    return open_it(home, database_url=url) if url else open_it(home)


@pytest.fixture(scope="module")
def issued(tmp_path_factory, module_database):
    """Every notice kind for each applicant and size: {(kind, who, n): (Notice, row)}."""
    needs_libreoffice()
    from archive import centre
    from archive.core.session import Session
    from archive.window import appointments, cases, catalog

    home = tmp_path_factory.mktemp("official") / "home"
    centre.init(home, sample=True, database_url=module_database).close()
    config = json.loads((home / "config.json").read_text(encoding="utf-8"))
    licences = next(c for c in config["archive"]["classes"] if c["code"] == "XK·JY")
    licences["items"] += ["SJ-XK-9*", "SJ-XK-8*", "SJ-XK-7*", "SJ-XK-6*"]
    (home / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARCHIVE_PDF", "always")
        mp.delenv("ARCHIVE_OPERATOR", raising=False)
        with Session(open_workspace(home), operator="王芳", today=DEMO_DAY) as session:
            items = {n: make_items(n) for n in SIZES}
            catalog.save_items(session, [i for per in items.values() for i in per.values()])
            for who in WHO:
                for n in SIZES:
                    it = items[n]
                    every = [m.code for m in it["promised"].materials]

                    def receive(kind="promised", materials=every, **kw):
                        return cases.receive(session, item_code=it[kind].code, applicant=applicant(who),
                                             materials=materials, received_on=DEMO_DAY, **kw)

                    key = lambda kind: (kind, who, n)  # noqa: E731
                    out[key("receipt")] = receive().notices[0]
                    out[key("receipt_joint")] = receive("joint").notices[0]
                    out[key("receipt_pending")] = receive("pending", every[:-1] if n > 1 else []).notices[0]
                    out[key("receipt_on_the_spot")] = receive("on_the_spot").notices[0]
                    out[key("supplement")] = receive(materials=[]).notices[0]
                    rejected = receive(materials=[]).case.case_no
                    out[key("rejection_out_of_scope")] = cases.reject(
                        session, rejected, ground="out-of-scope", reason=reason(),
                        competent_organ="江州市卫生健康委员会", on=DEMO_DAY).notices[0]
                    rejected = receive(materials=[]).case.case_no
                    out[key("rejection_not_required")] = cases.reject(
                        session, rejected, ground="not-required", reason=reason(), on=DEMO_DAY).notices[0]
                    denied = receive().case.case_no
                    out[key("denial")] = cases.conclude(session, denied, decision="denied", reason=reason(),
                                                        on=dt.date(2026, 9, 30)).notices[0]
                    extended = receive().case.case_no
                    cases.extend(session, extended, days=10, reason=reason(), on=dt.date(2026, 9, 30))
                    out[key("extension")] = cases.approve_extension(  # SJ's head, as himself
                        session.as_operator("钱进"), extended, on=dt.date(2026, 9, 30)).notices[0]
                    paused = receive().case.case_no
                    out[key("excluded_time")] = cases.pause(session, paused, reason=reason(), expected_days=10,
                                                            on=dt.date(2026, 9, 29)).notices[0]
                    deemed = receive(materials=every[1:], defer=True).case.case_no
                    session.today = dt.date(2026, 10, 19)
                    cases.sweep_deemed(session)
                    session.today = DEMO_DAY
                    out[key("receipt_deemed")] = cases.show(session, deemed).notices[-1]
                    card = appointments.book(
                        session, name="张三" if who == "person" else "李四", phone="13800138000",
                        id_number=PERSON_ID, with_whom="市场监管局 李科长", at="2026-09-30 09:00",
                        place="市民中心A区2楼领导接待室", matter="咨询食品经营许可办理流程和所需材料",
                        materials=[f"营业执照复印件第{i}份" for i in range(1, n + 1)], unit="SJ")
                    out[key("appointment")] = card.notices[0]
        yield home, out


KINDS = ("receipt", "receipt_joint", "receipt_pending", "receipt_on_the_spot", "receipt_deemed", "supplement",
         "rejection_out_of_scope", "rejection_not_required", "denial", "extension", "excluded_time", "appointment")
CASES = [(kind, who, n) for kind in KINDS for who in WHO for n in SIZES]


def _row(home: Path, number: str):
    from sqlalchemy import select

    from archive.core import store as st
    from archive.core.session import Session

    with Session(open_workspace(home)) as session, session.store.read() as conn:
        return conn.execute(select(st.notices).where(st.notices.c.number == number)).one()


def page_lines(pdf: Path, page: int) -> list[tuple[str, float, float, float]]:
    """(text, x min, y min, y max) of each text line of a page, in mm from the top left."""
    html = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    mm = 25.4 / 72
    out = []
    for m in re.finditer(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</line>',
                         html, re.S):
        text = "".join(re.findall(r">([^<]*)</word>", m.group(4)))
        out.append((text, float(m.group(1)) * mm, float(m.group(2)) * mm, float(m.group(3)) * mm))
    return out


def seal_top(pdf: Path, page: int, tmp_path: Path) -> float:
    """The top of the red seal on a page, in mm from the top, from the page rendered at 50 dpi."""
    import numpy as np
    from PIL import Image

    prefix = tmp_path / f"p{page}"
    subprocess.run(["pdftoppm", "-r", "50", "-f", str(page), "-l", str(page), "-png", str(pdf), str(prefix)],
                   check=True)
    image = np.asarray(Image.open(next(tmp_path.glob(f"p{page}*.png"))).convert("RGB")).astype(int)
    red = (image[..., 0] > 170) & (image[..., 1] < 110) & (image[..., 2] < 110)
    rows = np.nonzero(red.any(axis=1))[0]
    assert rows.size, f"第{page}页没有印章"
    return rows[0] * 25.4 / 50


def docx_paragraphs(path) -> list:
    return docx.Document(path).paragraphs


@pytest.mark.parametrize("kind, who, n", CASES, ids=[f"{k}-{w}-{n}" for k, w, n in CASES])
def test_each_part_is_one_page_with_the_seal_just_below_the_body(issued, kind, who, n, tmp_path):
    from pypdf import PdfReader

    home, notices = issued
    notice = notices[(kind, who, n)]
    row = _row(home, notice.number)
    parts = row.context["parts"]
    pdf = Path(notice.pdf)
    reader = PdfReader(pdf)
    assert len(reader.pages) == len(parts), f"{kind}：{len(parts)}联排了{len(reader.pages)}页"
    for page, part in enumerate(parts, start=1):
        text = reader.pages[page - 1].extract_text()
        assert part["label"] in text and part["destination"] in text
        lines = page_lines(pdf, page)
        if kind == "appointment":
            continue  # a card, not a GB/T 9704 page
        organ = next(line for line in lines if line[0] == ORGAN and line[1] > 60)
        above = [line for line in lines if line[3] < organ[2] - 1]
        body_bottom = max(line[3] for line in above)
        top = seal_top(pdf, page, tmp_path)
        assert body_bottom - 0.5 <= top <= body_bottom + LINE_MM, (kind, page, body_bottom, top)


@pytest.mark.parametrize("kind, who, n", CASES, ids=[f"{k}-{w}-{n}" for k, w, n in CASES])
def test_wording_and_identifiers(issued, kind, who, n):
    from pypdf import PdfReader

    home, notices = issued
    notice = notices[(kind, who, n)]
    row = _row(home, notice.number)
    paragraphs = docx_paragraphs(notice.docx)
    body = [p.text.strip() for p in paragraphs if p.style.name in BODY_STYLES and p.text.strip()]
    assert body
    for text in body:
        assert text.endswith(("。", "：")), f"{kind}：正文段落没有以句号或冒号结尾：{text[-30:]}"
    text = "\n".join(p.text for p in paragraphs)
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(notice.pdf).pages)
    for where in (text, pdf_text):
        assert "你（单位）" not in where and "（单位）" not in where
        assert not re.search(r"([\u4e00-\u9fff]{2,})\1", where), re.search(r"([\u4e00-\u9fff]{2,})\1", where)
    if kind != "appointment":
        you = "你于" if who == "person" else "你单位于"
        assert you in text and (who == "organisation" or "你单位" not in text)
    decisions = {
        "receipt": "根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，决定予以受理。",
        "receipt_deemed": "根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，自收到申请材料之日起即为受理。",
        "supplement": "根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，现一次性告知需要补正的全部材料如下：",
        "rejection_out_of_scope": "根据《中华人民共和国行政许可法》第三十二条第一款第（二）项的规定，决定不予受理。"
                                  "本事项请向江州市卫生健康委员会提出申请。",
        "rejection_not_required": "根据《中华人民共和国行政许可法》第三十二条第一款第（一）项的规定，决定不予受理。",
        "denial": "根据《中华人民共和国食品安全法》第三十五条、《食品经营许可和备案管理办法》和"
                  "《中华人民共和国行政许可法》第三十八条第二款的规定，决定不予行政许可。",
        "extension": "根据《中华人民共和国行政许可法》第四十二条第一款的规定，办理期限延长10个工作日",
        "excluded_time": "根据《中华人民共和国行政许可法》第四十五条的规定，所需时间不计算在办理期限内。",
    }
    if kind.startswith("receipt") and kind != "receipt_deemed":
        assert decisions["receipt"] in text
    elif kind in decisions:
        assert decisions[kind] in text
    if kind.startswith(("rejection", "denial")):
        assert f"理由：{REASON}。" in text  # the clerk's reason gets its full stop
        assert "如不服本决定，可以在收到本决定书之日起60日内向江州市人民政府申请行政复议，" \
               "或者在6个月内依法向江州市江城区人民法院提起行政诉讼。" in text
    if kind == "receipt_on_the_spot":
        assert "当场办结" in text and "本事项当场办结。" in text and "个工作日" not in text
    if kind == "receipt_pending":
        # The pending material is listed apart, with the date it is due (3 working days, the item's limit).
        due = row.context["pending"][0]["due_on"]
        tables = docx.Document(notice.docx).tables
        pending = [t for t in tables if t.rows[0].cells[1].text == "待补交的材料"][0]
        assert [c.text for c in pending.rows[1].cells] == ["1", material_name(n), "1", due]
        received = [t for t in tables if t.rows[0].cells[1].text == "收到的申请材料"][0]
        assert material_name(n) not in [c.text for r in received.rows for c in r.cells]
    # Identifiers on one line in the PDF as printed.
    lines = [line for page in PdfReader(notice.pdf).pages for line in page.extract_text().splitlines()]
    identifiers = [notice.number] + ([] if kind == "appointment" else [row.context["case_no"]])
    identifiers.append("110105********002X" if kind == "appointment" else
                       (PERSON_ID if who == "person" else ORG_CODE))
    for identifier in identifiers:
        assert any(identifier in line for line in lines), f"{identifier} 在 PDF 中被拆行"


def test_fonts_are_simplified_chinese_with_a_bold_title_and_pdfa(issued):
    from pypdf import PdfReader

    _home, notices = issued
    for key in (("receipt", "person", 10), ("denial", "organisation", 1), ("appointment", "person", 6)):
        pdf = notices[key].pdf
        names = {str(font.get_object()["/BaseFont"]) for page in PdfReader(pdf).pages
                 for font in page["/Resources"]["/Font"].values()}
        assert names and not [n for n in names if "jp" in n.lower() or "JP" in n], names
        assert any("CJKsc-Bold" in n for n in names), names  # 方正小标宋简体 → a heavy face
        assert pdfa_claim(pdf) == "2B"


@pytest.fixture(scope="module")
def filed(issued):
    """The concluded cases filed as volumes (PDF output), and a destruction list."""
    from archive.core.session import Session
    from archive.shelf import volumes
    from archive.window import cases

    home, notices = issued
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARCHIVE_PDF", "always")
        with Session(open_workspace(home), operator="王芳", today=dt.date(2026, 10, 9)) as session:
            for who in WHO:
                for n in SIZES:
                    case_no = notices[("receipt", who, n)].case
                    cases.conclude(session.as_operator("钱进"), case_no, decision="approved",  # approves
                                   on=dt.date(2026, 10, 9))
                    archivist = session.as_operator("陈静")  # filing is the archive's
                    out[("approved", who, n)] = volumes.file_case(archivist, case_no, checker="李强")
                    out[("denied", who, n)] = volumes.file_case(archivist, notices[("denial", who, n)].case)
    return home, out


@pytest.fixture(scope="module")
def disposed(filed):
    """A destruction list of the refused cases' volumes (kept ten years), drafted and executed."""
    from archive.core.session import Session
    from archive.shelf import disposal

    home, _out = filed
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARCHIVE_PDF", "always")
        # The archivist compiles, the principal approves, two other accounts witness, each as themselves.
        with Session(open_workspace(home), operator="陈静", today=dt.date(2037, 1, 2)) as session:
            draft = disposal.appraise(session, "2037-01-02", appraisers=["周敏", "吴刚"])
            disposal.approve(session.as_operator("赵立新"), draft.number, reviewer="孙丽")
            disposal.witness(session.as_operator("周敏"), draft.number)
            executed = disposal.witness(session.as_operator("孙伟"), draft.number)
    return draft, executed


def _pdf_of(docx_path: Path, converter) -> Path:
    target = docx_path.with_suffix(".check.pdf")
    if not target.exists():
        converter.convert(docx_path, target)
    return target


@pytest.mark.parametrize("who, n", [(w, n) for w in WHO for n in SIZES])
def test_archive_forms_one_page_identifiers_on_one_line(filed, who, n):
    from pypdf import PdfReader

    home, out = filed
    with PdfConverter() as converter:
        for outcome in ("approved", "denied"):
            volume = out[(outcome, who, n)]
            assert volume.access == ("控制" if who == "person" else "开放")  # personal information
            for item in volume.items:
                if item.kind in ("application_record", "decision_record", "notice"):
                    assert pdfa_claim(item.path) == "2B"
                    assert len(PdfReader(item.path).pages) == 1, (item.title, n)
            record = next(i for i in volume.items if i.kind == "application_record")
            text = PdfReader(record.path).pages[0].extract_text()
            lines = text.splitlines()
            assert any((PERSON_ID if who == "person" else ORG_CODE) in line for line in lines)
            # Actions dated when they took effect, with the (later) time of entry beside them.
            assert re.search(r"2026-09-28（20\d\d-\d\d-\d\d\d\d:\d\d录入）", "".join(text.split()))
            notices = [i for i in volume.items if i.kind == "notice"]
            for notice in notices:
                page = PdfReader(notice.path).pages[0].extract_text()
                assert "申请人收执" not in page  # the applicant's part is not filed
            if outcome == "approved":
                decision = next(i for i in volume.items if i.kind == "decision_record")
                text = PdfReader(decision.path).pages[0].extract_text()
                assert "批准人 钱进" in " ".join(text.split()) or "批准人钱进" in text.replace(" ", "")
                assert "2026年10月9日" in text.replace(" ", "")
            for form in volume.forms:
                if form.kind == "merged_pdf":
                    continue
                pdf = _pdf_of(Path(form.path), converter)
                reader = PdfReader(pdf)
                assert len(reader.pages) == 1, (form.title, n)
                lines = reader.pages[0].extract_text().splitlines()
                assert any(volume.archival_code in line for line in lines), (form.title, "档号被拆行")
                if form.kind == "item_list":
                    for notice in notices:
                        assert any(notice.doc_number in line for line in lines), notice.doc_number
                if form.kind == "volume_cover":
                    flat = "".join(reader.pages[0].extract_text().split())
                    assert f"开放标识{volume.access}" in flat and "密级无" in flat
                if form.kind == "notes_sheet":
                    assert "archive" not in reader.pages[0].extract_text()  # speaks to archivists


def test_destruction_list_has_appraisers_approver_and_two_witnesses(disposed):
    from pypdf import PdfReader

    draft, executed = disposed
    assert len(executed.entries) == 2 * len(SIZES)
    pdf = Path(executed.executed_path).with_suffix(".pdf")
    assert pdfa_claim(pdf) == "2B"
    reader = PdfReader(pdf)
    # The totals and every signature line together, on the list's last page.
    text = "".join(reader.pages[-1].extract_text().split())
    for words in (f"以上共{len(executed.entries)}卷", "鉴定小组成员（签名）周敏、吴刚", "档案部门负责人审核（签名）孙丽",
                  "批准人（签名）赵立新", "监销人（签名）周敏监销人（签名）孙伟"):
        assert words in text, words
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()]
    for entry in executed.entries:
        assert any(entry.archival_code in line for line in lines)
    draft = Path(draft.path).with_suffix(".pdf")
    assert draft.is_file() and "监销人（签名）" in "".join(PdfReader(draft).pages[0].extract_text().split())
