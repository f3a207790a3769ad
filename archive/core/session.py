"""A session: one workspace, its store, the working-day calendar and the acting account.

Every library action takes a session. ``session.work()`` is the unit of work for a write:
one database transaction plus the files written during it. If anything fails before the
commit, the transaction rolls back and every file written in it is removed, so a failure
half-way leaves the store and the documents folder as they were. What the write touched
(``work.touch``) goes into the change log in the same transaction
(:mod:`archive.core.changelog`); whoever follows the store (the search indexer) reads it
from there.

A public function that writes is decorated with :func:`retrying`: when two writers collide
on PostgreSQL (a deadlock, a serialization failure) the unit of work rolled back whole,
so the function runs again, a few times, before the collision reaches the user as a
Chinese error.

The operator is an account (``core.accounts``): a write is refused unless the session
names an active account (or is the installation's superuser, on the server's own shell).
``session.log`` records an event and an entry of the hash-chained audit trail
(``core.audit``) in the same transaction, with the session's client address and request id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from . import changelog
from . import store as st
from .config import Workspace, open_workspace
from .errors import ConfigError, InputError
from .retry import retrying  # noqa: F401  (the desks import it from here)
from .validate import check_text


def time_zone(name: str):
    """The ``zoneinfo`` zone called ``name``; ConfigError naming the setting otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"时区“{name}”无法识别", field="settings.timezone",
                          hint="请填写 IANA 时区名，如 Asia/Shanghai、Asia/Urumqi") from None


# Called inside every unit of work that touched records, just before it commits, with the
# Work: a desk that keeps records derived from them (supervision's per-case facts)
# subscribes here, so they change in the same transaction as what they derive from. (What
# follows the store after a commit, the search index, reads the change log instead.)
BEFORE_COMMIT: list = []
_RESOURCES_LOCK = threading.RLock()  # long-lived helpers are made once, whichever request thread asks first
_UNSET = object()


def subscribe_within(hook) -> None:
    """Call ``hook(work)`` inside every unit of work that touched records, before it commits."""
    if hook not in BEFORE_COMMIT:
        BEFORE_COMMIT.append(hook)


@dataclass
class Work:
    """The transaction and the files of one write."""

    conn: Connection
    session: "Session"
    created: list[Path] = field(default_factory=list)
    touched: list[tuple[str, str]] = field(default_factory=list)
    audits: list[tuple] = field(default_factory=list)  # audit entries, appended at the end (see Session.work)
    new_case_ids: set = field(default_factory=set)  # cases inserted here: nothing derived from them exists yet
    after: list = field(default_factory=list)

    def later(self, action) -> None:
        """Run ``action()`` once this unit of work has committed (never if it fails)."""
        self.after.append(action)

    def track(self, path: Path) -> Path:
        """Remember a file written in this unit of work, to be removed if it fails."""
        self.created.append(Path(path))
        return path

    def touch(self, kind: str, key: str) -> None:
        """Say that a searchable record changed ("case", case number) or ("volume", archival code)."""
        if (kind, key) not in self.touched:
            self.touched.append((kind, key))


