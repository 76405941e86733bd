"""Re-evaluating live grants when a data product's classification is raised.

A grant was decided under the policy of the product's classification at the time. When the
classification becomes stricter (Public → Restricted), every live grant (pending, active or
failed) on the product's ports is judged again by the new policy, as if its request were
submitted now:

- the new policy would approve it at once (e.g. Internal, consumer in the domain): **kept**;
- the new policy allows it but wants approvers: **revoked, and sent for re-approval**: a new
  request with the same purpose, scope, team and end date is submitted for the consumer once the
  revocation is done, and goes through the new approval chain;
- the new policy refuses it as it stands (purpose not allowed, permanent or too long):
  **revoked**; the consumer may ask again within the new rules.

Each decision is an audit event (``grant.reevaluated``) on the grant's access request.
Lowering a classification changes no grant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import DataProduct
from apps.core.exceptions import ApplicationError
from apps.core.tasks import enqueue_on_commit
from apps.platforms.exposure import CLASSIFICATION_ORDER

from . import permissions
from .choices import OWNER_REVOCABLE_GRANT_STATES, AccessRequestStatus
from .models import AccessRequest, Grant
from .policy import approval_plan, policy_violations, request_classification
from .selectors import access_policy_current

logger = logging.getLogger(__name__)

KEPT, REAPPROVAL, REVOKED = "kept", "reapproval", "revoked"


@dataclass
class ReevaluationResult:
    """Grant ids by outcome: ``kept``, ``reapproval`` (revoked, re-approval to follow), ``revoked``."""

    kept: list[int] = field(default_factory=list)
    reapproval: list[int] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)


def grants_reevaluate_for_classification(*, product: DataProduct, actor, previous: str) -> ReevaluationResult:
    """Judge ``product``'s live grants again after its classification moved from ``previous``
    to ``product.classification`` (see the module docstring). Runs in the caller's transaction;
    revocations and re-approval requests are scheduled on commit. ``actor``: who changed the
    classification (the revocations are theirs; None: the system). Returns what happened."""
    from . import services  # the request and grant services (a package after h-access's split)

    result = ReevaluationResult()
    if CLASSIFICATION_ORDER.index(product.classification) <= CLASSIFICATION_ORDER.index(previous):
        return result
    now = timezone.now()
    grants = list(
        Grant.objects.select_for_update(of=("self",))
        .filter(access_request__output_port__data_product=product, status__in=OWNER_REVOCABLE_GRANT_STATES)
        .select_related(
            "access_request__output_port__platform",
            "access_request__requester",
            "access_request__on_behalf_of_team",
            "access_request__purpose_category",
        )
        .order_by("pk")
    )
    for grant in grants:
        request = grant.access_request
        try:
            classification = request_classification(output_port=request.output_port)
        except ApplicationError:
            classification = product.classification
        policy = access_policy_current(classification=classification) or services.access_policy_ensure_defaults(
            classification=classification
        )
        violations = policy_violations(
            policy=policy, purpose_category=request.purpose_category, expires_at=request.expires_at, now=now
        )
        plan = approval_plan(
            policy=policy, product=product, requester=request.requester, team=request.on_behalf_of_team
        )
        if not violations and plan.auto_approved:
            outcome, why = KEPT, f"the new policy approves it at once ({plan.source})"
        elif not violations:
            outcome, why = REAPPROVAL, f"the new policy needs approval: {plan.steps[0].label}"
        else:
            outcome = REVOKED
            why = "the new policy refuses it: " + " ".join(m for messages in violations.values() for m in messages)
        change = f"{product} was reclassified from {previous} to {product.classification}"
        services.audit_record(
            actor=actor,
            action="grant.reevaluated",
            obj=request,
            before={"classification": previous},
            after={"classification": product.classification, "grant": grant.pk, "outcome": outcome},
            message=f"{change}; {why}.",
        )
        getattr(result, outcome).append(grant.pk)
        if outcome == KEPT:
            continue
        reason = f"{change}; {why}." + (" A re-approval request follows." if outcome == REAPPROVAL else "")
        _revoke(grant, actor=actor, reason=reason, services=services)
        if outcome == REAPPROVAL:
            from .tasks import access_request_reapproval_task

            enqueue_on_commit(access_request_reapproval_task, request.pk, actor_id=getattr(actor, "pk", None))
    return result


def _revoke(grant: Grant, *, actor, reason: str, services) -> None:
    if actor is not None and permissions.grant_revoke_refusal(actor=actor, grant=grant) is None:
        services.grant_revoke_request(grant_id=grant.pk, actor=actor, reason=reason)
        return
    # The system revokes: the decision is recorded on the grant first (revoking, with the reason),
    # so a lost task is found again by the revoking sweep and the reconcile loop.
    from .services.revocations import _mark_revoking
    from .tasks import grant_revoke_task

    _mark_revoking(grant, actor=None, reason=reason, expired=False)
    enqueue_on_commit(grant_revoke_task, grant.pk)


class ReapprovalNotReady(Exception):
    """The revocation the re-approval waits for is not done yet (the task retries)."""


def access_request_reapproval_submit(*, access_request_id: int, actor=None) -> AccessRequest | None:
    """Submit the re-approval request of a grant revoked by a classification change: the same
    consumer, port, purpose, category, team, columns and end date, under the current policy.

    Raises :class:`ReapprovalNotReady` while the original request is still active or revoking.
    Returns None (nothing to do) when the original ended some other way, the end date has
    passed, or the consumer already asked again; the new request otherwise.
    """
    from . import services

    original = AccessRequest.objects.select_related(
        "output_port", "requester", "on_behalf_of_team", "purpose_category"
    ).get(pk=access_request_id)
    if original.status in (AccessRequestStatus.ACTIVE, AccessRequestStatus.PROVISIONING, AccessRequestStatus.APPROVED):
        raise ReapprovalNotReady(f"Request #{original.pk} is still {original.status}.")
    if original.status != AccessRequestStatus.REVOKED:
        return None
    if original.expires_at is not None and original.expires_at <= timezone.now():
        return None
    try:
        with transaction.atomic():
            new = services.access_request_submit(
                requester=original.requester,
                output_port=original.output_port,
                purpose=original.purpose,
                justification=f"Re-approval of request #{original.pk} after its data product was reclassified.",
                expires_at=original.expires_at,
                on_behalf_of_team=original.on_behalf_of_team,
                purpose_category=original.purpose_category,
                columns=list(original.columns or []),
            )
            services.audit_record(
                actor=actor,
                action="access_request.reapproval_submitted",
                obj=new,
                after={"replaces": original.pk, "status": new.status},
            )
    except ApplicationError as exc:
        logger.info("No re-approval for request #%s: %s", original.pk, exc)
        return None
    return new
