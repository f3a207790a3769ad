"""What every command module shares: the one error mapping, Chinese for click, shared
options, choices that take Chinese, progress and output.

Errors: every exception that leaves a command ends in :meth:`ArchiveGroup.main` and is
reported by :func:`report` — a library error (:class:`ArchiveError`) with its own message
and exit code, a fault of the machine (full disk, read-only workspace, damaged database)
through :func:`archive.core.errors.from_environment`, a mistyped command line through
click's exceptions. The field is named as the user typed it (``--id-number``), never by
the library's key. With ``--json`` the error is JSON on stdout,
``{"error": {"code", "field", "message", "hint"}}``, with the same exit code.

Chinese: click marks its own messages (usage, help, errors) with gettext; its modules are
handed :data:`CLICK_MESSAGES` instead of the process locale, so ``archive`` speaks Chinese
whatever ``LANG`` says.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
import sys
import tempfile
import traceback

import click

from archive.core.errors import ArchiveError, from_environment

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# -- click in Chinese ------------------------------------------------------------------------

CLICK_MESSAGES = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少必填选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "No such option {name!r}.": "没有这个选项：{name}。",
    "No such command {name!r}.": "没有这个命令：{name}。",
    "Did you mean {possibility}?": "是不是要输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是要输入其中之一：{possibilities}？）",
    "Got unexpected extra argument ({args})": "多余的参数：{args}",
    "Got unexpected extra arguments ({args})": "多余的参数：{args}",
    "Option {name!r} requires an argument.": "选项 {name} 后面要跟一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name} 后面要跟 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name} 不带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name} 要 {nargs} 个值。",
    "{value!r} is not {choice}.": "“{value}”不是可选值（{choice}）。",
    "{value!r} is not one of {choices}.": "“{value}”不是可选值之一：{choices}。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是数字。",
    "{value} is not in the range {range}.": "{value} 超出了允许的范围（{range}）。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "“{value}”不是是/否值，可写：{states}",
    "{value!r} is not a valid UUID.": "“{value}”不是有效的 UUID。",
    "{value!r} does not match the format {format}.": "“{value}”不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "“{value}”不符合以下任一格式：{formats}。",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "{name}“{filename}”是一个文件，应为文件夹。",
    "{name} {filename!r} is a directory.": "{name}“{filename}”是一个文件夹，应为文件。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”没有读取权限。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”没有写入权限。",
    "{name} {filename!r} is not executable.": "{name}“{filename}”不能执行。",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Value must be an iterable.": "值应为一组。",
    "Takes {nargs} values but 1 was given.": "要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "要 {nargs} 个值，给了 {len} 个。",
    "Aborted!": "已取消。",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已停用",
    "unknown error": "未知错误",
    "Error: invalid input": "错误：输入无效",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不再询问，直接执行。",
    "Repeat for confirmation": "再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的不一致。",
    "Press any key to continue...": "按任意键继续……",
}
CLICK_MODULES = ("core", "exceptions", "parser", "types", "decorators", "formatting", "termui", "utils",
                 "_termui_impl")


def _gettext(message: str) -> str:
    return CLICK_MESSAGES.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


for _name in CLICK_MODULES:
    _module = importlib.import_module(f"click.{_name}")
    if hasattr(_module, "_"):
        _module._ = _gettext
    if hasattr(_module, "ngettext"):
        _module.ngettext = _ngettext

# Metavars click would print in English.
TYPE_METAVARS = {"text": "文本", "integer": "整数", "integer range": "整数", "float": "数字", "path": "路径",
                 "file": "文件", "directory": "文件夹", "boolean": "是/否"}
# Arguments as a person calls them (usage lines, help, error messages).
ARGUMENT_LABELS = {"case_no": "办件编号", "code": "档号", "codes": "档号", "loan": "借阅单号", "borrower": "借阅人",
                   "file": "文件", "number": "文书编号", "card": "预约卡号", "query": "检索词",
                   "proposal": "调整申请编号"}

# What the library calls a field -> what a person calls it. Errors name the option the
# user typed when the command has one, else this label; never the library's key.
FIELD_LABELS = {
    "id_number": "身份证号码", "credit_code": "统一社会信用代码", "legal_rep": "法定代表人", "phone": "联系电话",
    "applicant": "申请人", "approved_by": "批准人", "approver_level": "批准人级别", "archival_code": "档号",
    "case": "办件编号", "borrower": "借阅人", "loan": "借阅单号", "list": "销毁清册编号", "witness": "监销人",
    "approver": "批准人", "materials": "材料编码", "defective": "有问题的材料", "pages": "页码",
    "operator": "经办人", "item": "事项编码", "file": "文件", "out": "输出文件", "volume": "案卷", "yes": "确认",
    "number": "文书编号", "card": "预约卡号", "year": "年度", "unit": "单位", "class": "分类号",
    "catalogue": "目录号", "fonds": "全宗号", "status": "状态", "state": "状态", "role": "角色",
    "purpose": "利用目的", "mode": "利用方式", "ground": "不予受理理由类别", "decision": "办结决定",
    "competent_organ": "有权机关", "reason": "理由", "at": "预约时间", "on": "日期", "format": "格式",
    "sort": "排序", "limit": "每页条数", "page": "页码", "query": "检索词", "calendar": "节假日数据",
    "index": "检索索引", "seal": "印章", "title": "题名", "to": "截止日期", "date": "日期", "kind": "类型",
    "retention": "保管期限", "rule": "借阅规则", "outcome": "办理结果", "days": "延长的工作日数",
    "type": "借阅人类型", "name": "姓名", "result": "检查结果", "text": "说明", "as_of": "日期",
    "proposal": "调整申请编号", "security_level": "密级", "access": "开放标识",
}
# Chinese names the library gives fields -> the parameter that carries them, where the
# option's own help does not start with that name.
LABEL_PARAMS = {
    "申请人姓名": "applicant", "申请单位名称": "applicant", "不予受理的具体理由": "reason", "不予许可的理由": "reason",
    "延期理由": "reason", "停借原因": "reason", "取消原因": "reason", "除外时间事由": "reason", "事由": "matter",
    "借阅人单位": "unit", "借阅人姓名": "name", "来访人姓名": "name", "接待人": "with_whom", "地点": "place",
    "需携带材料": "bring", "利用效果": "effect", "归还时状况": "condition", "备考说明": "text", "检查人": "checker",
    "检查结果": "result", "材料题名": "title", "销毁方式": "method", "批准人": "approver", "有权机关": "competent_organ",
    "延长工作日数": "days", "收件日期": "received_on", "预约时间": "at",
}
# Library keys whose parameter is named differently on the command line.
PARAM_ALIASES = {"case": ("case_no",), "archival_code": ("code", "codes"), "list": ("list_no",),
                 "witness": ("witnesses",), "item": ("item_code",), "type": ("kind",), "format": ("fmt",),
                 "approver": ("approved_by",), "applicant": ("applicant",), "class": ("class_code", "classification"),
                 "borrower": ("borrower",), "loan": ("loan",), "number": ("number",), "card": ("card",),
                 "as_of": ("as_of",), "legal_rep": ("legal_rep",)}


def localise(command: click.Command) -> None:
    """Give every parameter of ``command`` (and its subcommands) a Chinese metavar."""
    for param in command.params:
        if isinstance(param, click.Argument) and param.metavar is None:
            param.metavar = ARGUMENT_LABELS.get(param.name, param.name)
        elif isinstance(param, click.Option) and param.metavar is None and not param.is_flag \
                and not isinstance(param.type, (Choice, click.Choice)):
            param.metavar = TYPE_METAVARS.get(param.type.name, param.type.name)
    for sub in getattr(command, "commands", {}).values():
        localise(sub)


class Choice(click.ParamType):
    """One of a few values, typed as its English key or its Chinese name; gives the key.

    ``labels`` maps key -> Chinese name, or is ``"module:NAME"`` naming such a dict in the
    library, imported only when a value is converted or help is shown (fast start-up).
    ``aliases`` are further Chinese words for a key (准予 for approved).
    """

    name = "choice"

    def __init__(self, labels, aliases: dict[str, str] | None = None):
        self._labels = labels
        self.aliases = aliases or {}

    @property
    def labels(self) -> dict[str, str]:
        if isinstance(self._labels, str):
            module, name = self._labels.split(":")
            self._labels = dict(getattr(importlib.import_module(module), name))
        return self._labels

    def listing(self) -> str:
        return "、".join(f"{key}（{label}）" for key, label in self.labels.items())

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(f"{key}|{label}" for key, label in self.labels.items()) + "]"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if text in self.labels:
            return text
        for key, label in self.labels.items():
            if text == label or text.lower() == key.lower():
                return key
        if text in self.aliases:
            return self.aliases[text]
        self.fail(f"“{text}”不是可选值，可选：{self.listing()}", param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(key) for key in self.labels if key.startswith(incomplete)]


# -- naming fields as the user typed them ------------------------------------------------------

def _param_for(command: click.Command | None, field: str | None):
    if command is None or not field:
        return None
    params = [p for p in command.params if p.name not in ("help",)]
    if field.startswith("-"):
        return next((p for p in params if field in getattr(p, "opts", ())), None)
    names = {field, field.replace("-", "_"), *PARAM_ALIASES.get(field, ())}
    if not field.isascii():  # a Chinese label from the library: which key, or which option's help
        names |= {key for key, label in FIELD_LABELS.items() if label == field}
        names |= {LABEL_PARAMS[field]} if field in LABEL_PARAMS else set()
        names |= {alias for key in list(names) for alias in PARAM_ALIASES.get(key, ())}
    for param in params:
        if param.name in names or any(o == "--" + n.replace("_", "-") for n in names for o in param.opts):
            return param
    if not field.isascii():
        for param in params:
            if isinstance(param, click.Option) and (param.help or "").startswith(field):
                return param
    return None


def field_name(command: click.Command | None, field: str | None) -> tuple[str | None, str | None]:
    """(what to call the field in an error, its Chinese label) for the library's ``field``."""
    if not field:
        return None, None
    param = _param_for(command, field)
    key = field.lstrip("-").replace("-", "_")
    label = field if not field.isascii() else FIELD_LABELS.get(key)
    if param is not None:
        label = label or FIELD_LABELS.get(param.name) or ARGUMENT_LABELS.get(param.name)
        if isinstance(param, click.Option):
            return max(param.opts, key=len), label
        return label or ARGUMENT_LABELS.get(param.name, param.name), label
    if field.isascii() and not field.startswith("-") and label is None:
        # A config path (units[2].name) or a file name is what the user must look at; a
        # bare library key is not.
        return (field, None) if re.search(r"[.\[/\\]", field) else (None, None)
    return (field if label is None else label), label


