"""Writes for metadata sync: the engine.

``platform_sync`` is the one engine for every kind of platform: a connector
(``apps.sync.connectors``) describes what is on the platform, and this module compares it
with the catalog (``Asset``, ``Column``, ``AssetRelation``) and applies the difference in one
transaction. Unchanged assets are recognised by their fingerprint and cost no write, so a re-sync
of 10,000 tables is one read of the platform and one query on the catalog.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, DurationField, Exists, F, Func, Max, OuterRef, Q
from django.db.models.expressions import ExpressionWrapper
from django.utils import timezone

from apps.catalog.choices import AssetRelationKind
from apps.catalog.models import Asset, AssetPrivilege, AssetRelation, Column, OutputPort
from apps.core.exceptions import ApplicationError
from apps.core.tasks import enqueue_on_commit
from apps.insights.choices import UsageEventKind
from apps.insights.services import event_record
from apps.platforms.choices import PlatformKind, SyncPhase, SyncRunStatus
from apps.platforms.models import ExposureAssignment, Platform, SyncRun

from .connectors import ConnectorError, DiscoveredAsset, get_connector
from .connectors.base import progress_reporter

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

# The sync task's soft time limit; a run still "running" after twice this is taken for a worker
# that died mid-sync (killed, OOM, host lost) and is marked failed so the platform syncs again.
SYNC_TIME_LIMIT_SECONDS = 30 * 60
SYNC_RUN_STALE_AFTER = timedelta(seconds=2 * SYNC_TIME_LIMIT_SECONDS)
# Rows per bulk statement in the catalog writes (sync and dbt apply).
BATCH_SIZE = 1000

_ASSET_SYNCED_FIELDS = [
    "kind",
    "description",
    "row_count_estimate",
    "size_bytes",
    "last_analyzed_at",
    "fingerprint",
    "privileges_fingerprint",
    "last_changed_at",
    "removed_at",
]
# Refreshed on unchanged assets without counting as a change (no updated_at, no last_changed_at).
_ASSET_OUTSIDE_FINGERPRINT_FIELDS = ["row_count_estimate", "size_bytes", "last_analyzed_at", "privileges_fingerprint"]
# A run in progress writes its progress at most this often (seconds): a row update each time.
PROGRESS_WRITE_INTERVAL = 1.0
_COLUMN_SYNCED_FIELDS = ["ordinal", "data_type", "description", "nullable", "is_primary_key", "default"]


@dataclass
class SyncCounts:
    """What one apply did: assets created, updated, unchanged and marked removed, and the
    ``(schema, name)`` keys of the created and updated ones."""

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
    - fingerprint equal: no write (*unchanged*), except a changed ``row_count_estimate`` or
      ``last_analyzed_at``, statistics outside the fingerprint refreshed in one bulk update;
    - in the catalog but no longer on the platform: ``removed_at`` set, row kept (*removed*).

    Existing privileges (``AssetPrivilege``) are replaced only for assets whose
    ``privileges_fingerprint`` moved (a GRANT or REVOKE on the platform), without counting the
    asset as changed. Mapping rules (``ExposureAssignment`` naming a product) then make sure each mapped data product
    has an output port on its schema (``schema_mapping_apply``).

    While it runs, the ``SyncRun`` shows its ``phase`` and ``progress_done``/``progress_total``
    (schemas read, then assets to write), committed as it goes.

    The run row is committed first (status ``running``), then the catalog changes and the
    ``succeeded`` status commit together. If the connector or anything else fails, the catalog
    is left untouched and the run is marked ``failed`` with a readable ``error``: the connector's
    message (``ConnectorError``), else ``"Unexpected error: <type>: <message>"`` (traceback
    logged). Failures are recorded, not raised, so a task calling this never retries in a loop.

    Returns the finished ``SyncRun``. Raises ``ApplicationError`` when a sync of the platform is
    already running.
    """
    run = _sync_run_start(platform=platform, actor=actor)
    progress_token = progress_reporter.set(_ProgressWriter(run))
    try:
        discovered = get_connector(platform).discover()
        total = len(discovered.relations) if platform.kind == PlatformKind.DBT else len(discovered)
        _sync_run_progress(run, SyncPhase.WRITING, 0, total)
        with transaction.atomic():
            if platform.kind == PlatformKind.DBT:
                from .dbt_services import dbt_catalog_apply

                counts = dbt_catalog_apply(platform=platform, project=discovered, now=timezone.now())
            else:
                counts = catalog_apply(platform=platform, discovered=discovered, now=timezone.now())
            if counts.created or counts.updated or counts.removed:
                from apps.search.services import search_index_schedule

                # dbt enriches the warehouse's assets: its products are the ones to reindex.
                indexed_platform_id = platform.warehouse_id if platform.kind == PlatformKind.DBT else platform.pk
                if indexed_platform_id:
                    search_index_schedule(platform_id=indexed_platform_id)  # on commit, on a worker
            run.status = SyncRunStatus.SUCCEEDED
            run.created_count = counts.created
            run.updated_count = counts.updated
            run.unchanged_count = counts.unchanged
            run.removed_count = counts.removed
            run.finished_at = timezone.now()
            run.phase, run.progress_done = SyncPhase.DONE, total
            run.save(
                update_fields=[
                    "status",
                    "created_count",
                    "updated_count",
                    "unchanged_count",
                    "removed_count",
                    "finished_at",
                    "phase",
                    "progress_done",
                ]
            )
            event_record(kind=UsageEventKind.SYNC_RUN, sync_run=run)
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
            platform,
            platform.pk,
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.removed,
        )
    progress_reporter.reset(progress_token)
    return run


