"""Access requests: submit, extend, cancel; routing a submitted request to its approval chain."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.catalog.choices import DataProductStatus
from apps.catalog.models import OutputPort
from apps.catalog.selectors import output_port_assets
from apps.core.db import retry_on_deadlock
from apps.core.exceptions import ApplicationError

from ..choices import (
    OPEN_REQUEST_STATES,
    UNDECIDED_REQUEST_STATES,
    ApprovalStepStatus,
)
from ..models import (
    AccessPolicy,
    AccessRequest,
    ApprovalStep,
    Purpose,
)
from ..policy import (
    approval_plan,
    policy_violations,
    request_classification,
)
from ..selectors import access_policy_current
from ._base import S, _jsonable, _locked, audit_record
from .approvals import _approve_final, _escalate_at_submission
from .notify import notify_approvers_on_commit, notify_requester_on_commit
from .policies import access_policy_ensure_defaults
from .transitions import _steps_cancel, _transition


def _validate_columns(output_port: OutputPort, columns: list[str]) -> tuple[list[str], list[str]]:
    """Normalise the column scope to ``table.column`` and return (columns, errors)."""
    if not columns:
        return [], []
    known: set[str] = set()
    for asset in output_port_assets(port=output_port):
        known.update(f"{asset.name}.{c.name}" for c in asset.columns.all())
    normalised, unknown = [], []
    for column in columns:
        name = column if "." in column or not output_port.table else f"{output_port.table}.{column}"
        (normalised if name in known else unknown).append(name)
    errors = [f"{', '.join(unknown)}: not a column of {output_port.name}."] if unknown else []
    return sorted(set(normalised)), errors


def _check_request_input(
    *,
    requester,
    output_port: OutputPort,
    purpose: str,
    purpose_category,
    expires_at,
    on_behalf_of_team,
    columns,
    policy: AccessPolicy,
) -> list[str]:
    errors: dict[str, list[str]] = {}
    product = output_port.data_product
    if product.status not in (DataProductStatus.PUBLISHED, DataProductStatus.DEPRECATED):
        errors.setdefault("output_port", []).append(
            f"{product.name} is {product.get_status_display().lower()}: it takes no access requests."
        )
    if not purpose.strip():
        errors.setdefault("purpose", []).append("Say what you will use the data for.")
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        errors.setdefault("expires_at", []).append("The end date must be in the future.")
    if on_behalf_of_team is not None and not on_behalf_of_team.memberships.filter(user=requester).exists():
        errors.setdefault("on_behalf_of_team", []).append("You can only request on behalf of a team you belong to.")
    columns, column_errors = _validate_columns(output_port, columns or [])
    if column_errors:
        errors["columns"] = column_errors
    for name, messages in policy_violations(
        policy=policy, purpose_category=purpose_category, expires_at=expires_at, now=now
    ).items():
        if name not in errors:
            errors[name] = messages
    if errors:
        raise ApplicationError("The access request has errors.", errors)
    return columns


def _route(access_request: AccessRequest, *, actor) -> None:
    """Submitted → approved at once, or pending approval with its chain of steps (policy)."""
    product = access_request.output_port.data_product
    plan = approval_plan(
        policy=access_request.policy,
        product=product,
        requester=access_request.requester,
        team=access_request.on_behalf_of_team,
    )
    access_request.approval_source = plan.source
    access_request.save(update_fields=["approval_source", "updated_at"])
    if plan.auto_approved:
        _approve_final(access_request, actor=None, comment=f"Approved by {plan.source}.")
        return
    now = timezone.now()
    steps = []
    for order, step_plan in enumerate(plan.steps, start=1):
        step = ApprovalStep.objects.create(
            access_request=access_request,
            order=order,
            kind=step_plan.kind,
            team=step_plan.team,
            label=step_plan.label,
            status=ApprovalStepStatus.PENDING if order == 1 else ApprovalStepStatus.WAITING,
            activated_at=now if order == 1 else None,
        )
        if step_plan.users:
            step.named_users.set(step_plan.users)
        steps.append(step)
    for step in steps:  # a step only the requester could decide would wait forever
        _escalate_at_submission(step, actor=actor)
    _transition(
        access_request,
        S.PENDING_APPROVAL,
        actor=actor,
        action="access_request.pending_approval",
        message=f"Waiting for: {steps[0].label}. Chain from {plan.source}.",
        after_extra={
            "policy": str(access_request.policy),
            "steps": [{"kind": s.kind, "label": s.label} for s in steps],
        },
    )
    pk = access_request.pk
    notify_approvers_on_commit(pk)


@retry_on_deadlock
@transaction.atomic
def access_request_submit(
    *,
    requester,
    output_port: OutputPort,
    purpose: str,
    justification: str = "",
    expires_at=None,
    on_behalf_of_team: Team | None = None,
    purpose_category: Purpose | None = None,
    columns: list[str] | None = None,
) -> AccessRequest:
    """Create and submit a request to read ``output_port``. The current access policy of the
    product's classification decides: approved at once (then a grant is enqueued) or pending
    approval with a chain of approval steps; the policy version is recorded on the request.

    ``expires_at``: aware datetime in the future, or None for permanent access (if the policy
    allows). ``columns``: column scope as ``table.column`` names of the port (empty: all).
    Raises ApplicationError with field errors (``purpose``, ``purpose_category``, ``expires_at``,
    ``on_behalf_of_team``, ``output_port``, ``columns``) on bad input or input the policy does not
    allow, and when the requester already has an open request or active access for the port
    (then ask for an extension: :func:`access_request_extend`).
    """
    classification = request_classification(output_port=output_port)  # governed exposure: approved ports only
    policy = access_policy_current(classification=classification) or access_policy_ensure_defaults(
        classification=classification
    )
    columns = _check_request_input(
        requester=requester,
        output_port=output_port,
        purpose=purpose,
        purpose_category=purpose_category,
        expires_at=expires_at,
        on_behalf_of_team=on_behalf_of_team,
        columns=columns,
        policy=policy,
    )
    # Serialise concurrent submissions of the same consumer for the same port.
    OutputPort.objects.select_for_update().filter(pk=output_port.pk).first()
    existing = AccessRequest.objects.filter(
        requester=requester, output_port=output_port, status__in=OPEN_REQUEST_STATES
    ).first()
    if existing:
        if existing.status == S.ACTIVE:
            message = (
                f"You already have access to this output port (request #{existing.pk}): ask for an extension instead."
            )
        else:
            message = f"You already have an open request for this output port (request #{existing.pk})."
        raise ApplicationError(message, {"output_port": [message]})
    access_request = AccessRequest(
        requester=requester,
        output_port=output_port,
        purpose=purpose.strip(),
        justification=justification.strip(),
        expires_at=expires_at,
        on_behalf_of_team=on_behalf_of_team,
        purpose_category=purpose_category,
        columns=columns,
        policy=policy,
    )
    access_request.full_clean()
    access_request.save()
    audit_record(
        actor=requester,
        action="access_request.created",
        obj=access_request,
        after={
            "status": S.DRAFT,
            "output_port": str(output_port),
            "purpose": access_request.purpose,
            "purpose_category": str(purpose_category or ""),
            "expires_at": _jsonable(expires_at),
            "on_behalf_of_team": str(on_behalf_of_team or ""),
            "columns": columns,
            "policy": str(policy),
        },
    )
    _transition(
        access_request, S.SUBMITTED, actor=requester, action="access_request.submitted", submitted_at=timezone.now()
    )
    _route(access_request, actor=requester)
    return access_request


@transaction.atomic
def access_request_extend(*, requester, access_request_id: int, expires_at, justification: str = "") -> AccessRequest:
    """Ask to move the end date of an active access to ``expires_at`` (None: permanent).

    Creates an *extension request* (``extends`` set) that goes through the same state machine
    and approval chain as any request, under the current policy; once approved it is applied to
    the active request and its grant and ends ``applied``. Raises ApplicationError (field
    ``expires_at``) when the date is not later than the current end or the policy refuses it,
    and when the access is not active, not the requester's, or already has an open extension.
    """
    original = _locked(access_request_id)
    if original.requester_id != requester.pk:
        raise ApplicationError("Only the consumer who holds the access can extend it.")
    if original.status != S.ACTIVE or original.extends_id is not None:
        raise ApplicationError("Only active access can be extended.")
    if original.expires_at is None:
        raise ApplicationError("This access is permanent; there is nothing to extend.")
    if expires_at is not None and expires_at <= original.expires_at:
        message = f"Pick an end date after the current one ({original.expires_at:%Y-%m-%d})."
        raise ApplicationError(message, {"expires_at": [message]})
    classification = request_classification(output_port=original.output_port)
    policy = access_policy_current(classification=classification) or access_policy_ensure_defaults(
        classification=classification
    )
    _check_request_input(
        requester=requester,
        output_port=original.output_port,
        purpose=original.purpose,
        purpose_category=original.purpose_category,
        expires_at=expires_at,
        on_behalf_of_team=original.on_behalf_of_team,
        columns=original.columns,
        policy=policy,
    )
    if AccessRequest.objects.filter(extends=original, status__in=UNDECIDED_REQUEST_STATES).exists():
        message = "An extension of this access is already waiting for a decision."
        raise ApplicationError(message, {"expires_at": [message]})
    extension = AccessRequest(
        requester=requester,
        output_port=original.output_port,
        purpose=original.purpose,
        purpose_category=original.purpose_category,
        justification=justification.strip(),
        expires_at=expires_at,
        on_behalf_of_team=original.on_behalf_of_team,
        columns=original.columns,
        policy=policy,
        extends=original,
    )
    extension.full_clean()
    extension.save()
    audit_record(
        actor=requester,
        action="access_request.created",
        obj=extension,
        after={"status": S.DRAFT, "extends": original.pk, "expires_at": _jsonable(expires_at), "policy": str(policy)},
    )
    _transition(
        extension,
        S.SUBMITTED,
        actor=requester,
        action="access_request.submitted",
        submitted_at=timezone.now(),
        message=f"Extension of request #{original.pk}.",
    )
    _route(extension, actor=requester)
    return extension


@retry_on_deadlock
@transaction.atomic
def access_request_cancel(*, access_request_id: int, actor) -> AccessRequest:
    """The requester withdraws a request that was not decided yet. Raises ApplicationError otherwise."""
    access_request = _locked(access_request_id)
    if access_request.requester_id != actor.pk:
        raise ApplicationError("Only the requester can cancel a request.")
    _transition(access_request, S.CANCELLED, actor=actor, action="access_request.cancelled")
    _steps_cancel(access_request, statuses=[ApprovalStepStatus.PENDING, ApprovalStepStatus.WAITING])
    notify_requester_on_commit(access_request_id, "cancelled")
    return access_request
