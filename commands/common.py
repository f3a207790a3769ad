"""What every command module shares: error mapping, shared options, output."""

from __future__ import annotations

import functools
import json
import re

import click

from archive.core.errors import ArchiveError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CliError(click.ClickException):
    """A library error as click shows it: message in Chinese, the error's own exit code."""

    def __init__(self, error: ArchiveError):
        super().__init__(str(error))
        self.exit_code = error.exit_code
        self.error = error

    def show(self, file=None):
        click.echo(f"错误：{self.format_message()}", err=True)


class ArchiveGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ArchiveError as exc:
            raise CliError(exc) from exc


# -- shared options ------------------------------------------------------------------------

def json_option(func):
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出，便于其他系统读取")(func)


def operator_option(func):
    return click.option("--operator", envvar="ARCHIVE_OPERATOR", help="经办人姓名（或设置 ARCHIVE_OPERATOR）")(func)


def home_option(func):
    return click.option("--home", type=click.Path(file_okay=False), envvar="ARCHIVE_HOME",
                        help="工作区目录（默认取 ARCHIVE_HOME，未设置时为 ./archive-home）")(func)


def session_command(group, name, **kwargs):
    """A command that receives an open session as its first argument (``--home``/``--operator``).

    ``group`` is a click group, or None for a top-level command that the caller adds to
    the main group.
    """

    def decorate(func):
        maker = group.command if group is not None else click.command

        @maker(name, cls=kwargs.pop("cls", None) or click.Command, **kwargs)
        @home_option
        @operator_option
        @functools.wraps(func)
        def wrapper(home, operator, **options):
            from archive.centre import open_session

            with open_session(home, operator=operator) as session:
                return func(session, **options)

        return wrapper

    return decorate


def emit(as_json: bool, data, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif text is not None:
        click.echo(text)


def split_codes(value: str | None) -> list[str]:
    return [part for part in re.split(r"[,，、\s]+", value or "") if part]


def _no_pdf_reason(session) -> str:
    if session is not None and str(session.ws.get("pdf")).lower() == "never":
        return "（未生成：已设置为不生成 PDF，见配置项 pdf 或环境变量 ARCHIVE_PDF）"
    return "（未生成：未安装 LibreOffice，运行 make deps 安装后可生成 PDF）"


def describe_result(result, session=None) -> str:
    case = result.case
    lines = [f"办件编号：{case.case_no}", f"事项：{case.item_code} {case.item_name}", f"状态：{case.to_dict()['status_text']}"]
    if case.accepted_on:
        lines.append(f"受理日期：{case.accepted_on.isoformat()}" + ("（逾期未告知补正，视为受理）" if case.deemed_accepted else ""))
    if case.case_type == "on_the_spot" and case.accepted_on:
        lines.append("办结时限：当场办结")
    elif case.due_on:
        lines.append(f"承诺办结日期：{case.due_on.isoformat()}")
    if case.missing:
        owed = "待补交材料" if case.status in ("accepted", "paused") else "待补正材料"
        lines.append(f"{owed}：{'、'.join(case.missing)}")
    for notice in result.notices:
        lines.append(f"文书：{notice.title} {notice.number}")
        lines.append(f"  DOCX：{notice.docx}")
        lines.append(f"  PDF： {notice.pdf or _no_pdf_reason(session)}")
    for warning in case.warnings:
        lines.append(f"提醒：{warning}")
    return "\n".join(lines)


