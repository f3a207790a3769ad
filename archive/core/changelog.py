"""The change log: what every committed write changed, in commit order; and the store's leases.

A unit of work that touches a searchable record (``work.touch("case", number)``) appends
one entry to ``change_log`` inside its own transaction, as its last statement
(:func:`append`). The entry's number is the store generation, taken from the counter
``store:generation``: the counter's row stays locked until the commit (PostgreSQL; on
SQLite the whole write lock does), so numbers are handed out in commit order and without
gaps, and whoever can read entry *n* can read every entry before it. A write that rolls
back leaves no entry and uses no number.

Readers remember the last entry they applied and ask for the ones after it
(:func:`entries`); :func:`lag` says how far behind such a reader is. The search indexer
(:mod:`archive.search.indexer`) is the reader today; the log knows nothing of it.

Leases (:class:`Lease`) are named locks kept in the store, for work that one process at a
time may do (the indexer). A lease lapses when its holder stops renewing it, so a killed
holder blocks the next one for at most the lease's duration (not at all on the same host,
where a dead holder's process id shows it is gone); any process that can reach the store,
on any host, sees the same lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from . import store as st

GENERATION = st.STORE_GENERATION
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One committed write: its number and the records it changed."""

    seq: int
    committed_at: dt.datetime
    changes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Lag:
    """How far a reader that applied entries up to ``applied`` is behind the store."""

    applied: int
    head: int
    seconds: float  # since the oldest entry not yet applied was committed; 0 when none

    @property
    def changes(self) -> int:
        return max(0, self.head - self.applied)

    def to_dict(self) -> dict:
        return {"changes": self.changes, "seconds": round(self.seconds, 1), "applied": self.applied,
                "head": self.head}


_INSERT = st.change_log.insert().values(seq=bindparam("seq"), committed_at=bindparam("at"),
                                        changes=bindparam("changes"))
_TAKEN = st.TAKE_NUMBER.cte("taken")
_TAKE_AND_INSERT = (insert(st.change_log)
                    .from_select(["seq", "committed_at", "changes"],
                                 select(_TAKEN.c.value, bindparam("at", type_=st.change_log.c.committed_at.type),
                                        bindparam("changes", type_=st.change_log.c.changes.type)))
                    .add_cte(_TAKEN).returning(st.change_log.c.seq))
_AFTER = (select(st.change_log.c.seq, st.change_log.c.committed_at, st.change_log.c.changes)
          .where(st.change_log.c.seq > bindparam("after")).order_by(st.change_log.c.seq)
          .limit(bindparam("limit")))
_COMMITTED_AT = select(st.change_log.c.committed_at).where(st.change_log.c.seq == bindparam("seq"))


def append(conn: Connection, changes, *, at: dt.datetime | None = None) -> int:
    """Record ``changes`` ((kind, key) pairs) as the newest entry; its number is returned.

    Call it as the last statement of the transaction: the counter's row lock is then held
    only for the commit itself.
    """
    values = {"at": at or dt.datetime.now(), "changes": [list(change) for change in changes]}
    if conn.dialect.name == "postgresql":
        # the number and the entry in one statement: one round trip fewer with the counter
        # locked, which every writer waits for (none comes back before the counter's first use)
        seq = conn.execute(_TAKE_AND_INSERT, {**values, "counter_scope": GENERATION, "counter_step": 1}).scalar()
        if seq is not None:
            return seq
    seq = st.next_number(conn, GENERATION)
    conn.execute(_INSERT, {**values, "seq": seq})
    return seq


def head(conn: Connection) -> int:
    """The number of the newest committed entry (0 before the first)."""
    return st.peek_number(conn, GENERATION) - 1


def entries(conn: Connection, after: int, limit: int = 1000) -> list[Entry]:
    """The entries after ``after``, oldest first, at most ``limit``."""
    return [Entry(seq=row.seq, committed_at=row.committed_at,
                  changes=tuple((str(kind), str(key)) for kind, key in row.changes))
            for row in conn.execute(_AFTER, {"after": after, "limit": limit})]


def lag(conn: Connection, applied: int, *, now: dt.datetime | None = None) -> Lag:
    """How far behind a reader that applied every entry up to ``applied`` is."""
    newest = head(conn)
    seconds = 0.0
    if newest > applied:
        oldest = conn.execute(_COMMITTED_AT, {"seq": applied + 1}).scalar()
        if oldest is not None:
            seconds = max(0.0, ((now or dt.datetime.now()) - oldest).total_seconds())
    return Lag(applied=applied, head=newest, seconds=seconds)


