"""Running a write again when it collides with another writer.

On PostgreSQL two units of work can deadlock or fail to serialise; the database then rolls
one back whole (:class:`~archive.core.errors.ConflictError`), files included (see
``session.work``). A public function that writes is decorated with :func:`retrying`, so it
runs again, a few times, before the collision reaches the user as a Chinese error.
"""

from __future__ import annotations

import functools
import random
import time

from .errors import ConflictError

RETRY_ATTEMPTS = 5  # runs of a write that keeps colliding with other writers, in all
RETRY_DELAY = 0.05  # seconds before the second run; doubled (with jitter) after each


def retrying(func):
    """Run the write ``func(session, …)`` again when it collides with another writer.

    Only the outermost call retries (a function called inside another one's unit of work
    lets the error through to its caller, whose transaction is the one to run again).
    After ``RETRY_ATTEMPTS`` runs the :class:`ConflictError` goes to the caller.
    """

    @functools.wraps(func)
    def wrapper(session, *args, **kwargs):
        delay = RETRY_DELAY
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return func(session, *args, **kwargs)
            except ConflictError as exc:
                if getattr(session, "_depth", 0) or attempt == RETRY_ATTEMPTS:
                    if attempt > 1:
                        exc.message = f"{exc.message}（已自动重试{attempt - 1}次）"
                    raise
            time.sleep(delay * (1 + random.random()))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper
