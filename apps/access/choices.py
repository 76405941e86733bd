"""Statuses of access requests, grants and approval steps, and the one table of allowed transitions of each."""

from django.db import models


class AccessRequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"
    #: An extension request, once approved, is applied to the request it extends and ends here.
    APPLIED = "applied", "Extension applied"


S = AccessRequestStatus

#: The single source of truth for access request transitions: status -> statuses it may move to.
ACCESS_REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.PENDING_APPROVAL, S.APPROVED, S.CANCELLED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.PROVISIONING, S.APPLIED}),
    S.PROVISIONING: frozenset({S.ACTIVE, S.FAILED, S.REVOKED}),
    S.ACTIVE: frozenset({S.EXPIRED, S.REVOKED}),
    S.FAILED: frozenset({S.PROVISIONING, S.REVOKED}),
    S.EXPIRED: frozenset(),
    S.REVOKED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.APPLIED: frozenset(),
}

#: A consumer has at most one request in these states per output port.
OPEN_REQUEST_STATES = (S.DRAFT, S.SUBMITTED, S.PENDING_APPROVAL, S.APPROVED, S.PROVISIONING, S.ACTIVE, S.FAILED)
#: States in which a request waits for a decision (its approval steps are open).
UNDECIDED_REQUEST_STATES = (S.DRAFT, S.SUBMITTED, S.PENDING_APPROVAL)


class GrantStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLYING = "applying", "Applying"
    ACTIVE = "active", "Active"
    REVOKING = "revoking", "Revoking"
    REVOKED = "revoked", "Revoked"
    FAILED = "failed", "Failed"


G = GrantStatus

#: Grant transitions. ``applying -> applying`` is allowed: a worker killed mid-apply is redelivered.
GRANT_TRANSITIONS: dict[str, frozenset[str]] = {
    G.PENDING: frozenset({G.APPLYING, G.REVOKING}),
    G.APPLYING: frozenset({G.APPLYING, G.ACTIVE, G.FAILED, G.PENDING}),
    G.ACTIVE: frozenset({G.REVOKING, G.APPLYING}),
    G.FAILED: frozenset({G.APPLYING, G.REVOKING}),
    G.REVOKING: frozenset({G.REVOKING, G.REVOKED, G.FAILED}),
    G.REVOKED: frozenset(),
}


class GrantAction(models.TextChoices):
    APPLY = "apply", "Apply"
    REVOKE = "revoke", "Revoke"
    RECONCILE = "reconcile", "Reconcile"


#: Grants an owner (or platform admin) may revoke: not while a worker is applying or revoking it.
OWNER_REVOCABLE_GRANT_STATES = (G.PENDING, G.ACTIVE, G.FAILED)


class DriftKind(models.TextChoices):
    ROLE_MISSING = "role_missing", "Role missing"
    MISSING = "missing", "Privilege removed outside the portal"
    EXTRA = "extra", "Privilege added outside the portal"
    REVOKED_ROLE = "revoked_role", "Role of a revoked grant recreated"


class DriftAction(models.TextChoices):
    RECREATED = "recreated", "Role recreated"
    REAPPLIED = "reapplied", "Re-applied"
    REMOVED = "removed", "Removed"
    FAILED = "failed", "Could not correct"


class AutoApprove(models.TextChoices):
    """When a policy approves without asking anyone."""

    ALWAYS = "always", "Always"
    SAME_DOMAIN = "same_domain", "When the consumer is in the product's domain"
    NEVER = "never", "Never"


class ApprovalStepKind(models.TextChoices):
    """Who decides one step of an approval chain."""

    OWNER = "owner", "Product owner team"
    STEWARD = "steward", "Governance steward"
    NAMED = "named", "Named approvers (data contract)"


class ApprovalStepStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for an earlier step"
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


A = ApprovalStepStatus

#: Approval step transitions: the first step starts pending, later ones waiting; deciding the
#: pending step approves or rejects it (approving moves the next one to pending); a rejection or a
#: cancellation of the request cancels the steps still open.
APPROVAL_STEP_TRANSITIONS: dict[str, frozenset[str]] = {
    A.WAITING: frozenset({A.PENDING, A.CANCELLED}),
    A.PENDING: frozenset({A.APPROVED, A.REJECTED, A.CANCELLED}),
    A.APPROVED: frozenset(),
    A.REJECTED: frozenset(),
    A.CANCELLED: frozenset(),
}