@transaction.atomic
def schema_mapping_apply(*, platform: Platform) -> list[OutputPort]:
    """Make sure every data product an ``ExposureAssignment`` of ``platform`` names (a mapping
    rule) has an output port on that schema (whole schema, ``port_type`` schema), so the tables
    sync finds there, today's and tomorrow's, show on the product. Ports that exist (same
    platform, schema, no table) are left alone, whatever their name. Ports are made by the output
    port service, so governed exposure applies (a location another product already exposes
    awaits review). Returns the ports created (``[]`` when nothing was missing; two queries
    then). Raises django ``ValidationError`` if a port cannot be created.
    """
    from apps.catalog import services as catalog_services

    mappings = list(
        ExposureAssignment.objects.filter(platform=platform, table="", data_product__isnull=False).select_related(
            "data_product"
        )
    )
    if not mappings:
        return []
    existing = set(
        OutputPort.objects.filter(
            platform=platform,
            table="",
            data_product__in=[m.data_product_id for m in mappings],
        ).values_list("data_product_id", "database", "schema")
    )
    created = []
    for mapping in mappings:
        if (mapping.data_product_id, mapping.database, mapping.schema) in existing:
            continue
        taken = set(OutputPort.objects.filter(data_product=mapping.data_product).values_list("name", flat=True))
        name = base = f"{mapping.schema} schema"[:110]
        suffix = 2
        while name in taken:
            name, suffix = f"{base} ({suffix})", suffix + 1
        created.append(
            catalog_services.output_port_create(
                actor=None,
                data_product=mapping.data_product,
                name=name,
                platform=platform,
                schema=mapping.schema,
                database=mapping.database,
                description=f"Every table and view of the `{mapping.schema}` schema on {platform.name} (mapping rule).",
            )
        )
        existing.add((mapping.data_product_id, mapping.database, mapping.schema))
    return created


