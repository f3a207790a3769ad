"""The supervision pages in process, on the sample month (archive.supervision.sample, today 2 November).

Who sees which view (a clerk's own figures, a unit head's units, the centre), that every
figure's drill-down lists as many cases as the figure says, the big screen's refresh, a
rating recorded at the window with its follow-up, the downloads and the report's JSON.
(Every route × role is in tests/test_web.py's matrix.)
"""

from __future__ import annotations

import io
import re

import pytest

from archive.core.config import open_workspace
from archive.core.session import Session
from archive.supervision import dashboard, figures, report, sample

from .test_web import _known_passwords, csrf_of, login


@pytest.fixture
def month_app(month_home):
    from archive.web.app import create_app

    home, made = month_home
    _known_passwords(home)
    app = create_app(home, today=sample.TODAY)
    yield app, made, home
    app.state.session.close()


def _tiles(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="(\w+)">\s*<span class="tile-value">([^<]+)</span>', page))


def test_each_role_gets_its_own_view(month_app):
    app, made, _ = month_app
    c, _ = login(app, "赵立新")  # principal: the centre
    page = c.get("/supervision?month=2026-10").text
    assert "江州市政务服务中心办件监察" in page and 'id="units"' in page and 'id="clerks"' in page
    assert _tiles(page)["received"] == "11" and _tiles(page)["overdue"] == "2" and _tiles(page)["on_time_rate"] == "80.0%"
    assert "<svg" in page and "各单位按时办结率" in page and "download-xlsx" in page

    c, _ = login(app, "钱进")  # unit head of SJ: SJ only
    page = c.get("/supervision?month=2026-10").text
    units = re.search(r'<table class="list figures" id="units">.*?</table>', page, re.S).group(0)
    assert "市场监督管理局" in units and "自然资源" not in units
    assert _tiles(page)["received"] == "2" and made["F"] not in page  # ZR's red case is not his

    c, _ = login(app, "李娜")  # a clerk of ZR: her own cases only
    page = c.get("/supervision?month=2026-10").text
    assert "李娜的办件监察" in page and 'id="units"' not in page and 'id="items"' in page
    assert _tiles(page)["received"] == "3" and made["F"] in page  # her red case, on her warning list
    assert "download-xlsx" not in page
    assert c.get("/supervision/report.xlsx?month=2026-10").status_code == 403
    assert c.get("/supervision/cases?figure=received&clerk=孙丽").status_code == 404


def test_every_figure_lists_as_many_cases_as_it_counts(month_app):
    app, _, home = month_app
    c, _ = login(app, "赵立新")
    with Session(open_workspace(home), superuser=True, today=sample.TODAY) as s:
        per = figures.period(s.today, month="2026-10")
        totals = figures.compute(s, per, scope=None).total().to_dict()
        sj = figures.compute(s, per, scope=frozenset({"SJ"})).total().to_dict()
    for figure in dashboard.DRILLABLE:
        for unit, expected in ((None, totals[figure]), ("SJ", sj[figure])):
            url = f"/supervision/cases?figure={figure}&month=2026-10" + (f"&unit={unit}" if unit else "")
            page = c.get(url).text
            count = int(re.search(r'id="drill-title">[^：]+：(\d+) 件', page).group(1))
            assert count == expected, (figure, unit)
            assert len(re.findall(r'<td><a href="/cases/', page)) == expected
    assert c.get("/supervision/cases?figure=ratings").status_code == 400


def test_the_big_screen_refreshes_itself(month_app):
    app, made, _ = month_app
    c, _ = login(app, "赵立新")
    page = c.get("/supervision/screen?every=1").text
    assert 'hx-get="/supervision/screen/panel" hx-trigger="every 5s"' in page  # at most every 5 seconds
    assert 'class="screen"' in page and made["F"] in page and "htmx-2.0.11.min.js" in page
    panel = c.get("/supervision/screen/panel").text
    assert 'id="updated"' in panel and "<html" not in panel and made["F"] in panel


def test_a_rating_recorded_at_the_window_and_a_bad_one_followed_up(month_app):
    app, made, _ = month_app
    c, _ = login(app, "孙丽")  # WJ's clerk; L was concluded (denied) on 10 October, not rated
    page = c.get(f"/supervision/ratings/{made['L']}").text
    assert 'id="rating-form"' in page
    token = csrf_of(page)
    bad = c.post(f"/supervision/ratings/{made['L']}", data={"level": "2", "overall": "9", "efficiency": "2",
                                                           "quality": "2", "attitude": "2", "source": "device",
                                                           "csrf_token": token})
    assert bad.status_code == 400 and "整体满意度评分“9”无效" in bad.text
    ok = c.post(f"/supervision/ratings/{made['L']}", data={"level": "2", "overall": "2", "efficiency": "1",
                                                          "quality": "2", "attitude": "3", "source": "device",
                                                          "comment": "等待太久", "csrf_token": token})
    assert ok.status_code == 303
    page = c.get(f"/supervision/ratings/{made['L']}").text
    assert "不满意" in page and 'id="follow-up-form"' in page and "评价一经记录不得修改" in page
    again = c.post(f"/supervision/ratings/{made['L']}", data={"level": "5", "overall": "5", "efficiency": "5",
                                                             "quality": "5", "attitude": "5", "source": "device",
                                                             "csrf_token": token})
    assert again.status_code == 409
    assert c.post(f"/supervision/ratings/{made['L']}/follow-up",
                  data={"text": "已电话回访", "csrf_token": token}).status_code == 303
    assert c.post(f"/supervision/ratings/{made['L']}/rectify",
                  data={"text": "优化审核流程", "csrf_token": token}).status_code == 303
    page = c.get(f"/supervision/ratings/{made['L']}").text
    assert "已电话回访" in page and "优化审核流程" in page and 'id="rectify-form"' not in page
    assert made["L"] in c.get("/supervision/ratings").text
    assert c.post(f"/supervision/ratings/{made['L']}/follow-up", data={"text": "x"}).status_code == 403  # no CSRF


def test_the_report_downloads_and_its_json(month_app):
    from openpyxl import load_workbook

    app, _, home = month_app
    c, _ = login(app, "钱进")
    xlsx = c.get("/supervision/report.xlsx?month=2026-10")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[0] == "汇总"
    pdf = c.get("/supervision/report.pdf?month=2026-10")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    got = c.get("/api/v1/reports/window?month=2026-10").json()
    with Session(open_workspace(home), superuser=True, today=sample.TODAY) as s:
        want = report.window(s, scope=frozenset({"SJ"}), month="2026-10", record=False).to_dict()
    assert got == want and got["scope"] == ["SJ"]
    refused = c.get("/api/v1/reports/window?month=2026-10&unit=ZR")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "unit"
    assert c.get("/api/v1/reports/window?month=2026-13").json()["error"]["field"] == "month"
