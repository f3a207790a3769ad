"""A centre's workspace put together from the desks: what the skins (CLI, web) open.

:func:`init` creates a workspace (:func:`archive.core.workspace.create`) and loads what the
desks need in it: the official holiday calendars and, with ``sample``, a realistic sample
centre (units, service items, specimen seals marked 样章, the archive scheme, roles and
lending rules). :func:`open_session` opens a session on an existing workspace. Importing
this module subscribes the search index to the store's commits (see :mod:`archive.search`)
and supervision's facts to every case write (:mod:`archive.supervision.ledger`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil

from . import search  # noqa: F401  (the index follows every commit)
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


def init(home=None, *, sample: bool = False, operator: str | None = None) -> Session:
    """Create (or bring up to date) a workspace and return a session on it for ``operator``.

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
            return _populate(target, sample=sample, operator=operator)
        try:
            return _populate(target, sample=sample, operator=operator)
        except BaseException:
            for child in list(target.iterdir()):
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
            raise
    building = target.with_name(f".{target.name}.init-{os.getpid()}")
    try:
        built = _populate(building, sample=sample, operator=operator)
        built.close()
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    session = Session(open_workspace(target), operator=operator)
    session.new_accounts = built.new_accounts
    return session


def _populate(home, *, sample: bool, operator: str | None) -> Session:
    from .core import calendar as cal
    from .core import workspace
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
    ws = workspace.create(home, config=config, seals=seals)
    created = {}
    with Session(ws, superuser=True, client="archive init") as setup:
        cal.save_schedules(setup, cal.schedules_from_chinesecalendar(), replace=False)
        if centre:
            catalog.save_items(setup, centre["items"], replace=False)
            sample_accounts = json.loads((catalog.DATA_DIR / "sample_accounts.json").read_text(encoding="utf-8"))
            created = accounts.add_sample_accounts(setup, sample_accounts["accounts"])
    session = Session(ws, operator=operator)
    session.new_accounts = created
    return session


def open_session(home=None, *, operator: str | None = None, **overrides) -> Session:
    """A session on the existing workspace at ``home`` (settings ``overrides`` on top)."""
    return Session.open(home, operator=operator, **overrides)

