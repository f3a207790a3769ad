"""The workspace and its settings.

A workspace is one folder (``ARCHIVE_HOME``) holding the configuration file
``config.json``, the database ``archive.db`` and the ``documents/`` tree. Settings are
declared once in :data:`SETTINGS` and layered: packaged defaults < the workspace's
``config.json`` < environment variables < command-line options.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError, WorkspaceError

HOME_ENV = "ARCHIVE_HOME"
DOCUMENTS = "documents"  # the documents folder's name in the workspace and in recorded paths
DEFAULT_HOME = "archive-home"
CONFIG_NAME = "config.json"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = PACKAGE_DIR.parent


def _shipped(folder: str) -> Path:
    """A folder of data files that ships with the program: inside the ``archive`` package
    when installed from a wheel, at the top of a source checkout otherwise."""
    inside = PACKAGE_DIR / folder
    return inside if inside.is_dir() else PROJECT_ROOT / folder


def schemas_dir() -> Path:
    return Path(os.environ.get("ARCHIVE_SCHEMAS_DIR") or _shipped("schemas"))


def templates_dir() -> Path:
    return Path(os.environ.get("ARCHIVE_TEMPLATES_DIR") or _shipped("templates"))


@dataclass(frozen=True)
class Setting:
    """One setting: its key in ``config.json``, default, help text and environment variable."""

    name: str
    default: Any
    help: str
    env: str | None = None


DEFAULT_SEAL_MM = 42

DEFAULT_PARTS = {
    "default": [["第一联", "申请人收执"], ["第二联", "窗口存根"]],
    "joint": [["第一联", "申请人收执"], ["第二联", "窗口存根"], ["第三联", "中心存查"]],
    "appointment": [["第一联", "来访人收执"], ["第二联", "存根"]],
}

# Which parts of a notice go into the case's volume, by destination: the window's stub and,
# for joint cases, the centre's part. The applicant's part left the building with the applicant.
DEFAULT_FILED_PARTS = {"default": ["窗口存根", "中心存查"]}

# Kinds with parts of their own when the configuration's parts do not name them (a reminder
# goes to a borrower, not an applicant).
KIND_PARTS = {"reminder": [["第一联", "借阅人收执"], ["第二联", "档案室存根"]]}

SETTINGS: tuple[Setting, ...] = (
    Setting("operator", None, "经办人姓名；每一项操作都记录经办人", "ARCHIVE_OPERATOR"),
    Setting("database_url", None, "数据库地址（SQLAlchemy URL）；默认为工作区内的 SQLite 文件 archive.db；"
            "多个窗口共用一台服务器时用 PostgreSQL，如 postgresql+psycopg://archive@localhost/centre", "ARCHIVE_DB_URL"),
    Setting("documents_dir", None, "文书目录：全部文书、附件和案卷文件存放的位置；默认为工作区内的 documents/，"
            "可指向挂载的共享存储（绝对路径，或相对于工作区的路径）", "ARCHIVE_DOCUMENTS_DIR"),
    Setting(
        "sqlite_synchronous",
        "normal",
        "SQLite 写入的落盘方式：normal＝断电时可能丢失最后几笔提交但不会损坏数据库（WAL 模式的推荐值）；"
        "full＝每次提交都落盘，更稳妥但写入速度约减半",
        "ARCHIVE_SQLITE_SYNCHRONOUS",
    ),
    Setting("pdf", "auto", "是否同时生成 PDF：auto＝安装了 LibreOffice 时生成，always＝必须生成，never＝只生成 .docx", "ARCHIVE_PDF"),
    Setting("supplement_window_days", 5, "收到材料后出具补正告知的期限（工作日，行政许可法第三十二条）"),
    Setting("case_number_format", "{unit}{date:%Y%m%d}{seq:04d}", "办件编号格式；可用字段 unit、date、seq"),
    Setting(
        "notice_path",
        "notices/{year}/{unit}/{kind}/{number}{suffix}.docx",
        "文书存放路径模板（相对于工作区 documents/）；可用字段 year、unit、kind、number、case、suffix",
    ),
    Setting("parts", DEFAULT_PARTS, "各类文书的联次：default、joint（联办件）、appointment，或按文书种类单独设置"),
    Setting("complaint_phone", "12345", "投诉监督电话（单位未单独设置时使用）"),
    Setting("password_min_length", 10, "密码最短长度（字符）"),
    Setting("password_hash_time_cost", 3, "argon2id 口令散列的迭代次数；调整后，用户下次登录时自动按新参数重新散列",
            "ARCHIVE_PASSWORD_HASH_TIME_COST"),
    Setting("password_hash_memory_kib", 65536, "argon2id 口令散列占用的内存（KiB）；调整后登录时自动重新散列",
            "ARCHIVE_PASSWORD_HASH_MEMORY_KIB"),
    Setting("login_max_failures", 5, "连续登录失败多少次后锁定账户"),
    Setting("login_lock_minutes", 15, "账户锁定时长（分钟）；锁定期间即使密码正确也不能登录"),
    Setting("session_idle_minutes", 30, "网页会话空闲多久后失效（分钟）"),
    Setting("session_absolute_hours", 12, "网页会话自登录起最长有效时间（小时）"),
    Setting("secure_cookies", False, "会话 Cookie 是否加 Secure 标记（经 TLS 反向代理提供服务时打开）", "ARCHIVE_SECURE_COOKIES"),
    Setting("due_blue_days", 2, "“我的办件”中剩余工作日不超过此数时标蓝色提醒"),
    Setting("audit_retention_days", 180, "审计日志至少保留的天数（网络安全法第二十一条：不少于六个月）；不得小于 180"),
    Setting("timezone", "Asia/Shanghai",
            "中心所在时区（IANA 名称，如 Asia/Shanghai、Asia/Urumqi）；记录和打印的时间都按此时区，与服务器的时区无关"),
    Setting("pending_materials_days", 5,
            "补办件待补交材料的补交期限（工作日，自受理之日起算）；事项目录可按事项另设“补交时限”"),
    Setting("legal_bases", {}, "各类文书援引的法律依据（按依据种类覆盖默认值，如 receipt、out-of-scope、denial）"),
    Setting("filed_parts", DEFAULT_FILED_PARTS,
            "归档时放入案卷的文书联次（按去向）：default，或按文书种类单独设置；申请人收执联不归档"),
    Setting("warning_blue_workdays", 2, "蓝牌预警：距办结期限还剩不超过该数的工作日时亮蓝牌（电子监察）"),
    Setting("warning_yellow_workdays", 0, "黄牌预警：距办结期限还剩不超过该数的工作日时亮黄牌；0＝期限当日"),
    Setting("rectification_workdays", 15, "差评（不满意、非常不满意）整改期限：评价之日起的工作日数"),
)

_BY_NAME = {s.name: s for s in SETTINGS}


MAX_JSON_DEPTH = 32  # our files nest four or five levels; far deeper is not one of them


def parse_json(text: str, what: str, where: str) -> Any:
    """Decode a JSON document that a person handed in; nesting beyond reason is refused.

    Raises :class:`json.JSONDecodeError` for the caller to word, and :class:`ConfigError`
    for a document nested so deep that decoding or checking it would exhaust the stack.
    """
    too_deep = ConfigError(f"{what}文件的嵌套层次过深（超过{MAX_JSON_DEPTH}层），不是有效的{what}文件：{where}",
                           field=where, hint="检查文件内容；正常的文件只有几层嵌套")
    try:
        data = json.loads(text)
    except RecursionError:
        raise too_deep from None
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise too_deep
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return data


def _load_json_file(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"找不到{what}文件：{path}", field=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}文件不是 UTF-8 编码的文本：{path}", field=str(path)) from None
    try:
        return parse_json(text, what, str(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{what}文件不是有效的 JSON（第{exc.lineno}行第{exc.colno}列：{exc.msg}）：{path}", field=str(path)
        ) from None


def json_path(parts) -> str:
    """Render a jsonschema error path as ``units[2].name``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "（根）"


