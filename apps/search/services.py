"""Writes for search: keep the index fresh after catalog changes, and rebuild it.

Catalog writes call ``search_index_schedule`` inside their transaction; the rebuild runs on a
Celery worker once the transaction commits (``transaction.on_commit``), so a rolled-back change
never reaches the index and a request never waits for indexing.
"""

from __future__ import annotations

from django.db import transaction

from . import indexing
from .backends import get_backend


def search_index_schedule(*, product_ids: list[int] | None = None, platform_id: int | None = None) -> None:
    """After commit, enqueue a rebuild of the data products ``product_ids``, or of every product
    with an output port on ``platform_id`` (after a metadata sync)."""
    from .tasks import search_index_platform_task, search_index_products_task

    # robust: a broker outage is logged and must not fail the catalog change that was already
    # committed; the index catches up with the next change, sync or ``manage.py reindex``.
    if product_ids:
        ids = sorted(set(product_ids))
        transaction.on_commit(lambda: search_index_products_task.delay(ids), robust=True)
    if platform_id is not None:
        transaction.on_commit(lambda: search_index_platform_task.delay(platform_id), robust=True)


def search_reindex_all() -> int:
    """Rebuild the whole index now (``manage.py reindex``); returns the number of data products."""
    written = indexing.index_products(product_ids=None)
    get_backend().index_products(product_ids=None)
    return written
