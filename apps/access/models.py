from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from apps.catalog.choices import Classification
from apps.core.models import TimeStampedModel
from apps.core.visibility import RestrictedQuerySet

from .choices import (
    AccessRequestStatus,
    ApprovalStepKind,
    ApprovalStepStatus,
    AutoApprove,
    DriftAction,
    DriftKind,
    GrantAction,
    GrantStatus,
)


class Purpose(TimeStampedModel):
    """A purpose of use a consumer declares when requesting access (e.g. "Regulatory reporting").

    The governance team curates the list (admin and the stewards' Purposes page); an access
    policy may restrict which purposes are allowed for a classification. Retired purposes are
    deactivated, never deleted, because past requests refer to them.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccessPolicy(models.Model):
    """One version of the access rule for a data classification (federated computational
    governance: the rule is data, edited by stewards, applied by the portal).

    Editing a policy creates a new version (``apps.access.services.access_policy_update``); old
    versions are kept so each access request can point at the exact rule that decided it.
    Exactly one version per classification is current.
    """

    classification = models.CharField(max_length=16, choices=Classification.choices)
    version = models.PositiveIntegerField()
    is_current = models.BooleanField(default=True)
    auto_approve = models.CharField(max_length=16, choices=AutoApprove.choices, default=AutoApprove.NEVER)
    approval_steps = ArrayField(
        models.CharField(max_length=16, choices=ApprovalStepKind.choices),
        default=list,
        blank=True,
        help_text="The approval chain in order when not auto-approved, e.g. owner, steward.",
    )
    max_duration_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means no maximum.")
    allow_permanent = models.BooleanField(default=False)
    allowed_purposes = models.ManyToManyField(
        Purpose,
        blank=True,
        related_name="policies",
        help_text="Empty means every active purpose.",
    )
    sla_business_days = models.PositiveIntegerField(
        default=2,
        help_text="Approvers are reminded after this many business days, the domain owner after twice as many.",
    )
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["classification", "-version"]
        verbose_name_plural = "access policies"
        constraints = [
            models.UniqueConstraint(fields=["classification", "version"], name="access_policy_version_unique"),
            models.UniqueConstraint(
                fields=["classification"],
                condition=models.Q(is_current=True),
                name="access_policy_one_current_per_classification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_classification_display()} policy v{self.version}"

    def as_dict(self) -> dict:
        """The rule's content, for audit before/after and version comparison."""
        return {
            "classification": self.classification,
            "version": self.version,
            "auto_approve": self.auto_approve,
            "approval_steps": list(self.approval_steps),
            "max_duration_days": self.max_duration_days,
            "allow_permanent": self.allow_permanent,
            "sla_business_days": self.sla_business_days,
            "allowed_purposes": sorted(self.allowed_purposes.values_list("slug", flat=True)) if self.pk else [],
        }