_TYPE_NAMES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "true 或 false",
               "array": "列表", "object": "对象", "null": "null"}


_PY_TYPE_NAMES = {"str": "文本", "int": "整数", "float": "数字", "bool": "true/false",
                  "list": "列表", "dict": "对象", "NoneType": "null", "date": "日期对象",
                  "datetime": "日期时间对象"}


def describe_schema_error(error, subject: str) -> tuple[str, str]:
    """The field path and a Chinese message for one jsonschema error in ``subject``."""
    path = list(error.absolute_path)
    v, value, inst = error.validator, error.validator_value, error.instance
    if v == "required" and isinstance(inst, dict):
        missing = next(name for name in value if name not in inst)
        field = json_path(path + [missing])
        return field, f"缺少字段 {field}，请补全后重试"
    if v == "additionalProperties" and isinstance(inst, dict):
        known = error.schema.get("properties", {})
        extra = next(name for name in inst if name not in known)
        field = json_path(path + [extra])
        return field, f"{subject}没有字段 {field}，请删除或改正字段名（可用：{'、'.join(known)}）"
    field = json_path(path)
    if v == "type":
        want = value if isinstance(value, list) else [value]
        names = "或".join(_TYPE_NAMES.get(t, t) for t in want)
        hint = "（日期请先用 format_cn_date 格式化）" if hasattr(inst, "isoformat") else ""
        got = _PY_TYPE_NAMES.get(type(inst).__name__, type(inst).__name__)
        return field, f"字段 {field} 应为{names}，而不是{got}{hint}"
    if v in ("enum", "const"):
        options = value if v == "enum" else [value]
        return field, f"字段 {field} 只能是：{'、'.join(map(str, options))}"
    if v == "pattern":
        if "年" in value:  # the formatted-date pattern of notice_common.json
            return field, (f"字段 {field} 应为已格式化的日期，如 2026年10月10日（不补零），"
                           f"而不是“{inst}”")
        return field, f"字段 {field} 的格式不对：“{inst}”不符合 {value}"
    if v == "minLength":
        return field, f"字段 {field} 不能为空"
    if v == "maxLength":
        if value == 0:
            return field, f"字段 {field} 应为空字符串（自然人没有法定代表人）"
        return field, f"字段 {field} 不能超过 {value} 个字符"
    if v == "minItems":
        return field, f"字段 {field} 至少需要 {value} 项"
    if v in ("minimum", "exclusiveMinimum"):
        return field, f"字段 {field} 不能小于 {value}"
    return field, f"字段 {field} 不符合{subject}的要求：{error.message}"


