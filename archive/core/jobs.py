"""Long work in the background: the job record, its progress, who may see it, and a runner.

Filing many cases (with their PDFs), verifying the shelf and exporting catalogues take
longer than a page should wait. A skin *submits* a job (:func:`submit`: the kind's
permission is checked and its parameters validated first, so a refusal or bad input is
answered at once and no job is made); a :class:`Runner` (a small thread pool the web
server owns) runs it as the account that submitted it, calling the desk's own library
function with a progress callback. Each progress report is one short transaction, so any
request (any server worker) sees how far it got. The result is JSON: what was done and
what was refused, with reasons; a failure keeps the library's Chinese error.

The work keeps the library's all-or-nothing per item (one case is one unit of work): a job
stopped half-way has written whole items or none. A job left ``queued`` or ``running`` by a
process that is gone (the server stopped or was killed) is marked failed when a server
starts again (:func:`fail_interrupted`); one stopped by a clean shutdown stops between two
items and is marked failed at once.

Who may see a job: the account that submitted it, or an account whose role holds the
kind's ``watch`` permission and sees at least what the owner sees (clearance and fonds);
for anyone else it does not exist (:class:`NotFoundError`, exactly as a missing one).

The kinds themselves (which library function, which permission) are registered by the
assembly (:mod:`archive.background`), since they call the desks; this module knows none.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select, update

from . import store as st
from .errors import ArchiveError, InputError, NotFoundError, StateError

log = logging.getLogger("archive.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUS_LABELS = {QUEUED: "排队等候", RUNNING: "正在进行", DONE: "已完成", FAILED: "未完成"}
INTERRUPTED = "服务重启，任务中断，请重新提交"
STOPPED = "服务停止，任务中断，请重新提交"
KEPT = "中断前已完成的部分已保存（每一件要么完整保存，要么没有写入）"
LABEL_LENGTH = 200  # the column's width


@dataclass(frozen=True)
class Kind:
    """One kind of long work.

    ``permission`` is needed to submit it; ``watch`` (or None) lets an account that is
    not the owner follow it. ``check(session, params)`` validates and normalises the
    parameters before a job is made (raising the library's errors); ``run(session,
    params, progress)`` does the work as the owner and returns the result as JSON.
    """

    name: str
    label: str
    permission: str
    run: Callable
    check: Callable = None  # default: the parameters as given
    watch: str | None = None
    first_step: str = "准备中"
    single: bool = False  # one at a time: submitting while one is queued or running answers that one


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Make a kind of job known (the assembly does it when it is imported)."""
    KINDS[kind.name] = kind


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    account: str
    params: dict
    status: str
    done: int
    total: int
    label: str
    result: dict | None
    error: dict | None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def kind_label(self) -> str:
        kind = KINDS.get(self.kind)
        return kind.label if kind else self.kind

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def to_dict(self) -> dict:
        """The job as the API answers it (``GET /api/v1/jobs/{id}``)."""
        def when(moment):
            return moment.isoformat(sep=" ") if moment else None

        return {"id": self.id, "kind": self.kind, "kind_label": self.kind_label, "account": self.account,
                "params": {k: v for k, v in self.params.items() if k != "origin"},
                "status": self.status, "status_label": self.status_label,
                "progress": {"done": self.done, "total": self.total, "label": self.label, "percent": self.percent},
                "result": self.result, "error": self.error, "created_at": when(self.created_at),
                "started_at": when(self.started_at), "finished_at": when(self.finished_at)}


def _job(row) -> Job:
    return Job(id=row.id, kind=row.kind, account=row.account, params=dict(row.params or {}), status=row.status,
               done=row.done, total=row.total, label=row.label, result=row.result, error=row.error,
               created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at)


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        known = "、".join(f"{k}（{v.label}）" for k, v in KINDS.items()) or "无"
        raise InputError(f"任务类型“{name}”不存在，可选：{known}", field="kind")
    return kind


