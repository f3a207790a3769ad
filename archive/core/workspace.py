"""Creating a workspace: folders, configuration, database and reference data."""

from __future__ import annotations

import json
import shutil

from .config import CONFIG_NAME, Workspace, load_config, resolve_home, validate_against
from .session import Session


SAMPLE_SECTIONS = ("archive", "roles", "lending")


def init(home=None, *, sample: bool = False, operator: str = "系统初始化") -> Session:
    """Create (or bring up to date) a workspace and return a session on it.

    The database is created or migrated with Alembic, the official holiday calendars that
    chinesecalendar ships are loaded, and with ``sample`` a realistic sample centre (units,
    service items, specimen seals marked 样章) is installed. Running it again on an existing
    workspace changes nothing that is already there.
    """
    from . import calendar as cal
    from ..window import catalog
    from .store import open_store

    path = resolve_home(home)
    path.mkdir(parents=True, exist_ok=True)
    for folder in ("documents", "seals"):
        (path / folder).mkdir(exist_ok=True)
    config_path = path / CONFIG_NAME
    centre = catalog.load_sample_centre() if sample else None
    if not config_path.exists():
        data = {"version": 1, "centre": {"name": "政务服务中心"}, "units": []}
        if centre:
            data = {"version": 1, "centre": centre["centre"], "units": centre["units_raw"]}
            # Each area ships its sample section: archive (scheme), roles, lending (rules).
            for section in SAMPLE_SECTIONS:
                sample_file = catalog.DATA_DIR / f"sample_{section}.json"
                if sample_file.exists():
                    data[section] = json.loads(sample_file.read_text(encoding="utf-8"))
        validate_against("config", data, "配置文件 config.json")
        tmp = config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(config_path)
    workspace = Workspace(home=path, data=load_config(path))
    if centre:
        for unit in centre["units"]:
            target = path / "seals" / unit.seal
            if not target.exists():
                shutil.copyfile(catalog.DATA_DIR / unit.seal, target)
    store = open_store(workspace.database_url, migrate=True)
    store.dispose()
    session = Session(workspace, operator=operator)
    cal.save_schedules(session, cal.schedules_from_chinesecalendar(), replace=False)
    if centre:
        catalog.save_items(session, centre["items"], replace=False)
    return session

