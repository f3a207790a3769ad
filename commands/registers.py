"""Registers and the fonts of printed documents.

``archive register cases`` ↔ ``window.registers.cases_register`` / ``export`` (the window
register, 办件登记簿, beside the lending desk's ``archive register export``); ``archive fonts`` ↔ ``documents.fonts.report`` (which face draws each
font the documents name).
"""

from __future__ import annotations

import click

from .common import emit, json_option, session_command
from .lending import register_group  # archive register: export (借阅登记表), cases (办件登记簿)


@session_command(register_group, "cases")
@click.option("--from", "date_from", help="收件起始日期 YYYY-MM-DD（默认本月1日）")
@click.option("--to", "date_to", help="收件截止日期 YYYY-MM-DD（默认今天）")
@click.option("--unit", help="只列该单位的办件（单位代码，如 SJ）")
@click.option("--out", type=click.Path(dir_okay=False), help="写入 Excel 文件（.xlsx；已有文件不会被覆盖）")
@json_option
def register_cases(session, date_from, date_to, unit, out, as_json):
    """办件登记簿：期间内收件的每个办件，含受理、承诺办结、办结日期，已用工作日和是否按时。

    \b
    示例：
      archive register cases --from 2026-09-01 --to 2026-09-30
      archive register cases --unit SJ --from 2026-09-01 --out 九月办件登记簿.xlsx
    """
    from archive.window import registers

    register = registers.cases_register(session, date_from=date_from, date_to=date_to, unit=unit)
    if out:
        register = registers.export(session, register, out)
    head = (f"办件登记簿：{register.date_from.isoformat()} 至 {register.date_to.isoformat()}"
            f"{'　单位：' + unit if unit else ''}　共 {len(register.rows)} 件")
    if register.path:
        text = f"{head}\n已写入：{register.path}"
    else:
        lines = [head]
        for r in register.rows:
            days = "" if r.workdays is None else f"{r.workdays}个工作日"
            lines.append("\t".join([r.case_no, r.item, r.applicant, r.id_number, r.received_on.isoformat(),
                                    r.concluded_on.isoformat() if r.concluded_on else "", r.outcome, days,
                                    r.on_time, r.clerk]))
        text = "\n".join(lines)
    emit(as_json, register.to_dict(), text)


@session_command(None, "fonts")
@json_option
def fonts_command(session, as_json):
    """列出文书所用字体在生成 PDF 时实际使用的字形：工作区 fonts/ 目录中安装的字体优先，
    否则为免费替代字体（正文 Noto Serif CJK SC，标题 Noto Serif CJK SC 粗体）。

    \b
    示例：
      archive fonts
      archive fonts --json
    """
    from archive.documents import fonts
    from archive.documents.office import default_profile_cache

    found = fonts.report(workspace_fonts=session.ws.fonts_dir, cache=default_profile_cache())
    if not found:
        emit(as_json, [], "未找到 fontconfig 的 fc-match 命令，无法确定字体；请运行 make deps 安装 LibreOffice 和字体")
        return
    lines = [f"字体目录：{session.ws.fonts_dir}（放入本单位有授权的字体文件后，生成 PDF 时优先使用）"]
    for r in found:
        source = "工作区字体" if r.installed else "替代字体"
        group = fonts.GROUP_NAMES.get(r.group, r.group)
        lines.append(f"{r.font}（{group}）→ {r.family} {r.style}［{source}］ {r.file}")
    emit(as_json, [r.to_dict() for r in found], "\n".join(lines))


COMMANDS = (fonts_command,)
