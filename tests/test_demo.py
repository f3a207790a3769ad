import json
from pathlib import Path

from click.testing import CliRunner

from cli import main


def test_demo_covers_every_outcome_and_says_where_the_notices_are(tmp_path):
    home = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--home", str(home), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    statuses = " ".join(row["outcome"] for row in report["cases"])
    for word in ("当场办结", "补正后受理", "三联", "待补交", "上报", "告知有权机关", "无需许可", "暂停", "延期", "不予许可", "视为受理"):
        assert word in statuses, word
    kinds = {n for row in report["cases"] for n in row["notices"]}
    assert {"受理通知书", "补正材料通知书", "不予受理决定书", "不予许可决定书", "延期告知书", "除外时间告知书"} <= kinds
    assert report["appointment"]
    assert all(Path(f).exists() for f in report["files"])
    assert report["documents"].startswith(str(home))


def test_demo_text_output_names_the_folder(tmp_path):
    home = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0
    assert f"文书目录：{home}/documents" in result.output
