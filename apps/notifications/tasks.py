"""Celery tasks for e-mail copies of notifications and for webhooks. They take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, time_limit=60, soft_time_limit=50, max_retries=None)
def webhook_deliver_task(self, delivery_id: int) -> None:
    """One attempt; a transient failure is retried after the service's backoff (``retry_in``).
    The service counts attempts and fails the delivery after ``WEBHOOK_MAX_ATTEMPTS``."""
    try:
        services.webhook_deliver(delivery_id=delivery_id)
    except services.WebhookTransientError as exc:
        raise self.retry(exc=exc, countdown=exc.retry_in) from None


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def webhook_retry_due_task() -> int:
    """Beat: re-enqueue pending deliveries whose retry was lost (see ``webhook_retry_due``)."""
    return services.webhook_retry_due()


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def notification_email_task(notification_ids: list[int]) -> int:
    """Send the e-mail copies of these notifications (after the commit that created them)."""
    return services.notification_email_send(notification_ids=notification_ids)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=280)
def notification_email_due_task() -> int:
    """Beat: send the e-mail copies whose task was lost (``notification_email_due``)."""
    return services.notification_email_due()
