"""A skip under CI=true fails the run (tests/ci_strict.py), whether in a test or a whole module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.store_independent

SKIPPING = {
    "test_in_a_test.py": "import pytest\n\ndef test_x():\n    pytest.skip('没有装 LibreOffice')\n",
    "test_a_module.py": "import pytest\npytest.skip('没有装 chromium', allow_module_level=True)\n\ndef test_x():\n    pass\n",
}


@pytest.mark.parametrize("name", sorted(SKIPPING))
def test_a_skip_fails_under_ci_and_stays_a_skip_elsewhere(tmp_path, name):
    (tmp_path / name).write_text(SKIPPING[name], encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.ci_strict", "-p", "no:cacheprovider",
               "--rootdir", str(tmp_path), str(tmp_path / name)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    ci = subprocess.run(command, cwd=ROOT, env=dict(env, CI="true"), capture_output=True, text=True, timeout=120)
    assert ci.returncode in (1, 2) and "CI=true 时测试不得跳过" in ci.stdout and "没有装" in ci.stdout, ci.stdout
    local = subprocess.run(command, cwd=ROOT, env=dict(env, CI="false"), capture_output=True, text=True, timeout=120)
    assert local.returncode in (0, 5) and "skipped" in local.stdout, local.stdout  # 5: the module collected none
