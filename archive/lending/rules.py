"""The lending rules (借阅规则): a table in the configuration, matched like a circulation matrix.

Each rule names the requests it applies to by four keys — borrower type, the volume's
access status (开放/控制/延期开放/未审核), its security level (none, classified, or one of
秘密/机密/绝密) and the use mode (阅览 read, 摘抄 excerpt, 复制 copy, 外借 loan) — where ``*`` or
an omitted key matches anything, and sets some outcome fields: ``allowed``, ``approval``
(none / head-in-charge 分管负责人 / principal-head 主要负责人), ``loan_days``,
``renewals``, ``renewal_days``, ``renewal_approval`` and ``max_out``.

For every field separately, the most specific matching rule that sets it wins (as in
Koha's circulation rules), so a rule for classified volumes can raise the approval level
without repeating the loan period of the rule for loans. "Most specific" means: more named
keys first; on a tie, borrower type outranks security level, which outranks access status,
which outranks mode; an exact security level outranks ``classified``. A field that no rule
sets comes from ``defaults``. Every decision remembers which rule set each field, so a
refusal can quote the rule.

The table is the ``lending`` section of ``config.json`` (``schemas/lending.json``); a
workspace without one uses the packaged ``archive/data/sample_lending.json``. A parsed
table is cached per configuration object, and each decision per request key, so lending
does not re-read or re-sort the rules on every call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..core.access import SECURITY_LEVELS
from ..core.errors import ConfigError, InputError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_LENDING = DATA_DIR / "sample_lending.json"

MODES: dict[str, str] = {"read": "阅览", "excerpt": "摘抄", "copy": "复制", "loan": "外借"}
BORROWER_TYPES: dict[str, str] = {"internal": "内部人员", "agency": "外单位人员", "public": "社会公众"}
APPROVALS: dict[str, str] = {"none": "无需审批", "head-in-charge": "分管负责人", "principal-head": "主要负责人"}
APPROVAL_RANK: dict[str, int] = {"none": 0, "head-in-charge": 1, "principal-head": 2}
FIELDS = ("allowed", "approval", "loan_days", "renewals", "renewal_days", "renewal_approval", "max_out")
FIELD_NAMES = {
    "allowed": "是否允许", "approval": "审批级别", "loan_days": "借期（天）", "renewals": "续借次数",
    "renewal_days": "续借天数", "renewal_approval": "续借审批级别", "max_out": "同时借出上限",
}
DEFAULTS_ID = "defaults"

# Used for a field that neither a rule nor the table's defaults set: refuse rather than lend.
FALLBACK = {"allowed": False, "approval": "none", "loan_days": 0, "renewals": 0, "renewal_days": 7,
            "renewal_approval": "head-in-charge", "max_out": 5}

_MODE_ALIASES = {**{k: k for k in MODES}, **{v: k for k, v in MODES.items()}}
_APPROVAL_ALIASES = {
    **{k: k for k in APPROVALS},
    "分管负责人": "head-in-charge", "分管领导": "head-in-charge", "主管领导": "head-in-charge",
    "主要负责人": "principal-head", "主要领导": "principal-head",
}
_TYPE_ALIASES = {
    **{k: k for k in BORROWER_TYPES}, **{v: k for k, v in BORROWER_TYPES.items()},
    "内部": "internal", "外单位": "agency", "机关": "agency", "公众": "public",
}


def mode_key(value: str, field: str = "mode") -> str:
    """``read``/``阅览`` … to the English key; InputError listing the choices otherwise."""
    key = _MODE_ALIASES.get(str(value or "").strip().lower()) or _MODE_ALIASES.get(str(value or "").strip())
    if key is None:
        listed = "、".join(f"{k}（{v}）" for k, v in MODES.items())
        raise InputError(f"利用方式“{value}”无效，可选：{listed}", field=field)
    return key


def approval_key(value: str, field: str = "approver_level") -> str:
    key = _APPROVAL_ALIASES.get(str(value or "").strip().lower()) or _APPROVAL_ALIASES.get(str(value or "").strip())
    if key is None or key == "none":
        raise InputError(f"审批人级别“{value}”无效，可选：head-in-charge（分管负责人）、principal-head（主要负责人）",
                         field=field)
    return key


def borrower_type_key(value: str, field: str = "type") -> str:
    key = _TYPE_ALIASES.get(str(value or "").strip().lower()) or _TYPE_ALIASES.get(str(value or "").strip())
    if key is None:
        listed = "、".join(f"{k}（{v}）" for k, v in BORROWER_TYPES.items())
        raise InputError(f"借阅人类型“{value}”无效，可选：{listed}", field=field)
    return key


def security_key(level: str | None) -> str:
    """A volume's security level as the rules name it: ``none`` when unclassified."""
    return level if level in SECURITY_LEVELS else "none"


# -- values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One row of the table."""

    id: str
    name: str
    borrower_type: str = "*"
    access: str = "*"
    security: str = "*"
    mode: str = "*"
    sets: tuple[tuple[str, Any], ...] = ()

    @property
    def specificity(self) -> tuple:
        security = {"*": 0, "classified": 1}.get(self.security, 2)
        keys = (2 if self.borrower_type != "*" else 0, security,
                2 if self.access != "*" else 0, 2 if self.mode != "*" else 0)
        return (sum(1 for k in keys if k), keys)

    def matches(self, borrower_type: str, access: str, security: str, mode: str) -> bool:
        if self.borrower_type not in ("*", borrower_type) or self.access not in ("*", access):
            return False
        if self.mode not in ("*", mode):
            return False
        if self.security == "classified":
            return security != "none"
        return self.security in ("*", security)

    def to_dict(self) -> dict:
        keys = {k: getattr(self, k) for k in ("borrower_type", "access", "security", "mode")}
        return {"id": self.id, "name": self.name, **keys, **dict(self.sets)}


