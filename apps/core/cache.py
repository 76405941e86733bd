"""A Redis cache that degrades instead of failing when Redis is down.

The shared Redis holds derived data only — cached navigation badges (``apps.core.freshness``)
and the cache copy of sessions (``cached_db``: the database has the sessions) — so a Redis
outage must not take pages down (issue 11: "pages keep working"). Every operation that cannot
reach Redis logs one warning and behaves as a cache miss: reads return the default, writes do
nothing, ``incr`` raises ``ValueError`` as for a missing key.
"""

from __future__ import annotations

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _warn(operation: str, exc: Exception) -> None:
    logger.warning("Cache %s failed open: Redis is unavailable (%s: %s).", operation, type(exc).__name__, exc)


class FailOpenRedisCache(RedisCache):
    """:class:`django.core.cache.backends.redis.RedisCache` that fails open (see the module)."""

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            _warn("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except RedisError as exc:
            _warn("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as exc:
            _warn("has_key", exc)
            return False

    def set(self, key, value, timeout=None, version=None):  # noqa: DJ012 - cache API, not a model
        try:
            return super().set(key, value, timeout, version)
        except RedisError as exc:
            _warn("set", exc)

    def set_many(self, data, timeout=None, version=None):
        try:
            return super().set_many(data, timeout, version)
        except RedisError as exc:
            _warn("set_many", exc)
            return list(data)

    def add(self, key, value, timeout=None, version=None):
        try:
            return super().add(key, value, timeout, version)
        except RedisError as exc:
            _warn("add", exc)
            return False

    def touch(self, key, timeout=None, version=None):
        try:
            return super().touch(key, timeout, version)
        except RedisError as exc:
            _warn("touch", exc)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as exc:
            _warn("delete", exc)
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except RedisError as exc:
            _warn("delete_many", exc)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except RedisError as exc:
            _warn("incr", exc)
            raise ValueError(f"Key {key!r} not found (cache unavailable).") from exc
