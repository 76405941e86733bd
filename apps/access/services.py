"""Writes for access requests and grants: every state transition of both lives here.

Each transition locks the row (``select_for_update``), checks the move against
``ACCESS_REQUEST_TRANSITIONS`` / ``GRANT_TRANSITIONS`` (``ApplicationError`` if it is not
allowed), writes an audit event, and schedules side effects with ``transaction.on_commit`` so
nothing reaches the broker for a transaction that rolls back.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.models import Team, TeamMembership, User
from apps.accounts.selectors import team_approvers
from apps.catalog.choices import Classification, DataProductStatus
from apps.catalog.models import OutputPort
from apps.catalog.selectors import output_port_assets
from apps.core.exceptions import ApplicationError
from apps.notifications.choices import Verb, WebhookEvent
from apps.notifications.services import notify, webhook_publish
from apps.access.enforcement import GrantSpec, PlatformGrantError, TransientPlatformError, get_grant_adapter
from apps.platforms.models import Platform, PlatformIdentity, TeamPlatformIdentity

from .choices import (
    ACCESS_REQUEST_TRANSITIONS,
    GRANT_TRANSITIONS,
    OPEN_REQUEST_STATES,
    OWNER_REVOCABLE_GRANT_STATES,
    UNDECIDED_REQUEST_STATES,
    AccessRequestStatus,
    ApprovalStepKind,
    ApprovalStepStatus,
    AutoApprove,
    DriftAction,
    DriftKind,
    GrantAction,
    GrantStatus,
)
from .models import (
    AccessPolicy,
    AccessRequest,
    ApprovalStep,
    ApproverDelegation,
    AuditEvent,
    Grant,
    GrantAttempt,
    GrantDrift,
    Purpose,
)
from .policy import (
    DEFAULT_POLICIES,
    DEFAULT_PURPOSES,
    add_business_days,
    approval_plan,
    policy_current,
    policy_violations,
    request_classification,
)

logger = logging.getLogger(__name__)
S = AccessRequestStatus


# --- audit -------------------------------------------------------------------------------------

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


# --- access request transitions ---------------------------------------------------------------

def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return str(value)
    return value


def _transition(access_request: AccessRequest, to: str, *, actor, action: str, message: str = "",
                after_extra: dict | None = None, **changes) -> None:
    current = access_request.status
    if to not in ACCESS_REQUEST_TRANSITIONS[current]:
        raise ApplicationError(
            f"This request is {access_request.get_status_display().lower()}; it cannot become "
            f"{AccessRequestStatus(to).label.lower()}."
        )
    before = {"status": current, **{f: _jsonable(getattr(access_request, f, None)) for f in changes}}
    access_request.status = to
    for name, value in changes.items():
        setattr(access_request, name, value)
    access_request.save(update_fields=["status", "updated_at", *changes])
    after = {"status": to, **{f: _jsonable(v) for f, v in changes.items()}, **(after_extra or {})}
    audit_record(actor=actor, action=action, obj=access_request, before=before, after=after, message=message)
    if access_request.pk is not None and to in (S.REVOKED, S.EXPIRED, S.FAILED):
        # Grant outcomes reach the requester whichever code path ended the grant.
        pk = access_request.pk
        transaction.on_commit(lambda: _notify_requester(pk, to))


def _locked(pk: int) -> AccessRequest:
    return AccessRequest.objects.select_for_update(of=("self",)).select_related(
        "output_port__data_product__domain", "output_port__platform", "requester", "on_behalf_of_team", "policy",
    ).get(pk=pk)


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


def _check_request_input(*, requester, output_port: OutputPort, purpose: str, purpose_category,
                         expires_at, on_behalf_of_team, columns, policy: AccessPolicy) -> list[str]:
    errors: dict[str, list[str]] = {}
    product = output_port.data_product
    if product.status not in (DataProductStatus.PUBLISHED, DataProductStatus.DEPRECATED):
        errors.setdefault("output_port", []).append(f"{product.name} is {product.get_status_display().lower()}: it takes no access requests.")
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
    for name, messages in policy_violations(policy=policy, purpose_category=purpose_category,
                                            expires_at=expires_at, now=now).items():
        if name not in errors:
            errors[name] = messages
    if errors:
        raise ApplicationError("The access request has errors.", errors)
    return columns


def _route(access_request: AccessRequest, *, actor) -> None:
    """Submitted → approved at once, or pending approval with its chain of steps (policy)."""
    product = access_request.output_port.data_product
    plan = approval_plan(policy=access_request.policy, product=product, requester=access_request.requester,
                         team=access_request.on_behalf_of_team)
    access_request.approval_source = plan.source
    access_request.save(update_fields=["approval_source", "updated_at"])
    if plan.auto_approved:
        _approve_final(access_request, actor=None, comment=f"Approved by {plan.source}.")
        return
    now = timezone.now()
    for order, step_plan in enumerate(plan.steps, start=1):
        step = ApprovalStep.objects.create(
            access_request=access_request, order=order, kind=step_plan.kind, team=step_plan.team, label=step_plan.label,
            status=ApprovalStepStatus.PENDING if order == 1 else ApprovalStepStatus.WAITING,
            activated_at=now if order == 1 else None,
        )
        if step_plan.users:
            step.named_users.set(step_plan.users)
    _transition(access_request, S.PENDING_APPROVAL, actor=actor, action="access_request.pending_approval",
                message=f"Waiting for: {plan.steps[0].label}. Chain from {plan.source}.",
                after_extra={"policy": str(access_request.policy), "steps": [s.as_dict() for s in plan.steps]})
    pk = access_request.pk
    transaction.on_commit(lambda: _notify_approvers(pk))


@transaction.atomic
def access_request_submit(
    *, requester, output_port: OutputPort, purpose: str, justification: str = "",
    expires_at=None, on_behalf_of_team: Team | None = None, purpose_category: Purpose | None = None,
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
    policy = policy_current(classification=classification) or access_policy_ensure_defaults(classification=classification)
    columns = _check_request_input(
        requester=requester, output_port=output_port, purpose=purpose, purpose_category=purpose_category,
        expires_at=expires_at, on_behalf_of_team=on_behalf_of_team, columns=columns, policy=policy,
    )
    # Serialise concurrent submissions of the same consumer for the same port.
    OutputPort.objects.select_for_update().filter(pk=output_port.pk).first()
    existing = AccessRequest.objects.filter(requester=requester, output_port=output_port, status__in=OPEN_REQUEST_STATES).first()
    if existing:
        if existing.status == S.ACTIVE:
            message = f"You already have access to this output port (request #{existing.pk}): ask for an extension instead."
        else:
            message = f"You already have an open request for this output port (request #{existing.pk})."
        raise ApplicationError(message, {"output_port": [message]})
    access_request = AccessRequest(
        requester=requester, output_port=output_port, purpose=purpose.strip(), justification=justification.strip(),
        expires_at=expires_at, on_behalf_of_team=on_behalf_of_team, purpose_category=purpose_category,
        columns=columns, policy=policy,
    )
    access_request.full_clean()
    access_request.save()
    audit_record(actor=requester, action="access_request.created", obj=access_request, after={
        "status": S.DRAFT, "output_port": str(output_port), "purpose": access_request.purpose,
        "purpose_category": str(purpose_category or ""), "expires_at": _jsonable(expires_at),
        "on_behalf_of_team": str(on_behalf_of_team or ""), "columns": columns, "policy": str(policy),
    })
    _transition(access_request, S.SUBMITTED, actor=requester, action="access_request.submitted", submitted_at=timezone.now())
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
    policy = policy_current(classification=classification) or access_policy_ensure_defaults(classification=classification)
    _check_request_input(
        requester=requester, output_port=original.output_port, purpose=original.purpose,
        purpose_category=original.purpose_category, expires_at=expires_at,
        on_behalf_of_team=original.on_behalf_of_team, columns=original.columns, policy=policy,
    )
    if AccessRequest.objects.filter(extends=original, status__in=UNDECIDED_REQUEST_STATES).exists():
        message = "An extension of this access is already waiting for a decision."
        raise ApplicationError(message, {"expires_at": [message]})
    extension = AccessRequest(
        requester=requester, output_port=original.output_port, purpose=original.purpose,
        purpose_category=original.purpose_category, justification=justification.strip(), expires_at=expires_at,
        on_behalf_of_team=original.on_behalf_of_team, columns=original.columns, policy=policy, extends=original,
    )
    extension.full_clean()
    extension.save()
    audit_record(actor=requester, action="access_request.created", obj=extension, after={
        "status": S.DRAFT, "extends": original.pk, "expires_at": _jsonable(expires_at), "policy": str(policy)})
    _transition(extension, S.SUBMITTED, actor=requester, action="access_request.submitted",
                submitted_at=timezone.now(), message=f"Extension of request #{original.pk}.")
    _route(extension, actor=requester)
    return extension


def _current_step(access_request: AccessRequest) -> ApprovalStep | None:
    return access_request.steps.filter(status=ApprovalStepStatus.PENDING).order_by("order").first()


def _active_delegators(actor, at=None) -> list:
    at = at or timezone.now()
    return [d.delegator for d in ApproverDelegation.objects.filter(delegate=actor, starts__lte=at, ends__gt=at)
            .select_related("delegator") if d.delegator.is_active]


def step_may_decide(*, user, step: ApprovalStep) -> bool:
    """Whether ``user`` (by their own role, not through delegation) may decide ``step``."""
    if not user.is_authenticated:
        return False
    if step.kind == ApprovalStepKind.STEWARD:
        return user.is_steward
    if step.kind == ApprovalStepKind.OWNER:
        return user.has_perm("catalog.decide_access_requests", step.access_request.output_port.data_product)
    if step.named_users.filter(pk=user.pk).exists():
        return True
    return step.team_id is not None and TeamMembership.objects.filter(
        team_id=step.team_id, user=user, role__in=[TeamRole.OWNER, TeamRole.APPROVER]).exists()


def _sod_refusal(*, person, access_request: AccessRequest, step: ApprovalStep) -> str | None:
    if access_request.requester_id == person.pk:
        return "You cannot decide your own request (segregation of duties)."
    team = access_request.on_behalf_of_team
    if team is not None and team.memberships.filter(user=person).exists():
        return "You cannot decide a request made for a team you belong to (segregation of duties)."
    if access_request.steps.filter(order__lt=step.order, decided_by=person).exists() or \
            access_request.steps.filter(order__lt=step.order, on_behalf_of=person).exists():
        return "You already approved an earlier step of this request; another person must decide this one (four eyes)."
    return None


def decision_authority(*, actor, access_request: AccessRequest) -> tuple[ApprovalStep | None, object | None, str | None]:
    """``(step, principal, refusal)``: the step ``actor`` would decide, the approver whose right
    they use (themselves, or a delegator while the delegation runs), or why they may not."""
    if not actor.is_authenticated:
        return None, None, "Sign in to decide."
    if access_request.status != S.PENDING_APPROVAL:
        return None, None, f"This request is {access_request.get_status_display().lower()}, not waiting for a decision."
    step = _current_step(access_request)
    if step is None:
        return None, None, "This request has no step waiting for a decision."
    candidates = [actor, *_active_delegators(actor)]
    eligible = [p for p in candidates if step_may_decide(user=p, step=step)]
    if not eligible:
        if step.kind == ApprovalStepKind.STEWARD:
            return step, None, "Only governance stewards can decide this step."
        return step, None, f"Only approvers of this step ({step.label}) can decide this request."
    refusal = _sod_refusal(person=actor, access_request=access_request, step=step)
    if refusal:
        return step, None, refusal
    for principal in eligible:
        if principal.pk == actor.pk or _sod_refusal(person=principal, access_request=access_request, step=step) is None:
            return step, principal, None
    return step, None, "Segregation of duties: the approver you stand in for may not decide this request."


def decision_refusal(*, actor, access_request: AccessRequest) -> str | None:
    """Why ``actor`` may not decide ``access_request`` now, or None when they may."""
    return decision_authority(actor=actor, access_request=access_request)[2]


def _approve_final(access_request: AccessRequest, *, actor, comment: str) -> None:
    """Every step approved (or none needed): approved, then a grant (or, for an extension, the
    new end date applied to the active access)."""
    now = timezone.now()
    _transition(access_request, S.APPROVED, actor=actor, action="access_request.approved", message=comment,
                decided_by=actor, decided_at=now, decision_comment=comment)
    pk = access_request.pk
    transaction.on_commit(lambda: _notify_requester(pk, "approved"))
    if access_request.extends_id is not None:
        _apply_extension(access_request, actor=actor)
        return
    grant_create(access_request=access_request, actor=actor, starts_at=now)  # applied on commit
    _transition(access_request, S.PROVISIONING, actor=actor, action="access_request.provisioning")


def _apply_extension(extension: AccessRequest, *, actor) -> None:
    original = _locked(extension.extends_id)
    if original.status != S.ACTIVE:
        raise ApplicationError(f"Request #{original.pk} is {original.get_status_display().lower()}; it can no longer be extended.")
    before = _jsonable(original.expires_at)
    original.expires_at = extension.expires_at
    original.save(update_fields=["expires_at", "updated_at"])
    audit_record(actor=actor, action="access_request.extended", obj=original, before={"expires_at": before},
                 after={"expires_at": _jsonable(original.expires_at)}, message=f"Extension #{extension.pk} approved.")
    grant = Grant.objects.select_for_update().filter(access_request=original).first()
    if grant is not None:
        grant.expires_at = extension.expires_at
        grant.save(update_fields=["expires_at", "updated_at"])
        audit_record(actor=actor, action="grant.extended", obj=grant, before={"expires_at": before},
                     after={"expires_at": _jsonable(grant.expires_at)}, message=f"Extension #{extension.pk} approved.")
    _transition(extension, S.APPLIED, actor=actor, action="access_request.applied",
                message=f"Access of request #{original.pk} now ends {_jsonable(extension.expires_at) or 'never'}.")


def _decide_step(step: ApprovalStep, *, actor, principal, decision: str, comment: str) -> None:
    before = step.as_dict()
    step.status = decision
    step.decided_by = actor
    step.on_behalf_of = principal if principal is not None and principal.pk != actor.pk else None
    step.decided_at = timezone.now()
    step.comment = comment
    step.save(update_fields=["status", "decided_by", "on_behalf_of", "decided_at", "comment"])
    after = {**step.as_dict(), "decided_by": str(actor)}
    if step.on_behalf_of:
        after["on_behalf_of"] = str(step.on_behalf_of)
    audit_record(actor=actor, action=f"access_request.step_{decision}", obj=step.access_request,
                 before=before, after=after, message=comment)


@transaction.atomic
def access_request_approve(*, access_request_id: int, actor, comment: str = "") -> AccessRequest:
    """Approve the request's current approval step. The next step (if any) starts waiting and
    its approvers are told; after the last one the request is approved and handed to grant
    enforcement (a Grant, applied on commit), or an extension is applied.

    Raises ApplicationError when ``actor`` may not decide it (see :func:`decision_authority`).
    """
    access_request = _locked(access_request_id)
    step, principal, refusal = decision_authority(actor=actor, access_request=access_request)
    if refusal:
        raise ApplicationError(refusal)
    _decide_step(step, actor=actor, principal=principal, decision=ApprovalStepStatus.APPROVED, comment=comment.strip())
    following = access_request.steps.filter(order__gt=step.order).order_by("order").first()
    if following is not None:
        following.status = ApprovalStepStatus.PENDING
        following.activated_at = timezone.now()
        following.save(update_fields=["status", "activated_at"])
        audit_record(actor=actor, action="access_request.step_pending", obj=access_request,
                     before={"step": following.order, "status": ApprovalStepStatus.WAITING},
                     after=following.as_dict(), message=f"Waiting for: {following.label}.")
        pk = access_request.pk
        transaction.on_commit(lambda: _notify_approvers(pk))
        return access_request
    _approve_final(access_request, actor=actor, comment=comment.strip())
    return access_request


@transaction.atomic
def access_request_reject(*, access_request_id: int, actor, reason: str) -> AccessRequest:
    """Reject a pending request at its current step. ``reason`` is required (shown to the requester).

    Raises ApplicationError (field ``reason``) without a reason, or when ``actor`` may not decide.
    """
    if not reason.strip():
        raise ApplicationError("Say why the request is rejected.", {"reason": ["A reason is required to reject."]})
    access_request = _locked(access_request_id)
    step, principal, refusal = decision_authority(actor=actor, access_request=access_request)
    if refusal:
        raise ApplicationError(refusal)
    _decide_step(step, actor=actor, principal=principal, decision=ApprovalStepStatus.REJECTED, comment=reason.strip())
    access_request.steps.filter(status=ApprovalStepStatus.WAITING).update(status=ApprovalStepStatus.CANCELLED)
    _transition(access_request, S.REJECTED, actor=actor, action="access_request.rejected", message=reason,
                decided_by=actor, decided_at=timezone.now(), decision_comment=reason.strip())
    transaction.on_commit(lambda: _notify_requester(access_request_id, "rejected"))
    return access_request


@transaction.atomic
def access_request_cancel(*, access_request_id: int, actor) -> AccessRequest:
    """The requester withdraws a request that was not decided yet. Raises ApplicationError otherwise."""
    access_request = _locked(access_request_id)
    if access_request.requester_id != actor.pk:
        raise ApplicationError("Only the requester can cancel a request.")
    _transition(access_request, S.CANCELLED, actor=actor, action="access_request.cancelled")
    access_request.steps.filter(status__in=[ApprovalStepStatus.PENDING, ApprovalStepStatus.WAITING]).update(
        status=ApprovalStepStatus.CANCELLED)
    transaction.on_commit(lambda: _notify_requester(access_request_id, "cancelled"))
    return access_request


# --- reminders and escalation (beat) ----------------------------------------------------------

def access_request_remind_due(*, now=None, batch_size: int = 500) -> dict[str, int]:
    """Remind approvers of steps pending longer than their policy's SLA (business days), and
    escalate to the domain's owner team after twice the SLA. Idempotent: each step is reminded
    and escalated once (conditional update). Returns ``{"reminded": n, "escalated": n}``.

    Only steps older than the shortest SLA in calendar days are read (a business day is at
    least a calendar day), streamed in chunks of ``batch_size``."""
    now = now or timezone.now()
    counts = {"reminded": 0, "escalated": 0}
    shortest = AccessPolicy.objects.filter(sla_business_days__gt=0).order_by("sla_business_days").values_list(
        "sla_business_days", flat=True).first() or DEFAULT_POLICIES[Classification.CONFIDENTIAL]["sla_business_days"]
    steps = (ApprovalStep.objects.filter(status=ApprovalStepStatus.PENDING, escalated_at__isnull=True,
                                         access_request__status=S.PENDING_APPROVAL,
                                         activated_at__lte=now - timedelta(days=shortest))
             .select_related("access_request__policy").order_by("activated_at"))
    for step in steps.iterator(chunk_size=batch_size):
        policy = step.access_request.policy
        sla = policy.sla_business_days if policy else DEFAULT_POLICIES[Classification.CONFIDENTIAL]["sla_business_days"]
        if not sla:
            continue
        if now >= add_business_days(step.activated_at, 2 * sla) and step.reminded_at is not None:
            if ApprovalStep.objects.filter(pk=step.pk, escalated_at__isnull=True).update(escalated_at=now):
                _escalate(step, now=now)
                counts["escalated"] += 1
        elif now >= add_business_days(step.activated_at, sla) and step.reminded_at is None:
            if ApprovalStep.objects.filter(pk=step.pk, reminded_at__isnull=True).update(reminded_at=now):
                _remind(step, now=now)
                counts["reminded"] += 1
    return counts


@transaction.atomic
def _remind(step: ApprovalStep, *, now) -> None:
    access_request = step.access_request
    audit_record(actor=None, action="access_request.reminder_sent", obj=access_request,
                 before={"step": step.order, "reminded_at": None}, after={"step": step.order, "reminded_at": now.isoformat()},
                 message=f"Pending longer than the SLA; reminded: {step.label}.")
    _notify_approvers(access_request.pk, verb=Verb.REMINDER, dedupe=f"reminder:{step.pk}")


@transaction.atomic
def _escalate(step: ApprovalStep, *, now) -> None:
    access_request = AccessRequest.objects.select_related("output_port__data_product__domain__owner_team").get(pk=step.access_request_id)
    domain = access_request.output_port.data_product.domain
    team = domain.owner_team
    recipients = []
    if team is not None:
        recipients = list(team_approvers(team=team)) or list(team.members.filter(is_active=True))
    if not recipients:
        recipients = list(User.objects.filter(groups__name=STEWARDS_GROUP, is_active=True))
    audit_record(actor=None, action="access_request.escalated", obj=access_request,
                 before={"step": step.order, "escalated_at": None}, after={"step": step.order, "escalated_at": now.isoformat()},
                 message=f"Pending longer than twice the SLA; escalated to {team or 'the governance stewards'}.")
    notify(recipients=recipients, verb=Verb.ESCALATION, obj=access_request,
           subject=f"Overdue: access request #{access_request.pk} for {access_request.output_port.data_product.name}",
           message=(f"Access request #{access_request.pk} by {access_request.requester} has waited for "
                    f"\"{step.label}\" longer than twice the SLA. As the {domain} domain owner, please follow up."),
           url=reverse("access:request_detail", args=[access_request.pk]), dedupe_key=f"escalation:{step.pk}")
    webhook_publish(event=WebhookEvent.REQUEST_REMINDER, payload=_payload(access_request, escalated=True),
                    dedupe_key=f"escalation:{step.pk}")


# --- access policies, purposes, delegations (stewards and approvers) ---------------------------

def access_policy_ensure_defaults(*, classification: str | None = None, actor=None) -> AccessPolicy | None:
    """Create the default purposes and, for each classification without one, policy version 1
    (:data:`apps.access.policy.DEFAULT_POLICIES`). Idempotent. Returns the current policy of
    ``classification`` when given."""
    with transaction.atomic():
        for slug, (name, description) in DEFAULT_PURPOSES.items():
            if not Purpose.objects.filter(slug=slug).exists():
                purpose = Purpose.objects.create(slug=slug, name=name, description=description)
                audit_record(actor=actor, action="purpose.created", obj=purpose, after={"name": name})
        for value, rule in DEFAULT_POLICIES.items():
            if AccessPolicy.objects.filter(classification=value).exists():
                continue
            rule = dict(rule)
            purposes = rule.pop("purposes")
            policy = AccessPolicy.objects.create(classification=value, version=1, is_current=True, created_by=None,
                                                 change_note="Default policy", **rule)
            policy.allowed_purposes.set(Purpose.objects.filter(slug__in=purposes))
            audit_record(actor=actor, action="access_policy.created", obj=policy, after=policy.as_dict())
    return policy_current(classification=classification) if classification else None


@transaction.atomic
def access_policy_update(
    *, actor, classification: str, auto_approve: str, approval_steps: list[str], max_duration_days: int | None,
    allow_permanent: bool, sla_business_days: int, allowed_purposes=(), change_note: str = "",
) -> AccessPolicy:
    """Save a new version of the policy for ``classification`` and make it current; the old
    version is kept (requests keep pointing at the version that decided them).

    Raises ApplicationError with field errors for an empty chain that never auto-approves, an
    unknown step kind, or a steward-less actor.
    """
    if not (actor.is_authenticated and actor.is_steward):
        raise ApplicationError("Only governance stewards can change access policies.")
    errors: dict[str, list[str]] = {}
    if classification not in Classification.values:
        errors["classification"] = ["Unknown classification."]
    if auto_approve not in AutoApprove.values:
        errors["auto_approve"] = ["Unknown auto-approval rule."]
    unknown = [k for k in approval_steps if k not in ApprovalStepKind.values or k == ApprovalStepKind.NAMED]
    if unknown:
        errors["approval_steps"] = [f"Unknown step: {', '.join(unknown)}. Use owner and/or steward."]
    elif auto_approve != AutoApprove.ALWAYS and not approval_steps:
        errors["approval_steps"] = ["A policy that does not always auto-approve needs at least one approval step."]
    elif len(set(approval_steps)) != len(approval_steps):
        errors["approval_steps"] = ["Each kind of step can appear once."]
    if max_duration_days is not None and max_duration_days < 1:
        errors["max_duration_days"] = ["At least one day, or empty for no maximum."]
    if sla_business_days is None or sla_business_days < 0:
        errors["sla_business_days"] = ["Zero or more business days."]
    if errors:
        raise ApplicationError("The policy has errors.", errors)
    access_policy_ensure_defaults(actor=actor)
    current = AccessPolicy.objects.select_for_update().get(classification=classification, is_current=True)
    before = current.as_dict()
    AccessPolicy.objects.filter(pk=current.pk).update(is_current=False)
    policy = AccessPolicy.objects.create(
        classification=classification, version=current.version + 1, is_current=True, auto_approve=auto_approve,
        approval_steps=list(approval_steps), max_duration_days=max_duration_days, allow_permanent=allow_permanent,
        sla_business_days=sla_business_days, change_note=change_note.strip(), created_by=actor,
    )
    policy.allowed_purposes.set(allowed_purposes)
    audit_record(actor=actor, action="access_policy.changed", obj=policy, before=before, after=policy.as_dict(),
                 message=change_note.strip())
    return policy


@transaction.atomic
def purpose_save(*, actor, name: str, description: str = "", active: bool = True, purpose: Purpose | None = None) -> Purpose:
    """Create a purpose (``purpose`` None) or change one. Stewards only. Raises ApplicationError
    with field errors (``name``) for an empty or duplicate name."""
    if not (actor.is_authenticated and actor.is_steward):
        raise ApplicationError("Only governance stewards can edit purposes.")
    name = name.strip()
    if not name:
        raise ApplicationError("The purpose has errors.", {"name": ["Give the purpose a name."]})
    duplicate = Purpose.objects.filter(name__iexact=name).exclude(pk=getattr(purpose, "pk", None)).exists()
    if duplicate:
        raise ApplicationError("The purpose has errors.", {"name": ["A purpose with this name exists."]})
    before = {"name": purpose.name, "description": purpose.description, "active": purpose.active} if purpose else {}
    if purpose is None:
        base = slugify(name)[:70] or "purpose"
        slug, n = base, 1
        while Purpose.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        purpose = Purpose(slug=slug)
    purpose.name, purpose.description, purpose.active = name, description.strip(), active
    purpose.full_clean()
    purpose.save()
    audit_record(actor=actor, action="purpose.changed" if before else "purpose.created", obj=purpose, before=before,
                 after={"name": purpose.name, "description": purpose.description, "active": purpose.active})
    return purpose


@transaction.atomic
def approver_delegation_create(*, delegator, delegate, starts, ends, reason: str = "") -> ApproverDelegation:
    """Let ``delegate`` decide what ``delegator`` may decide from ``starts`` to ``ends``.

    Raises ApplicationError with field errors (``delegate``, ``ends``) for a delegation to
    oneself, an end not after the start or in the past, or a delegator who approves nothing.
    """
    errors: dict[str, list[str]] = {}
    if delegate is None or delegate.pk == delegator.pk:
        errors["delegate"] = ["Pick someone else."]
    elif not delegate.is_active:
        errors["delegate"] = ["This person's account is inactive."]
    if ends <= starts:
        errors["ends"] = ["The end must be after the start."]
    elif ends <= timezone.now():
        errors["ends"] = ["The end must be in the future."]
    approves = delegator.is_steward or TeamMembership.objects.filter(
        user=delegator, role__in=[TeamRole.OWNER, TeamRole.APPROVER]).exists()
    if not approves:
        errors.setdefault("delegate", []).append("You approve nothing, so there is nothing to delegate.")
    if errors:
        raise ApplicationError("The delegation has errors.", errors)
    delegation = ApproverDelegation(delegator=delegator, delegate=delegate, starts=starts, ends=ends, reason=reason.strip())
    delegation.full_clean()
    delegation.save()
    audit_record(actor=delegator, action="delegation.created", obj=delegation, after={
        "delegate": str(delegate), "starts": starts.isoformat(), "ends": ends.isoformat()})
    return delegation


@transaction.atomic
def approver_delegation_end(*, actor, delegation_id: int) -> ApproverDelegation:
    """End a delegation now (its delegator only). Raises ApplicationError otherwise."""
    delegation = ApproverDelegation.objects.select_for_update().get(pk=delegation_id)
    if delegation.delegator_id != actor.pk:
        raise ApplicationError("Only the person who delegated can end the delegation.")
    now = timezone.now()
    if delegation.ends <= now:
        return delegation
    before = {"ends": delegation.ends.isoformat()}
    delegation.ends = max(now, delegation.starts + timedelta(seconds=1))
    delegation.save(update_fields=["ends", "updated_at"])
    audit_record(actor=actor, action="delegation.ended", obj=delegation, before=before, after={"ends": delegation.ends.isoformat()})
    return delegation


# --- grant transitions -----------------------------------------------------------------------

def _grant_transition(grant: Grant, to: str, *, actor=None, reason: str = "", **changes) -> None:
    current = grant.status
    if to not in GRANT_TRANSITIONS[current]:
        raise ApplicationError(f"Grant #{grant.pk} is {current}; it cannot become {to}.")
    grant.status = to
    grant.status_reason = reason
    for field, value in changes.items():
        setattr(grant, field, value)
    grant.save(update_fields=["status", "status_reason", "updated_at", *changes])
    if current != to:
        audit_record(actor=actor, action=f"grant.{to}", obj=grant, before={"status": current}, after={"status": to}, message=reason)


def _bulk_grant_transition(grants: list[Grant], to: str, *, actor=None, reason: str = "", **changes) -> None:
    """:func:`_grant_transition` for many locked grants at once: same checks against
    ``GRANT_TRANSITIONS``, one UPDATE per changed field set and one INSERT for the audit events
    (a batch of 50 grants costs a handful of queries instead of a few hundred)."""
    now = timezone.now()
    for grant in grants:
        if to not in GRANT_TRANSITIONS[grant.status]:
            raise ApplicationError(f"Grant #{grant.pk} is {grant.status}; it cannot become {to}.")
    events = [
        AuditEvent(actor=actor if getattr(actor, "is_authenticated", False) else None, action=f"grant.{to}",
                   object_type="grant", object_id=str(g.pk), before={"status": g.status}, after={"status": to},
                   message=reason, at=now)
        for g in grants if g.status != to
    ]
    for grant in grants:
        grant.status, grant.status_reason, grant.updated_at = to, reason, now
        for field, value in (changes.get("per_grant", {}).get(grant.pk, {}) | changes.get("all", {})).items():
            setattr(grant, field, value)
    if changes.get("per_grant"):
        fields = {"status", "status_reason", "updated_at", *changes.get("all", {})}
        for per in changes["per_grant"].values():
            fields |= set(per)
        Grant.objects.bulk_update(grants, sorted(fields))
    else:  # the same values for every row: one plain UPDATE
        Grant.objects.filter(pk__in=[g.pk for g in grants]).update(
            status=to, status_reason=reason, updated_at=now, **changes.get("all", {}))
    AuditEvent.objects.bulk_create(events)


def _enqueue_apply(grant_id: int) -> None:
    from .tasks import grant_apply_task

    transaction.on_commit(lambda: grant_apply_task.delay(grant_id))


def grant_create(*, access_request: AccessRequest, actor, starts_at=None) -> Grant:
    """The pending Grant of an approved request, carrying its output port's objects and column
    scope; applied by a worker once the caller's transaction commits. Call inside the approval's
    transaction."""
    port = access_request.output_port
    grant = Grant.objects.create(
        access_request=access_request, platform=port.platform, schema=port.schema,
        tables=[port.table] if port.table else [], columns=list(access_request.columns or []), privileges=["SELECT"],
        starts_at=starts_at or timezone.now(), expires_at=access_request.expires_at,
    )
    audit_record(actor=actor, action="grant.created", obj=grant, after={"status": grant.status})
    _enqueue_apply(grant.pk)
    return grant


def grant_role_name(grant: Grant) -> str:
    """The platform role carrying the grant: ``<GRANT_ROLE_PREFIX><grant id>`` (e.g. ``mp_grant_42``)."""
    return f"{settings.GRANT_ROLE_PREFIX}{grant.pk}"


def grant_principal(grant: Grant, *, known: dict | None = None) -> tuple[str | None, str]:
    """``(principal, "")`` the grant goes to on its platform, or ``(None, reason)`` while the
    identity mapping is missing: the team's principal for a request on behalf of a team, else
    the requester's login. ``known``: identities already fetched (see :func:`_identities`)."""
    access_request = grant.access_request
    team = access_request.on_behalf_of_team
    if team is not None:
        principal = (known["teams"].get(team.pk) if known is not None else
                     TeamPlatformIdentity.objects.filter(team=team, platform=grant.platform_id)
                     .values_list("principal", flat=True).first())
        if principal is None:
            return None, (f"Waiting for a team role: {team} has no principal on {grant.platform}. "
                          "A platform admin must map one (Team platform identities).")
        return principal, ""
    principal = (known["users"].get(access_request.requester_id) if known is not None else
                 PlatformIdentity.objects.filter(user=access_request.requester_id, platform=grant.platform_id)
                 .values_list("principal", flat=True).first())
    if principal is None:
        return None, (f"Waiting for a login: {access_request.requester} has no identity on "
                      f"{grant.platform}. A platform admin must map one (Platform identities).")
    return principal, ""


