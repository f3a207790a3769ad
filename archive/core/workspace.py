"""Creating a workspace: folders, configuration file, seal images and the migrated store.

What goes into a new workspace beyond that (holiday calendars, a sample centre's items)
is the desks' business; :func:`archive.centre.init` assembles it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Mapping

from .config import CONFIG_NAME, Workspace, load_config, resolve_home, validate_against
from .store import open_store

FOLDERS = ("documents", "seals", "fonts")


def create(home=None, *, config: Mapping, seals: Mapping[str, Path] | None = None) -> Workspace:
    """Create (or bring up to date) the workspace at ``home`` and return it.

    ``config`` is written as ``config.json`` only when the workspace has none (after it is
    validated against ``schemas/config.json``); ``seals`` maps seal file names to images
    copied into ``seals/`` when missing. The database is created or migrated with Alembic.
    Running it again on an existing workspace changes nothing that is already there.
    """
    path = resolve_home(home)
    path.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (path / folder).mkdir(exist_ok=True)
    config_path = path / CONFIG_NAME
    if not config_path.exists():
        validate_against("config", config, "配置文件 config.json")
        tmp = config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(config_path)
    workspace = Workspace(home=path, data=load_config(path))
    for name, source in (seals or {}).items():
        target = path / "seals" / name
        if not target.exists():
            shutil.copyfile(source, target)
    open_store(workspace.database_url, migrate=True).dispose()
    return workspace
