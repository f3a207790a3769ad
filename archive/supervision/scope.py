"""Which units' figures a caller may see.

Every supervision query (figures, warnings, red cards, ratings) takes the caller's scope
explicitly: a frozenset of unit codes, or ``None`` for the whole centre. :func:`scope_for`
is the single place that turns a session into a scope.

The account's own units (``archive user add --unit``) decide first; an account that names
none takes the ``units`` list of its role in ``config.json`` (``roles.roles.<role>.units``),
and a role without one sees the whole centre. Nothing else in this package looks at who
the caller is.
"""

from __future__ import annotations

from ..core import access
from ..core.errors import RuleError

Scope = frozenset[str] | None  # unit codes the caller may see; None: the whole centre


def scope_for(session) -> Scope:
    """The units the session's account may see supervision figures for.

    An account's own units first; else a role that lists ``units`` sees those units; any
    other role sees the whole centre.
    """
    user = None if session.superuser else session.user
    if user is not None and user.units:
        return frozenset(user.units)
    role = access.role_of(session)
    spec = ((session.ws.data.get("roles") or {}).get("roles") or {}).get(role.name) or {}
    units = spec.get("units")
    return None if units is None else frozenset(units)


def narrow(session, scope: Scope, unit: str | None) -> Scope:
    """``scope`` limited to one unit (``--unit``); a unit outside the scope is refused."""
    if unit is None:
        return scope
    session.ws.unit(unit)  # InputError naming the configured units when it does not exist
    if scope is not None and unit not in scope:
        raise RuleError(f"单位“{unit}”不在你的查看范围内（可查看：{'、'.join(sorted(scope))}）", field="unit",
                        hint="如需查看其他单位，请由管理员在角色配置中调整可查看的单位")
    return frozenset({unit})


def allows(scope: Scope, unit: str) -> bool:
    return scope is None or unit in scope


def units_in(session, scope: Scope) -> list[str]:
    """The configured unit codes within ``scope``, in configuration order."""
    return [code for code in session.ws.units if allows(scope, code)]


def where_unit(column, scope: Scope):
    """A SQL condition limiting ``column`` to the scope (True for the whole centre)."""
    from sqlalchemy import true

    if scope is None:
        return true()
    return column.in_(sorted(scope))
