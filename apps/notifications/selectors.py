"""Reads for notifications: a user only ever sees their own."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification


def notification_list(*, user) -> QuerySet[Notification]:
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user)


def notification_unread_count(*, user) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).count()


def webhook_deliveries_can_operate(*, user) -> bool:
    """Whether ``user`` may read the webhook delivery log and redeliver: superusers and holders of
    ``notifications.change_webhookdelivery`` (platform operators given it in the admin)."""
    return bool(user.is_authenticated and (user.is_superuser or user.has_perm("notifications.change_webhookdelivery")))


def webhook_delivery_list(*, user):
    """The delivery log, newest first (``Http404`` for anyone who may not operate webhooks)."""
    from django.http import Http404

    from .models import WebhookDelivery

    if not webhook_deliveries_can_operate(user=user):
        raise Http404
    return WebhookDelivery.objects.select_related("endpoint").order_by("-created_at", "-id")
