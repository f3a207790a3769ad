"""The error hierarchy of the library.

Every error carries the process exit code it maps to (1 for a runtime problem, 2 for bad
input) and a message in Simplified Chinese that says what went wrong and what to do next.
``cli.py`` maps these to click in exactly one place; nothing under ``archive/`` prints.
"""

from __future__ import annotations

import errno
import os


class ArchiveError(Exception):
    """Base class: a runtime problem (exit code 1)."""

    exit_code = 1
    code = "runtime"  # what a calling system reads in {"error": {"code": …}}

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.field and self.field not in text:
            text = f"{self.field}：{text}"
        if self.hint:
            text = f"{text}\n提示：{self.hint}"
        return text

    def to_dict(self, *, field: str | None = None) -> dict:
        """The error as every skin reports it: ``{"error": {"code", "field", "message", "hint"}}``.

        ``field`` overrides the library's name of the field with the one the user typed
        (the CLI's ``--id-number``, a form's field name).
        """
        return {"error": {"code": self.code, "field": field if field is not None else self.field,
                          "message": self.message, "hint": self.hint}}


class InputError(ArchiveError):
    """Bad input from the user: a field, a file or a code that does not validate (exit 2)."""

    exit_code = 2
    code = "bad_input"


class NotFoundError(InputError):
    """A case, item, notice, volume or loan named by the user does not exist (exit 2)."""

    code = "not_found"


class StateError(InputError):
    """The action is not allowed in the object's current state, e.g. filing an open case."""

    code = "bad_state"


class RuleError(InputError):
    """A request that the configured rules refuse (lending rules, access rules)."""

    code = "refused"


class ConfigError(InputError):
    """The workspace configuration or a data file does not validate against its schema."""

    code = "bad_config"


class CalendarMissingError(InputError):
    """A working-day computation needs a year whose holiday data is not loaded."""

    code = "calendar_missing"

    def __init__(self, year: int):
        super().__init__(
            f"缺少 {year} 年的节假日安排数据，无法按工作日计算期限",
            field="calendar",
            hint=f"请先载入该年度国务院办公厅公布的放假安排：archive calendar load {year}.json",
        )
        self.year = year


class WorkspaceError(ArchiveError):
    """The workspace is missing or unusable (exit 1)."""

    code = "workspace"


class ConversionError(ArchiveError):
    """Document conversion (DOCX to PDF) failed (exit 1)."""

    code = "conversion"


class StoreError(ArchiveError):
    """The database refused or failed a statement (exit 1); the unit of work changed nothing."""

    code = "store"


class ConflictError(StoreError):
    """Two writers collided (a deadlock or serialization failure on PostgreSQL). The unit of
    work rolled back; ``archive.core.session.retrying`` runs it again a few times (exit 1)."""

    code = "conflict"


class StorageError(ArchiveError):
    """The machine refused: the disk is full or read-only, a permission is missing, the
    database file is damaged (exit 1). What was being written was rolled back."""

    code = "storage"


# -- faults of the machine, said in Chinese ---------------------------------------------------

_UNDONE = "本次操作已撤销，没有留下写了一半的内容"

_ERRNO_TEXT = {
    errno.ENOSPC: ("磁盘空间已满，无法写入{where}", "腾出磁盘空间后重新执行；" + _UNDONE),
    errno.EDQUOT: ("磁盘配额已用完，无法写入{where}", "请管理员增加配额或清理文件后重新执行；" + _UNDONE),
    errno.EROFS: ("{where}所在的磁盘是只读的，无法写入", "检查工作区所在的磁盘是否以只读方式挂载，或换一个可写的位置"),
    errno.EACCES: ("没有权限访问{where}", "检查文件和文件夹的权限，或换一个有权限的位置"),
    errno.EPERM: ("不允许访问{where}", "检查文件和文件夹的权限，或换一个位置"),
    errno.ENOENT: ("找不到{where}", "检查路径是否正确、上级文件夹是否存在"),
    errno.ENOTDIR: ("{where}的路径中有一段不是文件夹", "检查路径是否正确"),
    errno.EISDIR: ("{where}是一个文件夹，不是文件", "请指定一个文件"),
    errno.EIO: ("读写{where}时磁盘出错", "磁盘可能有故障：请检查磁盘，并用 archive verify 检查归档文件"),
    errno.ENAMETOOLONG: ("{where}的名称太长", "换一个短一些的路径"),
    errno.EMFILE: ("打开的文件太多，无法访问{where}", "稍后重试"),
}

