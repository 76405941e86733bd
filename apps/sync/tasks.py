"""Celery tasks for metadata sync: thin wrappers that re-fetch by id and call one service.

``platform_sync_due_task`` is scheduled in ``mesh_portal/celery.py`` (every minute).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from apps.core.exceptions import ApplicationError
from apps.core.tasks import enqueue
from apps.platforms.models import Platform

from .services import SYNC_TIME_LIMIT_SECONDS, platform_sync, platform_sync_due

logger = logging.getLogger(__name__)


# No autoretry: platform_sync records connector failures on the SyncRun instead of raising,
# and the next scheduled sweep tries again. The soft limit raises inside platform_sync, which
# marks the run failed; the hard limit is the backstop.
@shared_task(acks_late=True, soft_time_limit=SYNC_TIME_LIMIT_SECONDS, time_limit=SYNC_TIME_LIMIT_SECONDS + 60)
def platform_sync_task(platform_id: int, actor_id: int | None = None) -> None:
    """Sync one platform's metadata (``platform_sync``); skipped if it is gone or already syncing."""
    platform = Platform.objects.filter(pk=platform_id).first()
    if platform is None:
        logger.info("Platform %s no longer exists; sync skipped", platform_id)
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        platform_sync(platform=platform, actor=actor)
    except ApplicationError as exc:
        logger.info("Sync of platform %s skipped: %s", platform_id, exc.message)
        return
    from apps.contracts.tasks import contract_drift_check_platform_task  # contracts read what the sync wrote

    contract_drift_check_platform_task.delay(platform_id)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def platform_sync_due_task() -> None:
    """Enqueue a sync for each platform that is due (``platform_sync_due``)."""
    for platform_id in platform_sync_due():
        enqueue(platform_sync_task, platform_id)