def _identities(grants: list[Grant], platform_id: int) -> dict:
    """The principals of the requesters and teams of ``grants`` on one platform, in two queries."""
    users = {g.access_request.requester_id for g in grants}
    teams = {g.access_request.on_behalf_of_team_id for g in grants} - {None}
    return {
        "users": dict(PlatformIdentity.objects.filter(platform=platform_id, user__in=users).values_list("user", "principal")),
        "teams": dict(TeamPlatformIdentity.objects.filter(platform=platform_id, team__in=teams).values_list("team", "principal")),
    }


def _spec(grant: Grant) -> GrantSpec:
    return GrantSpec(
        role_name=grant.role_name or grant_role_name(grant), principal=grant.principal, schema=grant.schema,
        database=grant.access_request.output_port.database, tables=tuple(grant.tables),
        columns=tuple(grant.columns), privileges=tuple(grant.privileges),
    )


def _record_attempt(grant: Grant, action: str, started: float, *, summary: str = "", error: str = "") -> None:
    GrantAttempt.objects.create(
        grant=grant, action=action, duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=not error, summary=summary, error=error,
    )


#: Pending grants on the same schema claimed by one apply (one platform transaction for all).
APPLY_BATCH_SIZE = 200
#: After its own grant, an apply task keeps claiming batches of pending grants on the same
#: schema, at most this many, so a burst of approvals does not wait for its tasks' turn.
APPLY_DRAIN_BATCHES = 8
#: A grant another worker put in applying this recently is left to it (unless taking over).
APPLY_TAKEOVER_AFTER = timedelta(seconds=20)

