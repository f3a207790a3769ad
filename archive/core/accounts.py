"""Accounts: who may sign in, with which role, for which units and fonds.

Every person has an account in the store; actions are recorded under it and typed names
are not identity. Passwords are hashed with argon2id (argon2-cffi) using the workspace's
settings and rehashed at the next login when those settings change; a password has at
least ``password_min_length`` characters and is not on the list of common passwords
(``archive/data/common_passwords.txt``); a new account or one whose password an
administrator set must change it at the first login. ``login_max_failures`` failed logins
in a row lock the account for ``login_lock_minutes``: while locked even the right password
is refused (:class:`LockedError`). Messages never say whether the name or the password was
wrong.

Web sessions live in the store too (``web_sessions``), so several server workers share
them: the cookie holds a random token, the store only its SHA-256. A session ends after
``session_idle_minutes`` without a request or ``session_absolute_hours`` after login.

Who may manage accounts: ``user.manage`` adds accounts, sets passwords and disables them;
granting a role needs ``role.grant`` and a role that covers the one granted (the three
administrators are kept apart by the roles themselves, see :mod:`archive.core.access`).
On the server's own shell ``archive user …`` runs as the installation's superuser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update

from . import store as st
from .errors import AuthError, ForbiddenError, InputError, LockedError, NotFoundError, StateError
from .validate import check_text

COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
WRONG_LOGIN = "用户名或密码错误"
_common: frozenset[str] | None = None


@dataclass(frozen=True)
class User:
    """An account as the library hands it out (never the password hash)."""

    id: int
    name: str
    role: str
    units: tuple[str, ...]
    fonds: tuple[str, ...]
    active: bool
    must_change: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "units": list(self.units), "fonds": list(self.fonds),
                "active": self.active, "must_change": self.must_change,
                "locked_until": self.locked_until.isoformat(sep=" ") if self.locked_until else None,
                "created_at": self.created_at.isoformat(sep=" ")}


def _user(row) -> User:
    return User(id=row.id, name=row.name, role=row.role, units=tuple(row.units or ()), fonds=tuple(row.fonds or ()),
                active=bool(row.active), must_change=bool(row.must_change), locked_until=row.locked_until,
                created_at=row.created_at)


def _naive(moment: dt.datetime) -> dt.datetime:
    """Times are stored without a zone (the centre's own clock), as everywhere in the store."""
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _now(session) -> dt.datetime:
    return _naive(session.now())


# -- passwords ------------------------------------------------------------------------------

def _hasher(session):
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=int(session.ws.get("password_hash_time_cost")),
                          memory_cost=int(session.ws.get("password_hash_memory_kib")), parallelism=2,
                          type=Type.ID)


def _common_passwords() -> frozenset[str]:
    global _common
    if _common is None:
        lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
        _common = frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))
    return _common


def check_password(session, password: str, *, name: str | None = None, field: str = "password") -> str:
    """The password when it meets the rules; InputError naming what is wrong otherwise."""
    if not isinstance(password, str) or not password:
        raise InputError("请填写密码", field=field)
    minimum = int(session.ws.get("password_min_length"))
    if len(password) < minimum:
        raise InputError(f"密码太短：至少 {minimum} 个字符", field=field, hint="可用一句容易记住的话，夹杂数字和符号")
    if len(password) > 256:
        raise InputError("密码太长：最多 256 个字符", field=field)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(password)) <= 2:
        raise InputError("这个密码过于常见，容易被猜中，请换一个", field=field)
    if name and name.lower() in lowered:
        raise InputError("密码不能包含用户名", field=field)
    return password


def _hash(session, password: str) -> str:
    return _hasher(session).hash(password)


# -- reading --------------------------------------------------------------------------------

def _row(conn, name: str):
    return conn.execute(select(st.users).where(st.users.c.name == name)).first()


def find_user(session, name: str) -> User | None:
    with session.store.read() as conn:
        row = _row(conn, name)
    return _user(row) if row else None


def get_user(session, name: str) -> User:
    name = check_text(name, "用户名", max_length=50)
    found = find_user(session, name)
    if found is None:
        raise NotFoundError(f"没有名为“{name}”的账户", field="name")
    return found


def acting_user(session, name: str) -> User:
    """The account a session's operator names; refused unless it exists and is active."""
    found = find_user(session, check_text(name, "经办人", max_length=50))
    if found is None or not found.active:
        state = "已停用" if found is not None else "不是本系统的账户"
        raise AuthError(f"经办人“{name}”{state}：每一项操作都必须以本人的有效账户进行", field="operator",
                        hint="请用 --operator 或 ARCHIVE_OPERATOR 填写自己的账户名；没有账户请联系系统管理员建立")
    return found


def list_users(session) -> list[User]:
    from .access import require

    require(session, "user.manage")
    with session.store.read() as conn:
        return [_user(row) for row in conn.execute(select(st.users).order_by(st.users.c.id))]


# -- managing accounts ----------------------------------------------------------------------

def _check_grant(session, role_name: str, units, fonds, *, adding: bool = False):
    """The role and scopes when the acting account may give them.

    Granting a role needs ``role.grant`` (the security administrator); an administrator's
    role (accounts, roles, audit) only the installation's superuser grants. An account
    added without ``role.grant`` (by the system administrator) gets the default role.
    """
    from .access import ADMIN_ACTIONS, get_role, require, roles

    wanted = get_role(session, role_name)
    default = (session.ws.data.get("roles") or {}).get("default_role") or "public"
    if not (adding and wanted.name == default and default in roles(session)):
        require(session, "role.grant")
    if wanted.permissions & set(ADMIN_ACTIONS) and not session.superuser:
        raise ForbiddenError(f"管理员角色“{wanted.name}”（{wanted.label}）只能在服务器本机上以超级用户身份授予",
                             field="role", hint="在服务器上运行 archive user grant")
    units = [check_text(u, "单位", max_length=32).upper() for u in units or ()]
    known_units = {u["code"].upper() for u in session.ws.data.get("units", [])}
    for unit in units:
        if unit not in known_units:
            raise InputError(f"单位“{unit}”不存在，可选：{'、'.join(sorted(known_units))}", field="units")
    fonds = [check_text(f, "全宗号", max_length=32) for f in fonds or ()]
    return wanted, units, fonds


def add(session, name: str, *, role: str, password: str, units=(), fonds=(), must_change: bool = True) -> User:
    """Create an account (needs ``user.manage``; a role other than the default needs ``role.grant``)."""
    from .access import require

    require(session, "user.manage")
    name = check_text(name, "用户名", max_length=50)
    wanted, units, fonds = _check_grant(session, role, units, fonds, adding=True)
    check_password(session, password, name=name)
    digest = _hash(session, password)
    now = _now(session)
    with session.work() as work:
        if _row(work.conn, name) is not None:
            raise StateError(f"账户“{name}”已存在", field="name", hint="修改密码用 archive user passwd")
        work.conn.execute(st.users.insert().values(
            name=name, role=wanted.name, units=units, fonds=fonds, password_hash=digest, must_change=must_change,
            active=True, failures=0, locked_until=None, password_changed_at=now, created_at=now,
            created_by=session.operator, updated_at=now))
        session.log(work, "user.add", name, role=wanted.name, units=units, fonds=fonds)
        return _user(_row(work.conn, name))


def grant(session, name: str, *, role: str, units=None, fonds=None) -> User:
    """Give an account another role (and units/fonds when given): needs ``role.grant``."""
    user = get_user(session, name)
    wanted, units, fonds = _check_grant(session, role, user.units if units is None else units,
                                        user.fonds if fonds is None else fonds)
    with session.work() as work:
        work.conn.execute(update(st.users).where(st.users.c.id == user.id).values(
            role=wanted.name, units=units, fonds=fonds, updated_at=_now(session)))
        work.conn.execute(delete(st.web_sessions).where(st.web_sessions.c.user_id == user.id))
        session.log(work, "user.grant", name, role=wanted.name, previous=user.role, units=units, fonds=fonds)
        return _user(_row(work.conn, name))


def set_password(session, name: str, password: str) -> User:
    """An administrator sets a password: the account must change it at its next login."""
    from .access import require

    require(session, "user.manage")
    user = get_user(session, name)
    check_password(session, password, name=name)
    return _store_password(session, user, password, must_change=True, action="user.passwd")


def change_own_password(session, old: str, new: str) -> User:
    """The signed-in account changes its own password (ends the forced change)."""
    user = session.user
    if user is None:
        raise AuthError("请先登录", field="operator")
    with session.store.read() as conn:
        digest = conn.execute(select(st.users.c.password_hash).where(st.users.c.id == user.id)).scalar()
    if not _verify(session, digest, old or ""):
        raise InputError("原密码不正确", field="old_password")
    check_password(session, new, name=user.name, field="new_password")
    if new == old:
        raise InputError("新密码不能与原密码相同", field="new_password")
    return _store_password(session, user, new, must_change=False, action="user.change_password")


def _store_password(session, user: User, password: str, *, must_change: bool, action: str) -> User:
    digest = _hash(session, password)
    now = _now(session)
    with session.work() as work:
        work.conn.execute(update(st.users).where(st.users.c.id == user.id).values(
            password_hash=digest, must_change=must_change, failures=0, locked_until=None, password_changed_at=now,
            updated_at=now))
        session.log(work, action, user.name)
        return _user(_row(work.conn, user.name))


def disable(session, name: str) -> User:
    """Disable an account: it can no longer sign in or act, and its web sessions end."""
    from .access import require

    require(session, "user.manage")
    user = get_user(session, name)
    with session.work() as work:
        work.conn.execute(update(st.users).where(st.users.c.id == user.id).values(active=False,
                                                                                  updated_at=_now(session)))
        work.conn.execute(delete(st.web_sessions).where(st.web_sessions.c.user_id == user.id))
        session.log(work, "user.disable", name)
        return _user(_row(work.conn, name))


# -- signing in -----------------------------------------------------------------------------

def _verify(session, digest: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not digest:
        return False
    try:
        return _hasher(session).verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[tuple, str] = {}


def _dummy_verify(session, password: str) -> None:
    """Spend the time a real check takes, so a missing account is not told apart by timing."""
    key = (session.ws.get("password_hash_time_cost"), session.ws.get("password_hash_memory_kib"))
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = _hash(session, secrets.token_hex(16))
    _verify(session, _DUMMY_HASH[key], password)


# The audit trail's actor for a login attempt under a name no account has: a typed name
# is not an identity, so it is kept only as the entry's subject.
UNKNOWN_ACTOR = "（未知账户）"


def _visible(typed: str, limit: int = 50) -> str:
    """``typed`` cut to ``limit`` characters with invisible characters shown as ``\\uXXXX``
    (a name with a line break or a direction mark cannot disguise an audit entry)."""
    import unicodedata

    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c
                   for c in typed[:limit])


