"""Roles: what a person may see (clearance) and do (permissions, by unit or fonds).

A role names the access statuses (开放标识) its holders may see, the highest security level
(密级) they are cleared for, and the actions they may take (:data:`ACTIONS`). Which units'
cases and which fonds an account works on is part of the account (``core.accounts``): a
clerk's actions reach the cases of the account's units, every unit when it names none.
Roles come from the ``roles`` section of the workspace configuration
(``schemas/roles.json``)::

    {"roles": {"staff": {"label": "机关工作人员", "may_see": ["开放", "控制"], "max_security": null,
                         "permissions": ["search", "volume.read"]}},
     "default_role": "public"}

Without that section the built-in roles below apply; a configured role without
``permissions`` takes the built-in permissions of the same key (none for a new key).
Who is acting is an account in the store (``core.accounts``), never a typed name: the
session's operator must be an active account, and acts with that account's role.
Reading without an operator reads as the default role. The three administrators
(accounts, roles, audit) are kept apart: no role holds two of their permissions.

What a role may not see must look exactly as if it did not exist: readers raise
:class:`NotFoundError` for it, and lists leave it out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError, InputError

ACCESS_STATUSES = ("开放", "控制", "延期开放", "未审核")
SECURITY_LEVELS = ("秘密", "机密", "绝密")  # lowest to highest
DEFAULT_ROLE = "public"
ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # as schemas/roles.json requires


# Every action the library checks, with the words a refusal uses. Case and appointment
# actions are scoped by unit; archive actions by fonds (see ``require``).
ACTIONS: dict[str, str] = {
    "case.read": "查看办件",
    "case.receive": "收件受理",
    "case.handle": "审查、补正、中止与恢复计时",
    "case.reject": "不予受理",
    "case.conclude": "办结",
    "case.extend": "登记延期",
    "case.approve_extension": "批准延期",
    "case.approve_conclusion": "批准办结",
    "appointment.book": "预约登记",
    "volume.read": "查看案卷",
    "volume.file": "归档与案卷备注",
    "catalogue.read": "查看与导出案卷目录",
    "fixity.verify": "完整性校验",
    "disposal.appraise": "到期鉴定",
    "disposal.approve": "批准销毁清册",
    "disposal.witness": "监销（确认销毁）",
    "access.propose": "提出开放标识与密级的调整",
    "access.change": "批准开放标识与密级的调整",
    "lending.lend": "借阅登记与归还",
    "lending.approve": "批准借阅",
    "lending.approve_principal": "以主要负责人身份批准借阅",
    "lending.request": "申请借阅",
    "search": "检索",
    "supervision.own": "查看本人的监察统计",
    "supervision.read": "查看所辖单位的监察统计与月报",
    "rating.record": "登记好差评",
    "rating.follow_up": "差评回访与整改",
    "user.manage": "管理账户",
    "role.grant": "授予角色",
    "audit.read": "查看审计日志",
    "workspace.backup": "备份工作区",
    "index.maintain": "运行检索索引进程",
}
ADMIN_ACTIONS = ("user.manage", "role.grant", "audit.read")  # 三员分立: one per role at most
UNIT_SCOPED = ("case.", "appointment.")

_CLERK = ("case.read", "case.receive", "case.handle", "case.reject", "case.conclude", "case.extend",
          "appointment.book", "search", "volume.read", "supervision.own", "rating.record", "rating.follow_up")
_ARCHIVIST = ("case.read", "volume.read", "volume.file", "catalogue.read", "fixity.verify", "disposal.appraise",
              "disposal.witness", "lending.lend", "search", "access.propose")
BUILT_IN_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "clerk": _CLERK,
    "unit_head": _CLERK + ("case.approve_extension", "case.approve_conclusion", "supervision.read"),
    "archivist": _ARCHIVIST,
    "archive_head": _ARCHIVIST + ("lending.approve", "access.change", "disposal.approve"),
    "principal": ("case.read", "case.approve_extension", "case.approve_conclusion", "volume.read", "catalogue.read",
                  "lending.approve", "lending.approve_principal", "disposal.approve", "disposal.witness", "search",
                  "lending.request", "supervision.read", "rating.follow_up"),
    "staff": ("search", "volume.read", "lending.request", "disposal.witness"),
    "reader": ("search", "volume.read", "lending.request"),
    "public": ("search", "volume.read", "lending.request"),
    # A backup holds every record, the accounts' password hashes and the audit trail.
    "sysadmin": ("user.manage", "workspace.backup", "index.maintain"),
    "secadmin": ("role.grant",),
    "auditor": ("audit.read",),
}


@dataclass(frozen=True)
class Role:
    """What one kind of account may see and do."""

    name: str
    label: str
    may_see: frozenset[str]  # access statuses among 开放, 控制, 延期开放, 未审核
    max_security: str | None  # None: no classified volumes; else one of 秘密 < 机密 < 绝密
    permissions: frozenset[str] = frozenset()

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label,
                "may_see": [s for s in ACCESS_STATUSES if s in self.may_see], "max_security": self.max_security,
                "permissions": [a for a in ACTIONS if a in self.permissions]}

    def covers(self, other: "Role") -> bool:
        """True when this role may see everything ``other`` may see."""
        return other.may_see <= self.may_see and _rank(other.max_security) <= _rank(self.max_security)

    def covers_all(self, other: "Role") -> bool:
        """True when this role may see and do everything ``other`` may (who may grant it)."""
        return self.covers(other) and other.permissions <= self.permissions

    def may(self, action: str) -> bool:
        return action in self.permissions


def _role(name, label, may_see, max_security):
    return Role(name, label, frozenset(may_see), max_security, frozenset(BUILT_IN_PERMISSIONS[name]))


_OPEN, _STAFF = ("开放",), ("开放", "控制")
BUILT_IN: dict[str, Role] = {
    "clerk": _role("clerk", "窗口工作人员", _STAFF, None),
    "unit_head": _role("unit_head", "单位负责人", _STAFF, None),
    "archivist": _role("archivist", "档案管理员", ACCESS_STATUSES, "机密"),
    "archive_head": _role("archive_head", "档案室负责人", ACCESS_STATUSES, "机密"),
    "principal": _role("principal", "主要负责人", ACCESS_STATUSES, "绝密"),
    "staff": _role("staff", "机关工作人员", _STAFF, None),
    "reader": _role("reader", "查阅人", _OPEN, None),
    "public": _role("public", "社会公众", _OPEN, None),
    "sysadmin": _role("sysadmin", "系统管理员", (), None),
    "secadmin": _role("secadmin", "安全管理员", (), None),
    "auditor": _role("auditor", "安全审计员", (), None),
}
# The installation's superuser: `archive user …` on the server's own shell (as Django's
# createsuperuser). Not an account and not a role anyone can be granted.
SUPERUSER = Role("superuser", "超级用户（服务器命令行）", frozenset(ACCESS_STATUSES), "绝密", frozenset(ACTIONS))
SUPERUSER_NAME = "超级用户（服务器命令行）"


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
        permissions = spec.get("permissions")
        if permissions is None:
            permissions = BUILT_IN_PERMISSIONS.get(name, ())
        unknown = [a for a in permissions if a not in ACTIONS]
        if unknown:
            raise ConfigError(f"角色“{name}”的 permissions 含有未知的操作“{unknown[0]}”，可选：{'、'.join(ACTIONS)}",
                              field=f"roles.roles.{name}.permissions")
        admin = [a for a in ADMIN_ACTIONS if a in permissions]
        if len(admin) > 1:
            raise ConfigError(f"角色“{name}”同时拥有{'与'.join(ACTIONS[a] for a in admin)}的权限；"
                              "系统管理员、安全管理员和安全审计员必须由不同角色担任（三员分立）",
                              field=f"roles.roles.{name}.permissions")
        out[name] = Role(name=name, label=spec.get("label") or name, may_see=frozenset(may_see), max_security=level,
                         permissions=frozenset(permissions))
    return out


def _default_role_name(session, known: dict[str, Role]) -> str:
    name = _section(session).get("default_role") or DEFAULT_ROLE
    if name not in known:
        raise ConfigError(f"配置的默认角色“{name}”不存在，已有角色：{'、'.join(known)}", field="roles.default_role",
                          hint="在 config.json 的 roles.default_role 中填写已定义的角色名")
    return name


def role_of(session, name: str | None = None) -> Role:
    """The role of an account, or the role of that name.

    ``name`` may be a role name (``"staff"``) or an account's name; without it, the
    session's acting account (the superuser on the server's shell; the default role when
    nobody is named). An unknown role or account name raises :class:`InputError`.
    """
    known = roles(session)
    if name is not None and name in known:
        return known[name]
    if name is not None and ROLE_NAME.fullmatch(name):
        get_role(session, name)  # raises: looks like a role name, but there is no such role
    if name is None:
        if session.superuser:
            return SUPERUSER
        user = session.user
        if user is None:
            return known[_default_role_name(session, known)]
        role_name = user.role
    else:
        role_name = _account_role(session, name)
    if role_name not in known:
        raise ConfigError(f"账户的角色“{role_name}”不存在，已有角色：{'、'.join(known)}", field="role",
                          hint="请安全管理员为该账户重新授予角色：archive user grant")
    return known[role_name]


def _account_role(session, name: str) -> str:
    """The role of the account ``name`` (read here, not through accounts, which builds on this module)."""
    from sqlalchemy import select

    from . import store as st

    with session.store.read() as conn:
        found = conn.execute(select(st.users.c.role).where(st.users.c.name == name)).scalar()
    if found is None:
        from .errors import NotFoundError

        raise NotFoundError(f"没有名为“{name}”的账户", field="name")
    return found


def require(session, action: str, *, unit: str | None = None, fonds: str | None = None) -> Role:
    """The acting role when it may take ``action`` (for ``unit``/``fonds``); ForbiddenError otherwise.

    Writes need a named, active account (the session's ``user`` raises otherwise).
    """
    from .errors import ForbiddenError

    role = role_of(session)
    user = None if session.superuser else session.user
    who = user.name if user else "未登录的用户"
    if not role.may(action):
        if user is None and not session.superuser:
            session.operator  # nobody named: say so (InputError) rather than refuse the default role
        raise ForbiddenError(f"{who}（{role.label}）无权{ACTIONS[action]}", field="operator",
                             hint="如需此项权限，请联系安全管理员授予相应角色")
    if user is not None:
        if unit is not None and user.units and action.startswith(UNIT_SCOPED) and unit not in user.units:
            raise ForbiddenError(f"{who}只能办理本单位（{'、'.join(user.units)}）的事项，不能{ACTIONS[action]}“{unit}”的办件",
                                 field="unit")
        if fonds is not None and user.fonds and fonds not in user.fonds:
            raise ForbiddenError(f"{who}只能处理全宗{'、'.join(user.fonds)}的档案", field="fonds")
    return role


def sees_unit(session, unit: str) -> bool:
    """True when the acting account may read cases of ``unit`` (role and unit scope)."""
    if not role_of(session).may("case.read"):
        return False
    user = None if session.superuser else session.user
    return user is None or not user.units or unit in user.units


def sees_fonds(session, fonds: str) -> bool:
    user = None if session.superuser else session.user
    return user is None or not user.fonds or fonds in user.fonds


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

        who = session.operator_name or "当前用户"
        raise RuleError(f"角色“{chosen.name}”（{chosen.label}）的查看范围超出{who}的角色“{own.name}”（{own.label}）",
                        field="role", hint="如需更宽的查看范围，请联系安全管理员授予相应角色")
    return chosen


def restricted(access_status: str, security_level: str | None) -> bool:
    """True for a record whose every view is written to the audit trail (控制 or classified)."""
    return access_status != "开放" or bool(security_level)


def visible_to(session, access_status: str, security_level: str | None, fonds: str | None = None) -> bool:
    """True when the acting account may see a volume (clearance and fonds scope)."""
    return can_see(role_of(session), access_status, security_level) and (fonds is None or sees_fonds(session, fonds))