_GRANT_RELATED = ("access_request__output_port", "access_request__on_behalf_of_team", "access_request__requester", "platform")


def grant_apply(*, grant_id: int, takeover: bool = False) -> Grant:
    """Enforce a grant on its platform; idempotent (safe to run twice, or after a crash mid-apply).

    pending/failed/applying → applying → active (request → active). Without a platform identity
    for the consumer (or team) the grant stays pending with the reason. A permanent platform
    error makes it failed (request → failed) with the reason; a transient one
    (``TransientPlatformError``) is re-raised for the task to retry, leaving the grant applying.

    Batching: the call also claims up to ``APPLY_BATCH_SIZE - 1`` other *pending* grants on the
    same platform schema (rows locked with ``SKIP LOCKED``: never one another worker holds) and
    applies them all in one platform transaction, then drains further batches of pending grants
    on that schema (at most ``APPLY_DRAIN_BATCHES``); their own tasks then find them active and
    do nothing. A grant already applying is left to the worker on it for
    ``APPLY_TAKEOVER_AFTER``; ``takeover=True`` (the stuck-grant sweep, a retry) resumes it.
    """
    with transaction.atomic():
        grant = Grant.objects.select_for_update(of=("self",)).select_related(*_GRANT_RELATED).get(pk=grant_id)
        if grant.status not in (GrantStatus.PENDING, GrantStatus.APPLYING, GrantStatus.FAILED):
            return grant  # active, revoking or revoked: nothing to apply
        if grant.status == GrantStatus.APPLYING and not takeover and grant.updated_at > timezone.now() - APPLY_TAKEOVER_AFTER:
            return grant  # claimed by another worker's batch a moment ago
        claimed = _claim_batch(grant)
    if claimed:
        _apply_batch(claimed, keep=grant)
    for _ in range(APPLY_DRAIN_BATCHES):
        with transaction.atomic():
            claimed = _claim_batch(grant, first=False)
        if not claimed:
            break
        try:
            _apply_batch(claimed, keep=None)
        except TransientPlatformError:
            break
    return Grant.objects.get(pk=grant_id)


