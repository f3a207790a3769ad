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
from .errors import InputError
from .store import create_database, normalise_url, open_store, shown_url

FOLDERS = ("seals", "fonts")  # documents: workspace.documents_dir, which a setting may move


def create(home=None, *, config: Mapping, seals: Mapping[str, Path] | None = None,
           database_url: str | None = None) -> Workspace:
    """Create (or bring up to date) the workspace at ``home`` and return it.

    ``config`` is written as ``config.json`` only when the workspace has none (after it is
    validated against ``schemas/config.json``); ``seals`` maps seal file names to images
    copied into ``seals/`` when missing. The database (``database_url``, else the setting of
    that name, else ``archive.db`` in the workspace) is created when it is a PostgreSQL
    database that does not exist yet, and migrated with Alembic. Running it again on an
    existing workspace changes nothing that is already there.
    """
    path = resolve_home(home)
    path.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (path / folder).mkdir(exist_ok=True)
    config_path = path / CONFIG_NAME
    if config_path.exists() and database_url:
        recorded = (load_config(path).get("settings") or {}).get("database_url")
        if normalise_url(recorded or "") != normalise_url(database_url):
            raise InputError(
                f"工作区 {path} 已经建立，使用的数据库是 {shown_url(recorded) if recorded else '工作区内的 archive.db'}，"
                f"不能改为 {shown_url(database_url)}", field="db",
                hint="换数据库请先 archive backup，再 archive restore 到新工作区")
    if not config_path.exists():
        validate_against("config", config, "配置文件 config.json")
        tmp = config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(config_path)
    # The database named here wins over ARCHIVE_DB_URL, as a command-line option does.
    workspace = Workspace(home=path, data=load_config(path),
                          overrides={"database_url": database_url} if database_url else {})
    workspace.documents_dir.mkdir(parents=True, exist_ok=True)
    for name, source in (seals or {}).items():
        target = path / "seals" / name
        if not target.exists():
            shutil.copyfile(source, target)
    create_database(workspace.database_url)
    open_store(workspace.database_url, migrate=True).dispose()
    return workspace
