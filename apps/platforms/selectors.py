"""Reads for platforms: sync history.

Platforms are administered by platform teams and admins; the views calling these check that
permission before, so these take the platform rather than a user.
"""
from __future__ import annotations

from django.db.models import QuerySet

from .models import Platform, SyncRun


def sync_run_list(*, platform: Platform) -> QuerySet[SyncRun]:
    """The platform's sync runs, newest first, with who triggered them (``None`` for scheduled)."""
    return SyncRun.objects.filter(platform=platform).select_related("triggered_by").order_by("-started_at", "-pk")


def platform_last_run(*, platform: Platform) -> SyncRun | None:
    """The platform's most recently started sync run (running, succeeded or failed), or ``None``."""
    return sync_run_list(platform=platform).first()