def _click_field(exc: click.ClickException) -> str | None:
    param = getattr(exc, "param", None)
    if param is not None:
        if isinstance(param, click.Option):
            return max(param.opts, key=len)
        return ARGUMENT_LABELS.get(param.name, param.name)
    return getattr(exc, "option_name", None)


def _is_bare_group(exc: click.ClickException) -> bool:
    return type(exc).__name__ == "NoArgsIsHelpError"


def _click_message(exc: click.ClickException) -> str:
    """Click's own message in Chinese, with the option's Chinese name where it has one."""
    if _is_bare_group(exc):
        return "缺少命令：请在后面写上要执行的命令"
    param = getattr(exc, "param", None)
    if isinstance(exc, click.MissingParameter) and param is not None:
        if isinstance(param, click.Option):
            label = (param.help or "").split("（")[0].split("，")[0].split(" ")[0]
            return f"缺少必填选项 {max(param.opts, key=len)}" + (f"（{label}）" if label else "")
        return f"缺少参数：{ARGUMENT_LABELS.get(param.name, param.name)}"
    if isinstance(exc, click.BadParameter) and param is not None:
        name = max(param.opts, key=len) if isinstance(param, click.Option) else \
            ARGUMENT_LABELS.get(param.name, param.name)
        kind = getattr(param.type, "name", "")
        if kind == "integer" and "不是数字" in exc.message:
            return f"{name} 的值无效：{exc.message.replace('不是数字', '不是整数')}"
        return f"{name} 的值无效：{exc.message}"
    return exc.format_message()


