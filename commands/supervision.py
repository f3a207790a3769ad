"""Supervision commands: the window report, warnings and red cards, ratings (好差评).

Every command asks the library for the caller's scope (``scope.scope_for``) and passes it
on; what a role may see is decided there, never here.
"""

from __future__ import annotations

import click

from .common import ArchiveGroup, as_installation_unless_named, emit, json_option, session_command, split_codes


def _scope(session):
    from archive.supervision.scope import scope_for

    return scope_for(session)


def _period_options(func):
    func = click.option("--to", "date_to", help="结束日期 YYYY-MM-DD（与 --from 同用）")(func)
    func = click.option("--from", "date_from", help="开始日期 YYYY-MM-DD（与 --to 同用）")(func)
    return click.option("--month", help="统计月份 YYYY-MM（默认本月）")(func)


# -- report window -----------------------------------------------------------------------------

@session_command(None, "window")
@_period_options
@click.option("--unit", help="只统计该单位（须在你的查看范围内）")
@click.option("--out", type=click.Path(dir_okay=False), help="另存为文件：.xlsx 表格、.pdf 月报（含图表）或 .json")
@json_option
def report_window(session, month, date_from, date_to, unit, out, as_json):
    """窗口办件监察报表：收件、受理、即办率、按时办结率、提前办结率、超期件、好差评……

    按单位、事项和窗口工作人员分列；比率为 0～1 的小数，并给出计算所用的件数。
    红牌（办件超期、差评整改超期）先行登记在册，办结后仍保留。

    \b
    示例：
      archive report window --month 2026-10
      archive report window --from 2026-10-01 --to 2026-10-15 --unit SJ --json
      archive report window --month 2026-10 --out 2026年10月窗口月报.pdf
      archive report window --month 2026-10 --out 2026年10月窗口报表.xlsx
    """
    from archive.supervision import report

    result = report.window(session, scope=_scope(session), month=month, date_from=date_from, date_to=date_to,
                           unit=unit)
    text = result.text()
    if out:
        path = report.write(result, out)
        text += f"\n已保存：{path}"
    emit(as_json, result.to_dict(), text)


REPORTS = (report_window,)


# -- warnings and red cards ------------------------------------------------------------------

@click.group("warning", cls=ArchiveGroup)
def warning_group():
    """电子监察预警：蓝牌、黄牌、红牌，以及留档的红牌记录。"""


@session_command(warning_group, "list")
@click.option("--level", help="只列出这些级别：red、yellow、blue（逗号分隔，默认全部）")
@click.option("--unit", help="只列出该单位（须在你的查看范围内）")
@click.option("--limit", type=int, help="最多列出多少件")
@json_option
def warning_list(session, level, unit, limit, as_json):
    """列出今天亮牌的在办件：红牌（已超期）、黄牌（期限当日）、蓝牌（临近期限）。

    阈值见配置项 warning_blue_workdays、warning_yellow_workdays。

    \b
    示例：
      archive warning list
      archive warning list --level red --unit SJ --json
    """
    from archive.supervision import alerts
    from archive.supervision.scope import narrow

    scope = narrow(session, _scope(session), unit)
    levels = split_codes(level) or ["red", "yellow", "blue"]
    found = alerts.current(session, scope=scope, levels=levels, limit=limit)
    lines = [f"{w.to_dict()['level_text']}\t{w.case_no}\t{w.unit}\t{w.clerk}\t期限 {w.due_on.isoformat()}\t"
             + (f"超期 {w.days_over} 个工作日" if w.days_over else f"剩余 {w.days_left} 个工作日") for w in found]
    lines.append(f"共 {len(found)} 件（截至 {session.today.isoformat()}）")
    emit(as_json, [w.to_dict() for w in found], "\n".join(lines))


@session_command(warning_group, "cards")
@_period_options
@click.option("--unit", help="只列出该单位（须在你的查看范围内）")
@click.option("--open", "open_only", is_flag=True, help="只列出尚未办结/整改的红牌")
@click.option("--all", "all_time", is_flag=True, help="列出全部红牌，不限期间")
@json_option
def warning_cards(session, month, date_from, date_to, unit, open_only, all_time, as_json):
    """列出留档的红牌：办件超期、差评整改超期；办结后仍保留，写明办件、单位、人员和超期工作日。

    \b
    示例：
      archive warning cards --month 2026-10
      archive warning cards --all --open
    """
    from archive.supervision import alerts, figures
    from archive.supervision.scope import narrow

    scope = narrow(session, _scope(session), unit)
    alerts.record_red_cards(session)
    start = end = None
    if not all_time:
        per = figures.period(session.today, month=month, date_from=date_from, date_to=date_to)
        start, end = per.start, per.end
    cards = alerts.red_cards(session, scope=scope, date_from=start, date_to=end, open_only=open_only)
    lines = [f"{alerts.CARD_KINDS[c.kind]}\t{c.case_no}\t{c.unit}\t{c.clerk}\t期限 {c.due_on.isoformat()}\t"
             f"超期 {c.days_over} 个工作日\t" + (f"已于 {c.closed_on.isoformat()} 办结/整改" if c.closed_on else "未办结")
             for c in cards]
    lines.append(f"共 {len(cards)} 张红牌")
    emit(as_json, [c.to_dict() for c in cards], "\n".join(lines))