class Session:
    """What every library function is handed: workspace, store, calendar, operator."""

    def __init__(self, workspace: Workspace, *, operator: str | None = None, today: dt.date | None = None,
                 superuser: bool = False, client: str = "本机命令行", request_id: str | None = None):
        self.ws = workspace
        self._operator = operator
        self._today = today
        self._store: st.Store | None = None
        self._calendar = None
        self._zone = None
        self._resources: dict[str, object] = {}
        self._depth = 0  # units of work open in this session
        self._at_close: list = []
        self.committed = 0  # units of work this session committed that wrote a change-log entry
        self.last_change = 0  # the change-log number of the latest of them
        self._parent: Session | None = None
        self.superuser = superuser  # `archive user …` on the server's own shell
        self.client = client  # where the request came from (an address for the web)
        self.request_id = request_id or uuid.uuid4().hex[:16]
        self._user = _UNSET

    @classmethod
    def open(cls, home=None, *, operator: str | None = None, **overrides) -> "Session":
        return cls(open_workspace(home, **overrides), operator=operator)

    # -- basics ----------------------------------------------------------------------
    def as_user(self, user, *, client: str, request_id: str, today: dt.date | None = None) -> "Session":
        """A session for one request of ``user`` (an :class:`accounts.User`, or None before login)
        that shares this session's store, calendar and long-lived helpers (the server keeps one
        parent session; closing a child closes nothing it shares)."""
        child = Session(self.ws, operator=user.name if user else None, today=today or self._today, client=client,
                        request_id=request_id)
        child._parent = self
        child._user = user
        return child

    def as_operator(self, name: str | None) -> "Session":
        """A session acting as the account ``name`` that shares this one's store, calendar,
        helpers, client address and working date (a background job runs as the account that
        started it; a script hands work from one desk to another)."""
        child = Session(self.ws, operator=name, today=self._today, client=self.client, request_id=self.request_id)
        child._parent = self
        return child

    @property
    def store(self) -> st.Store:
        if self._parent is not None:
            return self._parent.store
        if self._store is None:
            self._store = st.open_store(self.ws.database_url, synchronous=self.ws.get("sqlite_synchronous"))
        return self._store

    @property
    def today(self) -> dt.date:
        """The working date: today in the centre's time zone, unless the caller fixed it
        (back-dated entry, tests, demo)."""
        return self._today or self.now().date()

    @today.setter
    def today(self, value: dt.date | None) -> None:
        self._today = value

    @property
    def zone(self):
        """The centre's time zone (setting ``timezone``, default Asia/Shanghai)."""
        if self._zone is None:
            self._zone = time_zone(self.ws.get("timezone"))
        return self._zone

    def now(self) -> dt.datetime:
        """The centre's wall-clock time to the second, as a naive datetime.

        Every time the store records and every form prints is in the centre's time zone,
        whatever zone the server runs in (a server kept on UTC would otherwise date a
        morning's work the previous evening).
        """
        return dt.datetime.now(self.zone).replace(tzinfo=None, microsecond=0)

    @property
    def operator_name(self) -> str | None:
        """The operator if one is set (option, ARCHIVE_OPERATOR or config), unchecked; reading needs none."""
        name = self._operator or self.ws.get("operator") or ""
        return str(name).strip() or None

    @property
    def operator(self) -> str:
        """The person doing the action; every write is refused without one."""
        if self.superuser:
            from .access import SUPERUSER_NAME

            return SUPERUSER_NAME
        name = self.operator_name
        if not name:
            raise InputError(
                "未指定经办人：每一项操作都要记录经办人",
                field="operator",
                hint="加上 --operator 姓名，或设置环境变量 ARCHIVE_OPERATOR",
            )
        name = check_text(name, "经办人", max_length=50)
        self.user  # refuses a name that is not an active account
        return name

    @property
    def user(self):
        """The acting account (``accounts.User``); None when nobody is named or for the superuser.

        A name that is not an active account is refused (AuthError): typed names are not identity.
        """
        if self._user is _UNSET:
            name = self.operator_name
            if self.superuser or not name:
                self._user = None
            else:
                from .accounts import acting_user

                self._user = acting_user(self, name)
        return self._user

    @property
    def calendar(self):
        if self._parent is not None:
            return self._parent.calendar
        if self._calendar is None:
            from .calendar import from_store

            with self.store.read() as conn:
                self._calendar = from_store(conn)
        return self._calendar

    def reset_calendar(self) -> None:
        self._calendar = None

    # -- long-lived helpers ------------------------------------------------------------
    def resource(self, key: str, factory):
        """A helper kept for the whole session (e.g. the LibreOffice pool), made on first use
        by ``factory()`` and closed with the session."""
        if self._parent is not None:
            return self._parent.resource(key, factory)
        found = self._resources.get(key)
        if found is None:
            with _RESOURCES_LOCK:  # the server's request threads share one parent session
                found = self._resources.get(key)
                if found is None:
                    found = self._resources[key] = factory()
        return found

    def existing_resource(self, key: str):
        """The helper kept under ``key`` if one was made, else None (nothing is started)."""
        if self._parent is not None:
            return self._parent.existing_resource(key)
        return self._resources.get(key)

    # -- transactions ------------------------------------------------------------------
    @contextlib.contextmanager
    def work(self):
        """One write: a transaction plus the files it creates, all or nothing."""
        created: list[Path] = []
        seq = 0
        self._depth += 1
        try:
            with self.store.write() as conn:
                unit = Work(conn=conn, session=self, created=created)
                yield unit
                if unit.touched:
                    for hook in BEFORE_COMMIT:
                        hook(unit)
                # Last, so that the counters of the audit chain and of the change log (one row
                # each for the whole centre) stay locked only for the commit: on PostgreSQL a
                # writer taking them early would hold up every other clerk for its whole write.
                if unit.audits:
                    from . import audit

                    audit.append_all(conn, self, unit.audits)
                if unit.touched:
                    seq = changelog.append(conn, unit.touched)
        except BaseException:
            for path in reversed(created):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            raise
        finally:
            self._depth -= 1
        if seq:
            self.committed += 1
            self.last_change = seq
        for action in unit.after:
            action()

    def log(self, work: Work, action: str, subject: str, *, case_id: int | None = None,
            effective_on: dt.date | None = None, **detail) -> None:
        """Record who did what and when, as an event and an entry of the audit trail.

        ``at`` is when it was entered; ``effective_on`` the date the action takes effect in
        law (a supplement handed in yesterday and entered today), when that is not today.
        """
        # one statement, its values as parameters: .values(...) would make SQLAlchemy build a
        # new statement and its cache key from the values on every call
        work.conn.execute(st.events.insert(), dict(
            case_id=case_id, subject=subject, action=action, operator=self.operator, at=self.now(),
            effective_on=effective_on, detail=detail,
        ))
        work.audits.append((action, subject, detail))  # written when the unit of work ends

    def at_close(self, callback) -> None:
        """Call ``callback(session)`` when the session closes, before its store is let go."""
        self._at_close.append(callback)

    def close(self) -> None:
        while self._at_close:
            self._at_close.pop(0)(self)
        if self._parent is not None:
            return
        while self._resources:
            _, resource = self._resources.popitem()
            resource.close()
        if self._store is not None:
            self._store.dispose()
            self._store = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