def _claim_batch(grant: Grant, *, first: bool = True) -> list[Grant]:
    """Move ``grant`` (when ``first``) and other pending grants on its schema to applying, with
    their principal and role; grants without an identity stay pending with the reason."""
    others = (
        Grant.objects.select_for_update(of=("self",), skip_locked=True).select_related(*_GRANT_RELATED)
        .filter(status=GrantStatus.PENDING, platform_id=grant.platform_id, schema=grant.schema,
                access_request__output_port__database=grant.access_request.output_port.database)
        .exclude(pk=grant.pk).order_by("pk")[: APPLY_BATCH_SIZE - (1 if first else 0)]
    )
    candidates = [grant, *others] if first else list(others)
    known = _identities(candidates, grant.platform_id)
    claimed, per_grant = [], {}
    for candidate in candidates:
        principal, reason = grant_principal(candidate, known=known)
        if principal is None:
            if candidate.status_reason != reason:
                candidate.status_reason = reason
                candidate.save(update_fields=["status_reason", "updated_at"])
                audit_record(actor=None, action="grant.waiting", obj=candidate, message=reason)
            continue
        per_grant[candidate.pk] = {"principal": principal, "role_name": grant_role_name(candidate)}
        claimed.append(candidate)
    if first is False and not claimed:
        return []
    _bulk_grant_transition(claimed, GrantStatus.APPLYING, per_grant=per_grant)
    return claimed