def validate_against(schema_name: str, data: Any, what: str) -> None:
    """Validate ``data`` against ``schemas/<schema_name>.json``; raise ConfigError naming the field."""
    import jsonschema
    from referencing import Registry, Resource

    folder = schemas_dir()
    schema = _load_json_file(folder / f"{schema_name}.json", "模式")

    def retrieve(uri: str):
        return Resource.from_contents(_load_json_file(folder / uri.split("/")[-1], "模式"))

    validator = jsonschema.Draft202012Validator(schema, registry=Registry(retrieve=retrieve))
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(data))
    if error is not None:
        field, message = describe_schema_error(error, what)
        raise ConfigError(f"{what}：{message}", field=field)


@dataclass
class Workspace:
    """An opened workspace: its folder, merged settings and configured units."""

    home: Path
    data: dict
    overrides: dict = field(default_factory=dict)

    # -- paths -----------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_NAME

    @property
    def documents_dir(self) -> Path:
        """Where every document lives: ``documents/`` in the workspace, or the ``documents_dir`` setting."""
        configured = self.get("documents_dir")
        if not configured:
            return self.home / DOCUMENTS
        path = Path(configured).expanduser()
        return path if path.is_absolute() else self.home / path

    @property
    def index_dir(self) -> Path:
        """The full-text search index (a cache of the store; see archive.search.index)."""
        return self.home / "index"

    @property
    def fonts_dir(self) -> Path:
        """Licensed fonts a centre installs for PDF output (used before the free fallbacks)."""
        return self.home / "fonts"

    @property
    def database_url(self) -> str:
        return self.get("database_url") or f"sqlite:///{self.home / 'archive.db'}"

    # -- settings --------------------------------------------------------------------
    def get(self, name: str) -> Any:
        """The effective value of a declared setting (option > env > config file > default)."""
        spec = _BY_NAME[name]
        if self.overrides.get(name) is not None:
            return self.overrides[name]
        if spec.env and os.environ.get(spec.env):
            return os.environ[spec.env]
        if name in self.data.get("settings", {}):
            return self.data["settings"][name]
        return copy.deepcopy(spec.default)

    def parts_for(self, kind: str, joint: bool = False) -> list[list[str]]:
        parts = self.get("parts")
        if kind in parts:
            return parts[kind]
        if kind in KIND_PARTS:
            return KIND_PARTS[kind]
        if joint and "joint" in parts:
            return parts["joint"]
        return parts.get("default", DEFAULT_PARTS["default"])

    # -- centre and units ------------------------------------------------------------
    @property
    def centre(self) -> dict:
        return self.data.get("centre", {})

    @property
    def units(self) -> dict[str, dict]:
        return {u["code"]: u for u in self.data.get("units", [])}

    def unit(self, code: str) -> dict:
        try:
            return self.units[code]
        except KeyError:
            known = "、".join(self.units) or "（未配置任何单位）"
            raise InputError(f"未知的单位代码“{code}”，已配置：{known}", field="unit") from None

    def relative(self, path: Path) -> str:
        """How a file of the workspace is recorded in the store, so that the folders can move:
        relative to the workspace, a document as ``documents/…`` wherever ``documents_dir`` is."""
        resolved = Path(path).resolve()
        documents = self.documents_dir.resolve()
        if resolved == documents:
            return DOCUMENTS
        if documents in resolved.parents:
            return f"{DOCUMENTS}/{resolved.relative_to(documents).as_posix()}"
        return resolved.relative_to(self.home).as_posix()

    def absolute(self, recorded: str) -> Path:
        """The file a recorded path names (see :meth:`relative`)."""
        if recorded == DOCUMENTS or recorded.startswith(DOCUMENTS + "/"):
            return self.documents_dir / recorded[len(DOCUMENTS) + 1:]
        return self.home / recorded

    def seal_path(self, unit_code: str) -> Path:
        return self.home / "seals" / self.unit(unit_code)["seal"]

    def seal_size_mm(self, unit_code: str) -> float:
        """The printed diameter of the unit's seal (units[].seal_size_mm, default 42 mm)."""
        return float(self.unit(unit_code).get("seal_size_mm") or DEFAULT_SEAL_MM)

    def filed_parts(self, kind: str) -> list[str]:
        """The destinations of the parts of ``kind`` that go into a case's volume."""
        parts = self.get("filed_parts")
        return list(parts.get(kind) or parts.get("default") or DEFAULT_FILED_PARTS["default"])


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    return Path(home or os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().resolve()


def load_config(home: Path) -> dict:
    data = _load_json_file(home / CONFIG_NAME, "配置")
    validate_against("config", data, "配置文件 config.json")
    return data


def open_workspace(home: str | os.PathLike | None = None, **overrides) -> Workspace:
    """Open an initialised workspace; raise WorkspaceError with the fix when there is none."""
    path = resolve_home(home)
    if not (path / CONFIG_NAME).exists():
        raise WorkspaceError(
            f"工作区 {path} 尚未初始化",
            hint="先运行 archive init --sample（或设置 ARCHIVE_HOME 指向已有工作区）",
        )
    return Workspace(home=path, data=load_config(path), overrides=overrides)
