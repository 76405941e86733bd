"""Writes for platforms: metadata sync.

``platform_sync`` is the one engine for every kind of platform: a connector
(``apps.platforms.connectors``) describes what is on the platform, and this module compares it
with the catalog (``Asset``, ``Column``, ``AssetRelation``) and applies the difference in one
transaction. Unchanged assets are recognised by their fingerprint and cost no write, so a re-sync
of 10,000 tables is one read of the platform and one query on the catalog.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, DurationField, Exists, F, Func, Max, OuterRef, Q
from django.db.models.expressions import ExpressionWrapper
from django.utils import timezone

from apps.catalog.choices import AssetRelationKind
from apps.catalog.models import Asset, AssetRelation, Column
from apps.core.exceptions import ApplicationError

from .choices import SyncRunStatus
from .connectors import ConnectorError, DiscoveredAsset, get_connector
from .models import Platform, SyncRun

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

# The sync task's soft time limit; a run still "running" after twice this is taken for a worker
# that died mid-sync (killed, OOM, host lost) and is marked failed so the platform syncs again.
SYNC_TIME_LIMIT_SECONDS = 30 * 60
SYNC_RUN_STALE_AFTER = timedelta(seconds=2 * SYNC_TIME_LIMIT_SECONDS)
_BATCH_SIZE = 1000

_ASSET_SYNCED_FIELDS = ["kind", "description", "row_count_estimate", "fingerprint", "last_changed_at", "removed_at"]
_COLUMN_SYNCED_FIELDS = ["ordinal", "data_type", "description", "nullable", "is_primary_key", "default"]


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    changed_keys: set[tuple[str, str]] = field(default_factory=set)


def platform_sync(*, platform: Platform, actor: User | None = None) -> SyncRun:
    """Sync ``platform``'s metadata into the catalog and record it as a ``SyncRun``.

    Each discovered table/view becomes an ``Asset`` keyed by ``(schema, name)`` within the
    platform, with its ``Column`` rows and its foreign keys as ``AssetRelation``
    (kind ``foreign_key``, source = referencing asset, target = referenced asset of the same
    platform; keys to assets outside the synced schemas are skipped). Per asset:

    - new: created (counts as *created*);
    - fingerprint changed, or it had been removed and is back: fields updated, columns upserted
      by name (ids of surviving columns are kept), its foreign keys rebuilt, ``last_changed_at``
      set and ``removed_at`` cleared (*updated*);
    - fingerprint equal: no write (*unchanged*), except a changed ``row_count_estimate``, which
      is a statistic outside the fingerprint and is refreshed in one bulk update;
    - in the catalog but no longer on the platform: ``removed_at`` set, row kept (*removed*).

    The run row is committed first (status ``running``), then the catalog changes and the
    ``succeeded`` status commit together. If the connector or anything else fails, the catalog
    is left untouched and the run is marked ``failed`` with a readable ``error``: the connector's
    message (``ConnectorError``), else ``"Unexpected error: <type>: <message>"`` (traceback
    logged). Failures are recorded, not raised, so a task calling this never retries in a loop.

    Returns the finished ``SyncRun``. Raises ``ApplicationError`` when a sync of the platform is
    already running.
    """
    run = _sync_run_start(platform=platform, actor=actor)
    try:
        discovered = get_connector(platform).discover()
        with transaction.atomic():
            counts = _catalog_apply(platform=platform, discovered=discovered, now=timezone.now())
            if counts.created or counts.updated or counts.removed:
                from apps.search.services import search_index_schedule

                search_index_schedule(platform_id=platform.pk)  # on commit, on a worker
            run.status = SyncRunStatus.SUCCEEDED
            run.created_count = counts.created
            run.updated_count = counts.updated
            run.unchanged_count = counts.unchanged
            run.removed_count = counts.removed
            run.finished_at = timezone.now()
            run.save(update_fields=[
                "status", "created_count", "updated_count", "unchanged_count", "removed_count", "finished_at",
            ])
    except ConnectorError as exc:
        logger.warning("Sync of platform %s (id %s) failed: %s", platform, platform.pk, exc.message)
        _sync_run_fail(run, exc.message)
    except SoftTimeLimitExceeded:
        logger.warning("Sync of platform %s (id %s) hit the time limit", platform, platform.pk)
        _sync_run_fail(run, f"The sync took longer than {SYNC_TIME_LIMIT_SECONDS // 60} minutes and was stopped.")
    except Exception as exc:
        logger.exception("Sync of platform %s (id %s) failed unexpectedly", platform, platform.pk)
        _sync_run_fail(run, _scrub(f"Unexpected error: {type(exc).__name__}: {exc}", platform))
    else:
        logger.info(
            "Synced platform %s (id %s): %s created, %s updated, %s unchanged, %s removed",
            platform, platform.pk, counts.created, counts.updated, counts.unchanged, counts.removed,
        )
    return run


def platform_sync_due() -> list[int]:
    """Ids of platforms whose scheduled sync is due: ``sync_enabled``, no run in progress, and
    no run started in the last ``sync_interval_minutes`` (or none ever). Runs left ``running``
    for longer than ``SYNC_RUN_STALE_AFTER`` do not count as in progress (``platform_sync`` marks
    them failed). Ordered by id. Reads only; enqueueing is the caller's job.
    """
    now = timezone.now()
    interval = Func(
        F("sync_interval_minutes"), function="make_interval", template="make_interval(mins => %(expressions)s)",
        output_field=DurationField(),
    )
    in_progress = SyncRun.objects.filter(
        platform=OuterRef("pk"), status=SyncRunStatus.RUNNING, started_at__gt=now - SYNC_RUN_STALE_AFTER,
    )
    due = (
        Platform.objects.filter(sync_enabled=True)
        .annotate(last_started_at=Max("sync_runs__started_at"))
        .annotate(next_due_at=ExpressionWrapper(F("last_started_at") + interval, output_field=DateTimeField()))
        .filter(Q(last_started_at__isnull=True) | Q(next_due_at__lte=now))
        .filter(~Exists(in_progress))
        .order_by("pk")
    )
    return list(due.values_list("pk", flat=True))


# -- run bookkeeping -------------------------------------------------------------------------


def _sync_run_start(*, platform: Platform, actor: User | None) -> SyncRun:
    """Create the ``running`` run in its own transaction (a savepoint when nested) so that the
    "one running run per platform" constraint refuses a concurrent sync at once."""
    now = timezone.now()
    with transaction.atomic():
        stale = SyncRun.objects.filter(
            platform=platform, status=SyncRunStatus.RUNNING, started_at__lte=now - SYNC_RUN_STALE_AFTER,
        ).update(
            status=SyncRunStatus.FAILED, finished_at=now,
            error="Abandoned: the worker stopped before the sync finished.",
        )
        if stale:
            logger.warning("Marked %s abandoned sync run(s) of platform %s as failed", stale, platform.pk)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                platform=platform, triggered_by=actor, status=SyncRunStatus.RUNNING, started_at=now,
            )
    except IntegrityError:
        raise ApplicationError(f"A sync of {platform} is already running.") from None


def _sync_run_fail(run: SyncRun, error: str) -> None:
    run.status = SyncRunStatus.FAILED
    run.error = error
    run.finished_at = timezone.now()
    # Nothing was applied (the catalog transaction rolled back), whatever was counted.
    run.created_count = run.updated_count = run.unchanged_count = run.removed_count = 0
    run.save(update_fields=[
        "status", "error", "finished_at", "created_count", "updated_count", "unchanged_count", "removed_count",
    ])


def _scrub(message: str, platform: Platform) -> str:
    """``message`` without the platform's password, should a driver ever echo it."""
    try:
        password = platform.connection_params().password
    except Exception:
        return message
    return message.replace(password, "***") if password else message