@transaction.atomic
def platform_sync_settings_update(
    *,
    platform: Platform,
    actor: User,
    sync_enabled: bool | None = None,
    sync_interval_minutes: int | None = None,
) -> Platform:
    """Set whether ``platform`` syncs on schedule and every how many minutes (5 to 10,080, a
    week); ``None`` leaves a setting as it is. The next due time counts from the last run's
    start, so a shorter interval applies at the next beat tick. A change is audited
    (``platform.schedule_changed``, before/after). Raises ``ApplicationError`` with a field error
    on ``sync_interval_minutes`` outside the range. Used by the platform page and the API."""
    from apps.audit.services import audit_record

    platform = Platform.objects.select_for_update().get(pk=platform.pk)
    before = {"sync_enabled": platform.sync_enabled, "sync_interval_minutes": platform.sync_interval_minutes}
    if sync_interval_minutes is not None:
        if not 5 <= sync_interval_minutes <= 7 * 24 * 60:
            raise ApplicationError(
                "The sync interval is out of range.",
                {"sync_interval_minutes": ["Between 5 and 10080 minutes (a week)."]},
            )
        platform.sync_interval_minutes = sync_interval_minutes
    if sync_enabled is not None:
        platform.sync_enabled = sync_enabled
    after = {"sync_enabled": platform.sync_enabled, "sync_interval_minutes": platform.sync_interval_minutes}
    if after != before:
        platform.save(update_fields=["sync_enabled", "sync_interval_minutes", "updated_at"])
        audit_record(actor=actor, action="platform.schedule_changed", obj=platform, before=before, after=after)
        logger.info(
            "%s set the sync of platform %s to %s every %s min",
            actor,
            platform.pk,
            "on" if platform.sync_enabled else "off",
            platform.sync_interval_minutes,
        )
    return platform


def platform_sync_due() -> list[int]:
    """Ids of platforms whose scheduled sync is due: ``sync_enabled``, no run in progress, and
    no run started in the last ``sync_interval_minutes`` (or none ever). Runs left ``running``
    for longer than ``SYNC_RUN_STALE_AFTER`` do not count as in progress (``platform_sync`` marks
    them failed). Ordered by id. Reads only; enqueueing is the caller's job.
    """
    now = timezone.now()
    interval = Func(
        F("sync_interval_minutes"),
        function="make_interval",
        template="make_interval(mins => %(expressions)s)",
        output_field=DurationField(),
    )
    in_progress = SyncRun.objects.filter(
        platform=OuterRef("pk"),
        status=SyncRunStatus.RUNNING,
        started_at__gt=now - SYNC_RUN_STALE_AFTER,
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
            platform=platform,
            status=SyncRunStatus.RUNNING,
            started_at__lte=now - SYNC_RUN_STALE_AFTER,
        ).update(
            status=SyncRunStatus.FAILED,
            finished_at=now,
            error="Abandoned: the worker stopped before the sync finished.",
        )
        if stale:
            logger.warning("Marked %s abandoned sync run(s) of platform %s as failed", stale, platform.pk)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                platform=platform,
                triggered_by=actor,
                status=SyncRunStatus.RUNNING,
                started_at=now,
            )
    except IntegrityError:
        raise ApplicationError(f"A sync of {platform} is already running.") from None


class _ProgressWriter:
    """The connectors' progress callback for one run: writes ``reading`` progress to the run row
    (committed at once; the run row is outside the catalog transaction) at most once per
    ``PROGRESS_WRITE_INTERVAL`` seconds, plus the first report."""

    def __init__(self, run: SyncRun):
        self.run = run
        self.last_write: float | None = None

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if self.last_write is not None and now - self.last_write < PROGRESS_WRITE_INTERVAL:
            return
        self.last_write = now
        _sync_run_progress(self.run, SyncPhase.READING, done, total)


def _sync_run_progress(run: SyncRun, phase: str, done: int, total: int | None) -> None:
    run.phase, run.progress_done, run.progress_total = phase, done, total
    SyncRun.objects.filter(pk=run.pk).update(phase=phase, progress_done=done, progress_total=total)


def _sync_run_fail(run: SyncRun, error: str) -> None:
    run.status = SyncRunStatus.FAILED
    run.error = error
    run.finished_at = timezone.now()
    # Nothing was applied (the catalog transaction rolled back), whatever was counted.
    run.created_count = run.updated_count = run.unchanged_count = run.removed_count = 0
    run.save(
        update_fields=[
            "status",
            "error",
            "finished_at",
            "created_count",
            "updated_count",
            "unchanged_count",
            "removed_count",
        ]
    )
    event_record(kind=UsageEventKind.SYNC_RUN, sync_run=run)


def _scrub(message: str, platform: Platform) -> str:
    """``message`` without the platform's password, should a driver ever echo it."""
    try:
        password = platform.connection_params().password
    except Exception:
        return message
    return message.replace(password, "***") if password else message


