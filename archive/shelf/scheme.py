"""The classification scheme: fonds, classes, catalogues and the archival-code template.

The scheme lives in the ``archive`` section of the workspace's ``config.json`` (validated
against ``schemas/scheme.json``). A class (分类号 such as ``XK·ZC``) lists the service
items it holds and the retention period for each outcome of a case (approved, denied,
not accepted). A catalogue (目录号) registers the volumes of one class and retention,
optionally of one year. The archival code (档号) is made from a template, by default in
the DA/T 13-2022 style ``{fonds}-{class}·{year}·{retention}-{catalogue:03}-{volume:04}``,
e.g. ``Z023-XK·ZC·2026·D30-001-0127``.

:func:`check` reports what the schema cannot: duplicate class codes, a service item in
two classes or in none, a retention with no catalogue, a catalogue of an unknown class,
a code template with an unknown field or one that cannot tell volumes apart.
"""

from __future__ import annotations

import fnmatch
import re
import string
from dataclasses import dataclass, field

from ..core.errors import ConfigError, InputError

DEFAULT_CODE_TEMPLATE = "{fonds}-{class}·{year}·{retention}-{catalogue:03}-{volume:04}"
DEFAULT_VOLUME_PATH = "volumes/{fonds}/{year}/{class}/{code}"
CODE_FIELDS = ("fonds", "class", "year", "retention", "catalogue", "volume", "unit")
OUTCOMES = {"approved": "准予许可", "denied": "不予许可", "not_accepted": "不予受理"}
# Volumes that hold personal information (an applicant's ID number) are not open by default.
DEFAULT_PERSONAL_INFO_ACCESS = "控制"

_RETENTION = re.compile(r"^(Y|D([1-9][0-9]?))$")


def retention_text(code: str) -> str:
    """``Y`` → 永久, ``D30`` → 定期30年."""
    m = _RETENTION.match(code or "")
    if not m:
        raise InputError(f"保管期限“{code}”无效，应为 Y（永久）或 D30、D10 等（定期）", field="retention")
    return "永久" if m.group(1) == "Y" else f"定期{m.group(2)}年"


def retention_years(code: str) -> int | None:
    """The number of years of a fixed retention, None for permanent."""
    retention_text(code)
    return None if code == "Y" else int(code[1:])


@dataclass(frozen=True)
class ArchiveClass:
    """One class of the scheme (类目)."""

    code: str
    name: str
    items: tuple[str, ...]
    retention: dict
    access: str
    security_level: str | None = None

    def holds(self, item_code: str) -> bool:
        return any(_matches(pattern, item_code) for pattern in self.items)

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "items": list(self.items), "retention": dict(self.retention),
                "access": self.access, "security_level": self.security_level}


@dataclass(frozen=True)
class Catalogue:
    """One catalogue (案卷目录) of the fonds: its number, class, retention and maybe year."""

    number: int
    class_code: str
    retention: str
    year: int | None = None
    title: str = ""

    def to_dict(self) -> dict:
        return {"number": self.number, "class": self.class_code, "retention": self.retention, "year": self.year,
                "title": self.title}


@dataclass(frozen=True)
class Placement:
    """Where a case goes: class, retention, catalogue and access of its volume."""

    archive_class: ArchiveClass
    retention: str
    catalogue: Catalogue
    year: int
    access: str
    security_level: str | None = None


