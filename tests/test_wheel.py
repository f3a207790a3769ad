"""The project installs as a wheel, not only editable from this checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


ROOT = Path(__file__).resolve().parent.parent


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True, **kwargs)


def test_the_wheel_installs_into_a_fresh_venv_and_receives_a_case(tmp_path):
    source = tmp_path / "source"  # a copy, so building leaves nothing in the checkout
    for name in ("archive", "commands", "web", "templates", "schemas"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", dist, source)
    (wheel,) = dist.glob("service_archive-*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # The dependencies come from this environment. A path in a .pth file is added to
    # sys.path without reading the .pth files inside it, so this checkout's editable
    # install (a .pth hook there) stays out of the fresh venv.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)

    top_level = sorted(p.name for p in site.iterdir() if not p.name.endswith((".pth", ".dist-info")))
    assert top_level == ["archive"]
    work = tmp_path / "elsewhere"  # not the checkout: nothing may come from its folders
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVE_", "PYTHON"))}
    env.update(ARCHIVE_HOME=str(work / "home"), ARCHIVE_OPERATOR="王芳", ARCHIVE_PDF="never")
    where = _run(python, "-c", "import archive.commands, archive.core.config as c, archive.web.common as w; "
                 "print(archive.commands.__file__); print(c.schemas_dir()); print(c.templates_dir()); "
                 "print(w.HERE / 'templates' / 'login.html'); print(w.HERE / 'static' / 'htmx-2.0.11.min.js')",
                 cwd=work, env=env).stdout.split()
    assert all(Path(p).exists() for p in where), where
    assert all(Path(p).is_relative_to(site / "archive") for p in where), where

    archive = venv / "bin" / "archive"
    _run(archive, "init", "--sample", cwd=work, env=env)  # creates the sample accounts, 王芳 among them
    result = _run(archive, "case", "receive", "--item", "SJ-XK-003", "--applicant", "张三",
                  "--id-number", "11010519491231002X", "--phone", "13800138000",
                  "--materials", "M01,M02,M03,M04,M05,M06", "--received-on", "2026-09-28", "--json", cwd=work, env=env)
    received = json.loads(result.stdout)
    assert received["status"] == "accepted"
    assert Path(received["notices"][0]["docx"]).is_file()