# -- applying a discovery to the catalog --------------------------------------------------


def catalog_apply(*, platform: Platform, discovered: list[DiscoveredAsset], now) -> SyncCounts:
    """Compare ``discovered`` with ``platform``'s assets and write the difference (bulk
    statements only, none per asset): assets, columns, foreign keys, privileges, then the
    mapping rules (``schema_mapping_apply``). ``now`` (aware datetime) stamps
    ``last_changed_at``/``removed_at``. Runs inside the caller's transaction (``platform_sync``
    and ``dbt_catalog_apply`` call it); returns the :class:`SyncCounts`."""
    counts = SyncCounts()
    existing: dict[tuple[str, str], Asset] = {
        (a.schema, a.name): a
        for a in Asset.objects.filter(platform=platform).only(
            "id",
            "schema",
            "name",
            "fingerprint",
            "removed_at",
            "row_count_estimate",
            "size_bytes",
            "last_analyzed_at",
            "privileges_fingerprint",
        )
    }
    seen: set[tuple[str, str]] = set()
    to_write: list[Asset] = []
    to_write_discovered: list[DiscoveredAsset] = []
    stats_changed: list[Asset] = []
    privileges_changed: list[tuple[tuple[str, str], DiscoveredAsset]] = []
    for item in discovered:
        key = item.key
        if key in seen:
            continue  # a connector bug; the (platform, schema, name) constraint would fail anyway
        seen.add(key)
        fingerprint = item.fingerprint()
        current = existing.get(key)
        # None: the connector does not read privileges; keep what the catalog has.
        privileges_fingerprint = (
            item.privileges_fingerprint()
            if item.privileges is not None
            else (current.privileges_fingerprint if current is not None else "")
        )
        previous_privileges = current.privileges_fingerprint if current is not None else ""
        if item.privileges is not None and previous_privileges != privileges_fingerprint:
            privileges_changed.append((key, item))
        if current is not None and current.fingerprint == fingerprint and current.removed_at is None:
            counts.unchanged += 1
            if (
                current.row_count_estimate != item.row_count_estimate
                or current.size_bytes != item.size_bytes
                or current.last_analyzed_at != item.last_analyzed_at
                or current.privileges_fingerprint != privileges_fingerprint
            ):
                current.row_count_estimate = item.row_count_estimate
                current.size_bytes = item.size_bytes
                current.last_analyzed_at = item.last_analyzed_at
                current.privileges_fingerprint = privileges_fingerprint
                stats_changed.append(current)
            continue
        if current is None:
            counts.created += 1
        else:
            counts.updated += 1
        counts.changed_keys.add(key)
        to_write.append(
            Asset(
                platform=platform,
                schema=item.schema,
                name=item.name,
                kind=item.kind,
                description=item.description,
                row_count_estimate=item.row_count_estimate,
                size_bytes=item.size_bytes,
                last_analyzed_at=item.last_analyzed_at,
                fingerprint=fingerprint,
                privileges_fingerprint=privileges_fingerprint,
                last_changed_at=now,
                removed_at=None,
            )
        )
        to_write_discovered.append(item)

    # New and changed assets in one upsert; PostgreSQL returns every row's id.
    Asset.objects.bulk_create(
        to_write,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["platform", "schema", "name"],
        update_fields=[*_ASSET_SYNCED_FIELDS, "updated_at"],
    )
    if stats_changed:
        # Statistics and privileges, not a change of the asset: neither updated_at nor last_changed_at moves.
        Asset.objects.bulk_update(stats_changed, _ASSET_OUTSIDE_FINGERPRINT_FIELDS, batch_size=BATCH_SIZE)

    gone = [a.pk for key, a in existing.items() if key not in seen and a.removed_at is None]
    for chunk in chunks(gone):
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
    _privileges_replace(changed=privileges_changed, ids=ids)
    schema_mapping_apply(platform=platform)
    return counts


