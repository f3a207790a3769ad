"""A centre's workspace put together from the desks: what the skins (CLI, web) open.

:func:`init` creates a workspace (:func:`archive.core.workspace.create`) and loads what the
desks need in it: the official holiday calendars and, with ``sample``, a realistic sample
centre (units, service items, specimen seals marked 样章, the archive scheme, roles and
lending rules). :func:`open_session` opens a session on an existing workspace. Importing
this module subscribes the search index to the store's commits (see :mod:`archive.search`).
"""

from __future__ import annotations

import json

from . import search  # noqa: F401  (the index follows every commit)
from .core import accounts
from .core.session import Session

SAMPLE_SECTIONS = ("archive", "roles", "lending")


def init(home=None, *, sample: bool = False, operator: str | None = None) -> Session:
    """Create (or bring up to date) a workspace and return a session on it for ``operator``.

    Setting up runs as the installation's superuser. With ``sample`` every account of the
    sample centre that does not exist yet is created with a random demo password; the
    returned session's ``new_accounts`` maps their names to those passwords (shown once).
    Running it again on an existing workspace changes nothing that is already there.
    """
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

