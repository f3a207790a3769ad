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


def test_demo_runs_the_whole_path_from_the_window_to_the_shelf_and_back(tmp_path):
    from .test_cases import docx_text

    home = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--home", str(home), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # concluded and not-accepted cases are filed: approved, two rejections, one denial
    assert len(report["volumes"]) == 4 and all(code.startswith("Z023-") for code in report["volumes"])
    forms = Path(report["forms"])
    for code in report["volumes"]:
        folder = next(forms.rglob(code))
        names = " ".join(p.name for p in folder.iterdir())
        assert "案卷封面" in names and "卷内文件目录" in names and "卷内备考表" in names
    assert report["search"]["total"] >= 1 and "张三" in report["search"]["first"]
    loan = report["loan"]
    assert loan["pages_counted"] == loan["pages_expected"] - 1
    assert "缺" in docx_text(report["notes_sheet"]) or "少" in docx_text(report["notes_sheet"])
    assert Path(report["catalogue"]).is_file() and Path(report["register"]).is_file()
    # run again in the same folder: it goes on with new numbers instead of failing
    again = CliRunner().invoke(main, ["demo", "--home", str(home), "--json"], catch_exceptions=False)
    assert again.exit_code == 0, again.output


def test_demo_text_output_names_the_folder(tmp_path):
    home = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0
    for line in (f"通知书等文书：{home}/documents/notices", f"案卷和案卷表格（封面、卷内文件目录、卷内备考表）：{home}/documents/volumes",
                 "记有缺页的卷内备考表：", f"案卷目录：{home}/documents/catalogues/", f"借阅登记表：{home}/documents/registers/"):
        assert line in result.stdout, line