# -- applying a discovery to the catalog --------------------------------------------------


def _catalog_apply(*, platform: Platform, discovered: list[DiscoveredAsset], now) -> _Counts:
    """Compare ``discovered`` with the platform's assets and write the difference (bulk
    statements only, none per asset). Runs inside the caller's transaction."""
    counts = _Counts()
    existing: dict[tuple[str, str], Asset] = {
        (a.schema, a.name): a
        for a in Asset.objects.filter(platform=platform).only(
            "id", "schema", "name", "fingerprint", "removed_at", "row_count_estimate",
        )
    }
    seen: set[tuple[str, str]] = set()
    to_write: list[Asset] = []
    to_write_discovered: list[DiscoveredAsset] = []
    row_counts_changed: list[Asset] = []
    for item in discovered:
        key = item.key
        if key in seen:
            continue  # a connector bug; the (platform, schema, name) constraint would fail anyway
        seen.add(key)
        fingerprint = item.fingerprint()
        current = existing.get(key)
        if current is not None and current.fingerprint == fingerprint and current.removed_at is None:
            counts.unchanged += 1
            if current.row_count_estimate != item.row_count_estimate:
                current.row_count_estimate = item.row_count_estimate
                row_counts_changed.append(current)
            continue
        if current is None:
            counts.created += 1
        else:
            counts.updated += 1
        counts.changed_keys.add(key)
        to_write.append(Asset(
            platform=platform, schema=item.schema, name=item.name, kind=item.kind,
            description=item.description, row_count_estimate=item.row_count_estimate,
            fingerprint=fingerprint, last_changed_at=now, removed_at=None,
        ))
        to_write_discovered.append(item)

    # New and changed assets in one upsert; PostgreSQL returns every row's id.
    Asset.objects.bulk_create(
        to_write, batch_size=_BATCH_SIZE, update_conflicts=True,
        unique_fields=["platform", "schema", "name"], update_fields=[*_ASSET_SYNCED_FIELDS, "updated_at"],
    )
    if row_counts_changed:
        # A statistic, not a change of the asset: neither updated_at nor last_changed_at moves.
        Asset.objects.bulk_update(row_counts_changed, ["row_count_estimate"], batch_size=_BATCH_SIZE)

    gone = [a.pk for key, a in existing.items() if key not in seen and a.removed_at is None]
    for chunk in _chunks(gone):
        Asset.objects.filter(pk__in=chunk).update(removed_at=now, updated_at=now)
    counts.removed = len(gone)

    ids = {key: a.pk for key, a in existing.items()}
    ids.update({(a.schema, a.name): a.pk for a in to_write})
    # Assets that are new or back from removal: unchanged assets may have keys pointing at them.
    arrived_ids = {
        ids[key] for key in counts.changed_keys if key not in existing or existing[key].removed_at is not None
    }
    _columns_replace(assets=to_write, discovered=to_write_discovered)
    _foreign_keys_rebuild(discovered=discovered, ids=ids, changed_keys=counts.changed_keys, arrived_ids=arrived_ids)
    return counts


