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
from datetime import timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, DurationField, Exists, F, Func, Max, OuterRef, Q
from django.db.models.expressions import ExpressionWrapper
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.tasks import enqueue_on_commit
from apps.insights.choices import UsageEventKind
from apps.insights.services import event_record
from apps.platforms.choices import PlatformKind, SyncPhase, SyncRunStatus
from apps.platforms.models import Platform, SyncRun

from .connectors import ConnectorError, get_connector
from .connectors.base import progress_reporter
from .engine import BATCH_SIZE, SyncCounts, catalog_apply, chunks, schema_mapping_apply  # noqa: F401  (public through services too)

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

# The sync task's soft time limit; a run still "running" after twice this is taken for a worker
# that died mid-sync (killed, OOM, host lost) and is marked failed so the platform syncs again.
SYNC_TIME_LIMIT_SECONDS = 30 * 60
SYNC_RUN_STALE_AFTER = timedelta(seconds=2 * SYNC_TIME_LIMIT_SECONDS)
# Rows per bulk statement in the catalog writes (sync and dbt apply).
PROGRESS_WRITE_INTERVAL = 1.0


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


def platform_sync_request(*, platform: Platform, actor: User) -> None:
    """Enqueue a metadata sync of ``platform`` on the worker, after commit. The run appears in
    the platform's sync runs when the worker starts it (a sync already running makes it a no-op).
    Callers check :func:`~apps.platforms.selectors.platform_can_operate` first."""
    from .tasks import platform_sync_task

    platform_id, actor_id = platform.pk, actor.pk
    enqueue_on_commit(platform_sync_task, platform_id, actor_id)
