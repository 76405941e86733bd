"""Approvals: decision authority, segregation of duties, deciding steps, delegation."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.choices import TeamRole
from apps.accounts.models import TeamMembership
from apps.core.db import retry_on_deadlock
from apps.core.exceptions import ApplicationError
from apps.insights.choices import UsageEventKind
from apps.insights.services import event_record

from ..choices import (
    ApprovalStepKind,
    ApprovalStepStatus,
)
from ..models import (
    AccessRequest,
    ApprovalStep,
    ApproverDelegation,
    Grant,
)
from ..permissions import require_decide
from ._base import S, _jsonable, _locked, audit_record
from .grants import grant_create
from .notify import notify_approvers_on_commit, notify_requester_on_commit, step_approvers, step_people
from .transitions import _step_transition, _steps_cancel, _transition


def _escalation_wording(step: ApprovalStep) -> tuple[str, str]:
    """``(for_requester, neutral)``: why nobody may decide ``step``, in plain words."""
    access_request = step.access_request
    product = access_request.output_port.data_product
    if step.kind == ApprovalStepKind.OWNER:
        team_name, who = str(product.owner_team), f"{product.owner_team}, the team that owns {product.name}"
    elif step.team_id:
        team_name = who = str(step.team)
    else:
        team_name = who = f"the approvers named in the data contract of {product.name}"
    people = step_people(step=step)
    if people and all(p.pk == access_request.requester_id for p in people):
        return f"You are the only approver of {who}", f"the requester is the only approver of {team_name}"
    if not people:
        return f"Nobody at {who} can approve requests", f"nobody at {team_name} can approve requests"
    barred = "you" + (
        f" and the members of {access_request.on_behalf_of_team}" if access_request.on_behalf_of_team_id else ""
    )
    return (
        f"Segregation of duties bars {barred} from deciding, and nobody else at {who} can",
        f"segregation of duties bars every approver of {team_name}",
    )


def _escalate_at_submission(step: ApprovalStep, *, actor) -> bool:
    """Route ``step`` (an owner or data-contract step, just created) to the escalation path when
    nobody but the requester could decide it (a one-person owner team, say): otherwise it would
    wait forever. The target is the one an overdue step escalates to: the approvers of the
    product domain's owner team, else (no such team, or nobody there may decide either) the
    governance stewards. The step records the reason in words for the requester
    (``escalation_reason``) and ``escalated_at``; the change is audited. Returns whether it was
    rerouted. Steward steps are never rerouted (nobody ranks above the stewards)."""
    if step.kind == ApprovalStepKind.STEWARD or step_approvers(step=step):
        return False
    for_requester, neutral = _escalation_wording(step)
    before = step.as_dict()
    domain = step.access_request.output_port.data_product.domain
    step.kind, step.team = ApprovalStepKind.NAMED, domain.owner_team
    step.named_users.clear()
    if domain.owner_team is not None and step_approvers(step=step):
        target = f"{domain.owner_team}, the owner team of the {domain} domain"
        step.label = f"An approver of {domain.owner_team} (escalated: {neutral})"
    else:
        step.kind, step.team = ApprovalStepKind.STEWARD, None
        target = "the governance stewards"
        step.label = f"A governance steward (escalated: {neutral})"
    step.label = step.label[:200]
    step.escalated_at = timezone.now()
    step.escalation_reason = f"{for_requester}, so your request goes to {target} instead."[:400]
    step.save(update_fields=["kind", "team", "label", "escalated_at", "escalation_reason"])
    audit_record(
        actor=actor,
        action="access_request.escalated",
        obj=step.access_request,
        before=before,
        after={**step.as_dict(), "escalated_at": step.escalated_at.isoformat()},
        message=f"Routed at submission to {target}: {neutral}.",
    )
    return True


def _approve_final(access_request: AccessRequest, *, actor, comment: str) -> None:
    """Every step approved (or none needed): approved, then a grant (or, for an extension, the
    new end date applied to the active access)."""
    now = timezone.now()
    _transition(
        access_request,
        S.APPROVED,
        actor=actor,
        action="access_request.approved",
        message=comment,
        decided_by=actor,
        decided_at=now,
        decision_comment=comment,
    )
    if access_request.extends_id is not None:
        notify_requester_on_commit(access_request.pk, "approved")
        _apply_extension(access_request, actor=actor)
        return
    # The grant's apply task is published first: the consumer's access does not wait for notices.
    grant_create(access_request=access_request, actor=actor, starts_at=now)  # applied on commit
    notify_requester_on_commit(access_request.pk, "approved")
    _transition(access_request, S.PROVISIONING, actor=actor, action="access_request.provisioning")


def _apply_extension(extension: AccessRequest, *, actor) -> None:
    original = _locked(extension.extends_id)
    if original.status != S.ACTIVE:
        raise ApplicationError(
            f"Request #{original.pk} is {original.get_status_display().lower()}; it can no longer be extended."
        )
    before = _jsonable(original.expires_at)
    original.expires_at = extension.expires_at
    original.save(update_fields=["expires_at", "updated_at"])
    audit_record(
        actor=actor,
        action="access_request.extended",
        obj=original,
        before={"expires_at": before},
        after={"expires_at": _jsonable(original.expires_at)},
        message=f"Extension #{extension.pk} approved.",
    )
    grant = Grant.objects.select_for_update().filter(access_request=original).first()
    if grant is not None:
        grant.expires_at = extension.expires_at
        grant.save(update_fields=["expires_at", "updated_at"])
        audit_record(
            actor=actor,
            action="grant.extended",
            obj=grant,
            before={"expires_at": before},
            after={"expires_at": _jsonable(grant.expires_at)},
            message=f"Extension #{extension.pk} approved.",
        )
    _transition(
        extension,
        S.APPLIED,
        actor=actor,
        action="access_request.applied",
        message=f"Access of request #{original.pk} now ends {_jsonable(extension.expires_at) or 'never'}.",
    )


def _decide_step(step: ApprovalStep, *, actor, principal, decision: str, comment: str) -> None:
    on_behalf_of = principal if principal is not None and principal.pk != actor.pk else None
    after = {**step.as_dict(), "decided_by": str(actor)}
    if on_behalf_of:
        after["on_behalf_of"] = str(on_behalf_of)
    _step_transition(
        step,
        decision,
        actor=actor,
        action=f"access_request.step_{decision}",
        message=comment,
        audit_before=step.as_dict(),
        audit_after=after,
        decided_by=actor,
        on_behalf_of=on_behalf_of,
        decided_at=timezone.now(),
        comment=comment,
    )
    event_record(kind=UsageEventKind.STEP_DECIDED, actor=actor, step=step)


@retry_on_deadlock
@transaction.atomic
def access_request_approve(*, access_request_id: int, actor, comment: str = "") -> AccessRequest:
    """Approve the request's current approval step. The next step (if any) starts waiting and
    its approvers are told; after the last one the request is approved and handed to grant
    enforcement (a Grant, applied on commit), or an extension is applied.

    Raises ``PermissionDenied`` when ``actor`` may not decide it and ``ApplicationError`` when the
    request is not waiting for a decision (see :func:`apps.access.permissions.require_decide`).
    """
    access_request = _locked(access_request_id)
    step, principal = require_decide(actor=actor, access_request=access_request)
    _decide_step(step, actor=actor, principal=principal, decision=ApprovalStepStatus.APPROVED, comment=comment.strip())
    following = access_request.steps.filter(order__gt=step.order).order_by("order").first()
    if following is not None:
        pk = access_request.pk
        _step_transition(
            following,
            ApprovalStepStatus.PENDING,
            actor=actor,
            action="access_request.step_pending",
            message=f"Waiting for: {following.label}.",
            audit_before={"step": following.order},
            audit_after=following.as_dict(),
            activated_at=timezone.now(),
            on_commit=lambda: notify_approvers_on_commit(pk),
        )
        return access_request
    _approve_final(access_request, actor=actor, comment=comment.strip())
    return access_request


@retry_on_deadlock
@transaction.atomic
def access_request_reject(*, access_request_id: int, actor, reason: str) -> AccessRequest:
    """Reject a pending request at its current step. ``reason`` is required (shown to the requester).

    Raises ApplicationError (field ``reason``) without a reason, or when ``actor`` may not decide.
    """
    if not reason.strip():
        raise ApplicationError("Say why the request is rejected.", {"reason": ["A reason is required to reject."]})
    access_request = _locked(access_request_id)
    step, principal = require_decide(actor=actor, access_request=access_request)
    _decide_step(step, actor=actor, principal=principal, decision=ApprovalStepStatus.REJECTED, comment=reason.strip())
    _steps_cancel(access_request, statuses=[ApprovalStepStatus.WAITING])
    _transition(
        access_request,
        S.REJECTED,
        actor=actor,
        action="access_request.rejected",
        message=reason,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_comment=reason.strip(),
    )
    notify_requester_on_commit(access_request_id, "rejected")
    return access_request


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
    approves = (
        delegator.is_steward
        or TeamMembership.objects.filter(user=delegator, role__in=[TeamRole.OWNER, TeamRole.APPROVER]).exists()
    )
    if not approves:
        errors.setdefault("delegate", []).append("You approve nothing, so there is nothing to delegate.")
    if errors:
        raise ApplicationError("The delegation has errors.", errors)
    delegation = ApproverDelegation(
        delegator=delegator, delegate=delegate, starts=starts, ends=ends, reason=reason.strip()
    )
    delegation.full_clean()
    delegation.save()
    audit_record(
        actor=delegator,
        action="delegation.created",
        obj=delegation,
        after={"delegate": str(delegate), "starts": starts.isoformat(), "ends": ends.isoformat()},
    )
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
    audit_record(
        actor=actor,
        action="delegation.ended",
        obj=delegation,
        before=before,
        after={"ends": delegation.ends.isoformat()},
    )
    return delegation
