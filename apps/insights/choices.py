from django.db import models


class UsageEventKind(models.TextChoices):
    """What one row of the fact table records (``apps.insights.models.UsageEvent``)."""

    PRODUCT_VIEW = "product_view", "Data product viewed"
    SEARCH = "search", "Search"
    REQUEST_SUBMITTED = "request_submitted", "Access request submitted"
    STEP_DECIDED = "step_decided", "Approval step decided"
    REQUEST_APPROVED = "request_approved", "Access request approved"
    REQUEST_REJECTED = "request_rejected", "Access request rejected"
    REQUEST_CANCELLED = "request_cancelled", "Access request cancelled"
    REQUEST_EXTENDED = "request_extended", "Access extended"
    GRANT_ACTIVE = "grant_active", "Grant active"
    GRANT_EXPIRED = "grant_expired", "Grant expired"
    GRANT_REVOKED = "grant_revoked", "Grant revoked"
    CONTRACT_PUBLISHED = "contract_published", "Data contract published"
    QUALITY_RUN = "quality_run", "Quality checks run"
    SYNC_RUN = "sync_run", "Metadata sync run"
    PRODUCT_REQUESTED = "product_requested", "New data product asked for"


K = UsageEventKind

#: Access request status -> the event its transition records (other transitions record none).
REQUEST_STATUS_EVENTS: dict[str, str] = {
    "submitted": K.REQUEST_SUBMITTED,
    "approved": K.REQUEST_APPROVED,
    "rejected": K.REQUEST_REJECTED,
    "cancelled": K.REQUEST_CANCELLED,
    "applied": K.REQUEST_EXTENDED,
    "expired": K.GRANT_EXPIRED,
    "revoked": K.GRANT_REVOKED,
}

#: Events that make a user "active" (weekly / monthly active users).
ACTIVITY_KINDS = (K.PRODUCT_VIEW, K.SEARCH, K.REQUEST_SUBMITTED)

#: The access lifecycle: what grants active at an instant, the backlog, approval lead time and
#: time to data read.
LIFECYCLE_KINDS = (
    K.REQUEST_SUBMITTED,
    K.STEP_DECIDED,
    K.REQUEST_APPROVED,
    K.REQUEST_REJECTED,
    K.REQUEST_CANCELLED,
    K.GRANT_ACTIVE,
    K.GRANT_EXPIRED,
    K.GRANT_REVOKED,
)


class UseCaseStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    LIVE = "live", "Live"
    RETIRED = "retired", "Retired"


class TargetDirection(models.TextChoices):
    AT_LEAST = "at_least", "At least (higher is better)"
    AT_MOST = "at_most", "At most (lower is better)"
