"""The README's "Using it" block works as written in a fresh folder (sqlite-utils keeps its
docs honest the same way): the fenced shell block is read from README.md and run by bash."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def using_it_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_block_runs_as_written_in_a_fresh_folder(tmp_path):
    block = using_it_block()
    assert block.startswith(". .venv/bin/activate\n")
    # The block starts from a checkout with its .venv; here the folder is fresh but for it.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env["ARCHIVE_PDF"] = "never"  # the same path with PDFs is the demo's and the filing tests' business
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "错误" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    out = result.stdout
    for expected in ("工作区已就绪", "事项编码\t事项名称", "办件编号：SJ202609280001", "状态：已办结", "已归档 1 卷",
                     "全部完好", "共找到 1 件", "借阅证号：JZ0001", "借阅单号：JY202600001", "清点 3 页",
                     "状态：待核查", "用法：archive"):
        assert expected in out, expected
    assert (tmp_path / "centre" / "archive.db").is_file()
