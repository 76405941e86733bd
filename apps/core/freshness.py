"""Per-user figures cached across requests that are never stale: the navigation badges.

Every page shows two counts (requests waiting for the user's decision, unread notifications).
Computing them costs more than the rest of a product page (guardian permissions, delegations,
segregation of duties: six queries). They are cached per user in the shared cache (Redis) under
a **version** that any write to the tables they depend on increments:

- every database connection runs :func:`_watch_writes` (installed by ``CoreConfig.ready``): an
  ``INSERT``/``UPDATE``/``DELETE``/``TRUNCATE`` on a table in :data:`WATCHED_TABLE_PREFIXES` (ORM
  ``save``, queryset ``update``/``delete``, ``bulk_create``, raw SQL through Django alike) bumps the
  version right away in autocommit mode, or once when the surrounding transaction commits;
- a reader reads the version *before* computing, so a value computed while a write commits is
  stored under the old version and recomputed on the next request;
- inside a transaction nothing is cached or read from the cache (the transaction may see its own
  uncommitted writes), so tests wrapped in a transaction compute every time;
- without a shared cache (``CACHES["shared"]`` missing) nothing is cached.

So a decision, a new request, a delegation, a team membership or permission change, or a
notification read shows on the very next request of every user, from any process (web or
worker). Keys carry the database name, so processes on other databases never share them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.db import connection as default_connection
from django.db import transaction

#: Tables whose writes can change a badge: requests and their steps, delegations, users, teams
#: and memberships, groups and (object) permissions, products and ports (ownership), contracts
#: (named approvers), notifications.
WATCHED_TABLE_PREFIXES = (
    "access_accessrequest",
    "access_approvalstep",
    "access_approverdelegation",
    "accounts_",
    "auth_",
    "guardian_",
    "catalog_dataproduct",
    "catalog_outputport",
    "catalog_datacontract",
    "notifications_notification",
)
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)', re.IGNORECASE)
CACHE_ALIAS = "shared"
TIMEOUT_SECONDS = 24 * 3600


def _cache():
    from django.conf import settings
    from django.core.cache import caches

    return caches[CACHE_ALIAS] if CACHE_ALIAS in settings.CACHES else None


def _version_key(conn) -> str:
    return f"freshness:{conn.settings_dict['NAME']}:version"


def bump(conn=default_connection) -> None:
    """Make every cached figure of ``conn``'s database stale (one atomic ``INCR``)."""
    cache = _cache()
    if cache is None:
        return
    key = _version_key(conn)
    try:
        cache.incr(key)
    except ValueError:  # missing: start it (add is atomic; a concurrent add and incr both count)
        if not cache.add(key, _first_version(), timeout=None):
            cache.incr(key)


def _first_version() -> int:
    # Milliseconds since the epoch: if the cache ever loses the version, the new one is still
    # greater than every version an older entry can carry.
    return time.time_ns() // 1_000_000


def _bump_on_commit(conn) -> None:
    # One callback per transaction however many rows it writes: the list ``run_on_commit`` is
    # replaced at commit, rollback and savepoint rollback, so holding the list we registered in
    # tells whether this transaction already has the callback.
    if getattr(conn, "_freshness_registered_in", None) is conn.run_on_commit:
        return
    transaction.on_commit(lambda: bump(conn), using=conn.alias)
    conn._freshness_registered_in = conn.run_on_commit


def _watch_writes(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    head = sql[:12].lstrip().upper()
    if head.startswith(("INSERT", "UPDATE", "DELETE", "TRUNCATE")):
        match = _WRITE.match(sql)
        if head.startswith("TRUNCATE") or (match and match.group(1).startswith(WATCHED_TABLE_PREFIXES)):
            conn = context["connection"]
            if conn.in_atomic_block:
                _bump_on_commit(conn)
            else:
                bump(conn)
    return result


def install(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: watch this connection's writes (once per connection object)."""
    if _watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch_writes)


def cached_for_user(user, name: str, compute: Callable[[], int]) -> int:
    """``compute()``, cached for ``user`` under the current version (see the module docstring)."""
    cache = _cache()
    conn = default_connection
    if cache is None or conn.in_atomic_block:
        return compute()
    version_key = _version_key(conn)
    key = f"freshness:{conn.settings_dict['NAME']}:{name}:{user.pk}"
    found = cache.get_many([version_key, key])
    version = found.get(version_key)
    if version is None:
        cache.add(version_key, _first_version(), timeout=None)
        version = cache.get(version_key)
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return entry[1]
    value = compute()
    cache.set(key, (version, value), timeout=TIMEOUT_SECONDS)
    return value
