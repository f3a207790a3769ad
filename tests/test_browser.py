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

from .conftest import CHEAP_HASHING, PERSON_ID, TEST_PASSWORD
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
    _known_passwords(home)
    port = _free_port()
    env = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_TODAY=TODAY, ARCHIVE_PDF="auto", **CHEAP_HASHING)
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
