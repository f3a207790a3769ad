"""Long work in a real browser: file several cases from the queue (with their PDFs, through the
server's LibreOffice), watch the job page's progress bar, reload it, get the result.

Debian's Chromium through Selenium against a real `archive serve` (the fixtures of
tests/test_browser.py, which skips or, under CI=true, fails without Chromium).
"""

from __future__ import annotations

import datetime as dt

from .test_browser import TODAY, browser, login, server, shots, wait_for  # noqa: F401  (fixtures)
from .conftest import PERSON_ID


def test_file_several_cases_in_the_background_and_reload_the_job_page(server, browser, shots, home):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.window import cases
    from archive.window.cases import Applicant

    today = dt.date.fromisoformat(TODAY)
    made = []
    with Session(open_workspace(home), operator="王芳", today=today) as clerk:
        for n in range(5):
            got = cases.receive(clerk, item_code="SJ-XK-001",
                                applicant=Applicant.person(f"张{'一二三四五'[n]}", PERSON_ID, "13800138000"),
                                materials=["M01", "M02", "M03"], received_on=today)
            cases.conclude(clerk, got.case.case_no, decision="approved", on=today)
            made.append(got.case.case_no)

    login(browser, server, "陈静")
    browser.get(server + "/filing")
    first = browser.find_element(By.ID, f"c-{made[0]}")
    assert browser.switch_to.active_element == first  # focus starts on the first case of the queue
    for case_no in made:  # ticked from the keyboard
        browser.find_element(By.ID, f"c-{case_no}").send_keys(Keys.SPACE)
    browser.find_element(By.ID, "file-selected").send_keys(Keys.ENTER)

    wait_for(browser, lambda d: "/jobs/" in d.current_url and d.find_elements(By.ID, "job-bar"))
    job_url = browser.current_url
    bar = browser.find_element(By.ID, "job-bar")
    assert bar.tag_name == "progress"
    assert browser.find_element(By.ID, "job-said").get_attribute("role") == "status"  # said to screen readers
    shots(browser, "41-job-running")

    browser.refresh()  # the job is the server's, not the page's: a reload shows it as it is
    assert browser.current_url == job_url
    wait_for(browser, lambda d: d.find_elements(By.ID, "job-bar"))
    wait_for(browser, lambda d: d.find_elements(By.ID, "job-result"), timeout=300)  # htmx polls every second
    result = browser.find_element(By.ID, "job-result")
    assert result.get_attribute("data-outcome") == "done", result.text
    assert "已归档 5 卷" in result.text
    bar = browser.find_element(By.ID, "job-bar")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "5"
    links = browser.find_elements(By.CSS_SELECTOR, "#filed a")
    assert len(links) == 5 and all("含合并 PDF" in li.text for li in browser.find_elements(By.CSS_SELECTOR, "#filed li"))
    shots(browser, "42-job-done")

    browser.refresh()  # the result stays after a reload too
    wait_for(browser, lambda d: d.find_elements(By.ID, "job-result"))
    links = browser.find_elements(By.CSS_SELECTOR, "#filed a")
    code = links[0].text
    links[0].send_keys(Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "cover"))
    assert code in browser.page_source

    browser.get(server + "/filing")
    assert not any(c in browser.page_source for c in made)  # the queue is empty of them
