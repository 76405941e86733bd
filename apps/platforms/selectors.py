"""Reads for platforms: sync history.

Platforms are administered by platform teams and admins; the views calling these check that
permission before, so these take the platform rather than a user.
"""
from __future__ import annotations

from django.db.models import QuerySet

from .models import DbtArtifactUpload, Platform, SyncRun


def sync_run_list(*, platform: Platform) -> QuerySet[SyncRun]:
    """The platform's sync runs, newest first, with who triggered them (``None`` for scheduled)."""
    return SyncRun.objects.filter(platform=platform).select_related("triggered_by").order_by("-started_at", "-pk")


def platform_last_run(*, platform: Platform) -> SyncRun | None:
    """The platform's most recently started sync run (running, succeeded or failed), or ``None``."""
    return sync_run_list(platform=platform).first()


def dbt_platform_context(*, platform: Platform) -> dict:
    """What the page of a dbt platform shows besides runs: ``latest_upload`` (the newest
    ``DbtArtifactUpload`` without its JSON texts, or ``None``), ``warehouse`` (the linked
    platform or ``None``), and ``dbt_asset_count`` (assets carrying this project's metadata)."""
    latest = (
        DbtArtifactUpload.objects.filter(platform=platform).select_related("uploaded_by")
        .defer("manifest_json", "catalog_json", "run_results_json").first()
    )
    return {
        "latest_upload": latest,
        "warehouse": platform.warehouse,
        "dbt_asset_count": platform.dbt_assets.filter(removed_at__isnull=True).count(),
    }
