"""Shared pieces of the access services: row locking, the current step (and the audit writer, from apps.audit)."""

from __future__ import annotations

from apps.audit.services import AUDIT_OBJECT_TYPES, audit_record  # noqa: F401  (re-exported to the access services)
from apps.audit.transitions import jsonable as _jsonable  # noqa: F401  (re-exported to the access services)

from ..choices import (
    AccessRequestStatus,
    ApprovalStepStatus,
)
from ..models import (
    AccessRequest,
    ApprovalStep,
)

S = AccessRequestStatus


def _locked(pk: int) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related(
            "output_port__data_product__domain",
            "output_port__platform",
            "requester",
            "on_behalf_of_team",
            "policy",
        )
        .get(pk=pk)
    )


def _current_step(access_request: AccessRequest) -> ApprovalStep | None:
    return access_request.steps.filter(status=ApprovalStepStatus.PENDING).order_by("order").first()
