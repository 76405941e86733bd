"""Celery tasks for the search index. They take ids and call one function (``indexing``)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import indexing
from .backends import get_backend


@shared_task(
    acks_late=True,
    time_limit=300,
    soft_time_limit=280,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def search_index_products_task(product_ids: list[int]) -> None:
    """Rebuild the search rows of these data products (idempotent: a rebuild from the catalog)."""
    indexing.index_products(product_ids=product_ids)
    get_backend().index_products(product_ids=product_ids)


@shared_task(
    acks_late=True,
    time_limit=300,
    soft_time_limit=280,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def search_index_platform_task(platform_id: int) -> None:
    """After a metadata sync: rebuild every data product with an output port on the platform."""
    product_ids = indexing.product_ids_on_platform(platform_id=platform_id)
    if product_ids:
        search_index_products_task(product_ids)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=580)
def search_popularity_refresh_task() -> None:
    """Periodic: views, requests and grants of the last 30 days feed ranking."""
    indexing.popularity_refresh()
