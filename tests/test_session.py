"""The centre's clock: times recorded and printed in its time zone, back-dated actions."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from archive.core import store as st
from archive.core.config import open_workspace
from archive.core.errors import ConfigError
from archive.core.session import Session

from .conftest import DEMO_DAY
from .test_cases import make_case


def _set(home, **settings):
    path = home / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("settings", {}).update(settings)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_now_is_the_centres_wall_clock_whatever_the_server_zone(home, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    with Session(open_workspace(home)) as session:
        shanghai = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
        assert abs((session.now() - shanghai).total_seconds()) < 5
        assert session.today == session.now().date()
    _set(home, timezone="Asia/Urumqi")
    with Session(open_workspace(home)) as session:
        urumqi = dt.datetime.now(ZoneInfo("Asia/Urumqi")).replace(tzinfo=None)
        assert abs((session.now() - urumqi).total_seconds()) < 5


def test_an_unknown_time_zone_is_refused_naming_the_setting(home):
    _set(home, timezone="Mars/Olympus")
    with Session(open_workspace(home)) as session, pytest.raises(ConfigError) as info:
        session.now()
    assert info.value.field == "settings.timezone" and "Mars/Olympus" in info.value.message


def test_a_back_dated_action_records_entry_time_and_effective_date(session):
    case = make_case(session).case  # received on DEMO_DAY, entered now
    with session.store.read() as conn:
        event = conn.execute(select(st.events).where(st.events.c.action == "receive",
                                                     st.events.c.subject == case.case_no)).one()
    assert event.effective_on == DEMO_DAY
    assert abs((event.at - session.now()).total_seconds()) < 60  # entered now, in the centre's zone
