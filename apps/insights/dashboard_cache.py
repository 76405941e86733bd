"""The KPI dashboard's numbers, cached for a short time in the shared cache (Redis).

What is cached is the computed dashboard (``selectors.kpi_dashboard``: tiles, trend lines,
charts), never the page: the navigation, the CSRF tokens and the domain list are the user's
own and are rendered per request. The key is (database, domain filter, first and last day,
source, time zone) and is read only *after* ``selectors.kpi_period_for`` has checked that the
user may see that domain (or the whole mesh), so two users share an entry only when both may see
exactly those numbers: a domain owner's filter is always one of their domains, never "all".

Freshness:

- an entry lives ``INSIGHTS_DASHBOARD_CACHE_SECONDS`` (default 60; 0 turns the cache off), so a
  product view, a search or a catalog change shows within that time;
- every entry carries a **version** that :func:`invalidate` increments (one ``INCR``): the insights
  services call it when their transaction commits — an access lifecycle event (request
  submitted, step decided, approved, rejected, cancelled, grant active / expired / revoked), a
  contract, quality or sync event, a target, a cost rate, a use case, a day's snapshots — and so
  do the insights admin pages, so those show on the very next load, in every process;
- the version is read *before* computing: numbers computed while a write commits are stored under
  the old version and never served after it;
- ``source="live"`` (every trend point computed) is never cached, and nothing is cached or read
  inside a transaction (it may see its own uncommitted writes; the tests run in one) or without
  a shared cache (``CACHES["shared"]``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

from .kpis import Period

DEFAULT_SECONDS = 60


def _cache():
    from django.core.cache import caches

    return caches["shared"] if "shared" in settings.CACHES else None


def _seconds() -> int:
    return int(getattr(settings, "INSIGHTS_DASHBOARD_CACHE_SECONDS", DEFAULT_SECONDS))


def _version_key() -> str:
    return f"insights:dashboard:{connection.settings_dict['NAME']}:version"


def invalidate() -> None:
    """Make every cached dashboard of this database stale, now (any process). With Redis down
    it does nothing (and entries expire by themselves)."""
    cache = _cache()
    if cache is None:
        return
    key = _version_key()
    try:
        cache.incr(key)
    except ValueError:  # missing: start it (add is atomic; a concurrent add and incr both count)
        if not cache.add(key, time.time_ns() // 1_000_000, timeout=None):
            try:
                cache.incr(key)
            except ValueError:
                pass  # Redis unavailable (the cache fails open)


def invalidate_on_commit() -> None:
    """:func:`invalidate` when the current transaction commits (at once outside one), once per
    transaction however many changes it makes."""
    conn = connection
    if not conn.in_atomic_block:
        invalidate()
        return
    # The list ``run_on_commit`` is replaced at commit, rollback and savepoint rollback, so holding
    # the list we registered in tells whether this transaction already has the callback.
    if getattr(conn, "_insights_dashboard_registered_in", None) is conn.run_on_commit:
        return
    transaction.on_commit(invalidate)
    conn._insights_dashboard_registered_in = conn.run_on_commit


def _in_transaction() -> bool:
    return connection.in_atomic_block


def dashboard_cached(period: Period, source: str, compute: Callable[[], dict]) -> dict:
    """``compute()`` (the dashboard of ``period``, already checked for the user), cached as the
    module says; ``source`` "snapshot" is cached, "live" never."""
    cache = _cache()
    seconds = _seconds()
    if cache is None or seconds <= 0 or source != "snapshot" or _in_transaction():
        return compute()
    version_key = _version_key()
    version = cache.get(version_key)
    if version is None:
        # Milliseconds since the epoch: if the cache ever loses the version, the new one is still
        # greater than every version an older entry can carry.
        cache.add(version_key, time.time_ns() // 1_000_000, timeout=None)
        version = cache.get(version_key)
        if version is None:  # Redis unavailable: compute, store nothing
            return compute()
    key = (
        f"insights:dashboard:{connection.settings_dict['NAME']}:{version}:{period.domain_id}:"
        f"{period.start}:{period.end}:{source}:{settings.TIME_ZONE}"
    )
    found = cache.get(key)
    if found is not None:
        return found
    value = compute()
    cache.set(key, value, timeout=seconds)
    return value
