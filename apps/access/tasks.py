"""Celery tasks for grants. They take ids and call one service; the logic is in the services package."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.contrib.auth import get_user_model

from apps.access.enforcement import PlatformGrantError, TransientPlatformError
from apps.core.tasks import enqueue

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    autoretry_for=(TransientPlatformError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def grant_apply_task(self, grant_id: int, takeover: bool = False) -> None:
    try:
        services.grant_apply(grant_id=grant_id, takeover=takeover or self.request.retries > 0)
    except TransientPlatformError as exc:
        if self.request.retries >= self.max_retries:
            services.grant_mark_failed(grant_id=grant_id, reason=f"Gave up after {self.max_retries} retries: {exc}")
            return
        raise


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def grants_apply_task(grant_ids: list[int]) -> None:
    """Grants approved in one transaction (at most ``APPLY_BATCH_SIZE``); transient platform
    errors hand each grant to a retrying ``grant_apply_task``."""
    services.grants_apply(grant_ids=grant_ids)


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    autoretry_for=(TransientPlatformError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def grant_revoke_task(
    self, grant_id: int, reason: str = "", expired: bool = False, actor_id: int | None = None
) -> None:
    """Revoke on the platform; transient errors retry with backoff, and when the retries are
    exhausted (or the platform refuses) the grant ends failed with an alert (never silently)."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        services.grant_revoke(grant_id=grant_id, reason=reason, expired=expired, actor=actor)
    except TransientPlatformError as exc:
        if self.request.retries >= self.max_retries:
            services.grant_revoke_give_up(grant_id=grant_id, error=f"Gave up after {self.max_retries} retries: {exc}")
            return
        raise
    except PlatformGrantError as exc:
        services.grant_revoke_give_up(grant_id=grant_id, error=str(exc))


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def grant_expire_due_task() -> None:
    """Beat: grants whose end date passed become revoking (recorded first), then are revoked."""
    for grant_id in services.grant_expire_due():
        enqueue(grant_revoke_task, grant_id)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def grant_sweep_pending_task(older_than_s: float = 30) -> None:
    """Beat: re-enqueue grants stuck in pending/applying (their apply task was lost)."""
    for grant_id in services.grant_pending_stuck(older_than=timedelta(seconds=older_than_s)):
        enqueue(grant_apply_task, grant_id, takeover=True)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def grant_sweep_revoking_task(older_than_s: float | None = None) -> None:
    """Beat: re-enqueue grants stuck in revoking (their revoke task was lost, e.g. the broker was
    down when the revocation was committed). A committed revocation always reaches the platform."""
    older_than = services.REVOKING_STALE_AFTER if older_than_s is None else timedelta(seconds=older_than_s)
    for grant_id in services.grant_revoking_stuck(older_than=older_than):
        enqueue(grant_revoke_task, grant_id)


@shared_task(
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(TransientPlatformError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def platform_reconcile_task(platform_id: int) -> None:
    services.platform_reconcile(platform_id=platform_id)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def platform_reconcile_due_task() -> None:
    """Beat: one reconcile task per platform that has active grants."""
    for platform_id in services.platform_ids_to_reconcile():
        enqueue(platform_reconcile_task, platform_id)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def access_requests_notify_task(access_request_ids: list[int], event: str) -> None:
    services.access_requests_notify(access_request_ids=access_request_ids, event=event)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def access_requests_notify_approvers_task(access_request_ids: list[int]) -> None:
    services.access_requests_notify_approvers(access_request_ids=access_request_ids)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def access_request_remind_task() -> None:
    """Beat: remind approvers of requests pending past the SLA; escalate after twice the SLA."""
    services.access_request_remind_due()


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def grant_expiring_notify_task() -> None:
    """Beat: tell consumers whose access ends within 7 days."""
    services.grant_expiring_notify()


@shared_task(bind=True, acks_late=True, time_limit=60, soft_time_limit=50, max_retries=20)
def access_request_reapproval_task(self, access_request_id: int, actor_id: int | None = None) -> None:
    """After a classification change revoked a grant: submit its re-approval request once the
    revocation is done (retried every minute meanwhile)."""
    from .reevaluation import ReapprovalNotReady, access_request_reapproval_submit

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        access_request_reapproval_submit(access_request_id=access_request_id, actor=actor)
    except ReapprovalNotReady as exc:
        raise self.retry(countdown=60) from exc
