"""Shared pieces of the access services: the audit writer, row locking, the current step."""
from __future__ import annotations

from datetime import datetime

from ..choices import (
    AccessRequestStatus,
    ApprovalStepStatus,
)
from ..models import (
    AccessRequest,
    ApprovalStep,
    AuditEvent,
)

S = AccessRequestStatus


AUDIT_OBJECT_TYPES = {
    "AccessRequest": "access_request", "AccessPolicy": "access_policy", "ApproverDelegation": "delegation",
}


def audit_record(*, actor, action: str, obj, before: dict | None = None, after: dict | None = None, message: str = "") -> AuditEvent:
    """Append one audit event about ``obj`` (``object_type`` is its model's snake-case name)."""
    object_type = AUDIT_OBJECT_TYPES.get(type(obj).__name__, type(obj).__name__.lower())
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action, object_type=object_type, object_id=str(obj.pk),
        before=before or {}, after=after or {}, message=message,
    )


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return str(value)
    return value


def _locked(pk: int) -> AccessRequest:
    return AccessRequest.objects.select_for_update(of=("self",)).select_related(
        "output_port__data_product__domain", "output_port__platform", "requester", "on_behalf_of_team", "policy",
    ).get(pk=pk)


def _current_step(access_request: AccessRequest) -> ApprovalStep | None:
    return access_request.steps.filter(status=ApprovalStepStatus.PENDING).order_by("order").first()