def report(exc: BaseException, *, as_json: bool, command: click.Command | None = None) -> int:
    """Tell the user what went wrong, in Chinese (JSON on stdout with ``--json``); the exit code."""
    if isinstance(exc, click.ClickException):
        code = "usage"
        field, label = _click_field(exc), None
        message, hint = _click_message(exc), None
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f"运行“{ctx.command_path} --help”查看用法和示例"
        exit_code = exc.exit_code
    else:
        try:
            error = from_environment(exc)
        except Exception:  # noqa: BLE001 - reporting must not fail in its turn
            error = None
        if error is None:  # a bug of ours: say so plainly, keep the details for the developers
            error = ArchiveError(f"程序内部错误（{type(exc).__name__}）：{exc}", hint=_save_traceback(exc))
            error.code = "internal"
        code = error.code
        field, label = field_name(command, error.field)
        message, hint, exit_code = error.message, error.hint, error.exit_code
        needed = getattr(error, "approval_needed", None)
        if needed and field == "--approved-by":  # the library's hint is neutral: say it with our options
            hint = f"请加上 --approved-by 姓名 --approver-level {needed}"
    if as_json:
        click.echo(json.dumps({"error": {"code": code, "field": field, "message": message, "hint": hint}},
                              ensure_ascii=False, indent=2))
        return exit_code
    text = message
    positional = field is not None and not field.startswith("-")
    if field and field not in text and not (positional and label and label[:2] in text):
        # An option is named as typed; a positional argument (a case number, an archival
        # code) is named only when the message does not already say what it is.
        named = f"{field}（{label}）" if label and label != field and label not in text else field
        text = f"{named}：{text}"
    click.echo(f"错误：{text}", err=True)
    if hint:
        click.echo(f"提示：{hint}", err=True)
    return exit_code


