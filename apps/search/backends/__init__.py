"""Search backends behind one interface (``SearchBackend``): PostgreSQL (default) and
Elasticsearch (when ``ELASTICSEARCH_URL`` is set, or ``SEARCH_BACKEND=elasticsearch``)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from .base import SearchBackend


def backend_name() -> str:
    configured = getattr(settings, "SEARCH_BACKEND", "")
    if configured:
        return configured
    return "elasticsearch" if settings.ELASTICSEARCH_URL else "postgres"


@lru_cache(maxsize=2)
def _backend(name: str) -> SearchBackend:
    if name == "elasticsearch":
        from .elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend(url=settings.ELASTICSEARCH_URL, index=settings.ELASTICSEARCH_INDEX)
    from .postgres import PostgresBackend

    return PostgresBackend()


def get_backend() -> SearchBackend:
    """The configured backend (one instance per process)."""
    return _backend(backend_name())
