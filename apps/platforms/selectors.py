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

def platform_can_operate(*, user, platform: Platform) -> bool:
    """Platform operators: global ``platforms.change_platform`` (admins), or members of the
    platform's owner team. They see its settings and sync runs, change its schedule, sync it."""
    if not user.is_authenticated:
        return False
    if user.has_perm("platforms.change_platform"):
        return True
    return platform.owner_team_id is not None and platform.owner_team.memberships.filter(user=user).exists()


def platform_list(*, user) -> QuerySet[Platform]:
    """Every platform (names are not secret: consumers pick output ports on them); empty for anonymous."""
    if not user.is_authenticated:
        return Platform.objects.none()
    return Platform.objects.select_related("owner_team").order_by("name")


def platform_get_for_operator(*, user, slug: str) -> Platform:
    """The platform with ``slug`` if ``user`` operates it; ``Http404`` for missing and forbidden alike."""
    from django.http import Http404

    platform = Platform.objects.select_related("owner_team").filter(slug=slug).first()
    if platform is None or not platform_can_operate(user=user, platform=platform):
        raise Http404("No such platform.")
    return platform


def platform_identity_list(*, user) -> QuerySet:
    """``user``'s own logins on platforms."""
    from .models import PlatformIdentity

    return PlatformIdentity.objects.filter(user=user).select_related("platform").order_by("platform__name", "pk")
