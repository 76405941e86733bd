"""Writes for notifications: in-app messages with email, and signed outbound webhooks.

Callers (``apps.access.services``) say *what happened*; this module decides how people and
systems hear about it. Emails go through Django's email backend (console in the demo).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from .choices import DeliveryStatus
from .models import Notification, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mesh-Signature"
TIMESTAMP_HEADER = "X-Mesh-Timestamp"
EVENT_HEADER = "X-Mesh-Event"
EVENT_ID_HEADER = "X-Mesh-Event-Id"


class WebhookTransientError(Exception):
    """The endpoint may accept the delivery later (network error, timeout, 408, 429, 5xx).
    ``retry_in``: seconds until the next attempt (exponential backoff, see :func:`webhook_retry_delay`)."""

    def __init__(self, message: str, retry_in: float = 0.0):
        super().__init__(message)
        self.retry_in = retry_in


@dataclass(frozen=True)
class Notice:
    """One thing to tell ``recipients`` (users): see :func:`notify`."""

    recipients: tuple
    verb: str
    subject: str
    message: str
    obj: Any = None
    url: str = ""
    dedupe_key: str = ""


def notify(
    *, recipients: Iterable, verb: str, obj=None, subject: str, message: str, url: str = "", dedupe_key: str = ""
) -> list[Notification]:
    """Tell each of ``recipients`` (users; duplicates and inactive users skipped) in the in-app
    inbox and by email. With ``dedupe_key`` a recipient who already got that notification gets
    nothing new. Returns the notifications created.

    The in-app notification is written now; the e-mail copy is sent by ``notification_email_task``
    after commit (never inside the web request), and ``notification_email_due_task`` (beat) sends any
    copy whose task was lost (broker down)."""
    notice = Notice(
        recipients=tuple(recipients),
        verb=verb,
        obj=obj,
        subject=subject,
        message=message,
        url=url,
        dedupe_key=dedupe_key,
    )
    return notify_many([notice])


def notify_many(notices: Iterable[Notice]) -> list[Notification]:
    """:func:`notify` for many notices at once: one query for the notifications already sent
    (``dedupe_key``), one ``INSERT`` for the new ones, one e-mail task. When a concurrent run
    inserted one of them first (the unique ``(recipient, dedupe_key)``), they are written one
    by one and the duplicates skipped. Returns the notifications created."""
    rows: list[Notification] = []
    for notice in notices:
        seen = set()
        for user in notice.recipients:
            if user is None or user.pk in seen or not user.is_active:
                continue
            seen.add(user.pk)
            rows.append(
                Notification(
                    recipient=user,
                    verb=notice.verb,
                    message=notice.message,
                    url=notice.url,
                    dedupe_key=notice.dedupe_key,
                    email_subject=notice.subject[:300],
                    object_type=_object_type(notice.obj) if notice.obj is not None else "",
                    object_id=str(notice.obj.pk) if notice.obj is not None else "",
                )
            )
    keyed = [n for n in rows if n.dedupe_key]
    if keyed:
        sent = set(
            Notification.objects.filter(
                recipient__in={n.recipient_id for n in keyed}, dedupe_key__in={n.dedupe_key for n in keyed}
            ).values_list("recipient_id", "dedupe_key")
        )
        fresh = []
        for n in rows:
            if n.dedupe_key:
                if (n.recipient_id, n.dedupe_key) in sent:
                    continue
                sent.add((n.recipient_id, n.dedupe_key))
            fresh.append(n)
        rows = fresh
    if not rows:
        return []
    try:
        with transaction.atomic():
            created = Notification.objects.bulk_create(rows)
    except IntegrityError:  # a concurrent run created one first: one by one, skipping duplicates
        created = []
        for n in rows:
            n.pk = None
            try:
                with transaction.atomic():
                    n.save(force_insert=True)
            except IntegrityError:
                continue
            created.append(n)
    if created:
        from apps.core.tasks import enqueue_on_commit

        from .tasks import notification_email_task

        enqueue_on_commit(notification_email_task, [n.pk for n in created])
    return created


#: Copies older than this are not e-mailed by the sweep any more (the in-app notification stays).
EMAIL_GIVE_UP_AFTER = timedelta(days=1)
#: The sweep leaves a copy this long to its own task.
EMAIL_SWEEP_AFTER = timedelta(minutes=2)


def notification_email_send(*, notification_ids: list[int]) -> int:
    """Send the e-mail copy of each notification not sent yet (locked, so a task and the sweep never
    both send it); a recipient without an address is marked done. Returns the number of e-mails sent.
    Sending errors are logged and the copy left for the sweep."""
    sent = 0
    for pk in notification_ids:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True)
                .select_related("recipient")
                .filter(pk=pk, emailed_at__isnull=True)
                .first()
            )
            if notification is None:
                continue
            user = notification.recipient
            if user.email and user.is_active:
                link = f"\n\n{settings.PORTAL_BASE_URL.rstrip('/')}{notification.url}" if notification.url else ""
                subject = notification.email_subject or notification.get_verb_display()
                try:
                    send_mail(f"[Mesh Portal] {subject}", f"{notification.message}{link}\n", None, [user.email])
                except Exception as exc:  # noqa: BLE001 - SMTP errors of every kind: the sweep tries again
                    logger.warning(
                        "E-mail of notification %s not sent (%s); the sweep will retry.", pk, type(exc).__name__
                    )
                    continue
                sent += 1
            notification.emailed_at = timezone.now()
            notification.save(update_fields=["emailed_at"])
    return sent


def notification_email_due() -> int:
    """Beat: send the copies whose task was lost (older than :data:`EMAIL_SWEEP_AFTER`, younger than
    :data:`EMAIL_GIVE_UP_AFTER`). Returns the number sent."""
    now = timezone.now()
    ids = list(
        Notification.objects.filter(
            emailed_at__isnull=True, created_at__lte=now - EMAIL_SWEEP_AFTER, created_at__gte=now - EMAIL_GIVE_UP_AFTER
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    return notification_email_send(notification_ids=ids)


@transaction.atomic
def notification_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one of ``user``'s notifications (or all of them) read. Returns how many changed."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())


def _object_type(obj) -> str:
    return {"AccessRequest": "access_request"}.get(type(obj).__name__, type(obj).__name__.lower())


# --- webhooks ----------------------------------------------------------------------------------


def webhook_publish(*, event: str, payload: dict, dedupe_key: str = "") -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint subscribed to it; each delivery is sent by a
    Celery task after commit. With ``dedupe_key`` an endpoint gets the event once."""
    return webhook_publish_many([(event, payload, dedupe_key)])


