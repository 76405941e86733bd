"""Per-user figures cached across requests that are never stale: the navigation badges, the
navigation itself, the data products a person may see.

Every page shows two counts (requests waiting for the user's decision, unread notifications)
and a navigation bar that depends on the person's roles, and every search and product page
needs the products the person may see. Computing them cost more than the rest of a product
page (guardian permissions, delegations, segregation of duties). They are cached per user in
the shared cache (Redis) under the **versions** of the topics they depend on (:data:`TOPICS`),
which any write to a topic's tables increments:

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
worker), while a figure of another topic stays cached (a new access request does not recompute
anyone's navigation). Keys carry the database name, so processes on other databases never share them.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection as default_connection
from django.db import transaction

#: What a cached figure may depend on. Each topic has a version of its own that a committed
#: write to any table whose name starts with one of its prefixes increments, so a figure that
#: depends on people and permissions only (the navigation, the products a person may see) is not
#: recomputed each time someone submits an access request:
#:
#: - ``access``: access requests and their approval steps;
#: - ``delegations``: approver delegations;
#: - ``people``: users, teams and memberships, groups and (object) permissions;
#: - ``catalog``: data products, output ports, data contracts, domains (ownership, named approvers);
#: - ``notifications``: notifications (read or not);
#: - ``search``: the search index (documents, texts, entries, vocabulary: ``apps.search.indexing``);
#: - ``platforms``: data platforms (names and slugs shown as search facets);
#: - ``schema``: tables, views, columns and keys found by metadata sync;
#: - ``quality``: what a product's trust is computed from (contract imports, drift findings,
#:   quality checks, runs and results, incidents);
#: - ``grants``: grants (a product's count of active consumers);
#: - ``decisions``: what approvers' inboxes hold: approval steps (created at submission, decided,
#:   escalated, cancelled), plus an explicit :func:`bump_on_commit` by the access services when a
#:   request enters or leaves "pending approval". Unlike ``access`` it does not move while grants
#:   are provisioned or expire, so the inbox badge survives the worker's writes.
TOPICS: dict[str, tuple[str, ...]] = {
    "access": ("access_accessrequest", "access_approvalstep"),
    "delegations": ("access_approverdelegation",),
    "people": ("accounts_", "auth_", "guardian_"),
    "catalog": ("catalog_dataproduct", "catalog_outputport", "catalog_datacontract", "catalog_domain"),
    "notifications": ("notifications_notification",),
    "search": ("search_",),
    "platforms": ("platforms_",),
    "schema": ("catalog_asset", "catalog_column"),
    "quality": ("contracts_", "catalog_qualitycheck"),
    "grants": ("access_grant",),
    "decisions": ("access_approvalstep",),
}
ALL_TOPICS = tuple(TOPICS)
WATCHED_TABLE_PREFIXES = tuple(prefix for prefixes in TOPICS.values() for prefix in prefixes)
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)', re.IGNORECASE)
#: Writes nothing cached depends on: a login's ``last_login`` (``django.contrib.auth.models.update_last_login``).
#: Without this, every login anywhere would make every person's cached figures stale.
_IGNORED_WRITES = frozenset({'UPDATE "accounts_user" SET "last_login" = %s WHERE "accounts_user"."id" = %s'})
CACHE_ALIAS = "shared"
TIMEOUT_SECONDS = 24 * 3600
SHARED_TIMEOUT_SECONDS = 15 * 60


def _cache():
    from django.conf import settings
    from django.core.cache import caches

    return caches[CACHE_ALIAS] if CACHE_ALIAS in settings.CACHES else None


def _version_key(conn, topic: str) -> str:
    return f"freshness:{conn.settings_dict['NAME']}:version:{topic}"


@functools.lru_cache(maxsize=512)
def _topics_of(table: str) -> tuple[str, ...]:
    return tuple(topic for topic, prefixes in TOPICS.items() if table.startswith(prefixes))


def bump(conn=default_connection, topics: Iterable[str] = ALL_TOPICS) -> None:
    """Make the cached figures of ``conn``'s database that depend on ``topics`` stale (one atomic
    ``INCR`` per topic)."""
    cache = _cache()
    if cache is None:
        return
    for topic in topics:
        key = _version_key(conn, topic)
        try:
            cache.incr(key)
        except ValueError:  # missing: start it (add is atomic; a concurrent add and incr both count)
            if not cache.add(key, _first_version(), timeout=None):
                cache.incr(key)


def _first_version() -> int:
    # Milliseconds since the epoch: if the cache ever loses the version, the new one is still
    # greater than every version an older entry can carry.
    return time.time_ns() // 1_000_000


def _bump_on_commit(conn, topics: tuple[str, ...]) -> None:
    # One callback per transaction however many rows it writes, bumping every topic written: the
    # list ``run_on_commit`` is replaced at commit, rollback and savepoint rollback, so holding the
    # list we registered in tells whether this transaction already has the callback.
    pending = getattr(conn, "_freshness_pending", None)
    if pending is None or pending[0] is not conn.run_on_commit:
        written: set[str] = set()
        transaction.on_commit(lambda: bump(conn, sorted(written)), using=conn.alias)
        pending = conn._freshness_pending = (conn.run_on_commit, written)
    pending[1].update(topics)


def bump_on_commit(topics: Iterable[str], conn=default_connection) -> None:
    """Bump ``topics`` when the current transaction commits (right away outside one): for a
    service whose change matters to a topic beyond the tables it writes."""
    topics = tuple(topics)
    if conn.in_atomic_block:
        _bump_on_commit(conn, topics)
    else:
        bump(conn, topics)


def _watch_writes(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    head = sql[:12].lstrip().upper()
    if head.startswith(("INSERT", "UPDATE", "DELETE", "TRUNCATE")) and sql not in _IGNORED_WRITES:
        if head.startswith("TRUNCATE"):
            topics = ALL_TOPICS
        else:
            match = _WRITE.match(sql)
            topics = _topics_of(match.group(1)) if match else ()
        if topics:
            conn = context["connection"]
            if conn.in_atomic_block:
                _bump_on_commit(conn, topics)
            else:
                bump(conn, topics)
    return result


def install(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: watch this connection's writes (once per connection object)."""
    if _watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch_writes)