def _columns_replace(*, assets: list[Asset], discovered: list[DiscoveredAsset]) -> None:
    """Make the columns of the written ``assets`` exactly ``discovered``'s: delete the ones gone,
    upsert the rest by ``(asset, name)`` so a surviving column keeps its id."""
    if not assets:
        return
    wanted = {(asset.pk, col.name) for asset, item in zip(assets, discovered) for col in item.columns}
    stale = [
        pk
        for chunk in _chunks([a.pk for a in assets])
        for pk, asset_id, name in Column.objects.filter(asset_id__in=chunk).values_list("pk", "asset_id", "name")
        if (asset_id, name) not in wanted
    ]
    for chunk in _chunks(stale):
        Column.objects.filter(pk__in=chunk).delete()
    Column.objects.bulk_create(
        [
            Column(
                asset_id=asset.pk, name=col.name, ordinal=col.ordinal, data_type=col.data_type,
                description=col.description, nullable=col.nullable, is_primary_key=col.is_primary_key,
                default=col.default,
            )
            for asset, item in zip(assets, discovered)
            for col in item.columns
        ],
        batch_size=_BATCH_SIZE, update_conflicts=True, unique_fields=["asset", "name"],
        update_fields=_COLUMN_SYNCED_FIELDS,
    )


def _foreign_keys_rebuild(
    *, discovered: list[DiscoveredAsset], ids: dict[tuple[str, str], int], changed_keys: set[tuple[str, str]],
    arrived_ids: set[int],
) -> None:
    """Replace the foreign-key relations of changed assets, and add those of unchanged assets
    that point at an asset that just appeared or came back (their own fingerprint did not move).
    A key whose referred table is not in the catalog (a schema not synced) is skipped."""
    changed_ids = [ids[key] for key in changed_keys]
    for chunk in _chunks(changed_ids):
        AssetRelation.objects.filter(kind=AssetRelationKind.FOREIGN_KEY, source_id__in=chunk).delete()
    relations = []
    for item in discovered:
        source_changed = item.key in changed_keys
        for fk in item.foreign_keys:
            target_id = ids.get((fk.referred_schema, fk.referred_table))
            if target_id is None or not (source_changed or target_id in arrived_ids):
                continue
            relations.append(AssetRelation(
                source_id=ids[item.key], target_id=target_id, kind=AssetRelationKind.FOREIGN_KEY,
                name=fk.name, source_columns=list(fk.columns), target_columns=list(fk.referred_columns),
            ))
    AssetRelation.objects.bulk_create(relations, batch_size=_BATCH_SIZE, ignore_conflicts=True)


def _chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start:start + size]
