"""A throwaway PostgreSQL server for the tests and the benchmarks.

``initdb`` and ``pg_ctl`` from Debian's ``postgresql`` package (``/usr/lib/postgresql/<v>/bin``,
installed by ``tools/install-debian-deps.sh``) make a cluster in a temporary folder; the
server listens on a free port of 127.0.0.1 only (and on a Unix socket in the same folder)
and is stopped, and its folder removed, by :meth:`Server.stop`. PostgreSQL refuses to run
as root, so when we are root the server runs as the ``postgres`` user the package creates.

    with Server.start() as server:
        server.create_database("t1")
        url = server.url("t1")          # postgresql+psycopg://archive@127.0.0.1:<port>/t1
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINDIR_ENV = "ARCHIVE_PG_BINDIR"
USER = "archive"  # the cluster's superuser (trust authentication on loopback only)
FAST = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl, pg_dump and pg_restore (the newest version installed)."""
    if os.environ.get(BINDIR_ENV):
        folder = Path(os.environ[BINDIR_ENV])
        if (folder / "initdb").exists():
            return folder
        raise PostgresMissing(f"{BINDIR_ENV}={folder} 中没有 initdb")
    found = []
    for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        version = initdb.parent.parent.name
        if re.fullmatch(r"\d+(\.\d+)?", version):
            found.append((float(version), initdb.parent))
    if found:
        return max(found)[1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresMissing("找不到 PostgreSQL（initdb）：请安装 Debian 的 postgresql 软件包（make deps）")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One running cluster; use :meth:`start`."""

    def __init__(self, bindir: Path, root: Path, port: int, run_as: pwd.struct_passwd | None):
        self.bindir = bindir
        self.root = root
        self.port = port
        self.run_as = run_as

    @property
    def data(self) -> Path:
        return self.root / "data"

    # -- life cycle --------------------------------------------------------------------
    @classmethod
    def start(cls, *, fast: bool = True, settings: str = "") -> "Server":
        """initdb a new cluster in a temporary folder and start it on a free loopback port.

        ``fast`` turns off fsync (tests: nothing needs to survive a power cut).
        """
        bindir = find_bindir()
        run_as = None
        if os.geteuid() == 0:
            try:
                run_as = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresMissing("以 root 运行时需要系统用户 postgres（由 postgresql 软件包创建）") from None
        root = Path(tempfile.mkdtemp(prefix="archive-pg-"))
        if run_as is not None:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
        last_error = ""
        for _ in range(5):
            server = cls(bindir, root, _free_port(), run_as)
            try:
                if not server.data.exists():
                    server._run("initdb", "-D", str(server.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                                "--no-locale", "--no-sync")
                options = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {root} -c max_connections=200 " \
                          f"{FAST if fast else ''} {settings}"
                server._run("pg_ctl", "-D", str(server.data), "-l", str(root / "server.log"), "-o", options,
                            "-w", "-t", "60", "start")
                server._wait()
                return server
            except subprocess.CalledProcessError as exc:
                last_error = (exc.stderr or "") + _tail(root / "server.log")
                if "could not bind" not in last_error and "already in use" not in last_error:
                    break
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL 未能启动：{last_error.strip()}")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        def demote():
            os.setgid(self.run_as.pw_gid)
            os.setuid(self.run_as.pw_uid)

        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        if self.run_as is not None:
            env["HOME"] = self.run_as.pw_dir
        return subprocess.run([str(self.bindir / tool), *args], check=True, capture_output=True, text=True,
                              env=env, cwd=self.root, preexec_fn=demote if self.run_as is not None else None)

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with self.connect():
                    return
            except Exception:  # noqa: BLE001 - not accepting connections yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # -- databases -------------------------------------------------------------------------
    def url(self, database: str) -> str:
        """A SQLAlchemy URL for ``database`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname=database, autocommit=True,
                               connect_timeout=10)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create ``name`` (a copy of ``template`` when given) and return its URL."""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log(self) -> str:
        return _tail(self.root / "server.log")


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""
