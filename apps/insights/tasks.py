"""Periodic insights work (registered in mesh_portal/celery.py): daily KPI snapshots and pruning
of the fact table. Tasks hold no logic."""

from celery import shared_task


@shared_task(acks_late=True, time_limit=30 * 60)
def kpi_snapshot_daily_task() -> int:
    """Snapshot every day up to yesterday that has no snapshot yet (first run: a year back)."""
    from .snapshots import kpi_snapshots_catch_up

    return kpi_snapshots_catch_up()


@shared_task(acks_late=True, time_limit=30 * 60)
def usage_events_prune_task() -> int:
    """Delete fact rows older than INSIGHTS_RETENTION_DAYS."""
    from .services import usage_events_prune

    return usage_events_prune()