def webhook_publish_many(events: Iterable[tuple[str, dict, str]]) -> list[WebhookDelivery]:
    """:func:`webhook_publish` for many ``(event, payload, dedupe_key)`` at once: one query for
    the endpoints (nothing else when none is active), one per endpoint for the deliveries it
    already has."""
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    if not endpoints:
        return []
    events = list(events)
    deliveries = []
    for endpoint in endpoints:
        wanted = [(event, payload, key) for event, payload, key in events if endpoint.wants(event)]
        keys = {key for _, _, key in wanted if key}
        sent = set(
            WebhookDelivery.objects.filter(endpoint=endpoint, dedupe_key__in=keys).values_list("dedupe_key", flat=True)
            if keys
            else ()
        )
        for event, payload, key in wanted:
            if key:
                if key in sent:
                    continue
                sent.add(key)
            body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
            delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=body, dedupe_key=key)
            deliveries.append(delivery)
            _enqueue_delivery(delivery.pk)
    return deliveries


def _enqueue_delivery(delivery_id: int) -> None:
    from .tasks import webhook_deliver_task

    def send():
        try:
            webhook_deliver_task.delay(delivery_id)
        except Exception:  # the broker is down (or an eager retry): the delivery stays pending in the log
            logger.exception("Could not enqueue webhook delivery %s", delivery_id)

    transaction.on_commit(send)


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``b"<timestamp>." + body`` with ``secret`` (the
    scheme Stripe and GitHub use: the timestamp inside the MAC stops replays of old bodies)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def webhook_retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1-based): ``WEBHOOK_RETRY_BASE_SECONDS``
    doubled each time, capped at ``WEBHOOK_RETRY_MAX_SECONDS``, plus up to 10 % jitter (so that
    many deliveries to one recovering endpoint do not all arrive at once)."""
    import random

    base = settings.WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    delay = min(base, settings.WEBHOOK_RETRY_MAX_SECONDS)
    return delay * (1 + random.random() * 0.1)  # noqa: S311 (jitter, not a secret)


def webhook_deliver(*, delivery_id: int, final_attempt: bool = False) -> WebhookDelivery:
    """POST one delivery, signed. 2xx → delivered. A 4xx (other than 408/429) fails it for good.
    A network error, timeout, 408/429 or 5xx records ``next_attempt_at`` and raises
    ``WebhookTransientError`` (with ``retry_in`` seconds) for the task to retry, unless this was
    attempt ``WEBHOOK_MAX_ATTEMPTS`` or ``final_attempt`` (then it is marked failed with the error;
    an admin can redeliver it). With the defaults the attempts span about 18 hours. Idempotent:
    a delivered or failed delivery is left alone."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        return delivery
    endpoint = delivery.endpoint
    body = json.dumps(
        {"id": str(delivery.event_id), "event": delivery.event, "data": delivery.payload}, sort_keys=True
    ).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "MeshPortal-Webhook/1",
            EVENT_HEADER: delivery.event,
            EVENT_ID_HEADER: str(delivery.event_id),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
        },
    )
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    status_code, error, transient = None, "", False
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 (URL set by admins)
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        error = f"HTTP {exc.code} {exc.reason}"
        transient = exc.code >= 500 or exc.code in (408, 429)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        transient = True
    final_attempt = final_attempt or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    delivery.status_code = status_code
    delivery.error = error
    delivery.next_attempt_at = None
    retry_in = 0.0
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
    elif not transient or final_attempt:
        delivery.status = DeliveryStatus.FAILED
    else:
        retry_in = webhook_retry_delay(delivery.attempts)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "status_code",
            "error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    if error and transient and not final_attempt:
        logger.info(
            "Webhook delivery %s to %s failed (%s); attempt %s, next in %.0f s",
            delivery.pk,
            endpoint.name,
            error,
            delivery.attempts,
            retry_in,
        )
        raise WebhookTransientError(error, retry_in=retry_in)
    if delivery.status == DeliveryStatus.FAILED:
        logger.warning(
            "Webhook delivery %s to %s failed for good after %s attempt(s): %s",
            delivery.pk,
            endpoint.name,
            delivery.attempts,
            error,
        )
    return delivery