def _save_traceback(exc: BaseException) -> str:
    """Write the traceback to a file (never to the screen) and say where it is."""
    try:
        fd, path = tempfile.mkstemp(prefix="archive-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        return f"请把文件 {path} 交给系统维护人员"
    except OSError:
        return "请记下出错时执行的命令，交给系统维护人员"


def _wants_json(args: list[str]) -> bool:
    head = args[:args.index("--")] if "--" in args else args
    return "--json" in head


class HelpFormatter(click.HelpFormatter):
    """Headings and the usage line with Chinese punctuation (选项：, 用法：archive …)."""

    def write_usage(self, prog, args="", prefix=None):
        super().write_usage(prog, args, prefix="用法：" if prefix is None else prefix)

    def write_heading(self, heading):
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_dl(self, rows, col_max=30, col_spacing=2):
        """Two columns measured in display width: a Chinese character takes two cells."""
        rows = list(rows)
        first = min(max((_width(term) for term, _ in rows), default=0), col_max)
        indent = self.current_indent
        text_width = max(self.width - first - col_spacing - indent, 20)
        for term, text in rows:
            self.write(f"{'':>{indent}}{term}")
            lines = _wrap(text, text_width) if text else []
            if not lines:
                self.write("\n")
                continue
            if _width(term) <= first:
                self.write(" " * (first - _width(term) + col_spacing))
            else:
                self.write("\n" + " " * (first + col_spacing + indent))
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(" " * (first + col_spacing + indent) + line + "\n")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` cells, between words or Chinese characters."""
    lines, line = [], ""
    for token in re.findall(r"[\x21-\x7e]+|\s+|.", text):
        if token.isspace():
            token = " "
        if _width(line + token) > width and line.strip() and token not in "，。；：、）”」』！？":
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


class Context(click.Context):
    formatter_class = HelpFormatter


class ArchiveCommand(click.Command):
    """A leaf command: remembers itself on an error so that the report names its options."""

    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not isinstance(exc, (click.ClickException, click.exceptions.Exit, click.Abort)):
                exc.__dict__.setdefault("cli_command", self)
            raise


class ArchiveGroup(click.Group):
    """A group of commands; the top one runs :func:`report` for every error."""

    command_class = ArchiveCommand
    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def resolve_command(self, ctx, args):
        name = click.utils.make_str(args[0])
        if self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            near = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.5)
            known = "、".join(self.list_commands(ctx))
            ctx.fail(f"没有这个命令：{name}。" + (f"是不是要输入 {'、'.join(near)}？" if near else f"可用的命令：{known}"))
        return super().resolve_command(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        as_json = _wants_json(args)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            exit_code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except click.exceptions.Exit as exc:
            exit_code = exc.exit_code
        except (click.Abort, EOFError):
            click.echo("已取消。", err=True)
            exit_code = 1
        except KeyboardInterrupt:
            click.echo("\n已中断。", err=True)
            exit_code = 130
        except click.ClickException as exc:
            if _is_bare_group(exc) and not as_json:  # `archive` or `archive case` alone: its help
                click.echo(exc.format_message(), err=True)
                exit_code = exc.exit_code
            else:
                exit_code = report(exc, as_json=as_json)
        except Exception as exc:  # noqa: BLE001 - the one place every error is told to the user
            exit_code = report(exc, as_json=as_json, command=exc.__dict__.get("cli_command"))
        if standalone_mode:
            sys.exit(exit_code)
        return exit_code


ArchiveGroup.group_class = ArchiveGroup


# -- shared options ------------------------------------------------------------------------

def json_option(func):
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出，便于其他系统读取（出错时也输出 JSON）")(func)


def operator_option(func):
    return click.option("--operator", envvar="ARCHIVE_OPERATOR", help="经办人姓名（或设置 ARCHIVE_OPERATOR）")(func)


def home_option(func):
    return click.option("--home", type=click.Path(file_okay=False), envvar="ARCHIVE_HOME",
                        help="工作区目录（默认取 ARCHIVE_HOME，未设置时为 ./archive-home）")(func)


def as_installation_unless_named(session) -> None:
    """With no operator named, act as the installation's superuser on the server's own shell
    (as `archive user …` does, and recorded so in the audit trail); a named operator acts
    as their account, whose role the library checks."""
    if session.operator_name is None:
        session.superuser = True
        session.client = "服务器命令行"


def session_command(group, name, **kwargs):
    """A command that receives an open session as its first argument (``--home``/``--operator``).

    ``group`` is a click group, or None for a top-level command that the caller adds to
    the main group.
    """

    def decorate(func):
        maker = group.command if group is not None else click.command

        @maker(name, cls=kwargs.pop("cls", None) or ArchiveCommand, **kwargs)
        @home_option
        @operator_option
        @functools.wraps(func)
        def wrapper(home, operator, **options):
            from archive.centre import open_session

            with open_session(home, operator=operator) as session:
                return func(session, **options)

        return wrapper

    return decorate


# -- output --------------------------------------------------------------------------------

def emit(as_json: bool, data, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif text is not None:
        click.echo(text)


def progress_reporter(label: str, as_json: bool, *, force: bool | None = None):
    """A ``progress(done, total, label)`` callback: a bar on a terminal, silence otherwise.

    Output that goes to a file or another program gets only the command's summary line;
    ``force`` (``--progress``/``--no-progress``) overrides the guess.
    """
    terminal = sys.stderr.isatty()
    show = (not as_json and terminal) if force is None else force
    if not show:
        return None
    state: dict = {}
    if not terminal:  # asked for on a pipe: plain counts, no bar
        def counts(done, total, item):
            click.echo(f"\r{item}：{done}/{total}", nl=done >= total, err=True)

        return counts

    def progress(done, total, _item):
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                                                   show_eta=False)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return progress


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
    extension = getattr(case, "extension", None)
    if extension is not None and extension.status in ("pending", "refused"):
        who = extension.requested_by if extension.status == "pending" else f"{extension.decided_by}：{extension.refusal}"
        lines.append(f"延期申请：{extension.status_text}（{extension.days}个工作日，{who}）")
    for notice in result.notices:
        lines.append(f"文书：{notice.title} {notice.number}")
        lines.append(f"  DOCX：{notice.docx}")
        lines.append(f"  PDF： {notice.pdf or _no_pdf_reason(session)}")
    for warning in case.warnings:
        lines.append(f"提醒：{warning}")
    return "\n".join(lines)
