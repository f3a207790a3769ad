"""Journeys in a real browser: Debian's Chromium driven by Selenium through Debian's chromedriver,
against a real `archive serve` on a free loopback port.

Screenshots of every page (1366×768) go to ``$ARCHIVE_SCREENSHOTS`` when set (else under
tmp_path), so a person can look at them. Without Chromium the tests skip, except under
CI=true, where a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import CHEAP_HASHING, ORG_CODE, PERSON_ID, TEST_PASSWORD
from .test_web import _known_passwords

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
TODAY = "2026-09-28"  # a fixed working day, so deadlines stay inside the loaded calendar years

if not (CHROMIUM and Path(CHROMEDRIVER).exists()):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI 环境缺少 chromium / chromium-driver：运行 make deps 安装")
    pytest.skip("未安装 chromium 和 chromium-driver（make deps 会安装）", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(home, tmp_path):
    """`archive serve` on the sample workspace, its accounts with known passwords; stopped after."""
    yield from _serve(home, tmp_path, TODAY)


@pytest.fixture
def month_server(month_home, tmp_path):
    """`archive serve` on the supervision sample month (archive.supervision.sample), on its report day."""
    from archive.supervision import sample

    home, made = month_home
    for url in _serve(home, tmp_path, sample.TODAY.isoformat()):
        yield url, made


def _serve(home, tmp_path, today):
    _known_passwords(home)
    port = _free_port()
    env = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_TODAY=today, ARCHIVE_PDF="auto", **CHEAP_HASHING)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text())
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,768", "--lang=zh-CN",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1366, 768)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("ARCHIVE_SCREENSHOTS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)

    def take(driver, name):
        path = folder / f"{name}.png"
        driver.save_screenshot(str(path))
        assert path.stat().st_size > 5000
        return path

    return take


def login(driver, url, name, password=TEST_PASSWORD):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(url + "/login")
    assert driver.switch_to.active_element.get_attribute("id") == "username"  # focus starts in the first field
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password + Keys.ENTER)  # Enter submits
    wait_for(driver, lambda d: "/login" not in d.current_url or d.find_elements(By.ID, "login-error"))


def wait_for(driver, condition, timeout=30):
    """Wait until ``condition(driver)``; an element replaced by the next page counts as not yet."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,
                                                              NoSuchElementException)).until(condition)


def test_login_and_lockout(server, browser, shots):
    from selenium.webdriver.common.by import By

    browser.get(server + "/cases")
    assert "/login" in browser.current_url
    shots(browser, "01-login")
    for _ in range(5):
        login(browser, server, "李娜", "wrong-password")
    assert "锁定" in browser.find_element(By.ID, "login-error").text
    login(browser, server, "李娜")  # the right password, but locked
    assert "锁定" in browser.find_element(By.ID, "login-error").text
    shots(browser, "02-login-locked")
    login(browser, server, "王芳")
    wait_for(browser, lambda d: d.current_url.endswith("/cases"))
    assert "我的办件" in browser.page_source
    shots(browser, "03-my-cases")


def _receive(browser, server, materials, *, defect=None, via_reader=True):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server + "/receive")
    assert browser.switch_to.active_element.get_attribute("id") == "item"
    browser.find_element(By.ID, "item").send_keys("SJ-XK-003")
    wait_for(browser, lambda d: d.find_elements(By.ID, "m-M01"))
    for code in materials:
        browser.find_element(By.ID, f"m-{code}").click()
    if defect:
        browser.find_element(By.ID, f"defect-{defect[0]}").send_keys(defect[1])
    name = browser.find_element(By.ID, "applicant")
    name.send_keys("张三")
    if via_reader:  # an ID-card reader types the number into whatever has focus, then Enter
        name.send_keys(PERSON_ID + Keys.ENTER)
        wait_for(browser, lambda d: d.find_element(By.ID, "id_number").get_attribute("value") == PERSON_ID)
        assert name.get_attribute("value") == "张三" and "/receive" in browser.current_url
    else:
        browser.find_element(By.ID, "id_number").send_keys(PERSON_ID)
    wait_for(browser, lambda d: "校验通过" in d.find_element(By.ID, "id_number-check").text)
    phone = browser.find_element(By.ID, "phone")
    phone.send_keys("13800138000")
    return phone


