"""Celery tasks for webhooks. They take ids and call one service."""
from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(
    bind=True, acks_late=True, time_limit=60, soft_time_limit=50,
    autoretry_for=(services.WebhookTransientError,), retry_backoff=5, retry_backoff_max=3600, retry_jitter=True,
    max_retries=6,
)
def webhook_deliver_task(self, delivery_id: int) -> None:
    services.webhook_deliver(delivery_id=delivery_id, final_attempt=self.request.retries >= self.max_retries)
