import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from .choices import DeliveryStatus, Verb, WebhookEvent


class Notification(models.Model):
    """An in-app message to one user about an access request or grant (the inbox and its badge).

    ``dedupe_key`` makes a notification idempotent: the same event for the same recipient is
    stored (and emailed) once, however often a task re-runs.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    verb = models.CharField(max_length=32, choices=Verb.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    message = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # E-mail leaves the web request: a task sends it after commit, a beat sweep sends what a lost task missed.
    email_subject = models.CharField(max_length=300, blank=True, help_text="Subject of the e-mail copy.")
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the e-mail copy was sent (or given up: recipient without address)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_dedupe_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.get_verb_display()} {self.object_type}#{self.object_id}"


class WebhookEndpoint(models.Model):
    """An outbound webhook (e.g. a Jira or ServiceNow intake URL) that receives signed events.

    Each POST carries ``X-Mesh-Event``, ``X-Mesh-Event-Id``, ``X-Mesh-Timestamp`` and
    ``X-Mesh-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``.
    """

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    secret_encrypted = models.TextField(
        blank=True,
        editable=False,
        help_text="The shared HMAC secret, encrypted (apps.core.crypto: rotating keys); never shown again.",
    )
    events = ArrayField(
        models.CharField(max_length=40, choices=WebhookEvent.choices),
        default=list,
        blank=True,
        help_text="Empty means every event.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        """The shared secret in clear (decrypted on use; raises ``apps.core.crypto.DecryptionError``
        when no configured key opens it)."""
        from apps.core import crypto

        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    @secret.setter
    def secret(self, value: str) -> None:
        from apps.core import crypto

        self.secret_encrypted = crypto.encrypt(value) if value else ""

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint: the delivery log with attempts and errors."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True)
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    dedupe_key = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When a pending delivery is tried again (exponential backoff); the sweep re-enqueues it if lost.",
    )
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="webhook_delivery_dedupe_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.status})"
