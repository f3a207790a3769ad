"""Running the app under uvicorn, with the background helpers beside it.

``run`` opens the workspace once to check it (a missing or unmigrated workspace is a clear
error before any port is taken), starts every hook in :data:`web.app.BACKGROUND` in this
process (the search indexer thread; with several workers it still runs once), prints the
URL on a line of its own and serves until Ctrl-C.
"""

from __future__ import annotations

import os


def app_factory():
    """The app of the workspace named by ARCHIVE_HOME (uvicorn imports this in each worker).

    ARCHIVE_TODAY (YYYY-MM-DD) fixes the working date, as for the CLI: the session the app
    opens reads it (:func:`archive.centre.fixed_today`).
    """
    from .app import create_app

    return create_app(os.environ.get("ARCHIVE_HOME"))


def run(home=None, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1, echo=print) -> None:
    import uvicorn

    from archive.centre import open_session
    from archive.core.config import resolve_home

    from .app import BACKGROUND

    home = str(resolve_home(home))
    os.environ["ARCHIVE_HOME"] = home
    session = open_session(home)
    session.store  # a missing or broken workspace fails here, with its message
    stops = [start(session) for start in BACKGROUND]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    echo(f"工作区：{home}")
    echo("服务地址：")
    echo(f"http://{shown}:{port}/")
    echo("按 Ctrl-C 停止服务")
    try:
        uvicorn.run("archive.web.server:app_factory", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False, server_header=False)
    finally:
        for stop in stops:
            stop()
        session.close()