_SQLITE_FULL = ("磁盘空间已满，数据库无法写入", "腾出磁盘空间后重新执行；" + _UNDONE)
# SQLite's error names (Python 3.11+) say more than its messages: a shared-memory file
# that cannot grow is a full disk, though the message is only "disk I/O error".
_SQLITE_NAMES = {"SQLITE_FULL": _SQLITE_FULL, "SQLITE_IOERR_SHMSIZE": _SQLITE_FULL}

_SQLITE_TEXT = (  # (what SQLite says, our message, hint)
    ("database or disk is full", *_SQLITE_FULL),
    ("file is not a database", "数据库文件已损坏或不是本系统的数据库",
     "请从备份恢复工作区中的 archive.db（损坏的文件请另存一份以便检查）"),
    ("malformed", "数据库文件已损坏（可能被截断或部分覆盖）",
     "请从备份恢复工作区中的 archive.db（损坏的文件请另存一份以便检查）"),
    ("readonly database", "数据库是只读的，无法写入", "检查工作区文件夹和 archive.db 是否可写（只读挂载或权限不足）"),
    ("unable to open database file", "无法打开数据库文件",
     "工作区文件夹可能不存在、是只读的或没有写权限：数据库需要在其中建立日志文件，请检查磁盘挂载方式和文件夹权限"),
    ("disk i/o error", "读写数据库时磁盘出错", "磁盘可能有故障或已满：请检查磁盘后重试"),
    ("database is locked", "数据库正被其他操作占用", "稍后重试"),
)


def _where(exc: OSError) -> str:
    name = exc.filename
    if name is None:
        return "文件"
    return f"“{os.fsdecode(name)}”"


def from_environment(exc: BaseException) -> ArchiveError | None:
    """The library error for a fault of the machine, or None if ``exc`` is not one.

    Skins call this for an exception that is not an :class:`ArchiveError`, so that a full
    disk, a read-only workspace, a damaged database or absurdly nested input is told in
    Chinese with what to do, never as a traceback.
    """
    if isinstance(exc, ArchiveError):
        return exc
    if isinstance(exc, RecursionError):
        return InputError("输入的数据嵌套层次过深，无法处理", hint="检查文件内容是否正确（正常的数据不会嵌套这么多层）")
    if isinstance(exc, OSError) and exc.errno in _ERRNO_TEXT:
        message, hint = _ERRNO_TEXT[exc.errno]
        return StorageError(message.format(where=_where(exc)), hint=hint)
    text = str(getattr(exc, "orig", None) or exc).lower()
    if type(exc).__module__.split(".")[0] in ("sqlalchemy", "sqlite3"):
        name = getattr(getattr(exc, "orig", None) or exc, "sqlite_errorname", None)
        if name in _SQLITE_NAMES:
            message, hint = _SQLITE_NAMES[name]
            return StorageError(message, hint=hint)
        for needle, message, hint in _SQLITE_TEXT:
            if needle in text:
                return StorageError(message, hint=hint)
    if isinstance(exc, OSError) and exc.filename is not None:
        return StorageError(f"无法访问{_where(exc)}：{exc.strerror or exc}", hint="检查磁盘和文件权限后重试")
    return None


class ForbiddenError(RuleError):
    """The acting account's role may not take this action (exit 2; HTTP 403)."""

    code = "forbidden"


class AuthError(InputError):
    """Not signed in, a wrong name or password, an expired session (exit 2; HTTP 401).

    The message never says which of name or password was wrong.
    """

    code = "unauthenticated"


class LockedError(AuthError):
    """Too many failed logins: the account is locked for a while (HTTP 429)."""

    code = "locked"
