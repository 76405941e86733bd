from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from apps.core.models import TimeStampedModel

from .choices import AccessRequestStatus, DriftAction, DriftKind, GrantAction, GrantStatus


class AccessRequest(TimeStampedModel):
    """A consumer's request to read a data product through one output port, for a purpose and a
    period. Its status follows ``ACCESS_REQUEST_TRANSITIONS``; every change goes through
    ``apps.access.services``."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests")
    on_behalf_of_team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="access_requests",
    )
    output_port = models.ForeignKey("catalog.OutputPort", on_delete=models.PROTECT, related_name="access_requests")
    purpose = models.CharField(max_length=200)
    justification = models.TextField(blank=True)
    columns = ArrayField(
        models.CharField(max_length=255), default=list, blank=True,
        help_text="Column scope: only these columns of the output port's tables; empty means every column.",
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty means permanent.")
    status = models.CharField(
        max_length=20, choices=AccessRequestStatus.choices, default=AccessRequestStatus.DRAFT, db_index=True,
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.requester} → {self.output_port}"

    @property
    def data_product(self):
        return self.output_port.data_product


class Grant(TimeStampedModel):
    """The platform-side fact of an approved access request: a role on the platform holding the
    privileges on the output port's objects (schema, tables, or only some columns), granted to
    the consumer's login or the team's role (the principal)."""

    access_request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    platform = models.ForeignKey("platforms.Platform", on_delete=models.PROTECT, related_name="grants")
    principal = models.CharField(
        max_length=255, blank=True, help_text="The consumer's login (or the team's role) on the platform.",
    )
    role_name = models.CharField(max_length=63, blank=True, help_text="The access role that carries the privileges.")
    privileges = models.JSONField(default=list, help_text='e.g. ["USAGE", "SELECT"]')
    schema = models.CharField(max_length=255)
    tables = models.JSONField(default=list, blank=True, help_text="Empty means every table of the schema.")
    columns = models.JSONField(
        default=list, blank=True,
        help_text="Column scope: only these columns of the tables in scope; empty means every column.",
    )
    status = models.CharField(max_length=16, choices=GrantStatus.choices, default=GrantStatus.PENDING, db_index=True)
    status_reason = models.TextField(blank=True, help_text="Why the grant waits or failed.")
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the platform last showed exactly these privileges (apply or reconcile).",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Grant #{self.pk} {self.role_name or '(no role yet)'} → {self.principal or '?'} ({self.status})"


class GrantAttempt(models.Model):
    """One attempt to apply or revoke a grant on its platform: statement summary (no secrets),
    result and duration."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="attempts")
    action = models.CharField(max_length=10, choices=GrantAction.choices)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


class GrantDrift(models.Model):
    """A difference reconciliation found between what an active grant should give on its
    platform and what the platform had (changed outside the portal), and what was done about it.

    ``found`` lists the privileges as ``[kind, [object path], privilege]`` (see
    ``apps.platforms.grants.base.Privilege``).
    """

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="drifts")
    platform = models.ForeignKey("platforms.Platform", on_delete=models.CASCADE, related_name="grant_drifts")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=DriftKind.choices)
    found = models.JSONField(default=list, blank=True)
    summary = models.TextField(help_text="What differed, in words.")
    action = models.CharField(max_length=20, choices=DriftAction.choices)
    error = models.TextField(blank=True, help_text="Why the drift could not be corrected.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Drift on grant #{self.grant_id}: {self.get_kind_display()} ({self.get_action_display()})"


class AuditEvent(models.Model):
    """Append-only record of who did what, when, with the state before and after.

    Rows are only ever inserted (``apps.access.services.audit_record``); the admin is read-only.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
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

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")