@session_command(warning_group, "sweep")
@json_option
def warning_sweep(session, as_json):
    """登记红牌：把截至今天的超期办件、超期未整改的差评记为红牌，更新在册红牌的超期天数。

    archive serve 运行时每 10 分钟自动登记一次；只用命令行的安装请每天由 cron 运行本命令，否则月报要在打开时补登整月的红牌。

    需要“查看所辖单位的监察统计”权限；在服务器本机的命令行不指定操作员时，以安装管理员身份运行。

    \b
    示例：
      archive warning sweep
      archive warning sweep --json
    """
    from archive.supervision import sweeper

    as_installation_unless_named(session)
    done = sweeper.sweep(session)
    emit(as_json, {"as_of": session.today.isoformat(), **done.to_dict()},
         f"红牌登记（截至 {session.today.isoformat()}）：新增 {done.raised} 张，更新 {done.updated} 张，"
         f"关闭 {done.closed} 张")


# -- ratings ---------------------------------------------------------------------------------

@click.group("rating", cls=ArchiveGroup)
def rating_group():
    """好差评：记录申请人评价（每件一次，不得修改），差评回访整改，导出。"""


def describe_rating(rating) -> str:
    from archive.supervision.figures import SUBSCORES
    from archive.supervision.ratings import SOURCES

    data = rating.to_dict()
    scores = "　".join(f"{label} {value}" for label, value in zip(SUBSCORES.values(), rating.scores))
    lines = [f"办件编号：{rating.case_no}（{rating.unit}，经办 {rating.clerk}）",
             f"评价：{rating.level_text}（{rating.level}）　{scores}",
             f"渠道：{SOURCES[rating.source]}　评价日期：{data['rated_on']}　录入：{rating.operator}"]
    if rating.comment:
        lines.append(f"意见：{rating.comment}")
    rect = rating.rectification
    if rect:
        lines.append(f"差评整改：期限 {rect.due_on.isoformat()}")
        lines.append(f"  回访：{rect.followed_up_on.isoformat()} {rect.follow_up}（{rect.followed_up_by}）"
                     if rect.followed_up_on else "  回访：尚未回访")
        if rect.rectified_on:
            late = "（超期）" if rect.rectified_on > rect.due_on else ""
            lines.append(f"  整改：{rect.rectified_on.isoformat()}{late} {rect.rectified}（{rect.rectified_by}）")
        else:
            lines.append("  整改：尚未整改")
    return "\n".join(lines)


@session_command(rating_group, "record")
@click.argument("case_no")
@click.option("--level", help="评价等级：5 非常满意、4 满意、3 基本满意、2 不满意、1 非常不满意（可写数字或文字）")
@click.option("--overall", help="整体满意度 1～5")
@click.option("--efficiency", help="服务效率 1～5")
@click.option("--quality", help="服务水平 1～5")
@click.option("--attitude", help="服务态度 1～5")
@click.option("--source", help="评价渠道：device（窗口评价器）、web（网上评价）、phone（电话评价）")
@click.option("--comment", help="评价意见（可选）")
@click.option("--on", "on", help="评价日期 YYYY-MM-DD（默认今天）")
@json_option
def rating_record(session, case_no, level, overall, efficiency, quality, attitude, source, comment, on, as_json):
    """记录申请人对已办结办件的评价；每件只评价一次，记录后不得修改。

    不满意、非常不满意的评价自动建立整改记录，整改期限见配置项 rectification_workdays（默认 15 个工作日）。

    \b
    示例：
      archive rating record SJ202610090001 --level 满意 --overall 4 --efficiency 4 \\
          --quality 5 --attitude 4 --source device
      archive rating record SJ202610080001 --level 2 --overall 2 --efficiency 1 \\
          --quality 3 --attitude 2 --source phone --comment 等待时间过长
    """
    from archive.supervision import ratings

    rating = ratings.record(session, case_no, level=level, overall=overall, efficiency=efficiency, quality=quality,
                            attitude=attitude, source=source, comment=comment, on=on, scope=_scope(session))
    text = "已记录评价\n" + describe_rating(rating)
    emit(as_json, rating.to_dict(), text)


