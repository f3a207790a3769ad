"""A centre's workspace put together from the desks: what the skins (CLI, web) open.

:func:`init` creates a workspace (:func:`archive.core.workspace.create`) and loads what the
desks need in it: the official holiday calendars and, with ``sample``, a realistic sample
centre (units, service items, specimen seals marked 样章, the archive scheme, roles and
lending rules) and the empty search index. :func:`open_session` opens a session on an
existing workspace; a session opened this way catches the search index up with what it
wrote before it closes, when no indexer process runs (:func:`archive.search.indexer.follow`).
"""

from __future__ import annotations

import json

from .core.session import Session

SAMPLE_SECTIONS = ("archive", "roles", "lending")


def init(home=None, *, sample: bool = False, operator: str = "系统初始化", database_url: str | None = None) -> Session:
    """Create (or bring up to date) a workspace and return a session on it (which, like
    :func:`open_session`'s, catches the search index up with what it wrote when it closes).

    ``database_url`` (``--db``) puts the store in that database instead of the workspace's
    SQLite file, and is written to the configuration; a PostgreSQL database that does not
    exist yet is created. Running it again on an existing workspace changes nothing that
    is already there.
    """
    from .core import calendar as cal
    from .core import workspace
    from .search import index
    from .window import catalog

    centre = catalog.load_sample_centre() if sample else None
    config = {"version": 1, "centre": {"name": "政务服务中心"}, "units": []}
    seals = {}
    if centre:
        config = {"version": 1, "centre": centre["centre"], "units": centre["units_raw"]}
        # Each area ships its sample section: archive (scheme), roles, lending (rules).
        for section in SAMPLE_SECTIONS:
            sample_file = catalog.DATA_DIR / f"sample_{section}.json"
            if sample_file.exists():
                config[section] = json.loads(sample_file.read_text(encoding="utf-8"))
        seals = {unit.seal: catalog.DATA_DIR / unit.seal for unit in centre["units"]}
    if database_url:
        config.setdefault("settings", {})["database_url"] = database_url
    session = Session(workspace.create(home, config=config, seals=seals, database_url=database_url),
                      operator=operator)
    cal.save_schedules(session, cal.schedules_from_chinesecalendar(), replace=False)
    if centre:
        catalog.save_items(session, centre["items"], replace=False)
    index.create_empty(session)
    _follow(session)
    return session


def _follow(session: Session) -> None:
    from .search.indexer import follow

    session.at_close(follow)


def open_session(home=None, *, operator: str | None = None, follow: bool = True, **overrides) -> Session:
    """A session on the existing workspace at ``home`` (settings ``overrides`` on top).

    With ``follow`` (the CLI) the session applies the change log to the search index when
    it closes, if it wrote and no indexer is running; a server that runs the indexer
    itself passes ``follow=False``.
    """
    session = Session.open(home, operator=operator, **overrides)
    if follow:
        _follow(session)
    return session

