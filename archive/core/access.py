"""Roles: who may see which volumes (search results, lending).

A role names the access statuses (开放标识) a person may see and the highest security level
(密级) they are cleared for. Roles come from the ``roles`` section of the workspace
configuration (``schemas/roles.json``)::

    {"roles": {"staff": {"label": "本单位工作人员", "may_see": ["开放", "控制"], "max_security": null}},
     "operators": {"王芳": "staff"},
     "default_role": "public"}

Without that section the built-in roles below apply, and anyone not listed is ``public``.
Search leaves out volumes a role may not see; lending refuses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError, InputError

ACCESS_STATUSES = ("开放", "控制", "延期开放", "未审核")
SECURITY_LEVELS = ("秘密", "机密", "绝密")  # lowest to highest
DEFAULT_ROLE = "public"
ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # as schemas/roles.json requires


@dataclass(frozen=True)
class Role:
    """What one kind of reader may see."""

    name: str
    label: str
    may_see: frozenset[str]  # access statuses among 开放, 控制, 延期开放, 未审核
    max_security: str | None  # None: no classified volumes; else one of 秘密 < 机密 < 绝密

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label,
                "may_see": [s for s in ACCESS_STATUSES if s in self.may_see], "max_security": self.max_security}

    def covers(self, other: "Role") -> bool:
        """True when this role may see everything ``other`` may see."""
        return other.may_see <= self.may_see and _rank(other.max_security) <= _rank(self.max_security)


BUILT_IN: dict[str, Role] = {
    "public": Role("public", "社会公众", frozenset({"开放"}), None),
    "staff": Role("staff", "机关工作人员", frozenset({"开放", "控制"}), None),
    "archivist": Role("archivist", "档案管理员", frozenset(ACCESS_STATUSES), "机密"),
    "principal": Role("principal", "主要负责人", frozenset(ACCESS_STATUSES), "绝密"),
}


def _rank(level: str | None) -> int:
    """0 for no clearance, then 1–3 for 秘密, 机密, 绝密; an unknown level ranks above all."""
    if not level:
        return 0
    try:
        return SECURITY_LEVELS.index(level) + 1
    except ValueError:
        return len(SECURITY_LEVELS) + 1


def cleared_levels(role: Role) -> tuple[str, ...]:
    """The security levels ``role`` may see: up to its clearance (none without one)."""
    return SECURITY_LEVELS[:_rank(role.max_security)] if role.max_security in SECURITY_LEVELS else ()


def can_see(role: Role, access: str, security_level: str | None) -> bool:
    """True when ``role`` may see a volume with this access status and security level.

    An unknown access status or security level is treated as not visible.
    """
    if access not in role.may_see:
        return False
    return not security_level or security_level in cleared_levels(role)


def _section(session) -> dict:
    return session.ws.data.get("roles") or {}


def roles(session) -> dict[str, Role]:
    """The configured roles by name (the built-in ones when the configuration has none)."""
    configured = _section(session).get("roles")
    if not configured:
        return dict(BUILT_IN)
    out = {}
    for name, spec in configured.items():
        may_see = spec.get("may_see", [])
        unknown = [s for s in may_see if s not in ACCESS_STATUSES]
        if unknown:
            raise ConfigError(f"角色“{name}”的 may_see 含有未知的开放标识“{unknown[0]}”，可选：{'、'.join(ACCESS_STATUSES)}",
                              field=f"roles.roles.{name}.may_see")
        level = spec.get("max_security")
        if level is not None and level not in SECURITY_LEVELS:
            raise ConfigError(f"角色“{name}”的 max_security“{level}”无效，可选：{'、'.join(SECURITY_LEVELS)} 或 null",
                              field=f"roles.roles.{name}.max_security")
        out[name] = Role(name=name, label=spec.get("label") or name, may_see=frozenset(may_see), max_security=level)
    return out


def _default_role_name(session, known: dict[str, Role]) -> str:
    name = _section(session).get("default_role") or DEFAULT_ROLE
    if name not in known:
        raise ConfigError(f"配置的默认角色“{name}”不存在，已有角色：{'、'.join(known)}", field="roles.default_role",
                          hint="在 config.json 的 roles.default_role 中填写已定义的角色名")
    return name


def _current_operator(session) -> str | None:
    """The operator of the session if one is set (reading needs none, so this never raises)."""
    return session.operator_name


def role_of(session, name: str | None = None) -> Role:
    """The role of a person or the role of that name.

    ``name`` may be a role name (``"staff"``) or a person listed in the configuration's
    ``operators`` map; without it, the session's operator. A person not listed gets the
    default role. An unknown role name raises :class:`InputError`.
    """
    known = roles(session)
    if name is not None and name in known:
        return known[name]
    if name is not None and ROLE_NAME.fullmatch(name):
        get_role(session, name)  # raises: looks like a role name, but there is no such role
    person = name if name is not None else _current_operator(session)
    operators = _section(session).get("operators") or {}
    if person and person in operators:
        role_name = operators[person]
        if role_name not in known:
            raise ConfigError(f"经办人“{person}”的角色“{role_name}”不存在，已有角色：{'、'.join(known)}",
                              field=f"roles.operators.{person}")
        return known[role_name]
    return known[_default_role_name(session, known)]


def get_role(session, role_name: str) -> Role:
    """The role of that name; InputError listing the known roles otherwise."""
    known = roles(session)
    if role_name not in known:
        listed = "、".join(f"{name}（{r.label}）" for name, r in known.items())
        raise InputError(f"角色“{role_name}”不存在，可选：{listed}", field="role")
    return known[role_name]


def narrowed_role(session, role_name: str | None) -> Role:
    """The operator's role, or a role the operator chose that sees no more than theirs.

    ``--role`` lets a reader look at results as a narrower role would (for instance to
    check what the public sees); it never widens what the operator may see.
    """
    own = role_of(session)
    if role_name is None or role_name == own.name:
        return own
    chosen = get_role(session, role_name)
    if not own.covers(chosen):
        from .errors import RuleError

        who = _current_operator(session) or "当前用户"
        raise RuleError(f"角色“{chosen.name}”（{chosen.label}）的查看范围超出{who}的角色“{own.name}”（{own.label}）",
                        field="role", hint="请由档案管理员在 config.json 的 roles.operators 中为你配置角色")
    return chosen