def prune(conn: Connection, *, upto: int, before: dt.datetime) -> int:
    """Delete the entries up to ``upto`` committed before ``before``; how many went."""
    return conn.execute(delete(st.change_log).where(st.change_log.c.seq <= upto,
                                                    st.change_log.c.committed_at < before)).rowcount


# -- leases -----------------------------------------------------------------------------------

def holder_id() -> str:
    """Who this process is, as a lease holder: host, process id and a random part (a thread
    of the same process holding a lease of its own gets a new one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16 ** 6):06x}"


def _gone(holder: str) -> bool:
    """True when ``holder`` was a process of this host that is no longer running (a killed
    indexer's lease need not be waited out; a holder on another host always is)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


_LEASE = select(st.leases).where(st.leases.c.name == bindparam("lease_name")).with_for_update()


class Lease:
    """A named lock in the store, held for ``seconds`` at a time and renewed while in use.

    ``acquire`` never waits: it takes a free or lapsed lease and says whether it did. The
    holder calls ``renew`` more often than every ``seconds`` (a renewal that finds the
    lease taken by someone else returns False: this holder was too slow and must stop);
    ``release`` frees it at once.
    """

    def __init__(self, store: st.Store, name: str, *, seconds: float = 30.0, holder: str | None = None):
        self.store = store
        self.name = name
        self.seconds = seconds
        self.holder = holder or holder_id()
        self.held = False
        self.renewed = 0.0

    def _take(self, *, only_if_held: bool) -> bool:
        now = time.time()
        with self.store.write() as conn:
            st.insert_if_missing(conn, st.leases, name=self.name, holder=None, expires_at=0.0)
            row = conn.execute(_LEASE, {"lease_name": self.name}).first()
            mine = row.holder == self.holder
            if only_if_held and not mine:
                return False
            if not mine and row.holder is not None and row.expires_at > now and not _gone(row.holder):
                return False
            values = {"holder": self.holder, "expires_at": now + self.seconds}
            if not mine:
                values["acquired_at"] = dt.datetime.now().replace(microsecond=0)
            conn.execute(update(st.leases).where(st.leases.c.name == self.name).values(**values))
        self.renewed = now
        return True

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (or the holder let it lapse); never waits."""
        self.held = self._take(only_if_held=False)
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False when it lapsed and another process took it."""
        self.held = self._take(only_if_held=True)
        return self.held

    def renew_if_due(self) -> bool:
        """Renew when a third of the lease has passed (cheap to call in a loop)."""
        if not self.held:
            return False
        if time.time() - self.renewed < self.seconds / 3:
            return True
        return self.renew()

    def renewing(self) -> threading.Event:
        """Renew the lease from a thread of its own, every third of its duration, until the
        returned event is set or the lease is lost (``held`` turns False).

        A renewal is a write: on a busy SQLite store it queues behind every clerk's write
        (2–3 s with eight clerks), and the holder's own work should not wait with it. A
        renewal that fails (the store unreachable) is tried again; once the lease would have
        lapsed without one, ``held`` turns False and the holder must stop.
        """
        stop = threading.Event()

        def keep():
            while self.held and not stop.wait(max(0.0, self.renewed + self.seconds / 3 - time.time())):
                try:
                    self.renew()
                except Exception as exc:  # noqa: BLE001 - tried again until the lease would lapse
                    log.warning("未能续租“%s”：%s", self.name, exc)
                    if time.time() - self.renewed >= self.seconds:
                        self.held = False
                    else:
                        stop.wait(1.0)

        threading.Thread(target=keep, name=f"lease-{self.name}", daemon=True).start()
        return stop

    def release(self) -> None:
        """Free the lease at once (when this process holds it)."""
        if not self.held:
            return
        self.held = False
        with self.store.write() as conn:
            conn.execute(update(st.leases).where(st.leases.c.name == self.name,
                                                 st.leases.c.holder == self.holder)
                         .values(holder=None, expires_at=0.0))

    def current_holder(self) -> str | None:
        """Who holds the lease now (None when it is free or lapsed)."""
        with self.store.read() as conn:
            row = conn.execute(select(st.leases).where(st.leases.c.name == self.name)).first()
        if row is None or row.holder is None or row.expires_at <= time.time():
            return None
        return row.holder

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