def test_receive_complete_with_a_card_reader_and_print_a_part(server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    login(browser, server, "王芳")
    phone = _receive(browser, server, ["M01", "M02", "M03", "M04", "M05", "M06"])
    shots(browser, "04-receive-filled")
    phone.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "/cases/SJ" in d.current_url)
    assert "已受理" in browser.find_element(By.ID, "status").text
    frame = browser.find_element(By.ID, "notice-frame")
    assert frame.get_attribute("src").endswith(".pdf")
    time.sleep(2)  # let the PDF viewer draw
    shots(browser, "05-case-receipt-pdf")
    buttons = browser.find_elements(By.CSS_SELECTOR, "button.print-part")
    assert [b.text[:4] for b in buttons] == ["打印第一", "打印第二"]
    # Headless Chromium may answer print() with a modal preview that stalls the page (and the driver
    # with it), so the printer is the one thing replaced: a listener added before the desk's own onload
    # runs first and swaps the loaded part's print() for a counter; the desk then has to call it.
    browser.execute_script(
        "window.__printed = 0; var f = document.getElementById('print-frame');"
        "f.addEventListener('load', function () {"
        "  f.contentWindow.print = function () { window.__printed += 1; }; });")
    buttons[0].click()
    wait_for(browser, lambda d: d.execute_script("return window.__printed") >= 1)
    src = browser.find_element(By.ID, "print-frame").get_attribute("src")
    assert src.endswith("/part/1.pdf")
    kind = browser.execute_script(
        "var x = new XMLHttpRequest(); x.open('GET', arguments[0], false); x.send(); "
        "return [x.status, x.getResponseHeader('content-type'), x.responseText.slice(0, 5)];", src)
    assert kind == [200, "application/pdf", "%PDF-"]
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    shots(browser, "06-case-timeline")


def test_receive_incomplete_and_a_check_digit_error_beside_the_field(server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    login(browser, server, "王芳")
    browser.get(server + "/receive")
    browser.find_element(By.ID, "id_number").send_keys(PERSON_ID[:-1] + "1")
    wait_for(browser, lambda d: "校验位错误" in d.find_element(By.ID, "id_number-check").text)
    shots(browser, "07-receive-check-digit-error")
    phone = _receive(browser, server, ["M01", "M02"], defect=("M04", "未加盖公章"), via_reader=False)
    phone.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "/cases/SJ" in d.current_url)
    assert "待补正" in browser.find_element(By.ID, "status").text
    assert "补正材料通知书" in browser.page_source
    time.sleep(2)  # let the PDF viewer draw
    shots(browser, "08-case-supplement")


def test_reject(server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    login(browser, server, "王芳")
    _receive(browser, server, ["M01"], via_reader=False).send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "/cases/SJ" in d.current_url)
    browser.find_element(By.CSS_SELECTOR, "#ground option[value='out-of-scope']").click()
    browser.find_element(By.ID, "reject-reason").send_keys("该事项属于省级审批权限")
    organ = browser.find_element(By.ID, "competent_organ")
    organ.send_keys("省市场监督管理局" + Keys.ENTER)
    wait_for(browser, lambda d: "不予受理" in d.find_element(By.ID, "status").text)
    assert "不予受理决定书" in browser.page_source
    time.sleep(1)
    shots(browser, "09-case-rejected")


