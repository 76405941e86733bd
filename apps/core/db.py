"""Database helpers shared by the services.

:func:`retry_on_deadlock`: PostgreSQL breaks a deadlock by aborting one of the transactions
(SQLSTATE ``40P01``, "deadlock_detected"), and under ``SERIALIZABLE`` reports conflicts as ``40001``;
its documentation asks applications to retry such a transaction ("Serialization Failure
Handling", PostgreSQL docs 13.4). Governance transactions take the audit chain's advisory lock
with their first audit event and hold it to commit (``apps.audit``), while deferred foreign-key
checks at commit take row locks: two concurrent decisions can wait on each other. Retrying the
aborted one is the standard remedy; its on-commit callbacks were discarded with it, so nothing
runs twice.
"""

from __future__ import annotations

import functools
import random
import time

from django.db import OperationalError, connection

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def retry_on_deadlock(func=None, *, attempts: int = 3):
    """Decorator: call ``func`` again (up to ``attempts`` times in all, after 10–60 ms) when its
    transaction was aborted with a deadlock or a serialization failure. Only the outermost
    transaction can be retried: inside a caller's ``atomic`` block the error is raised as is.
    Other errors are raised at once."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except OperationalError as exc:
                    sqlstate = getattr(exc.__cause__, "sqlstate", None)
                    if sqlstate not in RETRYABLE_SQLSTATES or connection.in_atomic_block or attempt == attempts:
                        raise
                    time.sleep(random.uniform(0.01, 0.02) * attempt * attempt)  # noqa: S311 (jitter, not crypto)
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate
