"""The supervision commands: report window, warning, rating.

The CLI works on the real date, so these tests look at October 2026 (the sample month),
which is over on any day they run: its figures do not depend on today.
"""

import json

from click.testing import CliRunner

from cli import main


def run(home, *args, operator="王芳", **extra):
    env = {"ARCHIVE_HOME": str(home), **extra}
    if operator:
        env["ARCHIVE_OPERATOR"] = operator
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_report_window_json(month_home):
    home, made = month_home
    result = run(home, "report", "window", "--month", "2026-10", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["period", "scope", "totals", "units", "items", "clerks", "red_cards"]
    assert data["period"] == {"from": "2026-10-01", "to": "2026-10-31", "as_of": "2026-10-31"}
    t = data["totals"]
    assert (t["received"], t["concluded"], t["on_time"], t["on_time_rate"], t["early_rate"], t["satisfaction_rate"]) == (
        11, 5, 4, 0.8, 0.5, 0.75)
    assert [c["case"] for c in data["red_cards"]] == [made["F"], made["C"], made["M"]]
    one = run(home, "report", "window", "--from", "2026-10-01", "--to", "2026-10-31", "--unit", "WJ", "--json")
    unit = json.loads(one.output)
    assert unit["scope"] == ["WJ"] and unit["totals"]["received"] == 3 and unit["totals"]["denied"] == 1


def test_report_window_text_and_files(month_home, tmp_path):
    home, _ = month_home
    result = run(home, "report", "window", "--month", "2026-10")
    assert result.exit_code == 0, result.output
    assert "即办率 20.0%（1/5）　按时办结率 80.0%（4/5）　提前办结率 50.0%（2/4）" in result.output
    assert "满意率 75.0%（3/4）" in result.output
    for name in ("月报.pdf", "报表.xlsx", "报表.json"):
        out = tmp_path / name
        saved = run(home, "report", "window", "--month", "2026-10", "--out", str(out))
        assert saved.exit_code == 0, saved.output
        assert f"已保存：{out}" in saved.output and out.stat().st_size > 1000
    again = run(home, "report", "window", "--month", "2026-10", "--out", str(tmp_path / "报表.xlsx"))
    assert again.exit_code == 2 and "已存在" in again.output


def test_report_window_refuses_bad_options(month_home):
    home, _ = month_home
    for args, words in ((["--month", "2026/10"], "YYYY-MM"), (["--month", "2026-10", "--from", "2026-10-01"], "二选一"),
                        (["--unit", "XX"], "未知的单位代码"), (["--out", "报表.docx"], ".xlsx")):
        result = run(home, "report", "window", *args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and "Traceback" not in result.output


def test_warning_commands(month_home):
    home, made = month_home
    listed = run(home, "warning", "list", "--level", "red", "--json")
    assert listed.exit_code == 0, listed.output
    assert made["F"] in [w["case"] for w in json.loads(listed.output)]
    cards = run(home, "warning", "cards", "--month", "2026-10")
    assert cards.exit_code == 0, cards.output
    assert "差评整改超期" in cards.output and "共 3 张红牌" in cards.output
    bad = run(home, "warning", "list", "--level", "green")
    assert bad.exit_code == 2 and "预警级别" in bad.output


def test_warning_sweep_records_the_days_cards_for_cron(month_home):
    """What cron runs on an installation without the server: the day's cards, without a report."""
    home, made = month_home
    refused = run(home, "warning", "sweep", ARCHIVE_TODAY="2026-11-03")  # 王芳, a clerk: her own figures only
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "查看所辖单位的监察统计" in refused.output
    swept = run(home, "warning", "sweep", "--json", operator=None, ARCHIVE_TODAY="2026-11-03")
    assert swept.exit_code == 0, swept.output
    done = json.loads(swept.output)
    # E, due 2 November, is one working day over on the 3rd; F's days over grow.
    assert done["as_of"] == "2026-11-03" and done["raised"] == 1 and done["updated"] >= 1
    again = run(home, "warning", "sweep", operator="钱进", ARCHIVE_TODAY="2026-11-03")  # a unit head may too
    assert again.exit_code == 0, again.output
    assert "新增 0 张，更新 0 张，关闭 0 张" in again.output
    cards = run(home, "warning", "cards", "--all", "--json", operator=None)
    assert made["E"] in [c["case"] for c in json.loads(cards.output)]


def test_the_cli_takes_its_working_date_from_archive_today(month_home):
    home, made = month_home
    # As the server does: 2026-10-20 is a day of the sample month, so the current month is October
    # and the warnings are judged on that day (case F was already past due then).
    listed = run(home, "warning", "list", "--level", "red", ARCHIVE_TODAY="2026-10-20")
    assert listed.exit_code == 0, listed.output
    assert "截至 2026-10-20" in listed.output and made["F"] in listed.output
    month = run(home, "report", "window", "--json", ARCHIVE_TODAY="2026-10-20")
    assert json.loads(month.output)["period"] == {"from": "2026-10-01", "to": "2026-10-31", "as_of": "2026-10-20"}
    bad = run(home, "warning", "list", ARCHIVE_TODAY="2026-10-32")
    assert bad.exit_code == 2 and "ARCHIVE_TODAY" in bad.output and "Traceback" not in bad.output


def test_rating_commands(month_home, tmp_path):
    home, made = month_home
    recorded = run(home, "rating", "record", made["L"], "--level", "满意", "--overall", "4", "--efficiency", "4",
                   "--quality", "5", "--attitude", "4", "--source", "device", "--on", "2026-10-30")
    assert recorded.exit_code == 0, recorded.output
    assert "评价：满意（4）　整体满意度 4　服务效率 4　服务水平 5　服务态度 4" in recorded.output
    again = run(home, "rating", "record", made["L"], "--level", "1", "--overall", "1", "--efficiency", "1",
                "--quality", "1", "--attitude", "1", "--source", "web")
    assert again.exit_code == 2 and "不得修改" in again.output
    missing = run(home, "rating", "record", made["A"], "--level", "4", "--source", "web")
    assert missing.exit_code == 2 and "整体满意度" in missing.output
    shown = run(home, "rating", "show", made["M"])
    assert "整改：2026-10-29（超期）" in shown.output
    follow = run(home, "rating", "follow-up", made["C"], "--note", "电话回访，申请人反映补正两次")
    assert follow.exit_code == 0 and "回访：" in follow.output
    fixed = run(home, "rating", "rectify", made["C"], "--action", "补正清单增加示例")
    assert fixed.exit_code == 0 and "整改：" in fixed.output
    listed = run(home, "rating", "list", "--month", "2026-10", "--bad", "--json")
    assert [r["case"] for r in json.loads(listed.output)] == [made["C"]]
    out = tmp_path / "好差评.json"
    exported = run(home, "rating", "export", "--month", "2026-10", "--out", str(out))
    assert exported.exit_code == 0 and "已导出 5 条评价" in exported.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "service-archive/ratings" and data["count"] == 5


def test_every_supervision_command_has_help_with_an_example():
    for args in (["report", "window"], ["warning", "list"], ["warning", "cards"], ["warning", "sweep"], ["rating", "record"],
                 ["rating", "show"], ["rating", "list"], ["rating", "follow-up"], ["rating", "rectify"],
                 ["rating", "export"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "示例" in result.output, args


def test_the_demo_ends_with_a_month_of_supervision(tmp_path):
    from pathlib import Path

    home = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--home", str(home), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["supervision"]
    totals = summary["totals"]
    for key in ("on_the_spot", "early", "overdue_concluded", "open_red", "open_yellow", "open_blue", "open_paused",
                "deemed_accepted", "paused", "supplement_notices", "bad_ratings", "rectifications_late", "red_cards"):
        assert totals[key] > 0, key  # every kind of finding
    # The demo's own day is concluded in October, on its due dates: only the two cases still
    # owing materials and the sample's own two are overdue, not every case of that day.
    assert totals["overdue"] == 4 and totals["concluded"] > totals["received"]
    assert sorted(Path(f).suffix for f in summary["files"]) == [".pdf", ".xlsx"]
    assert all(Path(f).exists() for f in summary["files"])
    text = CliRunner().invoke(main, ["demo", "--home", str(tmp_path / "again")], catch_exceptions=False).output
    assert "电子监察（2026年10月示例）" in text and "按时办结率" in text