@session_command(rating_group, "show")
@click.argument("case_no")
@json_option
def rating_show(session, case_no, as_json):
    """查看一件办件的评价及其整改情况。

    \b
    示例：
      archive rating show SJ202610080001
    """
    from archive.supervision import ratings

    rating = ratings.show(session, case_no, scope=_scope(session))
    emit(as_json, rating.to_dict(), describe_rating(rating))


@session_command(rating_group, "list")
@_period_options
@click.option("--bad", "bad_only", is_flag=True, help="只列出差评（不满意、非常不满意）")
@click.option("--pending", "pending_only", is_flag=True, help="只列出尚未整改的差评")
@json_option
def rating_list(session, month, date_from, date_to, bad_only, pending_only, as_json):
    """列出某期间的评价（默认本月）。

    \b
    示例：
      archive rating list --month 2026-10 --bad
      archive rating list --pending
    """
    from archive.supervision import figures, ratings

    start = end = None
    if month or date_from or date_to or not pending_only:
        per = figures.period(session.today, month=month, date_from=date_from, date_to=date_to)
        start, end = per.start, per.end
    found = ratings.list_ratings(session, scope=_scope(session), date_from=start, date_to=end, bad_only=bad_only,
                                 pending_only=pending_only)
    lines = []
    for r in found:
        rect = r.rectification
        state = ""
        if rect:
            state = "已整改" if rect.done else f"待整改（期限 {rect.due_on.isoformat()}）"
        lines.append(f"{r.rated_on.isoformat()}\t{r.case_no}\t{r.unit}\t{r.clerk}\t{r.level_text}\t{state}".rstrip())
    lines.append(f"共 {len(found)} 条评价")
    emit(as_json, [r.to_dict() for r in found], "\n".join(lines))


@session_command(rating_group, "follow-up")
@click.argument("case_no")
@click.option("--note", help="回访情况（电话回访了解到的问题）")
@click.option("--on", "on", help="回访日期 YYYY-MM-DD（默认今天）")
@json_option
def rating_follow_up(session, case_no, note, on, as_json):
    """记录差评的回访（每件一次）。

    \b
    示例：
      archive rating follow-up SJ202610080001 --note 电话回访，申请人反映补正两次等待过久
    """
    from archive.supervision import ratings

    rating = ratings.follow_up(session, case_no, note=note, on=on, scope=_scope(session))
    emit(as_json, rating.to_dict(), "已记录回访\n" + describe_rating(rating))


@session_command(rating_group, "rectify")
@click.argument("case_no")
@click.option("--action", help="整改情况：做了哪些改进")
@click.option("--on", "on", help="整改完成日期 YYYY-MM-DD（默认今天）")
@json_option
def rating_rectify(session, case_no, action, on, as_json):
    """记录差评的整改结果（先回访，后整改；每件一次）。超过整改期限的计为红牌。

    \b
    示例：
      archive rating rectify SJ202610080001 --action 补正材料清单增加示例，一次告知到位
    """
    from archive.supervision import ratings

    rating = ratings.rectify(session, case_no, action=action, on=on, scope=_scope(session))
    emit(as_json, rating.to_dict(), "已记录整改\n" + describe_rating(rating))


@session_command(rating_group, "export")
@_period_options
@click.option("--out", type=click.Path(dir_okay=False), help="写入该 JSON 文件（默认输出到屏幕）")
def rating_export(session, month, date_from, date_to, out):
    """按期间导出评价（JSON，格式见 schemas/rating_export.json），供报送省级好差评平台。

    \b
    示例：
      archive rating export --month 2026-10 --out 2026年10月好差评.json
      archive rating export --from 2026-10-01 --to 2026-10-31
    """
    from archive.supervision import figures, ratings

    per = figures.period(session.today, month=month, date_from=date_from, date_to=date_to)
    if out:
        data = ratings.write_export(session, out, date_from=per.start, date_to=per.end, scope=_scope(session))
        click.echo(f"已导出 {data['count']} 条评价：{out}")
    else:
        data = ratings.export(session, date_from=per.start, date_to=per.end, scope=_scope(session))
        emit(True, data)


COMMANDS = (warning_group, rating_group)