@dataclass(frozen=True)
class Decision:
    """What the table says about one kind of request, and which rule said each part."""

    borrower_type: str
    access: str
    security: str
    mode: str
    allowed: bool
    approval: str
    loan_days: int
    renewals: int
    renewal_days: int
    renewal_approval: str
    max_out: int
    sources: Mapping[str, str] = field(hash=False, compare=False)  # field -> rule id or "defaults"
    names: Mapping[str, str] = field(hash=False, compare=False)  # rule id -> its description

    def source(self, name: str) -> str:
        """``规则 R04（外借以7天为限……）`` for the rule that set ``name``."""
        rule_id = self.sources[name]
        if rule_id == DEFAULTS_ID:
            return "借阅规则默认值（lending.defaults）"
        return f"规则 {rule_id}（{self.names[rule_id]}）"

    def to_dict(self) -> dict:
        return {
            "borrower_type": self.borrower_type, "access": self.access, "security": self.security,
            "mode": self.mode, **{name: getattr(self, name) for name in FIELDS},
            "rules": dict(self.sources),
        }


class RuleTable:
    """A parsed, checked rules table; :meth:`decide` answers one kind of request."""

    def __init__(self, rules: list[Rule], defaults: Mapping[str, Any]):
        self.rules = tuple(rules)
        self.defaults = {**FALLBACK, **defaults}
        # Most specific first; equal keys cannot happen (refused when parsing).
        self._ordered = sorted(self.rules, key=lambda r: r.specificity, reverse=True)
        self._names = {r.id: r.name for r in self.rules}
        self._cache: dict[tuple, Decision] = {}

    def decide(self, borrower_type: str, access: str, security_level: str | None, mode: str) -> Decision:
        """The decision for a borrower type, a volume's access status and security level, a mode."""
        key = (borrower_type, access, security_key(security_level), mode)
        decision = self._cache.get(key)
        if decision is None:
            values: dict[str, Any] = {}
            sources: dict[str, str] = {}
            for rule in self._ordered:
                if rule.matches(*key):
                    for name, value in rule.sets:
                        if name not in values:
                            values[name], sources[name] = value, rule.id
                    if len(values) == len(FIELDS):
                        break
            for name in FIELDS:
                if name not in values:
                    values[name], sources[name] = self.defaults[name], DEFAULTS_ID
            decision = Decision(*key, **values, sources=sources, names=self._names)
            self._cache[key] = decision
        return decision

    def to_list(self) -> list[dict]:
        return [r.to_dict() for r in self._ordered]


# -- parsing ------------------------------------------------------------------------------

def parse(section: Mapping[str, Any], *, where: str = "lending") -> RuleTable:
    """Build the table from a ``lending`` section already valid against ``schemas/lending.json``.

    Also refuses what the schema cannot express: two rules with the same id or the same
    four keys (which would make "most specific" ambiguous).
    """
    rules: list[Rule] = []
    seen_ids: dict[str, int] = {}
    seen_keys: dict[tuple, int] = {}
    for i, entry in enumerate(section.get("rules", [])):
        place = f"{where}.rules[{i}]"
        rule_id = entry["id"]
        if rule_id in seen_ids:
            raise ConfigError(f"借阅规则编号“{rule_id}”重复（与 {where}.rules[{seen_ids[rule_id]}] 相同）",
                              field=f"{place}.id")
        seen_ids[rule_id] = i
        mode = entry.get("mode", "*")
        rule = Rule(
            id=rule_id, name=entry["name"], borrower_type=entry.get("borrower_type", "*"),
            access=entry.get("access", "*"), security=entry.get("security", "*"),
            mode=mode if mode == "*" else mode_key(mode, f"{place}.mode"),
            sets=tuple((name, entry[name]) for name in FIELDS if name in entry),
        )
        keys = (rule.borrower_type, rule.access, rule.security, rule.mode)
        if keys in seen_keys:
            raise ConfigError(
                f"借阅规则 {rule_id} 与 {where}.rules[{seen_keys[keys]}] 适用的借阅人类型、开放状态、密级和利用方式完全相同",
                field=place, hint="请把两条规则合并为一条",
            )
        seen_keys[keys] = i
        rules.append(rule)
    return RuleTable(rules, section.get("defaults", {}))


def default_section() -> dict:
    """The packaged lending section (``archive/data/sample_lending.json``)."""
    return json.loads(SAMPLE_LENDING.read_text(encoding="utf-8"))


_DEFAULT: dict | None = None
_CACHE: dict[int, tuple[Any, RuleTable]] = {}


def section(session) -> dict:
    """The workspace's ``lending`` section, or the packaged one when it has none."""
    global _DEFAULT
    data = session.ws.data.get("lending")
    if data is None:
        if _DEFAULT is None:
            _DEFAULT = default_section()
        data = _DEFAULT
    return data


def table(session) -> RuleTable:
    """The workspace's rules table, parsed once per configuration."""
    data = section(session)
    cached = _CACHE.get(id(data))
    if cached is not None and cached[0] is data:
        return cached[1]
    parsed = parse(data)
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[id(data)] = (data, parsed)
    return parsed


def decide(session, borrower_type: str, access: str, security_level: str | None, mode: str) -> Decision:
    """The decision of the workspace's table for one kind of request."""
    return table(session).decide(borrower_type, access, security_level, mode)