@dataclass(frozen=True)
class Scheme:
    fonds_code: str
    fonds_name: str
    code_template: str
    volume_path: str
    default_access: str
    classes: tuple[ArchiveClass, ...]
    catalogues: tuple[Catalogue, ...]
    personal_info_access: str | None = DEFAULT_PERSONAL_INFO_ACCESS

    # -- lookups ---------------------------------------------------------------------
    def get_class(self, code: str) -> ArchiveClass:
        for cls in self.classes:
            if cls.code == code:
                return cls
        known = "、".join(c.code for c in self.classes)
        raise InputError(f"分类方案中没有分类号“{code}”（已配置：{known}）", field="class",
                         hint="用 archive scheme check 查看分类方案")

    def class_for_item(self, item_code: str) -> ArchiveClass:
        """The class holding ``item_code``: an exact code wins over a ``*`` pattern."""
        exact = [c for c in self.classes if item_code in c.items]
        if exact:
            return exact[0]
        for cls in self.classes:
            if cls.holds(item_code):
                return cls
        raise InputError(
            f"事项“{item_code}”未归入分类方案中的任何类目，无法确定分类号和保管期限",
            field="class",
            hint="在 config.json 的 archive.classes 中把该事项加入一个类目，再运行 archive scheme check",
        )

    def catalogue(self, number: int) -> Catalogue:
        for cat in self.catalogues:
            if cat.number == number:
                return cat
        known = "、".join(str(c.number) for c in self.catalogues) or "（未配置）"
        raise InputError(f"分类方案中没有目录号 {number}（已配置：{known}）", field="catalogue")

    def catalogue_for(self, class_code: str, year: int, retention: str) -> Catalogue:
        """The catalogue of a class, year and retention; one for that year wins over a general one."""
        candidates = [c for c in self.catalogues if c.class_code == class_code and c.retention == retention
                      and c.year in (None, year)]
        candidates.sort(key=lambda c: c.year is None)
        if not candidates:
            raise InputError(
                f"分类号 {class_code} 没有保管期限为 {retention}（{retention_text(retention)}）、适用于 {year} 年的案卷目录",
                field="catalogue",
                hint="在 config.json 的 archive.shelf.catalogues 中为该分类号和保管期限配置目录号",
            )
        return candidates[0]

    def place(self, item_code: str, outcome: str, year: int, *, personal: bool = False) -> Placement:
        """Class, retention, catalogue, access and security level for a case of ``item_code``
        with ``outcome``. A volume holding personal information (``personal``: the applicant is
        a person, so the volume holds an ID number) that its class would open gets
        ``personal_info_access`` instead (default 控制)."""
        if outcome not in OUTCOMES:
            raise InputError(f"办理结果“{outcome}”无法归档", field="outcome")
        cls = self.class_for_item(item_code)
        retention = cls.retention[outcome]
        access = cls.access
        if personal and access == "开放" and self.personal_info_access:
            access = self.personal_info_access
        return Placement(cls, retention, self.catalogue_for(cls.code, year, retention), year, access,
                         cls.security_level)

    # -- codes -----------------------------------------------------------------------
    def code_values(self, *, class_code: str, year: int, retention: str, catalogue: int, volume: int,
                    unit: str = "") -> dict:
        return {"fonds": self.fonds_code, "class": class_code, "year": year, "retention": retention,
                "catalogue": catalogue, "volume": volume, "unit": unit}

    def archival_code(self, **values) -> str:
        """The archival code from the template; ``/`` and ``\\`` are not allowed in it."""
        code = self.code_template.format(**self.code_values(**values))
        return code.replace("/", "／").replace("\\", "＼")

    def volume_folder(self, code: str, **values) -> str:
        """The volume's folder, relative to the workspace's ``documents/``."""
        data = self.code_values(**values)
        data = {k: str(v).replace("/", "／") for k, v in data.items()}
        relative = self.volume_path.format(code=code, **data)
        parts = [p for p in relative.replace("\\", "/").split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ConfigError("案卷存放目录模板 archive.volume_path 不能包含 . 或 ..", field="archive.volume_path")
        return "/".join(parts)

    def to_dict(self) -> dict:
        return {"fonds": {"code": self.fonds_code, "name": self.fonds_name}, "code_template": self.code_template,
                "volume_path": self.volume_path, "default_access": self.default_access,
                "personal_info_access": self.personal_info_access,
                "classes": [c.to_dict() for c in self.classes], "catalogues": [c.to_dict() for c in self.catalogues]}


def _matches(pattern: str, item_code: str) -> bool:
    return pattern == item_code or ("*" in pattern and fnmatch.fnmatchcase(item_code, pattern))


def _template_fields(template: str, what: str, allowed: tuple[str, ...]) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{what}“{template}”的花括号不成对：{exc}", field=what) from None
    names = []
    for _text, name, _spec, _conv in parsed:
        if name is None:
            continue
        if name not in allowed:
            raise ConfigError(f"{what}“{template}”使用了未知字段 {{{name}}}，可用：{'、'.join(allowed)}", field=what)
        names.append(name)
    return names


def from_config(data: dict | None) -> Scheme:
    """Build the scheme from the (schema-validated) ``archive`` section; check what the schema cannot."""
    if not data:
        raise ConfigError(
            "工作区没有配置档案分类方案（config.json 中缺少 archive 部分）",
            field="archive",
            hint="参照 archive/data/sample_archive.json 配置全宗、类目与案卷目录，或用 archive init --sample 建立示例工作区",
        )
    from ..core.config import validate_against

    validate_against("scheme", data, "配置文件 config.json 的 archive 部分")
    template = data.get("code_template") or DEFAULT_CODE_TEMPLATE
    _template_fields(template, "archive.code_template", CODE_FIELDS)
    volume_path = data.get("volume_path") or DEFAULT_VOLUME_PATH
    _template_fields(volume_path, "archive.volume_path", CODE_FIELDS + ("code",))
    default_access = data.get("default_access", "开放")
    classes, seen = [], set()
    for i, raw in enumerate(data["classes"]):
        if raw["code"] in seen:
            raise ConfigError(f"分类号 {raw['code']} 重复出现", field=f"archive.classes[{i}].code")
        seen.add(raw["code"])
        classes.append(ArchiveClass(code=raw["code"], name=raw["name"], items=tuple(raw["items"]),
                                    retention=dict(raw["retention"]), access=raw.get("access", default_access),
                                    security_level=raw.get("security_level")))
    catalogues = []
    owners: dict[int, tuple[str, str]] = {}
    years: set[tuple[int, int | None]] = set()
    for i, raw in enumerate(data["catalogues"]):
        where = f"archive.shelf.catalogues[{i}]"
        if raw["class"] not in seen:
            raise ConfigError(f"目录号 {raw['number']} 属于未配置的分类号 {raw['class']}", field=f"{where}.class")
        owner = (raw["class"], raw["retention"])
        if owners.setdefault(raw["number"], owner) != owner:
            other = owners[raw["number"]]
            raise ConfigError(f"目录号 {raw['number']} 同时用于 {other[0]}（{other[1]}）和 {owner[0]}（{owner[1]}），"
                              "一个目录号只能对应一个分类号和保管期限", field=f"{where}.number")
        key = (raw["number"], raw.get("year"))
        if key in years:
            raise ConfigError(f"目录号 {raw['number']} 重复配置", field=f"{where}.number")
        years.add(key)
        catalogues.append(Catalogue(number=raw["number"], class_code=raw["class"], retention=raw["retention"],
                                    year=raw.get("year"), title=raw.get("title", "")))
    return Scheme(fonds_code=data["fonds"]["code"], fonds_name=data["fonds"]["name"], code_template=template,
                  volume_path=volume_path, default_access=default_access, classes=tuple(classes),
                  catalogues=tuple(catalogues),
                  personal_info_access=data.get("personal_info_access", DEFAULT_PERSONAL_INFO_ACCESS))


def load(session) -> Scheme:
    """The scheme of the session's workspace (ConfigError, exit 2, when absent or invalid)."""
    return from_config(session.ws.data.get("archive"))


# -- check ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    kind: str  # unclassified | ambiguous | no_catalogue | unused_pattern | template
    subject: str
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class CheckReport:
    scheme: Scheme
    items_checked: int
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "fonds": self.scheme.fonds_code, "classes": len(self.scheme.classes),
                "catalogues": len(self.scheme.catalogues), "items_checked": self.items_checked,
                "problems": [p.to_dict() for p in self.problems]}