def digest(*parts) -> str:
    """A stable name for a cache entry made of ``parts`` (JSON-serialisable values: lists,
    strings, numbers, booleans): the SHA-256 of their JSON, the same in every process (unlike
    ``hash()`` of strings, which Python salts per process)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def cached_for_user(
    user,
    name: str,
    compute: Callable[[], Any],
    topics: Iterable[str] = ALL_TOPICS,
    *,
    still_valid: Callable[[Any], bool] | None = None,
) -> Any:
    """``compute()`` (any picklable value), cached for ``user`` under the current versions of
    ``topics`` (what the value depends on; see :data:`TOPICS` and the module docstring). One
    ``GET`` of the versions and the entry together. ``still_valid(value)``, when given, is asked
    of a cached value too: False recomputes it (for what time alone changes, such as a
    delegation that starts or ends without any write)."""
    return _cached(f"{name}:{user.pk}", compute, topics, still_valid=still_valid)


def cached_shared(
    name: str, compute: Callable[[], Any], topics: Iterable[str] = ALL_TOPICS, *, timeout: int = SHARED_TIMEOUT_SECONDS
) -> Any:
    """``compute()`` cached for *everyone* under ``name`` and the current versions of ``topics``.

    Only for values that do not depend on who asks beyond what ``name`` says (a search for a
    given visibility, say: the caller puts the visibility into ``name``). The value is a copy
    on every call (unpickled from the cache), so the caller may change it. Entries live
    ``timeout`` seconds at most, so many distinct names do not fill the cache."""
    return _cached(name, compute, topics, timeout)


def _cached(
    name: str,
    compute: Callable[[], Any],
    topics: Iterable[str],
    timeout: int = TIMEOUT_SECONDS,
    still_valid: Callable[[Any], bool] | None = None,
) -> Any:
    cache = _cache()
    conn = default_connection
    if cache is None or conn.in_atomic_block:
        return compute()
    topics = tuple(topics)
    version_keys = [_version_key(conn, topic) for topic in topics]
    key = f"freshness:{conn.settings_dict['NAME']}:{name}"
    found = cache.get_many([*version_keys, key])
    versions = []
    for version_key in version_keys:
        version = found.get(version_key)
        if version is None:
            cache.add(version_key, _first_version(), timeout=None)
            version = cache.get(version_key)
        versions.append(version)
    version = tuple(versions)
    entry = found.get(key)
    if entry is not None and entry[0] == version and (still_valid is None or still_valid(entry[1])):
        return entry[1]
    value = compute()
    cache.set(key, (version, value), timeout=timeout)
    return value
