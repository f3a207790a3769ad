"""A centre's workspace put together from the desks: what the skins (CLI, web) open.

:func:`init` creates a workspace (:func:`archive.core.workspace.create`) and loads what the
desks need in it: the official holiday calendars and, with ``sample``, a realistic sample
centre (units, service items, specimen seals marked 样章, the archive scheme, roles and
lending rules) and the empty search index. :func:`open_session` opens a session on an
existing workspace; a session opened this way catches the search index up with what it
wrote before it closes, when no indexer process runs (:func:`archive.search.indexer.follow`).
Importing this module subscribes supervision's facts to every case write
(:mod:`archive.supervision.ledger`). Every session opened here, the CLI's and the server's,
takes its working date from ``ARCHIVE_TODAY`` when it is set (:func:`fixed_today`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil

from . import supervision  # noqa: F401  (supervision's facts follow every case write)
from .core import accounts
from .core.session import Session

SAMPLE_SECTIONS = ("archive", "roles", "lending")


class _QuietCacheDump(logging.Filter):
    """jieba logs a traceback when it cannot write its optional cache file (a full disk):
    the words are segmented all the same, so a person must not see a traceback for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "cache file" not in record.getMessage().lower()


logging.getLogger("jieba").addFilter(_QuietCacheDump())


def init(home=None, *, sample: bool = False, operator: str | None = None, database_url: str | None = None) -> Session:
    """Create (or bring up to date) a workspace and return a session on it for ``operator``
    (which, like :func:`open_session`'s, catches the search index up with what it wrote
    when it closes).

    ``database_url`` (``--db``) puts the store in that database instead of the workspace's
    SQLite file, and is written to the configuration; a PostgreSQL database that does not
    exist yet is created.

    Setting up runs as the installation's superuser. With ``sample`` every account of the
    sample centre that does not exist yet is created with a random demo password; the
    returned session's ``new_accounts`` maps their names to those passwords (shown once).
    Running it again on an existing workspace changes nothing that is already there. A new
    workspace is built in a hidden folder beside ``home`` and renamed into place when it is
    complete, so a failure half-way (a full disk) leaves no half-built workspace behind; in
    an empty folder made for it (whose parent may not be writable) it is built in place and
    the folder is emptied again on failure.
    """
    from .core.config import open_workspace, resolve_home

    target = resolve_home(home)
    if target.exists():
        if not target.is_dir() or any(target.iterdir()):
            return _populate(target, sample=sample, operator=operator, database_url=database_url)
        try:
            return _populate(target, sample=sample, operator=operator, database_url=database_url)
        except BaseException:
            for child in list(target.iterdir()):
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
            raise
    building = target.with_name(f".{target.name}.init-{os.getpid()}")
    try:
        built = _populate(building, sample=sample, operator=operator, database_url=database_url)
        built.close()
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    session = Session(open_workspace(target), operator=operator, today=fixed_today())
    session.new_accounts = built.new_accounts
    _follow(session)
    return session


def _populate(home, *, sample: bool, operator: str | None, database_url: str | None = None) -> Session:
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
    ws = workspace.create(home, config=config, seals=seals, database_url=database_url)
    created = {}
    with Session(ws, superuser=True, client="archive init") as setup:
        cal.save_schedules(setup, cal.schedules_from_chinesecalendar(), replace=False)
        if centre:
            catalog.save_items(setup, centre["items"], replace=False)
            sample_accounts = json.loads((catalog.DATA_DIR / "sample_accounts.json").read_text(encoding="utf-8"))
            created = accounts.add_sample_accounts(setup, sample_accounts["accounts"])
        index.create_empty(setup)
    session = Session(ws, operator=operator, today=fixed_today())
    session.new_accounts = created
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
    session.today = fixed_today()
    if follow:
        _follow(session)
    return session


TODAY_ENV = "ARCHIVE_TODAY"


def fixed_today():
    """The working date fixed by ``ARCHIVE_TODAY`` (YYYY-MM-DD), or None when it is not set.

    For demonstrations and tests that must not depend on the calendar's loaded years: the
    one place the CLI's and the server's sessions read it. A bad value is an InputError
    naming the variable.
    """
    from .core.validate import parse_date

    value = os.environ.get(TODAY_ENV, "").strip()
    return parse_date(value, TODAY_ENV) if value else None

