"""Publishing Celery tasks after commit, without ever failing a committed action.

A service that changes state schedules its side effect with :func:`enqueue_on_commit`. The
state change is already committed when the task is published, so a broker outage must not turn
into an error for the user: the publish is *best effort* (logged when it fails) and the beat
sweeps are the guarantee (pending and applying grants, revoking grants, due syncs and webhook
deliveries are found again by their state and re-enqueued once the broker is back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
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


def enqueue_on_commit(task, *args: Any, fallback: Callable[[], Any] | None = None, **kwargs: Any) -> None:
    """Publish ``task(*args, **kwargs)`` once the current transaction commits (at once outside
    one). A broker outage is logged, never raised: see the module docstring. ``fallback``: run
    in this process instead when the broker refuses the task (for work no sweep finds again,
    e.g. a notice to a person), so moving work to a worker never loses it."""

    def publish() -> None:
        if not enqueue(task, *args, **kwargs) and fallback is not None:
            fallback()

    transaction.on_commit(publish, robust=True)


class _CommitBatch:
    """Items for one ``task(items, *args)`` published once when a transaction commits.

    Each item has an on-commit callback of its own (so a rolled-back savepoint drops its items,
    exactly as Django drops their callbacks) that moves it to ``ready``; the flush callback is
    kept last in the connection's ``run_on_commit`` list, so it runs after every surviving item.
    """

    def __init__(self, task, args: tuple, fallback, chunk: int | None):
        self.task, self.args, self.fallback, self.chunk = task, args, fallback, chunk
        self.ready: list = []
        self.done = False
        self.registered_in: list | None = None
        self.flush_fn = self.flush  # one bound method object, found again in run_on_commit by identity

    def flush(self) -> None:
        self.done = True
        items, self.ready = self.ready, []
        size = self.chunk or len(items)
        for start in range(0, len(items), max(size, 1)):
            part = items[start : start + size]
            if not enqueue(self.task, part, *self.args) and self.fallback is not None:
                self.fallback(part)

    def _flush_index(self, conn) -> int | None:
        hooks = conn.run_on_commit
        for index in range(len(hooks) - 1, -1, -1):  # it is near the end: searched from there
            if hooks[index][1] is self.flush_fn:
                return index
        return None

    def usable(self, conn) -> bool:
        """Still to run at this transaction's commit (not flushed, not dropped by a rollback)."""
        if self.done:
            return False
        # Django replaces the list at commit, rollback and savepoint rollback: an unchanged list
        # still holds the flush; after a savepoint rollback, look for it.
        return self.registered_in is conn.run_on_commit or self._flush_index(conn) is not None

    def keep_flush_last(self, conn) -> None:
        index = self._flush_index(conn)
        if index is not None:
            conn.run_on_commit.append(conn.run_on_commit.pop(index))
        self.registered_in = conn.run_on_commit


def enqueue_batch_on_commit(
    task, item: Any, *args: Any, fallback: Callable[[list], Any] | None = None, chunk: int | None = None
) -> None:
    """Publish ``task(items, *args)`` **once** when the current transaction commits, ``items``
    being every ``item`` given for the same task and ``args`` in that transaction (in order,
    without those of rolled-back savepoints); at once, as ``[item]``, outside a transaction.

    For work done per object after a bulk change (a notice per access request when an owner
    approves a thousand in one transaction): one task and one bulk write instead of a thousand.
    ``chunk``: at most that many items per task (several workers then share a big batch).
    ``fallback(items)`` runs in this process when the broker refuses the task. Relies on
    Django's ``run_on_commit`` entries (``(savepoint ids, callable, robust)``, Django 5.2).
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        batch = _CommitBatch(task, args, fallback, chunk)
        batch.ready.append(item)
        batch.flush()
        return
    batches: dict = conn.__dict__.setdefault("_mesh_commit_batches", {})
    key = (task.name, args)
    batch = batches.get(key)
    new = batch is None or not batch.usable(conn)
    if new:
        batch = batches[key] = _CommitBatch(task, args, fallback, chunk)
    transaction.on_commit(partial(batch.ready.append, item), robust=True)
    if new:
        transaction.on_commit(batch.flush_fn, robust=True)
    batch.keep_flush_last(conn)