def _apply_batch(claimed: list[Grant], *, keep: Grant | None) -> None:
    """Apply claimed grants in one adapter call; record attempts; active or failed each. On a
    transient error the grants other than ``keep`` go back to pending (re-enqueued) and the
    error is raised (``keep`` stays applying, for its task to retry)."""
    specs = [_spec(g) for g in claimed]
    started, started_at = time.monotonic(), timezone.now()
    try:
        outcomes = get_grant_adapter(claimed[0].platform).apply_many(specs)
    except TransientPlatformError as exc:
        GrantAttempt.objects.bulk_create([
            GrantAttempt(grant=g, action=GrantAction.APPLY, duration_ms=int((time.monotonic() - started) * 1000),
                         started_at=started_at, succeeded=False, error=str(exc)) for g in claimed])
        _release_claimed(ids=[g.pk for g in claimed if keep is None or g.pk != keep.pk], reason=str(exc))
        raise
    except PlatformGrantError as exc:  # the batch could not even start (e.g. unsupported platform)
        outcomes = [exc] * len(claimed)
    applied, failed, attempts = [], [], []
    duration_ms = int((time.monotonic() - started) * 1000)
    for g, outcome in zip(claimed, outcomes):
        failure = isinstance(outcome, PlatformGrantError)
        attempts.append(GrantAttempt(grant=g, action=GrantAction.APPLY, started_at=started_at, duration_ms=duration_ms,
                                     succeeded=not failure,
                                     summary="" if failure else outcome.summary, error=str(outcome) if failure else ""))
        (failed.append((g.pk, str(outcome))) if failure else applied.append(g.pk))
    GrantAttempt.objects.bulk_create(attempts)
    _mark_active(applied)
    for failed_id, reason in failed:
        grant_mark_failed(grant_id=failed_id, reason=reason)


@transaction.atomic
def _mark_active(grant_ids: list[int]) -> None:
    """applying → active for the grants applied by one batch, and their requests → active (the
    same transition tables, checked row by row; written in bulk)."""
    grants = list(Grant.objects.select_for_update(of=("self",)).select_related("platform")
                  .filter(pk__in=grant_ids, status=GrantStatus.APPLYING).order_by("pk"))
    if not grants:
        return
    now = timezone.now()
    _bulk_grant_transition(grants, GrantStatus.ACTIVE, all={"applied_at": now, "verified_at": now})
    by_request = {g.access_request_id: g for g in grants}
    requests = list(AccessRequest.objects.select_for_update().filter(pk__in=by_request).order_by("pk"))
    moving = [r for r in requests if r.status != S.ACTIVE and S.ACTIVE in ACCESS_REQUEST_TRANSITIONS[r.status]]
    events = []
    for r in moving:
        g = by_request[r.pk]
        events.append(AuditEvent(action="access_request.active", object_type="access_request", object_id=str(r.pk),
                                 before={"status": r.status}, after={"status": S.ACTIVE}, at=now,
                                 message=f"Role {g.role_name} granted to {g.principal} on {g.platform}."))
        r.status, r.updated_at = S.ACTIVE, now
    AccessRequest.objects.filter(pk__in=[r.pk for r in moving]).update(status=S.ACTIVE, updated_at=now)
    AuditEvent.objects.bulk_create(events)
    if moving:
        from .tasks import access_requests_notify_task

        # One task per batch: the worker goes on to the next batch while another sends these.
        request_ids = [r.pk for r in moving]
        transaction.on_commit(lambda: access_requests_notify_task.delay(request_ids, "active"))


def access_requests_notify(*, access_request_ids: list[int], event: str) -> None:
    """Tell each requester that their request became ``event`` (the requester notification hook)."""
    for access_request_id in access_request_ids:
        _notify_requester(access_request_id, event)


@transaction.atomic
def _release_claimed(*, ids: list[int], reason: str) -> None:
    """Grants claimed into a batch that hit a transient error go back to pending, each with its
    own apply task again (their first task may have run already and left them to the batch)."""
    for grant in Grant.objects.select_for_update().filter(pk__in=ids, status=GrantStatus.APPLYING):
        _grant_transition(grant, GrantStatus.PENDING, reason=f"Retrying: {reason}")
        _enqueue_apply(grant.pk)


@transaction.atomic
def grant_mark_failed(*, grant_id: int, reason: str) -> Grant:
    """Give up on applying a grant: failed with ``reason`` (the request too). An admin can retry."""
    grant = Grant.objects.select_for_update().get(pk=grant_id)
    if grant.status == GrantStatus.FAILED:
        return grant
    _grant_transition(grant, GrantStatus.FAILED, reason=reason)
    access_request = _locked(grant.access_request_id)
    if access_request.status == S.PROVISIONING:
        _transition(access_request, S.FAILED, actor=None, action="access_request.failed", message=reason)
    return grant


@transaction.atomic
def grant_retry(*, grant_id: int, actor) -> Grant:
    """Re-enqueue a failed grant (admins). Raises ApplicationError unless it failed."""
    grant = Grant.objects.select_for_update().get(pk=grant_id)
    if grant.status != GrantStatus.FAILED:
        raise ApplicationError("Only a failed grant can be retried.")
    access_request = _locked(grant.access_request_id)
    if access_request.status == S.FAILED:
        _transition(access_request, S.PROVISIONING, actor=actor, action="access_request.retry")
    audit_record(actor=actor, action="grant.retry", obj=grant)
    _enqueue_apply(grant.pk)
    return grant


def grant_revoke_refusal(*, actor, grant: Grant) -> str | None:
    """Why ``actor`` may not revoke ``grant`` now, or None when they may: whoever
    :func:`~apps.access.selectors.grant_revoke_permitted` allows, while the grant is pending,
    active or failed."""
    from .selectors import grant_revoke_permitted

    if not grant_revoke_permitted(user=actor, grant=grant):
        return "Only the product's owners or the consumer can revoke this grant."
    if grant.status not in OWNER_REVOCABLE_GRANT_STATES:
        return f"This grant is {grant.get_status_display().lower()}; it cannot be revoked now."
    return None


@transaction.atomic
def grant_revoke_request(*, grant_id: int, actor, reason: str) -> Grant:
    """An owner takes an access away at any time, with a reason the consumer is told (or the
    consumer gives up their own access).

    The grant becomes revoking at once (audited with the actor and reason) and a worker drops
    the role after commit; the request then becomes revoked and the requester is notified.
    Raises ApplicationError (field ``reason``) without a reason, or when ``actor`` may not
    revoke it (see :func:`grant_revoke_refusal`).
    """
    if not reason.strip():
        raise ApplicationError("Say why the access is revoked.", {"reason": ["A reason is required to revoke."]})
    grant = Grant.objects.select_for_update(of=("self",)).select_related("access_request__output_port__data_product").get(pk=grant_id)
    refusal = grant_revoke_refusal(actor=actor, grant=grant)
    if refusal:
        raise ApplicationError(refusal)
    _grant_transition(grant, GrantStatus.REVOKING, actor=actor, reason=reason.strip())
    from .tasks import grant_revoke_task

    actor_id, reason = actor.pk, reason.strip()
    transaction.on_commit(lambda: grant_revoke_task.delay(grant_id, reason=reason, actor_id=actor_id))
    return grant