def submit(session, kind_name: str, params: dict) -> Job:
    """Make a job of ``kind_name`` for the session's account, queued for this process.

    The kind's permission is checked first, then the parameters (its ``check``): a refusal
    or bad input raises here and no job is made. The job remembers the request's client
    address, request id and working date, so the work is recorded as the request's.

    A ``single`` kind (the index's rebuild) runs one at a time: while one is queued or
    running, submitting another answers that one (a second click follows the first
    rebuild), or StateError when the account may not follow it.
    """
    from . import access

    kind = _kind(kind_name)
    access.require(session, kind.permission)
    account = session.operator
    params = kind.check(session, dict(params or {})) if kind.check else dict(params or {})
    if kind.single:
        with session.store.read() as conn:
            busy = conn.execute(select(st.jobs).where(st.jobs.c.kind == kind.name,
                                                      st.jobs.c.status.in_((QUEUED, RUNNING)))
                                .order_by(st.jobs.c.created_at).limit(1)).first()
        if busy is not None:
            if _may_see(session, busy):
                return _job(busy)
            raise StateError(f"{kind.label}正在进行，不能同时再提交一次", field="kind", hint="稍后再试")
    params["origin"] = {"client": session.client, "request_id": session.request_id,
                        "today": session.today.isoformat()}
    job_id = _new_id()
    now = session.now()
    with session.work() as work:
        work.conn.execute(st.jobs.insert().values(
            id=job_id, kind=kind.name, params=params, account=account, status=QUEUED, done=0, total=0,
            label=STATUS_LABELS[QUEUED], result=None, error=None, pid=os.getpid(), created_at=now))
    return get(session, job_id)


def _new_id() -> str:
    """32 hex digits that sort as the jobs were made: the microsecond, then 72 random bits
    (``created_at`` keeps only the second, and lists are newest first)."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def _load(session, job_id: str):
    if len(str(job_id)) > 32:  # longer than any job number (the column's width)
        return None
    with session.store.read() as conn:
        return conn.execute(select(st.jobs).where(st.jobs.c.id == str(job_id))).first()


def _not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"找不到编号为“{job_id}”的任务", field="job",
                         hint="任务只有提交它的账户（或有权查看这类工作的负责人）能看到")


def get(session, job_id: str) -> Job:
    """The job ``job_id`` if the session's account may see it; NotFoundError otherwise."""
    row = _load(session, job_id)
    if row is None or not _may_see(session, row):
        raise _not_found(job_id)
    return _job(row)


def _may_see(session, row) -> bool:
    from . import access
    from .accounts import find_user

    if session.superuser:
        return True
    user = session.user
    if user is None:
        return False
    if row.account == user.name:
        return True
    kind = KINDS.get(row.kind)
    if kind is None or kind.watch is None:
        return False
    role = access.role_of(session)
    if not role.may(kind.watch):
        return False
    owner = find_user(session, row.account)
    if owner is None:
        return False
    known = access.roles(session)
    owner_role = known.get(owner.role)
    if owner_role is None or not role.covers(owner_role):
        return False  # the owner may see more than this account: its result could show it
    if user.fonds and (not owner.fonds or not set(owner.fonds) <= set(user.fonds)):
        return False
    return True


def recent(session, *, kind: str | None = None, limit: int = 20) -> list[Job]:
    """The session's own jobs (of ``kind``, if given), newest first."""
    user = None if session.superuser else session.user
    if user is None:
        return []
    query = select(st.jobs).where(st.jobs.c.account == user.name)
    if kind:
        query = query.where(st.jobs.c.kind == kind)
    with session.store.read() as conn:
        rows = conn.execute(query.order_by(st.jobs.c.created_at.desc(), st.jobs.c.id.desc()).limit(limit)).all()
    return [_job(r) for r in rows]


class Interrupted(Exception):
    """Raised from a progress report when the runner is stopping (between two items)."""


def _set(session, job_id: str, **values) -> None:
    """One short transaction on the job's row (progress, start, end)."""
    with session.work() as work:
        work.conn.execute(update(st.jobs).where(st.jobs.c.id == job_id).values(**values))


def _step(text) -> str:
    return str(text)[:LABEL_LENGTH]


