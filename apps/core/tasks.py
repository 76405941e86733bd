"""Publishing Celery tasks after commit, without ever failing a committed action.

A service that changes state schedules its side effect with :func:`enqueue_on_commit`. The
state change is already committed when the task is published, so a broker outage must not turn
into an error for the user: the publish is *best effort* (logged when it fails) and the beat
sweeps are the guarantee (pending and applying grants, revoking grants, due syncs and webhook
deliveries are found again by their state and re-enqueued once the broker is back).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args: Any, **kwargs: Any) -> bool:
    """Publish ``task`` now, best effort. Returns True when the broker accepted it, False (after a
    warning log line naming the task, never the arguments' secrets) when it could not."""
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception as exc:  # noqa: BLE001 - kombu/redis raise many kinds; all mean "not published"
        logger.warning(
            "Could not publish %s (%s: %s); the periodic sweep will pick it up.",
            getattr(task, "name", task),
            type(exc).__name__,
            exc,
        )
        return False
    return True


def enqueue_on_commit(task, *args: Any, **kwargs: Any) -> None:
    """Publish ``task(*args, **kwargs)`` once the current transaction commits (at once outside
    one). A broker outage is logged, never raised: see the module docstring."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs), robust=True)
