"""The audit trail: who did what, when, from where, with what outcome.

Every write (each event a desk logs through ``session.log``), every login and failed login,
and every view or download of a restricted record is one entry. Entries are append-only and
hash-chained: each carries the SHA-256 of its predecessor and its own SHA-256 over its
fields, and entries are numbered by a gap-free counter taken inside the writing
transaction, so an edited, deleted or removed-from-the-end entry is found by
:func:`verify`. On SQLite triggers refuse UPDATE and DELETE of the table outright.

Times are the centre's (``session.now()``) with their UTC offset when the session knows
it. The product never purges the trail; ``audit_retention_days`` (at least 180, 网络安全法
art. 21) is what an operator's own archiving must keep.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from . import store as st

GENESIS = "0" * 64
OUTCOMES = {"ok": "成功", "denied": "拒绝", "failed": "失败"}
# What an auditor reads for each action; desks add theirs with ``label_actions``.
ACTION_LABELS = {
    "login": "登录", "user.add": "新建账户", "user.passwd": "重设密码", "user.change_password": "修改本人密码",
    "user.disable": "停用账户", "user.grant": "授予角色", "volume.view": "查看受控案卷",
    "volume.download": "调阅案卷原件 PDF", "copy.download": "下载复制件",
}


def label_actions(labels: dict[str, str]) -> None:
    """Let a desk name its actions in Chinese for the audit trail (e.g. receive → 收件)."""
    for key, text in labels.items():
        ACTION_LABELS.setdefault(key, text)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    role: str
    action: str
    subject: str
    outcome: str
    client: str
    request_id: str
    detail: dict
    prev_hash: str
    hash: str

    @property
    def action_text(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def outcome_text(self) -> str:
        return OUTCOMES.get(self.outcome, self.outcome)

    def to_dict(self) -> dict:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "role": self.role, "action": self.action,
                "subject": self.subject, "outcome": self.outcome, "client": self.client,
                "request_id": self.request_id, "detail": self.detail, "hash": self.hash}


def _digest(values: dict) -> str:
    fields = [values[k] for k in ("seq", "at", "actor", "role", "action", "subject", "outcome", "client",
                                  "request_id", "detail", "prev_hash")]
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _actor(session) -> tuple[str, str]:
    if session.superuser:
        from .access import SUPERUSER, SUPERUSER_NAME

        return SUPERUSER_NAME, SUPERUSER.name
    user = session.user
    if user is not None:
        return user.name, user.role
    return session.operator_name or "（匿名）", ""


def append(conn, session, action: str, subject: str, *, outcome: str = "ok", as_actor: str | None = None,
           as_role: str | None = None, **detail) -> int:
    """Add one entry inside the caller's transaction; returns its number.

    The actor is the session's account unless ``as_actor`` names who tried (a login).
    """
    who, their_role = _actor(session) if as_actor is None else (as_actor, as_role or "")
    return _append(conn, session, who, their_role, [(action, subject, outcome, detail)])


def append_all(conn, session, entries: list[tuple[str, str, dict]]) -> int:
    """Add the entries ``(action, subject, detail)`` of the session's account, in order,
    inside the caller's transaction; returns the last one's number.

    A unit of work's entries go in together as it ends: one counter update, one read of the
    chain's last hash and one INSERT for all of them, instead of three round trips each.
    """
    who, their_role = _actor(session)
    return _append(conn, session, who, their_role, [(action, subject, "ok", detail) for action, subject, detail in entries])


# Built once (each write appends entries).
_PREVIOUS_HASH = select(st.audit_log.c.hash).where(st.audit_log.c.seq == bindparam("previous"))
_INSERT = st.audit_log.insert()


def _append(conn, session, who: str, their_role: str, entries: list[tuple[str, str, str, dict]]) -> int:
    last = st.next_number(conn, st.AUDIT_CHAIN, len(entries))  # also serialises appenders on PostgreSQL (row lock)
    seq = last - len(entries) + 1
    prev = GENESIS
    if seq > 1:  # (a statement of its own: on PostgreSQL it must see the entry committed while we waited)
        prev = conn.execute(_PREVIOUS_HASH, {"previous": seq - 1}).scalar() or GENESIS
    at = session.now().isoformat()
    rows = []
    for action, subject, outcome, detail in entries:
        values = {
            "seq": seq, "at": at, "actor": str(who)[:100], "role": their_role[:32],
            "action": action[:64], "subject": str(subject)[:200], "outcome": outcome,
            "client": (session.client or "")[:64], "request_id": (session.request_id or "")[:64],
            "detail": json.loads(json.dumps(detail, ensure_ascii=False, default=str)), "prev_hash": prev,
        }
        values["hash"] = prev = _digest(values)
        rows.append(values)
        seq += 1
    conn.execute(_INSERT, rows if len(rows) > 1 else rows[0])
    return last


def record(session, action: str, subject: str, *, outcome: str = "ok", **detail) -> int:
    """Add one entry in a transaction of its own (logins, views of restricted records)."""
    with session.store.write() as conn:
        return append(conn, session, action, subject, outcome=outcome, **detail)


def _entry(row) -> Entry:
    return Entry(**{k: getattr(row, k) for k in Entry.__dataclass_fields__})


def entries(session, *, actor: str | None = None, action: str | None = None, since: str | None = None,
            limit: int = 200) -> list[Entry]:
    """The newest entries first (needs ``audit.read``)."""
    from .access import require

    require(session, "audit.read")
    query = select(st.audit_log).order_by(st.audit_log.c.seq.desc()).limit(max(1, min(int(limit), 10000)))
    if actor:
        query = query.where(st.audit_log.c.actor == actor)
    if action:
        query = query.where(st.audit_log.c.action == action)
    if since:
        query = query.where(st.audit_log.c.at >= since)
    with session.store.read() as conn:
        return [_entry(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Verification:
    checked: int
    broken_at: int | None  # the first entry that does not hold, None when the chain is whole
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "broken_at": self.broken_at, "reason": self.reason}


def verify(session) -> Verification:
    """Walk the chain from the first entry: every hash, every link, no gap, no missing tail."""
    from .access import require

    require(session, "audit.read")
    prev, expected, checked = GENESIS, 1, 0
    with session.store.read() as conn:
        last = st.peek_number(conn, st.AUDIT_CHAIN) - 1
        for row in conn.execute(select(st.audit_log).order_by(st.audit_log.c.seq)):
            values = dict(row._mapping)
            if row.seq != expected:
                return Verification(checked, expected, f"第 {expected} 条记录缺失（被删除）")
            if row.prev_hash != prev:
                return Verification(checked, row.seq, f"第 {row.seq} 条记录与前一条的链接不符（前一条被修改或删除）")
            if _digest(values) != row.hash:
                return Verification(checked, row.seq, f"第 {row.seq} 条记录的内容与其散列值不符（被修改）")
            prev, expected, checked = row.hash, expected + 1, checked + 1
    if checked < last:
        return Verification(checked, checked + 1, f"第 {checked + 1} 至 {last} 条记录缺失（末尾被删除）")
    return Verification(checked, None, None)