def _privileges_replace(*, changed: list[tuple[tuple[str, str], DiscoveredAsset]], ids: dict) -> None:
    """Make the ``AssetPrivilege`` rows of assets whose privileges moved exactly the discovered
    ones (delete and insert in bulk; nothing at all when no privilege moved)."""
    if not changed:
        return
    asset_ids = [ids[key] for key, _ in changed]
    for chunk in chunks(asset_ids):
        AssetPrivilege.objects.filter(asset_id__in=chunk).delete()
    AssetPrivilege.objects.bulk_create(
        [
            AssetPrivilege(
                asset_id=ids[key],
                grantee=p.grantee[:255],
                privilege=p.privilege[:32],
                is_grantable=p.is_grantable,
                via_schema=p.via_schema,
            )
            for key, item in changed
            # A privilege held both on the table and through its schema is stored once.
            for p in {
                (p.grantee, p.privilege): p for p in sorted(item.privileges, key=lambda p: p.via_schema, reverse=True)
            }.values()
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )


def _columns_replace(*, assets: list[Asset], discovered: list[DiscoveredAsset]) -> None:
    """Make the columns of the written ``assets`` exactly ``discovered``'s: delete the ones gone,
    upsert the rest by ``(asset, name)`` so a surviving column keeps its id."""
    if not assets:
        return
    wanted = {(asset.pk, col.name) for asset, item in zip(assets, discovered, strict=True) for col in item.columns}
    stale = [
        pk
        for chunk in chunks([a.pk for a in assets])
        for pk, asset_id, name in Column.objects.filter(asset_id__in=chunk).values_list("pk", "asset_id", "name")
        if (asset_id, name) not in wanted
    ]
    for chunk in chunks(stale):
        Column.objects.filter(pk__in=chunk).delete()
    Column.objects.bulk_create(
        [
            Column(
                asset_id=asset.pk,
                name=col.name,
                ordinal=col.ordinal,
                data_type=col.data_type,
                description=col.description,
                nullable=col.nullable,
                is_primary_key=col.is_primary_key,
                default=col.default,
            )
            for asset, item in zip(assets, discovered, strict=True)
            for col in item.columns
        ],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["asset", "name"],
        update_fields=_COLUMN_SYNCED_FIELDS,
    )


def _foreign_keys_rebuild(
    *,
    discovered: list[DiscoveredAsset],
    ids: dict[tuple[str, str], int],
    changed_keys: set[tuple[str, str]],
    arrived_ids: set[int],
) -> None:
    """Replace the foreign-key relations of changed assets, and add those of unchanged assets
    that point at an asset that just appeared or came back (their own fingerprint did not move).
    A key whose referred table is not in the catalog (a schema not synced) is skipped."""
    changed_ids = [ids[key] for key in changed_keys]
    for chunk in chunks(changed_ids):
        AssetRelation.objects.filter(kind=AssetRelationKind.FOREIGN_KEY, source_id__in=chunk).delete()
    relations = []
    for item in discovered:
        source_changed = item.key in changed_keys
        for fk in item.foreign_keys:
            target_id = ids.get((fk.referred_schema, fk.referred_table))
            if target_id is None or not (source_changed or target_id in arrived_ids):
                continue
            relations.append(
                AssetRelation(
                    source_id=ids[item.key],
                    target_id=target_id,
                    kind=AssetRelationKind.FOREIGN_KEY,
                    name=fk.name,
                    source_columns=list(fk.columns),
                    target_columns=list(fk.referred_columns),
                )
            )
    AssetRelation.objects.bulk_create(relations, batch_size=BATCH_SIZE, ignore_conflicts=True)


def chunks(items: list, size: int = 5000):
    """``items`` in slices of at most ``size`` (an ``IN (...)`` list PostgreSQL plans well)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- operator actions (UI and API) ------------------------------------------------------------


def platform_sync_request(*, platform: Platform, actor: User) -> None:
    """Enqueue a metadata sync of ``platform`` on the worker, after commit. The run appears in
    the platform's sync runs when the worker starts it (a sync already running makes it a no-op).
    Callers check :func:`~apps.platforms.selectors.platform_can_operate` first."""
    from .tasks import platform_sync_task

    platform_id, actor_id = platform.pk, actor.pk
    enqueue_on_commit(platform_sync_task, platform_id, actor_id)