class AccessRequest(TimeStampedModel):
    """A consumer's request to read a data product through one output port, for a purpose and a
    period. Its status follows ``ACCESS_REQUEST_TRANSITIONS``; every change goes through
    ``apps.access.services``."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests")
    on_behalf_of_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_requests",
    )
    output_port = models.ForeignKey("catalog.OutputPort", on_delete=models.PROTECT, related_name="access_requests")
    purpose_category = models.ForeignKey(
        Purpose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_requests",
        verbose_name="purpose",
        help_text="The declared purpose from the governance team's list.",
    )
    purpose = models.CharField(max_length=200, help_text="The consumer's own words about the purpose.")
    justification = models.TextField(blank=True)
    columns = ArrayField(
        models.CharField(max_length=255),
        default=list,
        blank=True,
        help_text="Column scope: only these columns of the output port's tables; empty means every column.",
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty means permanent.")
    status = models.CharField(
        max_length=20,
        choices=AccessRequestStatus.choices,
        default=AccessRequestStatus.DRAFT,
        db_index=True,
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_comment = models.TextField(blank=True)
    policy = models.ForeignKey(
        AccessPolicy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_requests",
        help_text="The policy version that decided the approval chain.",
    )
    approval_source = models.CharField(
        max_length=300,
        blank=True,
        help_text="Where the chain came from: the policy, or the data contract's approvers.",
    )
    extends = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="extensions",
        help_text="For an extension: the active request whose end date it moves.",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.requester} → {self.output_port}"

    @property
    def data_product(self):
        return self.output_port.data_product


class ApprovalStep(models.Model):
    """One step of an access request's approval chain: who may decide it, and the decision.

    Steps are decided in ``order``; only the step whose status is ``pending`` can be decided.
    """

    access_request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=ApprovalStepKind.choices)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Owner step: the product's owner team; named step: the team named in the data contract.",
    )
    named_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    label = models.CharField(max_length=200, blank=True, help_text="Who decides, in words.")
    status = models.CharField(max_length=16, choices=ApprovalStepStatus.choices, default=ApprovalStepStatus.WAITING)
    activated_at = models.DateTimeField(null=True, blank=True, help_text="When the step started waiting (SLA clock).")
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(
        max_length=400,
        blank=True,
        help_text="Set when the step went to the escalation path at submission because nobody but the requester "
        "could decide it: what the requester is told, in plain words.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The approver who delegated, when a delegate decided.",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["access_request", "order"]
        constraints = [models.UniqueConstraint(fields=["access_request", "order"], name="approval_step_order_unique")]

    def __str__(self) -> str:
        return f"Step {self.order} of request #{self.access_request_id}: {self.label or self.kind} ({self.status})"

    def as_dict(self) -> dict:
        return {"step": self.order, "kind": self.kind, "label": self.label, "status": self.status}


class ApproverDelegation(TimeStampedModel):
    """An approver hands their approval rights to a colleague while away (``starts``–``ends``).

    The delegate may decide every step the delegator could decide, still under segregation of
    duties; the step records both.
    """

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_received"
    )
    starts = models.DateTimeField()
    ends = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-starts"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends__gt=models.F("starts")), name="delegation_ends_after_start"),
            models.CheckConstraint(condition=~models.Q(delegator=models.F("delegate")), name="delegation_not_to_self"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate} ({self.starts:%Y-%m-%d}–{self.ends:%Y-%m-%d})"


class Grant(TimeStampedModel):
    """The platform-side fact of an approved access request: a role on the platform holding the
    privileges on the output port's objects (schema, tables, or only some columns), granted to
    the consumer's login or the team's role (the principal)."""

    access_request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    platform = models.ForeignKey("platforms.Platform", on_delete=models.PROTECT, related_name="grants")
    principal = models.CharField(
        max_length=255,
        blank=True,
        help_text="The consumer's login (or the team's role) on the platform.",
    )
    role_name = models.CharField(max_length=63, blank=True, help_text="The access role that carries the privileges.")
    privileges = models.JSONField(default=list, help_text='e.g. ["USAGE", "SELECT"]')
    schema = models.CharField(max_length=255)
    tables = models.JSONField(default=list, blank=True, help_text="Empty means every table of the schema.")
    columns = models.JSONField(
        default=list,
        blank=True,
        help_text="Column scope: only these columns of the tables in scope; empty means every column.",
    )
    status = models.CharField(max_length=16, choices=GrantStatus.choices, default=GrantStatus.PENDING, db_index=True)
    status_reason = models.TextField(blank=True, help_text="Why the grant waits or failed.")
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the platform last showed exactly these privileges (apply or reconcile).",
    )
    # A revocation, once committed, must reach the platform: these survive a lost task, a broker
    # outage or a failed attempt, so the sweep, the reconcile loop and an operator's retry all
    # know the grant must not exist (and why, and whether it ended as an expiry).
    revoke_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When the revocation (or expiry) was decided; set means the access must not exist.",
    )
    revoke_reason = models.TextField(blank=True, help_text="Why the access was revoked (the consumer is told).")
    revoke_expired = models.BooleanField(default=False, help_text="The revocation is the end of the access period.")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    @property
    def revocation_failed(self) -> bool:
        """A revocation gave up: the grant is failed although its access must not exist, so the
        platform may still give the consumer access until an operator retries."""
        return self.status == GrantStatus.FAILED and self.revoke_requested_at is not None

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

    def __str__(self) -> str:
        return f"{self.action} of grant #{self.grant_id} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class GrantDrift(models.Model):
    """A difference reconciliation found between what an active grant should give on its
    platform and what the platform had (changed outside the portal), and what was done about it.

    ``found`` lists the privileges as ``[kind, [object path], privilege]`` (see
    ``apps.access.enforcement.base.Privilege``).
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
