from django.db import models


class Verb(models.TextChoices):
    """What a notification tells its recipient."""

    DECISION_NEEDED = "decision_needed", "New request to decide"
    DECIDED = "decided", "Request decided"
    REMINDER = "reminder", "Reminder: request waiting"
    ESCALATION = "escalation", "Escalation: request overdue"
    GRANT_ACTIVE = "grant_active", "Access granted"
    GRANT_EXPIRING = "grant_expiring", "Access expiring soon"
    GRANT_REVOKED = "grant_revoked", "Access ended"
    GRANT_FAILED = "grant_failed", "Access could not be granted"
    PRODUCT_DEMAND = "product_demand", "A new data product is asked for"
    CONTRACT_BREAKING = "contract_breaking", "Breaking change in a data contract"
    INCIDENT_OPENED = "incident_opened", "Data product incident"


class WebhookEvent(models.TextChoices):
    """Events sent to outbound webhooks (for ITSM hand-off: Jira, ServiceNow)."""

    REQUEST_SUBMITTED = "access_request.submitted", "Access request submitted"
    REQUEST_APPROVED = "access_request.approved", "Access request approved"
    REQUEST_REJECTED = "access_request.rejected", "Access request rejected"
    REQUEST_CANCELLED = "access_request.cancelled", "Access request cancelled"
    REQUEST_REMINDER = "access_request.reminder", "Access request overdue"
    GRANT_ACTIVE = "grant.active", "Grant active"
    GRANT_EXPIRING = "grant.expiring", "Grant expiring"
    GRANT_REVOKED = "grant.revoked", "Grant revoked or expired"
    GRANT_FAILED = "grant.failed", "Grant failed"
    CONTRACT_BREAKING_CHANGE = "data_contract.breaking_change", "Data contract breaking change"
    INCIDENT_OPENED = "incident.opened", "Data product incident opened"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