def test_appointment(server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    login(browser, server, "王芳")
    browser.get(server + "/appointments/new")
    assert browser.switch_to.active_element.get_attribute("id") == "name"
    browser.find_element(By.ID, "name").send_keys("王五")
    browser.find_element(By.ID, "phone").send_keys("13800138000")
    browser.find_element(By.ID, "with_whom").send_keys("分管副局长")
    browser.find_element(By.ID, "place").send_keys("市民中心三楼301")
    browser.find_element(By.ID, "matter").send_keys("咨询食品经营许可" + Keys.ENTER)
    wait_for(browser, lambda d: "/appointments/" in d.current_url and "new" not in d.current_url)
    assert "预约卡" in browser.page_source and "王五" in browser.page_source
    time.sleep(1)
    shots(browser, "10-appointment-card")


def test_my_cases_coloured_by_due_state(server, browser, shots, home):
    import datetime as dt

    from selenium.webdriver.common.by import By

    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.window import cases
    from archive.window.cases import Applicant

    today = dt.date.fromisoformat(TODAY)
    with Session(open_workspace(home), operator="王芳", today=today) as s:
        def received_for(due_in):  # the receipt day whose 5-working-day limit ends ``due_in`` working days from today
            day = today
            while s.calendar.add_workdays(day, 5) != s.calendar.add_workdays(today, due_in) if due_in >= 0 else \
                    s.calendar.add_workdays(day, 5) >= today:
                day -= dt.timedelta(days=1)
            return day

        for name, received in (("逾期甲", received_for(-1)), ("今天乙", received_for(0)), ("将到丙", received_for(2)),
                               ("宽裕丁", today)):
            cases.receive(s, item_code="SJ-XK-003", applicant=Applicant.person(name, PERSON_ID, "13800138000"),
                          materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on=received)
    login(browser, server, "王芳")
    wait_for(browser, lambda d: d.current_url.endswith("/cases"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
    assert [r.get_attribute("data-due") for r in rows] == ["red", "yellow", "blue", ""]
    shots(browser, "03-my-cases-coloured")


def test_screens_of_the_other_pages(server, browser, shots):
    from selenium.webdriver.common.by import By

    login(browser, server, "韩梅")
    browser.get(server + "/audit")
    assert "哈希链完好" in browser.page_source, browser.find_element(By.TAG_NAME, "main").text
    shots(browser, "11-audit")
    browser.get(server + "/cases")
    assert "无权" in browser.page_source  # the auditor reads the audit trail only
    shots(browser, "12-forbidden")
    login(browser, server, "王芳")
    browser.get(server + "/cases/SJ209901010001")
    assert "找不到" in browser.page_source
    shots(browser, "13-not-found")
    browser.get(server + "/receive")
    shots(browser, "14-receive-empty")
    browser.get(server + "/appointments/new")
    shots(browser, "15-appointment-form")
    browser.get(server + "/password")
    shots(browser, "16-password")


def test_supervision_dashboard_drill_down_to_a_case_and_the_big_screen(month_server, browser, shots):
    from selenium.webdriver.common.by import By

    url, made = month_server
    login(browser, url, "赵立新")  # the principal: the whole centre
    browser.get(url + "/supervision?month=2026-10")
    assert "江州市政务服务中心办件监察" in browser.find_element(By.ID, "board-title").text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    shots(browser, "supervision-dashboard")
    for n, y in enumerate((620, 1240, 1860), start=2):  # the charts, the lists and the tables below the fold
        browser.execute_script(f"window.scrollTo(0, {y})")
        shots(browser, f"supervision-dashboard-{n}")
    browser.execute_script("window.scrollTo(0, 0)")
    browser.find_element(By.CSS_SELECTOR, '.tile[data-figure="overdue"]').click()
    wait_for(browser, lambda d: "超期件：2 件" in d.find_element(By.ID, "drill-title").text)
    shots(browser, "supervision-drill")
    browser.find_element(By.LINK_TEXT, made["F"]).click()  # the red case: its page and timeline
    wait_for(browser, lambda d: made["F"] in d.find_element(By.TAG_NAME, "h1").text)
    shots(browser, "supervision-case")
    browser.get(url + "/supervision/ratings/" + made["C"])  # a bad rating put right late
    assert "不满意" in browser.find_element(By.ID, "rating").text
    shots(browser, "supervision-rating")
    browser.get(url + "/supervision/ratings")
    shots(browser, "supervision-ratings")
    browser.get(url + "/supervision/screen?every=600")
    assert made["F"] in browser.find_element(By.CLASS_NAME, "screen-warnings").text
    shots(browser, "supervision-screen")  # the hall's screen at 1366×768 too

    browser.set_window_size(1920, 1080)
    browser.get(url + "/supervision/screen?every=5")
    first = browser.find_element(By.ID, "updated").text
    assert made["F"] in browser.find_element(By.CLASS_NAME, "screen-warnings").text
    shots(browser, "supervision-screen-1920")
    # The screen fetches its panel again by itself (htmx, every 5 s): the time shown changes.
    wait_for(browser, lambda d: d.find_element(By.ID, "updated").text != first, timeout=40)
    assert browser.find_elements(By.CSS_SELECTOR, ".tiles.big .tile")


def test_supervision_as_a_clerk_and_a_unit_head(month_server, browser, shots):
    from selenium.webdriver.common.by import By

    url, made = month_server
    login(browser, url, "李娜")
    browser.get(url + "/supervision?month=2026-10")
    assert "李娜的办件监察" in browser.find_element(By.ID, "board-title").text
    assert made["F"] in browser.find_element(By.ID, "warn-red").text
    shots(browser, "supervision-clerk")
    browser.delete_all_cookies()
    login(browser, url, "钱进")
    browser.get(url + "/supervision?month=2026-10")
    assert not browser.find_elements(By.ID, "warn-red") or made["F"] not in browser.find_element(By.ID, "warn-red").text
    shots(browser, "supervision-unit-head")

    # A rating at the window: 孙丽's denied case L, concluded and not yet rated.
    browser.delete_all_cookies()
    login(browser, url, "孙丽")
    browser.get(url + "/supervision/ratings/" + made["L"])
    browser.find_element(By.CSS_SELECTOR, 'input[name="level"][value="2"]').click()
    for key, value in (("overall", "2"), ("efficiency", "3"), ("quality", "7"), ("attitude", "3")):
        browser.find_element(By.ID, key).send_keys(value)
    shots(browser, "supervision-rating-form")
    browser.find_element(By.CSS_SELECTOR, "#rating-form button[type=submit]").click()
    # A score out of 1–5: the form comes back with the error beside the field, the values kept.
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#rating-form .error"))
    assert "7" in browser.find_element(By.CSS_SELECTOR, "#rating-form .error").text
    assert browser.find_element(By.ID, "overall").get_attribute("value") == "2"
    assert browser.switch_to.active_element.get_attribute("id") == "quality"  # the cursor is on the field in error
    shots(browser, "supervision-rating-error")
    browser.find_element(By.ID, "quality").clear()
    browser.find_element(By.ID, "quality").send_keys("3")
    browser.find_element(By.CSS_SELECTOR, "#rating-form button[type=submit]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "follow-up-form"))  # 不满意: a rectification is open
    assert "不满意" in browser.find_element(By.ID, "rating").text
    shots(browser, "supervision-rating-recorded")
# -- issue 15: the archivist's, lending and reader's desks -------------------------------------------

def test_file_find_lend_by_scanning_and_return_a_page_short(server, browser, shots, home):
    """File a concluded case from the queue → find it by a phrase of its decision → lend it by
    scanning its code (the focus stays in the scan box over 20 scans, most of them errors) →
    return it a page short → the shortfall is on the volume's notes sheet."""
    import datetime as dt

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.lending import borrowers
    from archive.search import index
    from archive.window import cases
    from archive.window.cases import Applicant

    from .test_loans import id_number

    today = dt.date.fromisoformat(TODAY)
    with Session(open_workspace(home), operator="王芳", today=today) as clerk:
        made = cases.receive(clerk, item_code="SJ-XK-001", applicant=Applicant.organisation("江州市欧阳明远餐饮有限公司", ORG_CODE, "欧阳明",
                                                                       "0792-88886666"),
                             materials=["M01", "M02", "M03"], received_on=today)  # an organisation's volume is 开放
        case_no = made.case.case_no
        cases.conclude(clerk, case_no, decision="approved", on=today)
    with Session(open_workspace(home), operator="陈静", today=today) as archivist:
        borrower = borrowers.add(archivist, name="李明", unit="江州市市场监督管理局", type="internal",
                                 id_number=id_number(3), phone="13800138000").code
        index.reindex(archivist)

    login(browser, server, "陈静")
    browser.get(server + "/filing")
    box = browser.find_element(By.ID, f"c-{case_no}")
    assert browser.switch_to.active_element == box  # focus starts on the first case of the queue
    shots(browser, "21-filing-queue")
    box.send_keys(Keys.SPACE)
    browser.find_element(By.ID, "file-selected").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "job-result"), timeout=120)  # filing runs as a job
    link = browser.find_element(By.CSS_SELECTOR, "#filed a")
    code = link.text
    shots(browser, "22-filing-result")
    link.click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "cover"))
    shots(browser, "23-volume")

    browser.get(server + "/search")
    query = browser.switch_to.active_element
    assert query.get_attribute("id") == "q"
    query.send_keys('"欧阳明远餐饮"' + Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "hits"))

    def indexed(d):  # the server's indexer thread applies the filing a moment after it commits
        if code in d.find_element(By.ID, "hits").text:
            return True
        d.refresh()
        return False

    wait_for(browser, indexed)
    assert browser.find_elements(By.CSS_SELECTOR, "#hits mark")
    shots(browser, "24-search")

    browser.get(server + f"/lending?borrower={borrower}")
    wait_for(browser, lambda d: d.find_elements(By.ID, "scan"))
    assert browser.switch_to.active_element.get_attribute("id") == "scan"
    shots(browser, "25-lending-desk")
    scans = [code] + [f"Z023-XK·ZC·2026·D30-001-{9000 + i:04d}" for i in range(17)] + [code, ""]
    for n, scanned in enumerate(scans, start=1):
        browser.switch_to.active_element.send_keys(scanned + Keys.ENTER)
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#lines tr")) >= n or not scanned)
        if not scanned:  # an empty scan answers a line too
            wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#lines tr")) >= n)
        assert browser.switch_to.active_element.get_attribute("id") == "scan", n
        assert browser.find_element(By.ID, "scan").get_attribute("value") == ""
    shots(browser, "26-lending-scanned")
    lines = browser.find_elements(By.CSS_SELECTOR, "#lines tr")
    assert len(lines) == 20
    assert [line.get_attribute("class") for line in lines].count("scan-ok") == 1
    assert "借出" in lines[1].text, lines[1].text  # newest first: scanning the lent volume again is refused
    assert browser.find_element(By.ID, "scan-error").text  # the last refusal is read out beside the box
    wait_for(browser, lambda d: "未还 1 卷" in d.find_element(By.ID, "borrower-card").text)  # refreshed after the loan
    assert code in browser.find_element(By.ID, "open-loans").text

    browser.get(server + f"/lending?borrower={borrower}")
    row = browser.find_element(By.CSS_SELECTOR, "#open-loans tbody tr")
    row.find_element(By.NAME, "pages").send_keys("1" + Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "flash"))
    assert "待核查" in browser.find_element(By.ID, "flash").text
    shots(browser, "27-returned-short")
    browser.get(server + "/volumes/" + code)
    notes = browser.find_element(By.ID, "notes").text
    assert "归还" in notes or "页" in notes
    assert browser.find_element(By.ID, "state").text == "待核查"
    shots(browser, "28-volume-flagged")

    browser.get(server + "/verify")
    browser.find_element(By.ID, "run-verify").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "verdict"))
    shots(browser, "29-verify-run")
    browser.get(server + "/verify")
    shots(browser, "30-verify-history")
    browser.get(server + "/volumes")
    assert "待核查" in browser.find_element(By.ID, "volumes").text  # intact files do not clear a return's flag
    shots(browser, "31-volumes")
    browser.get(server + "/loans/overdue")
    shots(browser, "32-overdue")
    browser.get(server + "/catalogues")
    browser.find_element(By.CSS_SELECTOR, "#tree ul ul a").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "export-form"))
    assert code in browser.find_element(By.CSS_SELECTOR, "table.catalogue").text
    shots(browser, "33-catalogue")