def check(session) -> CheckReport:
    """Check the scheme against the service items of the catalogue (事项目录) in the store.

    Raises :class:`ConfigError` (exit 2) when the scheme itself does not validate; returns
    a report of every service item left unclassified or claimed by two classes, every
    class and retention without a catalogue, and a code template that cannot tell the
    volumes of different catalogues apart.
    """
    from sqlalchemy import select

    from ..core import store as st

    scheme = load(session)
    with session.store.read() as conn:
        items = conn.execute(select(st.items.c.code, st.items.c.name).order_by(st.items.c.code)).all()
    problems: list[Problem] = []
    for code, name in items:
        exact = [c.code for c in scheme.classes if code in c.items]
        matching = exact or [c.code for c in scheme.classes if c.holds(code)]
        if not matching:
            problems.append(Problem("unclassified", code, f"事项 {code} {name} 未归入任何类目，办结后无法归档"))
        elif len(matching) > 1:
            problems.append(Problem("ambiguous", code,
                                    f"事项 {code} {name} 同时归入多个类目：{'、'.join(matching)}"))
    known = {code for code, _ in items}
    for cls in scheme.classes:
        for pattern in cls.items:
            if known and not any(_matches(pattern, code) for code in known):
                problems.append(Problem("unknown_item", f"{cls.code}:{pattern}",
                                        f"类目 {cls.code} 中的事项 {pattern} 不在事项目录中"))
        for outcome, retention in cls.retention.items():
            if not any(c.class_code == cls.code and c.retention == retention for c in scheme.catalogues):
                problems.append(Problem("no_catalogue", f"{cls.code}:{retention}",
                                        f"类目 {cls.code} 的{OUTCOMES[outcome]}案卷保管期限为 {retention}，"
                                        "但没有对应的案卷目录（目录号）"))
    fields = set(_template_fields(scheme.code_template, "archive.code_template", CODE_FIELDS))
    missing = [f for f in ("class", "year", "retention", "catalogue", "volume") if f not in fields]
    if missing:
        problems.append(Problem("template", "code_template",
                                f"档号格式“{scheme.code_template}”缺少字段 {'、'.join(missing)}，"
                                "不同案卷可能得到相同的档号"))
    return CheckReport(scheme=scheme, items_checked=len(items), problems=tuple(problems))