def run(session, job_id: str, *, stop: threading.Event | None = None, listener=None) -> Job:
    """Run the queued job ``job_id`` in this thread, as its owner; return it finished.

    ``session`` is any session on the workspace (the server's); the work runs in a session
    of the job's account, dated and addressed as the request that submitted it. After each
    progress report is committed ``listener(job)`` is called, if given. When ``stop`` is
    set the work ends at its next progress report and the job is marked failed.
    """
    row = _load(session, job_id)
    if row is None:
        raise _not_found(job_id)
    if row.status != QUEUED:
        return _job(row)
    kind = KINDS.get(row.kind)
    origin = dict(row.params or {}).get("origin") or {}
    owner = session.as_operator(row.account)
    owner.client = origin.get("client") or owner.client
    owner.request_id = origin.get("request_id") or owner.request_id
    if origin.get("today"):
        owner.today = dt.date.fromisoformat(origin["today"])
    params = {k: v for k, v in (row.params or {}).items() if k != "origin"}
    first = kind.first_step if kind else "准备中"
    with owner.work() as work:  # taken once, even if two runners were handed it
        taken = work.conn.execute(update(st.jobs).where(st.jobs.c.id == job_id, st.jobs.c.status == QUEUED)
                                  .values(status=RUNNING, started_at=owner.now(), pid=os.getpid(),
                                          label=first)).rowcount
    if not taken:
        owner.close()
        return _job(_load(session, job_id))

    def progress(done: int, total: int, label) -> None:
        _set(owner, job_id, done=int(done), total=int(total), label=_step(label))
        if listener is not None:
            listener(get(owner, job_id))
        if stop is not None and stop.is_set():
            raise Interrupted()

    try:
        if kind is None:
            raise ArchiveError(f"这个服务不认识任务类型“{row.kind}”", field="kind")
        result = kind.run(owner, params, progress)
    except Interrupted:
        _set(owner, job_id, status=FAILED, finished_at=owner.now(), label=STOPPED,
             error={"code": "interrupted", "field": None, "message": STOPPED, "hint": KEPT})
    except ArchiveError as exc:
        _set(owner, job_id, status=FAILED, finished_at=owner.now(), label=_step(exc.message),
             error=exc.to_dict()["error"])
    except Exception:  # noqa: BLE001  (a job's thread must record the failure, never die silently)
        log.exception("job %s (%s) failed", job_id, row.kind)
        _set(owner, job_id, status=FAILED, finished_at=owner.now(), label="系统内部错误",
             error={"code": "internal", "field": None, "message": "系统内部错误，任务没有完成",
                    "hint": f"请把任务编号 {job_id} 告诉系统管理员"})
    else:
        with owner.store.read() as conn:
            total = conn.execute(select(st.jobs.c.total).where(st.jobs.c.id == job_id)).scalar() or 0
        _set(owner, job_id, status=DONE, finished_at=owner.now(), result=result, done=total, total=total,
             label=STATUS_LABELS[DONE])
    finally:
        owner.close()
    return _job(_load(session, job_id))


def _alive(pid) -> bool:
    if pid is None:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        return True  # exists, owned by another user
    return True


def fail_interrupted(session, *, message: str = INTERRUPTED) -> int:
    """Mark failed the jobs left queued or running by a process that is gone; how many.

    A server calls it as it starts: jobs whose process no longer runs (or whose recorded
    process number is this very process, reused) will never finish. What such a job had
    done is kept: the library wrote each item whole or not at all.
    """
    with session.store.read() as conn:
        rows = conn.execute(select(st.jobs.c.id, st.jobs.c.pid)
                            .where(st.jobs.c.status.in_((QUEUED, RUNNING)))).all()
    # A server restarted in a container often gets the number its predecessor had.
    stale = [r.id for r in rows if r.pid == os.getpid() or not _alive(r.pid)]
    return _fail(session, stale, message)


def _fail(session, ids, message: str) -> int:
    """Mark the jobs ``ids`` failed with ``message`` unless they have finished meanwhile."""
    failed = 0
    for job_id in ids:
        with session.work() as work:
            work.conn.execute(update(st.jobs).where(st.jobs.c.id == job_id,
                                                    st.jobs.c.status.in_((QUEUED, RUNNING)))
                              .values(status=FAILED, finished_at=session.now(), label=message,
                                      error={"code": "interrupted", "field": None, "message": message,
                                             "hint": KEPT}))
        failed += 1
    return failed


@dataclass
class Runner:
    """A small thread pool running jobs for one process (the web server's); :meth:`close` stops it.

    Jobs made in this process are handed over with :meth:`start`. Closing lets the running
    jobs stop at their next progress report (between two items), marks them and the ones
    still queued failed, and waits for the threads.
    """

    session: object
    workers: int = 2
    listener: Callable | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _pool: object = None
    _mine: list = field(default_factory=list)

    def __post_init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="archive-job")

    def start(self, job: Job):
        """Run ``job`` (queued) on one of the pool's threads (once: a job handed over again is left)."""
        if job.id in self._mine:
            return None
        self._mine.append(job.id)
        return self._pool.submit(self._run, job.id)

    def _run(self, job_id: str) -> None:
        if self._stop.is_set():
            return
        try:
            run(self.session, job_id, stop=self._stop, listener=self.listener)
        except Exception:  # noqa: BLE001  (recorded on the job where possible; the thread lives on)
            log.exception("job %s could not be run", job_id)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            _fail(self.session, self._mine, STOPPED)
        except ArchiveError:
            log.exception("jobs left by this process could not be marked failed")


def daemon(run: Callable[[threading.Event], None], *, name: str, close: Callable[[], None] | None = None):
    """Run ``run(stop)`` in a daemon thread of this process until ``stop`` is set; returns the
    function that sets it, waits for the thread (up to a minute) and then calls ``close``.

    For the helpers `archive serve` keeps beside the server (``web.app.BACKGROUND``): the
    search indexer and supervision's red-card sweeper.
    """
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,), name=name, daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=60)
        if close is not None:
            close()

    return halt