def grant_revoke(*, grant_id: int, actor=None, reason: str = "", expired: bool = False) -> Grant:
    """Take a grant back on the platform; the request becomes revoked (or expired). Idempotent.

    Raises TransientPlatformError (for the task to retry) when the platform is unreachable.
    """
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("access_request__output_port", "platform").get(pk=grant_id)
        if grant.status == GrantStatus.REVOKED:
            return grant
        _grant_transition(grant, GrantStatus.REVOKING, actor=actor, reason=reason)
        spec = _spec(grant)
    started = time.monotonic()
    try:
        result = get_grant_adapter(grant.platform).revoke(spec)
    except PlatformGrantError as exc:
        _record_attempt(grant, GrantAction.REVOKE, started, error=str(exc))
        raise
    _record_attempt(grant, GrantAction.REVOKE, started, summary=result.summary)
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant_id)
        _grant_transition(grant, GrantStatus.REVOKED, actor=actor, reason=reason, revoked_at=timezone.now())
        access_request = _locked(grant.access_request_id)
        target = S.EXPIRED if expired else S.REVOKED
        if target in ACCESS_REQUEST_TRANSITIONS[access_request.status]:
            _transition(access_request, target, actor=actor, action=f"access_request.{target}", message=reason)
            request_id = access_request.pk
            transaction.on_commit(lambda: _notify_requester(request_id, target))
    return grant


def grant_expire_due(*, now=None) -> list[int]:
    """Ids of active grants whose end date has passed (to revoke as expired)."""
    now = now or timezone.now()
    return list(Grant.objects.filter(status=GrantStatus.ACTIVE, expires_at__lte=now).values_list("pk", flat=True)[:500])


def grant_pending_stuck(*, older_than: timedelta = timedelta(seconds=30)) -> list[int]:
    """Ids of grants still pending (or applying) a while after approval: the apply task was lost
    (broker down at commit, worker killed) or waits for a login. Re-enqueued by beat."""
    cutoff = timezone.now() - older_than
    return list(
        Grant.objects.filter(status__in=[GrantStatus.PENDING, GrantStatus.APPLYING], updated_at__lte=cutoff)
        .values_list("pk", flat=True)[:500]
    )


# --- reconciliation ----------------------------------------------------------------------------

def _words(privileges) -> str:
    return "; ".join(p.label for p in sorted(privileges))


def grant_reconcile(*, grant_id: int) -> list[GrantDrift]:
    """Compare an active grant with its platform and correct the drift (``GrantDrift`` rows).

    The role missing entirely → recreated; privileges removed outside the portal → re-applied;
    privileges added to the managed role outside the portal (another table, INSERT, the role
    granted to someone else) → removed. Each finding is recorded and audited; a correction the
    platform refuses is recorded with action ``failed`` and the reason, and the grant stays
    active. The grant row is locked meanwhile (skipped when a worker holds it), so a revocation
    in progress is never undone. Raises TransientPlatformError when the platform is unreachable.
    """
    with transaction.atomic():
        grant = (Grant.objects.select_for_update(of=("self",), skip_locked=True)
                 .select_related("access_request__output_port", "platform")
                 .filter(pk=grant_id, status=GrantStatus.ACTIVE).first())
        if grant is None:
            return []
        adapter, spec = get_grant_adapter(grant.platform), _spec(grant)
        try:
            found = adapter.inspect(spec)
        except TransientPlatformError:
            raise
        except PlatformGrantError as exc:  # e.g. the consumer's login was dropped on the platform
            return _record_drifts(grant, [(DriftKind.MISSING, frozenset(), DriftAction.FAILED,
                                           f"Could not inspect role {spec.role_name}.")], error=str(exc))
        if found.in_sync:
            Grant.objects.filter(pk=grant.pk).update(verified_at=timezone.now())
            return []
        started, statements, error = time.monotonic(), [], ""
        try:
            if found.role_exists and found.extra:
                statements += adapter.remove(spec, found.extra).statements
            statements += adapter.apply(spec).statements
            after = adapter.inspect(spec)
            if not after.in_sync:
                error = f"Still differs after correction: {_words(after.missing | after.extra)}"
            else:
                Grant.objects.filter(pk=grant.pk).update(verified_at=timezone.now())
        except TransientPlatformError:
            raise
        except PlatformGrantError as exc:
            error = str(exc)
        _record_attempt(grant, GrantAction.RECONCILE, started, summary="\n".join(statements), error=error)
        findings = []
        if not found.role_exists:
            findings.append((DriftKind.ROLE_MISSING, found.wanted, DriftAction.RECREATED,
                             f"Role {spec.role_name} was missing on {grant.platform}."))
        else:
            if found.missing:
                findings.append((DriftKind.MISSING, found.missing, DriftAction.REAPPLIED,
                                 f"Removed outside the portal: {_words(found.missing)}."))
            if found.extra:
                findings.append((DriftKind.EXTRA, found.extra, DriftAction.REMOVED,
                                 f"Added outside the portal: {_words(found.extra)}."))
        return _record_drifts(grant, findings, error=error)


def _record_drifts(grant: Grant, findings: list, *, error: str) -> list[GrantDrift]:
    """One GrantDrift and audit event per finding ``(kind, privileges, action, summary)``. A
    finding the platform keeps refusing to have corrected is recorded once, not every run."""
    drifts = []
    latest = GrantDrift.objects.filter(grant=grant).order_by("-at", "-pk").first()
    for kind, privileges, action, summary in findings:
        action = DriftAction.FAILED if error else action
        if (latest is not None and action == DriftAction.FAILED and latest.action == DriftAction.FAILED
                and (latest.kind, latest.summary, latest.error) == (kind, summary, error)):
            continue
        drift = GrantDrift.objects.create(
            grant=grant, platform=grant.platform, kind=kind, found=[p.as_json() for p in sorted(privileges)],
            summary=summary, action=action, error=error,
        )
        audit_record(actor=None, action=f"grant.drift_{kind}", obj=grant, after={"action": drift.action},
                     message=summary + (f" Not corrected: {error}" if error else ""))
        drifts.append(drift)
    return drifts


def platform_reconcile(*, platform_id: int) -> list[GrantDrift]:
    """Reconcile every active grant of a platform (see :func:`grant_reconcile`), and drop the
    roles of revoked grants found on it again; the drifts found.

    Raises TransientPlatformError when the platform is unreachable (the beat task retries).
    """
    drifts: list[GrantDrift] = []
    grant_ids = Grant.objects.filter(platform_id=platform_id, status=GrantStatus.ACTIVE).order_by("pk").values_list("pk", flat=True)
    for grant_id in grant_ids.iterator(chunk_size=200):
        drifts += grant_reconcile(grant_id=grant_id)
    return drifts + _drop_roles_of_revoked_grants(platform_id=platform_id)


def _drop_roles_of_revoked_grants(*, platform_id: int) -> list[GrantDrift]:
    """A portal role (``<GRANT_ROLE_PREFIX><grant id>``) that exists on the platform although
    its grant was revoked (recreated by hand, or restored from a backup) is dropped again."""
    if not Grant.objects.filter(platform_id=platform_id, status=GrantStatus.REVOKED).exists():
        return []
    adapter, prefix = get_grant_adapter(Platform.objects.get(pk=platform_id)), settings.GRANT_ROLE_PREFIX
    ids = {int(name[len(prefix):]) for name in adapter.managed_roles(prefix) if name[len(prefix):].isdigit()}
    drifts = []
    for grant in Grant.objects.filter(pk__in=ids, platform_id=platform_id, status=GrantStatus.REVOKED).select_related(
        "access_request__output_port", "platform"
    ):
        started, error, summary = time.monotonic(), "", ""
        try:
            summary = adapter.revoke(_spec(grant)).summary
        except TransientPlatformError:
            raise
        except PlatformGrantError as exc:
            error = str(exc)
        _record_attempt(grant, GrantAction.RECONCILE, started, summary=summary, error=error)
        message = f"Role {grant.role_name} exists on {grant.platform} although the grant was revoked."
        drifts.append(GrantDrift.objects.create(
            grant=grant, platform=grant.platform, kind=DriftKind.REVOKED_ROLE, summary=message,
            action=DriftAction.FAILED if error else DriftAction.REMOVED, error=error,
        ))
        audit_record(actor=None, action=f"grant.drift_{DriftKind.REVOKED_ROLE}", obj=grant, message=message)
    return drifts


