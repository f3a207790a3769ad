"""The indexer: keeps the search index in step with the store's change log.

Writes never touch the index. Each appends what it changed to the change log
(:mod:`archive.core.changelog`); the indexer applies the log to the index in order, a batch
of entries at a time (:func:`archive.search.index.apply_changes`, one index commit per
batch), and the index's state file records the last entry applied.

Only one indexer writes at a time: it holds the lease ``search-indexer`` in the store
(:class:`archive.core.changelog.Lease`), renewed while it runs; a second one waits. Ways to
run it:

* ``archive indexer``: :meth:`Indexer.run` in a process of its own, next to the clerks'
  commands or the web server (as the installation's superuser, or an account with
  ``index.maintain``);
* a thread of the web server: ``Indexer(session).run(stop)`` with a session of its own (the
  installation's, :func:`start_thread`) and a :class:`threading.Event` to stop it;
* :func:`catch_up`: a clerk's command applies what is pending before it exits, when no
  indexer holds the lease (:func:`archive.centre.open_session` arranges it), so an
  installation without an indexer process still keeps its index current.

Each batch is one index segment, merged with others of its size by tiers
(:data:`archive.search.index.SMALL_SEGMENT`). A busy indexer lets up to ``BUSY_MERGE_AT`` of
a tier pile up before it merges some, and merges them as soon as nothing is pending, so
that merging seldom holds up new entries; a merge takes at most ``index.MERGE_AT_MOST`` of
them (the smallest) and ``index.MERGE_DOCS`` documents while entries wait, so that it never
holds them up for long. After ``QUIET_SECONDS`` with no entry (a night, a weekend) the
indexer merges the larger segments those merges leave, up to ``index.LARGE_MERGE_DOCS``
documents a merge (a minute or so), and rewrites those a quarter deleted (the older
versions of cases changed since), once per quiet spell. ``archive indexer --once`` (from
cron) merges both ways too, after the entries.

A kill at any moment loses nothing. An entry counts as applied only once the state file
says so, which is written after the index has committed; the entries of a batch cut short
are applied again, and applying one twice does no harm (the cases are read from the store
as they are now). When the log no longer holds the entries after the index's last one (an
index older than the change log, or pruned entries) the indexer rebuilds the index.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from ..core import changelog
from ..core.changelog import Lease

log = logging.getLogger(__name__)

LEASE_NAME = "search-indexer"
LEASE_SECONDS = 30.0  # a killed indexer blocks the next one for at most this long
POLL_SECONDS = 0.2  # how often an idle indexer looks for new entries
BATCH = 500  # entries applied in one index commit, at most
# A running indexer lets entries gather this long before it commits them: each commit costs
# 20-75 ms of CPU whatever it holds (the notices' common words are in every batch: a segment's
# term dictionary and postings; readers of the segments for the deletions), 0.7-2.9 ms a case
# besides (bench/indexer.py, on a fast and a slow 2-core machine), and it shares the cores
# with the clerks. Lag p95 stays near 1.3 s (bench/concurrency.py).
GATHER_SECONDS = 1.0
ERROR_PAUSE = 5.0  # seconds before trying again after a failed batch
KEEP_DAYS = 30  # applied entries older than this are pruned from the log
BUSY_MERGE_AT = 48  # index segments of a tier a busy indexer lets pile up before it merges some
IDLE_MERGE_AT = 8  # ... and an idle one (as every update merged before the indexer)
PRUNE_EVERY = 3600.0
QUIET_SECONDS = 1800.0  # no entry for this long: a quiet time, for the larger merges


@dataclass
class Stats:
    """What an indexer did so far."""

    batches: int = 0
    entries: int = 0
    rebuilds: int = 0
    errors: int = 0
    applied: int = 0  # the last entry applied
    last_error: str = ""

    def to_dict(self) -> dict:
        return {"batches": self.batches, "entries": self.entries, "rebuilds": self.rebuilds, "errors": self.errors,
                "applied": self.applied, "last_error": self.last_error}


class Indexer:
    """Applies the change log to the index of ``session``'s workspace.

    ``on_event(kind, detail)`` hears what happens (kinds: ``waiting`` for another indexer's
    lease, ``started``, ``batch``, ``merged`` after a quiet time's merge, ``rebuild``,
    ``error``, ``stopped``); the CLI prints it.
    """

    def __init__(self, session, *, poll: float = POLL_SECONDS, batch: int = BATCH,
                 lease_seconds: float = LEASE_SECONDS, on_event=None, merge_at: int = BUSY_MERGE_AT,
                 gather: float = GATHER_SECONDS, quiet: float = QUIET_SECONDS):
        self.session = session
        self.quiet = quiet
        self.merge_at = merge_at
        self.gather = gather
        self.gathering = 0.0  # seconds the pending entries still wait to gather (0: not waiting)
        self.poll = poll
        self.batch = batch
        self.lease = Lease(session.store, LEASE_NAME, seconds=lease_seconds)
        self.on_event = on_event or (lambda kind, detail: None)
        self.stats = Stats()
        self._pruned = 0.0

    # -- one batch ------------------------------------------------------------------------
    def step(self, *, rebuild: bool = True) -> int:
        """Apply the next batch of pending entries; how many were applied (0: none pending).

        The caller holds the lease. When the log lacks the entry after the index's last one,
        the index is rebuilt (``rebuild``) or nothing is done. Fewer than a batch of entries
        younger than ``gather`` seconds wait (``gathering`` says how long): every commit
        writes a segment whose cost grows with the words in it rather than the documents,
        so a busy centre's entries are applied in fewer, larger batches.
        """
        from . import index

        self.gathering = 0.0
        upto = index.applied(self.session)
        if upto is None:
            return 0  # no index yet, or one of an old format: `archive reindex` makes it
        with self.session.store.read() as conn:
            # The head first: every entry up to it has committed, so the next statement sees
            # them all. (PostgreSQL's READ COMMITTED reads each statement at its own moment:
            # read the other way round, an entry committed in between looked missing and the
            # whole index was rebuilt for nothing.)
            newest = changelog.head(conn)
            entries = changelog.entries(conn, upto, self.batch)
        if not entries and newest <= upto:
            return 0
        if not entries or entries[0].seq != upto + 1:
            if not rebuild:
                return 0
            return self._rebuild(upto, newest)
        if self.gather and len(entries) < self.batch:
            age = (dt.datetime.now() - entries[0].committed_at).total_seconds()
            if 0 <= age < self.gather:
                self.gathering = self.gather - age
                return 0
        touched: list[tuple[str, str]] = []
        seen = set()
        for entry in entries:
            for change in entry.changes:
                if change not in seen:
                    seen.add(change)
                    touched.append(change)
        started = time.monotonic()
        if not index.apply_changes(self.session, touched, after=upto, upto=entries[-1].seq, merge_at=self.merge_at):
            return 0  # a rebuild was swapped in meanwhile: read the state again
        self.stats.batches += 1
        self.stats.entries += len(entries)
        self.stats.applied = entries[-1].seq
        self.on_event("batch", {"entries": len(entries), "records": len(touched), "applied": entries[-1].seq,
                                "seconds": round(time.monotonic() - started, 3)})
        return len(entries)

    def _rebuild(self, upto: int, newest: int) -> int:
        from . import index

        self.on_event("rebuild", {"applied": upto, "head": newest})
        # Worker processes are forked only from a process's main thread.
        procs = None if threading.current_thread() is threading.main_thread() else 1
        report = index.reindex(self.session, procs=procs)
        self.stats.rebuilds += 1
        self.stats.applied = report.generation
        return max(1, report.generation - upto)

    # -- the loop --------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, *, once: bool = False) -> Stats:
        """Hold the lease and apply the log until ``stop`` is set (for ever without one).

        With ``once``, apply what is pending and return (at once when another indexer holds
        the lease: it applies them). Never raises for a failed batch: it waits
        ``ERROR_PAUSE`` seconds and tries again (with ``once`` it returns instead). Needs
        ``index.maintain`` (the installation's superuser has it; the web server's thread
        runs as that).
        """
        from ..core import access
        from . import index

        access.require(self.session, "index.maintain")

        stop = stop or threading.Event()
        said_waiting = False
        merged = False  # merges wait until nothing is pending; at start too (--once from cron)
        quieted = False  # a quiet time's merges are done (until the next entry)
        last_entry = time.monotonic()  # when an entry was last applied (or the indexer started)
        renewing = None  # the lease is renewed by a thread of its own while held (Lease.renewing)
        try:
            while not stop.is_set():
                try:
                    if not self.lease.held:  # not yet taken, or lapsed and another indexer took it
                        if renewing is not None:
                            renewing.set()
                            renewing = None
                        if not self.lease.acquire():
                            if not said_waiting:
                                self.on_event("waiting", {"holder": self.lease.current_holder()})
                                said_waiting = True
                            if once:
                                break
                            stop.wait(min(self.lease.seconds / 3, 2.0))
                            continue
                        self.on_event("started", {"holder": self.lease.holder})
                        if not once:
                            renewing = self.lease.renewing()
                    elif once and not self.lease.renew_if_due():
                        continue
                    applied = self.step()
                    if applied:
                        merged = quieted = False
                        last_entry = time.monotonic()
                    elif self.gathering:
                        stop.wait(self.gathering)  # not a poll: each look reads the log again
                        continue
                    elif not merged:  # nothing pending: a good moment to merge what the batches left
                        # one merge (MERGE_AT_MOST segments) a turn, and new entries first
                        merged = not index.merge_segments(self.session, at_least=IDLE_MERGE_AT)
                        if not merged:
                            continue
                    elif not quieted and (once or time.monotonic() - last_entry >= self.quiet):
                        # a quiet time: the larger merges, one a turn (new entries still first)
                        started = time.monotonic()
                        quieted = not index.merge_segments(self.session, at_least=2, quiet=True,
                                                           most_docs=index.LARGE_MERGE_DOCS)
                        if not quieted:
                            self.on_event("merged", {"seconds": round(time.monotonic() - started, 3)})
                            continue
                    self._prune_if_due()
                except Exception as exc:  # noqa: BLE001 - the loop outlives a failed batch
                    self.stats.errors += 1
                    self.stats.last_error = str(exc)
                    log.warning("检索索引未能更新：%s", exc)
                    self.on_event("error", {"message": str(exc)})
                    if once:
                        break
                    stop.wait(ERROR_PAUSE)
                    continue
                if not applied:
                    if once and quieted:
                        break
                    if not once:
                        stop.wait(self.poll)
        finally:
            if renewing is not None:
                renewing.set()
            try:
                self.lease.release()
            except Exception as exc:  # noqa: BLE001 - the lease lapses by itself
                log.warning("未能释放检索索引进程锁：%s", exc)
            self.on_event("stopped", self.stats.to_dict())
        return self.stats

    def _prune_if_due(self) -> None:
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY or not self.stats.applied:
            return
        self._pruned = now
        before = dt.datetime.now() - dt.timedelta(days=KEEP_DAYS)
        with self.session.store.write() as conn:
            changelog.prune(conn, upto=self.stats.applied, before=before)


def catch_up(session) -> int | None:
    """Apply every pending entry now, unless an indexer is running.

    Returns the entries applied, or None when another indexer holds the lease (it will
    apply them) or there is no index. Never rebuilds the index: that is the indexer's job.
    """
    from . import index

    upto = index.applied(session)
    if upto is None:
        return None
    with session.store.read() as conn:
        if changelog.head(conn) <= upto:
            return 0
    indexer = Indexer(session, merge_at=8, gather=0)  # one command's batch, now; merged as updates always were
    total = 0
    for _ in range(10):
        if not indexer.lease.acquire():
            return total or None
        try:
            while True:
                applied = indexer.step(rebuild=False)
                if not applied:
                    break
                total += applied
                indexer.lease.renew_if_due()
        finally:
            indexer.lease.release()
        # Another clerk that committed while we held the lease found it taken and left its
        # entries to us: look once more now that it is free.
        upto = index.applied(session)
        with session.store.read() as conn:
            if upto is None or changelog.head(conn) <= upto:
                break
    return total


def follow(session) -> None:
    """At the end of a clerk's command: catch up the log when this session wrote to it.

    Never raises: the writes are committed whatever happens here, and what is not applied
    now the indexer (or the next command) applies later.
    """
    if not session.committed:
        return
    try:
        catch_up(session)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("检索索引未能更新（%s），稍后由索引进程或下一条命令补上", exc)


def start_thread(session):
    """Run an indexer in a daemon thread of this process, with a session of its own on
    ``session``'s workspace (``archive serve`` starts one, see ``web.app.BACKGROUND``);
    returns the function that stops it and waits for it."""
    from ..core import jobs
    from ..core.session import Session

    own = Session(session.ws, superuser=True, client="检索索引线程")
    return jobs.daemon(Indexer(own).run, name="search-indexer", close=own.close)
