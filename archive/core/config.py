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


DEFAULT_PARTS = {
    "default": [["第一联", "申请人收执"], ["第二联", "窗口存根"]],
    "joint": [["第一联", "申请人收执"], ["第二联", "窗口存根"], ["第三联", "中心存查"]],
    "appointment": [["第一联", "来访人收执"], ["第二联", "存根"]],
}

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
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _load_json_file(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"找不到{what}文件：{path}", field=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}文件不是 UTF-8 编码的文本：{path}", field=str(path)) from None
    try:
        return json.loads(text)
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