def platform_ids_to_reconcile() -> list[int]:
    """Platforms with at least one active grant (beat reconciles each of them)."""
    return list(Grant.objects.filter(status=GrantStatus.ACTIVE).values_list("platform_id", flat=True).distinct())


# --- notifications and webhooks (apps.notifications) ------------------------------------------

def _payload(access_request: AccessRequest, **extra) -> dict:
    """The webhook body's ``data`` for a request event (no secrets, no credentials)."""
    product = access_request.output_port.data_product
    grant = Grant.objects.filter(access_request=access_request).first()
    return {
        "access_request": {
            "id": access_request.pk, "status": access_request.status, "requester": access_request.requester.username,
            "on_behalf_of_team": access_request.on_behalf_of_team.slug if access_request.on_behalf_of_team else None,
            "purpose": access_request.purpose,
            "purpose_category": access_request.purpose_category.slug if access_request.purpose_category else None,
            "expires_at": _jsonable(access_request.expires_at), "columns": access_request.columns,
            "extends": access_request.extends_id, "policy": str(access_request.policy or ""),
            "decided_by": access_request.decided_by.username if access_request.decided_by else None,
            "decision_comment": access_request.decision_comment,
        },
        "data_product": {"slug": product.slug, "name": product.name, "classification": product.classification,
                         "domain": product.domain.slug, "owner_team": product.owner_team.slug},
        "output_port": {"id": access_request.output_port_id, "name": access_request.output_port.name,
                        "location": access_request.output_port.location},
        "grant": {"id": grant.pk, "status": grant.status, "expires_at": _jsonable(grant.expires_at)} if grant else None,
        **extra,
    }


def _load(access_request_id: int) -> AccessRequest:
    return AccessRequest.objects.select_related(
        "output_port__data_product__domain", "output_port__data_product__owner_team", "output_port__platform",
        "requester", "on_behalf_of_team", "purpose_category", "policy", "decided_by",
    ).get(pk=access_request_id)


def step_approvers(*, step: ApprovalStep) -> list:
    """People who may decide ``step`` now: by role, plus the delegates of those away."""
    access_request = step.access_request
    if step.kind == ApprovalStepKind.STEWARD:
        people = list(User.objects.filter(groups__name=STEWARDS_GROUP, is_active=True).distinct())
    elif step.kind == ApprovalStepKind.OWNER:
        people = list(team_approvers(team=access_request.output_port.data_product.owner_team))
    else:
        people = list(step.named_users.filter(is_active=True))
        if step.team_id:
            people += list(team_approvers(team=step.team))
    now = timezone.now()
    delegates = [d.delegate for d in ApproverDelegation.objects.filter(
        delegator__in=[p.pk for p in people], starts__lte=now, ends__gt=now).select_related("delegate")]
    return [p for p in people + delegates if p.pk != access_request.requester_id]


def _notify_approvers(access_request_id: int, *, verb: str = "", dedupe: str = "") -> None:
    """Tell the current step's approvers (and their delegates) that a request waits for them."""
    access_request = _load(access_request_id)
    step = _current_step(access_request)
    if step is None:
        return
    product = access_request.output_port.data_product
    verb = verb or Verb.DECISION_NEEDED
    prefix = "Reminder: " if verb == Verb.REMINDER else ""
    notify(
        recipients=step_approvers(step=step), verb=verb, obj=access_request,
        subject=f"{prefix}Access request #{access_request.pk} for {product.name} waits for your decision",
        message=(f"{access_request.requester} asks to read {access_request.output_port} "
                 f"({product.get_classification_display()}). Purpose: {access_request.purpose}. Step {step.order}: {step.label}."),
        url=reverse("access:request_detail", args=[access_request.pk]),
        dedupe_key=dedupe or f"decide:{step.pk}",
    )
    if verb == Verb.REMINDER:
        webhook_publish(event=WebhookEvent.REQUEST_REMINDER, payload=_payload(access_request, step=step.as_dict()),
                        dedupe_key=dedupe)
    else:
        webhook_publish(event=WebhookEvent.REQUEST_SUBMITTED, payload=_payload(access_request, step=step.as_dict()),
                        dedupe_key=f"access_request:{access_request.pk}:step:{step.order}")


_REQUESTER_EVENTS = {
    # event: (verb, webhook event, wording)
    "approved": (Verb.DECIDED, WebhookEvent.REQUEST_APPROVED, "was approved"),
    "rejected": (Verb.DECIDED, WebhookEvent.REQUEST_REJECTED, "was rejected"),
    "cancelled": (None, WebhookEvent.REQUEST_CANCELLED, "was cancelled"),
    "active": (Verb.GRANT_ACTIVE, WebhookEvent.GRANT_ACTIVE, "is active: you can read the data now"),
    "revoked": (Verb.GRANT_REVOKED, WebhookEvent.GRANT_REVOKED, "was revoked"),
    "expired": (Verb.GRANT_REVOKED, WebhookEvent.GRANT_REVOKED, "has expired"),
    "failed": (Verb.GRANT_FAILED, WebhookEvent.GRANT_FAILED, "could not be granted on the platform"),
}


def _notify_requester(access_request_id: int, event: str) -> None:
    """Tell the requester (in-app and email) and the webhooks about ``event`` of their request:
    approved, rejected, cancelled, active, revoked, expired or failed. Idempotent per event."""
    access_request = _load(access_request_id)
    verb, webhook_event, wording = _REQUESTER_EVENTS.get(event, (Verb.DECIDED, None, event))
    key = f"access_request:{access_request.pk}:{event}"
    if verb is not None:
        comment = f" Comment: {access_request.decision_comment}" if access_request.decision_comment and event in ("approved", "rejected") else ""
        notify(
            recipients=[access_request.requester], verb=verb, obj=access_request,
            subject=f"Your access request #{access_request.pk} {wording}",
            message=f"Your access to {access_request.output_port} (request #{access_request.pk}) {wording}.{comment}",
            url=reverse("access:request_detail", args=[access_request.pk]), dedupe_key=key,
        )
    if webhook_event is not None:
        webhook_publish(event=webhook_event, payload=_payload(access_request, event=event), dedupe_key=key)


def grant_expiring_notify(*, now=None, within: timedelta = timedelta(days=7)) -> int:
    """Tell consumers whose active grant ends within ``within`` (default 7 days). Once per grant
    and end date (an extension re-arms it). Returns how many consumers were told."""
    now = now or timezone.now()
    told = 0
    grants = (Grant.objects.filter(status=GrantStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + within)
              .select_related("access_request").order_by("expires_at")[:500])
    for grant in grants:
        access_request = _load(grant.access_request_id)
        key = f"grant:{grant.pk}:expiring:{grant.expires_at:%Y-%m-%d}"
        created = notify(
            recipients=[access_request.requester], verb=Verb.GRANT_EXPIRING, obj=access_request,
            subject=f"Your access to {access_request.output_port.data_product.name} ends on {grant.expires_at:%Y-%m-%d}",
            message=(f"Your access to {access_request.output_port} ends on {grant.expires_at:%Y-%m-%d}. "
                     "Ask for an extension from the request page if you still need it."),
            url=reverse("access:request_detail", args=[access_request.pk]), dedupe_key=key,
        )
        webhook_publish(event=WebhookEvent.GRANT_EXPIRING, payload=_payload(access_request), dedupe_key=key)
        told += len(created)
    return told