def test_two_witness_destruction_with_three_separate_logins(server, browser, shots, home):
    """The archivist compiles the list; the head approves; two witnesses each sign in and confirm."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.shelf import volumes

    from .test_volumes import make_concluded

    with Session(open_workspace(home), operator="陈静") as archivist:
        code = volumes.file_case(archivist, make_concluded(archivist, decision="not_accepted")).archival_code

    login(browser, server, "陈静")
    browser.get(server + "/disposal")
    as_of = browser.find_element(By.ID, "as_of")
    assert browser.switch_to.active_element == as_of
    browser.execute_script("arguments[0].value = '2060-01-02'", as_of)
    browser.find_element(By.ID, "appraisers").send_keys("周敏、吴刚" + Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "entries"))
    assert code in browser.find_element(By.ID, "entries").text
    number = browser.current_url.rsplit("/", 1)[1]
    shots(browser, "41-destruction-list-draft")

    login(browser, server, "周敏")
    browser.get(server + f"/disposal/{number}")
    assert browser.switch_to.active_element.get_attribute("id") == "reviewer"
    browser.switch_to.active_element.send_keys("孙丽" + Keys.ENTER)
    wait_for(browser, lambda d: "待监销确认" in d.find_element(By.ID, "status").text)
    assert not browser.find_elements(By.ID, "witness-form")  # the approver is offered no witness button
    shots(browser, "42-destruction-approved")

    for n, witness in enumerate(("孙伟", "赵立新"), start=1):
        login(browser, server, witness)
        browser.get(server + f"/disposal/{number}")
        assert browser.switch_to.active_element.get_attribute("id") == "witness"
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        wait_for(browser, lambda d: witness in d.find_element(By.ID, "witnesses").text)
        shots(browser, f"4{2 + n}-destruction-witness-{n}")
    assert browser.find_element(By.ID, "status").text == "已销毁"
    browser.get(server + "/volumes/" + code)
    assert browser.find_element(By.ID, "state").text == "已销毁"  # the tombstone stays
    shots(browser, "45-volume-tombstone")
    browser.get(server + "/disposal")
    shots(browser, "46-disposal")


def test_a_reader_asks_from_a_search_result_and_the_head_approves(server, browser, shots, home):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.lending import borrowers
    from archive.search import index

    from .test_loans import id_number, make_volume

    with Session(open_workspace(home), operator="陈静") as archivist:
        code = make_volume(archivist, attachments=(1,))
        borrowers.add(archivist, name="吴刚", unit="江州市档案馆", type="internal", id_number=id_number(8),
                      phone="13800138000", account="吴刚")
        index.reindex(archivist)
    login(browser, server, "吴刚")
    browser.get(server + "/search?q=张三")
    shots(browser, "51-search-reader")
    browser.find_element(By.LINK_TEXT, "申请借阅").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "request-form"))
    assert browser.find_element(By.ID, "code").get_attribute("value") == code
    browser.find_element(By.CSS_SELECTOR, "#mode option[value=loan]").click()
    browser.find_element(By.ID, "note").send_keys("编写年鉴" + Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "made"))
    assert "待批准" in browser.find_element(By.ID, "my-requests").text
    shots(browser, "52-requests")
    login(browser, server, "周敏")
    browser.get(server + "/approvals")
    shots(browser, "53-approvals")
    browser.find_element(By.CSS_SELECTOR, "#approvals button[value=approve]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "done"))
    assert "已批准" in browser.find_element(By.ID, "done").text
    shots(browser, "54-approved")


def test_a_clerk_asks_for_an_extension_and_the_unit_head_approves_with_enter(server, browser, shots, home):
    import datetime as dt

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.window import cases

    with Session(open_workspace(home), operator="王芳", today=dt.date.fromisoformat(TODAY)) as clerk:
        case_no = cases.receive(clerk, item_code="SJ-XK-003",
                                applicant=cases.Applicant.person("张三", PERSON_ID, "13800138000"),
                                materials=["M01", "M02", "M03", "M04", "M05", "M06"]).case.case_no
    login(browser, server, "王芳")
    browser.get(f"{server}/cases/{case_no}")
    assert not browser.find_elements(By.NAME, "approver")  # no typed approver
    browser.find_element(By.CSS_SELECTOR, "#extend-form input[name=days]").send_keys("5")
    browser.find_element(By.CSS_SELECTOR, "#extend-form input[name=reason]").send_keys("需补充现场核查" + Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "extension-pending"))
    assert "延期待批" in browser.find_element(By.ID, "extension-pending").text
    shots(browser, "61-extension-asked")
    login(browser, server, "钱进")
    browser.find_element(By.LINK_TEXT, "延期审批").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, f"extension-{case_no}"))
    shots(browser, "62-extension-queue")
    assert browser.switch_to.active_element.get_attribute("value") == "approve"  # focus on 批准
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "done"))
    assert "已批准" in browser.find_element(By.ID, "done").text
    browser.get(f"{server}/cases/{case_no}")
    assert "批准人 钱进" in browser.find_element(By.ID, "timeline").text
    shots(browser, "63-extension-approved")
