"""The audit trail: one append-only, tamper-evident table every app writes to (``services.audit_record``)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AuditEventQuerySet":
        """The whole trail for stewards (``User.is_steward``: superusers and the stewards group); none for
        anyone else."""
        if not (user.is_authenticated and user.is_steward):
            return self.none()
        return self.all()


class AuditEvent(models.Model):
    """Append-only record of who did what, when, with the state before and after.

    Rows are only ever inserted (``apps.audit.services.audit_record``); the admin is read-only. The
    database enforces it: a trigger refuses UPDATE and DELETE, and an insert trigger chains each event to
    the previous one by SHA-256 (``chain_seq``, ``prev_hash``, ``hash``); ``manage.py audit_verify`` checks
    the chain (see ``docs/security.md``).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    # Tamper evidence, written by the database's insert trigger (migration ``access.0007``), never by Python.
    chain_seq = models.BigIntegerField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Position in the tamper-evident chain (set by the database).",
    )
    prev_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="SHA-256 of the previous event in the chain (set by the database).",
    )
    hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="SHA-256 of prev_hash and this event's content (set by the database).",
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # The table keeps the name it had in apps.access (its triggers and functions are named after it).
        db_table = "access_auditevent"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor or 'system'} {self.action} {self.object_type}#{self.object_id}"

    @property
    def label(self) -> str:
        """Human wording of ``action``: ``access_request.pending_approval`` → "request pending approval"."""
        subject, _, verb = self.action.partition(".")
        subject = {"access_request": "request"}.get(subject, subject)
        return f"{subject} {verb.replace('_', ' ')}".strip()

    def save(self, *args, **kwargs):  # noqa: DJ012  (append-only guards kept beside each other)
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")