@transaction.atomic
def webhook_redeliver(*, delivery_id: int, actor) -> WebhookDelivery:
    """Send a failed (or delivered) delivery again, same event id, with a fresh round of attempts.

    Raises ``ApplicationError`` when it is still pending (it will be tried anyway) and
    ``WebhookDelivery.DoesNotExist`` when there is no such delivery. The send happens after commit.
    """
    from apps.core.exceptions import ApplicationError

    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
    if delivery.status == DeliveryStatus.PENDING:
        raise ApplicationError(
            "This delivery is still pending: it will be tried again on its own.",
            {"status": ["Only a failed or delivered delivery can be redelivered."]},
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.delivered_at = None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
    logger.info("Webhook delivery %s redelivered by user %s", delivery.pk, getattr(actor, "pk", None))
    _enqueue_delivery(delivery.pk)
    return delivery


def webhook_retry_due(*, grace_seconds: float = 300.0, limit: int = 500) -> int:
    """Re-enqueue pending deliveries whose next attempt is more than ``grace_seconds`` overdue
    (their Celery retry was lost: a worker or broker restart), oldest first, at most ``limit``.
    Returns how many were enqueued. Idempotent: delivering checks the status first."""
    from django.db.models import Q

    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(
            Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True, created_at__lte=cutoff),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    from .tasks import webhook_deliver_task

    for delivery_id in due:
        try:
            webhook_deliver_task.delay(delivery_id)
        except Exception:  # noqa: BLE001 (broker down: the next sweep tries again)
            logger.exception("Could not enqueue webhook delivery %s", delivery_id)
            break
    return len(due)
