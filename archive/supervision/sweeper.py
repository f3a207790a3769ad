"""Red cards put on record every day, not only when someone asks for a report.

A red card is written the first time a sweep (:func:`.alerts.record_red_cards`) sees a
missed limit; reports and the card list sweep before they read. Left at that, a centre
where nobody opened a report for a month would have its first report record the month's
cards — tens of thousands in a province — while a head of unit waits. So the cards are
also kept up as the days go by:

- ``archive serve`` runs :func:`start_thread` beside the server (``web.app.BACKGROUND``):
  a sweep at start and then every ``SWEEP_MINUTES``; a sweep that finds no new write, day
  or calendar since the last one costs one count of the event log;
- an installation without the server runs ``archive warning sweep`` from cron (see
  ``docs/deploy.md``).

A report then records only what changed since the last sweep.
"""

from __future__ import annotations

import logging

from ..core import jobs
from ..core.errors import ArchiveError

log = logging.getLogger(__name__)

SWEEP_MINUTES = 10  # how often the server's thread sweeps (a day's new cards never wait long)
ERROR_PAUSE = 60  # seconds before a failed sweep is tried again


def sweep(session):
    """Bring the red cards up to date as of today, as a report would; returns the
    :class:`.alerts.Sweep` (cards raised, updated, closed).

    Needs ``supervision.read`` (the installation's superuser, which the server's thread and
    the server's own shell act as, has every permission).
    """
    from ..core import access
    from . import alerts

    access.require(session, "supervision.read")
    return alerts.record_red_cards(session)


def start_thread(session, *, minutes: float = SWEEP_MINUTES):
    """Sweep in a daemon thread of this process, as the installation's superuser on
    ``session``'s store and working date, at once and then every ``minutes``; returns the
    function that stops it."""
    own = session.as_operator(None)
    own.superuser = True
    own.client = "红牌登记线程"

    def run(stop) -> None:
        while not stop.is_set():
            try:
                done = sweep(own)
                if done.raised or done.updated or done.closed:
                    log.info("红牌登记：新增 %d，更新 %d，关闭 %d", done.raised, done.updated, done.closed)
                wait = minutes * 60
            except ArchiveError as exc:  # e.g. this year's calendar not loaded yet: said, not a crash
                log.warning("红牌登记未完成：%s", exc)
                wait = minutes * 60
            except Exception:  # never stop sweeping for one failure: say it, wait, try again
                log.exception("红牌登记失败，%d 秒后重试", ERROR_PAUSE)
                wait = ERROR_PAUSE
            stop.wait(wait)

    return jobs.daemon(run, name="red-card-sweeper", close=own.close)