def authenticate(session, name: str, password: str) -> User:
    """The account when name and password are right; AuthError / LockedError otherwise.

    Every attempt is written to the audit trail (the session's client and request id).
    A locked account is refused even with the right password.
    """
    from . import audit

    name = (name or "").strip()
    if not name or not password or len(name) > 50:
        # Not an account: the trail names no actor, only what was typed (made visible).
        audit.record(session, "login", _visible(name) or "（空）", outcome="failed", as_actor=UNKNOWN_ACTOR,
                     reason="missing")
        raise AuthError(WRONG_LOGIN, field="username")
    now = _now(session)
    with session.store.read() as conn:
        row = _row(conn, name)
    if row is None or not row.active:
        _dummy_verify(session, password)
        audit.record(session, "login", _visible(name), outcome="failed",
                     as_actor=UNKNOWN_ACTOR if row is None else name,
                     reason="unknown" if row is None else "disabled")
        raise AuthError(WRONG_LOGIN, field="username")
    if row.locked_until and row.locked_until > now:
        audit.record(session, "login", name, outcome="denied", as_actor=name, reason="locked",
                     locked_until=row.locked_until.isoformat(sep=" "))
        minutes = max(1, int((row.locked_until - now).total_seconds() + 59) // 60)
        raise LockedError(f"登录失败次数过多，账户已暂时锁定，请 {minutes} 分钟后再试", field="username",
                          hint="如忘记密码，请联系系统管理员重设")
    if not _verify(session, row.password_hash, password):
        failures = (row.failures or 0) + 1
        limit = int(session.ws.get("login_max_failures"))
        locked = now + dt.timedelta(minutes=int(session.ws.get("login_lock_minutes"))) if failures >= limit else None
        with session.store.write() as conn:
            conn.execute(update(st.users).where(st.users.c.id == row.id).values(
                failures=0 if locked else failures, locked_until=locked))
        audit.record(session, "login", name, outcome="failed", as_actor=name, reason="password", failures=failures,
                     locked=bool(locked))
        if locked:
            raise LockedError(f"登录失败次数过多，账户已锁定 {session.ws.get('login_lock_minutes')} 分钟",
                              field="username", hint="如忘记密码，请联系系统管理员重设")
        raise AuthError(WRONG_LOGIN, field="username")
    values = {"failures": 0, "locked_until": None}
    hasher = _hasher(session)
    if hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = hasher.hash(password)
    with session.store.write() as conn:
        conn.execute(update(st.users).where(st.users.c.id == row.id).values(**values))
    audit.record(session, "login", name, outcome="ok", as_actor=name, as_role=row.role,
                 rehashed="password_hash" in values)
    return _user(row)


# -- web sessions ---------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class WebSession:
    token: str  # the cookie value (only the caller ever holds it)
    csrf_token: str
    user: User


def open_web_session(session, user: User, *, replaces: str | None = None) -> WebSession:
    """A new web session for ``user`` (a fresh token at every login; ``replaces`` ends the old one)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now(session)
    with session.store.write() as conn:
        if replaces:
            conn.execute(delete(st.web_sessions).where(st.web_sessions.c.token_hash == _token_hash(replaces)))
        conn.execute(st.web_sessions.insert().values(token_hash=_token_hash(token), user_id=user.id, csrf_token=csrf,
                                                     client=(session.client or "")[:64], created_at=now, seen_at=now))
    return WebSession(token, csrf, user)


SEEN_GRANULARITY = dt.timedelta(seconds=30)  # write seen_at at most this often per session


def resume_web_session(session, token: str | None) -> WebSession:
    """The live web session of ``token``; AuthError when there is none or it timed out."""
    if not token:
        raise AuthError("请先登录", field="session")
    key = _token_hash(token)
    now = _now(session)
    web = st.web_sessions.c
    with session.store.read() as conn:
        live = conn.execute(select(web.user_id, web.csrf_token, web.created_at, web.seen_at)
                            .where(web.token_hash == key)).first()
        row = conn.execute(select(st.users).where(st.users.c.id == live.user_id)).first() if live else None
    if live is None or row is None:
        raise AuthError("请先登录", field="session")
    idle = dt.timedelta(minutes=int(session.ws.get("session_idle_minutes")))
    absolute = dt.timedelta(hours=int(session.ws.get("session_absolute_hours")))
    expired = now - live.seen_at > idle or now - live.created_at > absolute or not row.active
    if expired:
        with session.store.write() as conn:
            conn.execute(delete(st.web_sessions).where(st.web_sessions.c.token_hash == key))
        raise AuthError("登录已超时，请重新登录", field="session")
    if now - live.seen_at >= SEEN_GRANULARITY:
        with session.store.write() as conn:
            conn.execute(update(st.web_sessions).where(web.token_hash == key).values(seen_at=now))
    return WebSession(token, live.csrf_token, _user(row))


def close_web_session(session, token: str | None) -> None:
    if token:
        with session.store.write() as conn:
            conn.execute(delete(st.web_sessions).where(st.web_sessions.c.token_hash == _token_hash(token)))


# -- the sample centre ----------------------------------------------------------------------

def demo_password() -> str:
    """A password for a sample account: random, long enough, printed once by init --sample."""
    return "demo-" + secrets.token_urlsafe(9)


def add_sample_accounts(session, accounts: list[dict]) -> dict[str, str]:
    """Create the sample centre's accounts that do not exist yet; name → its new password."""
    created = {}
    for spec in accounts:
        if find_user(session, spec["name"]) is not None:
            continue
        password = demo_password()
        add(session, spec["name"], role=spec["role"], password=password, units=spec.get("units", ()),
            fonds=spec.get("fonds", ()))
        created[spec["name"]] = password
    return created
