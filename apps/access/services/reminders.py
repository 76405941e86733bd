"""Reminders and escalation of approval steps pending past their SLA (beat)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.choices import STEWARDS_GROUP
from apps.accounts.models import User
from apps.accounts.selectors import team_approvers
from apps.catalog.choices import Classification
from apps.notifications.choices import Verb, WebhookEvent
from apps.notifications.services import notify, webhook_publish

from ..choices import (
    ApprovalStepStatus,
)
from ..models import (
    AccessPolicy,
    AccessRequest,
    ApprovalStep,
)
from ..policy import (
    DEFAULT_POLICIES,
    add_business_days,
)
from ._base import S, audit_record
from .notify import _notify_approvers, _payload


def access_request_remind_due(*, now=None, batch_size: int = 500) -> dict[str, int]:
    """Remind approvers of steps pending longer than their policy's SLA (business days), and
    escalate to the domain's owner team after twice the SLA. Idempotent: each step is reminded
    and escalated once (conditional update). Returns ``{"reminded": n, "escalated": n}``.

    Only steps older than the shortest SLA in calendar days are read (a business day is at
    least a calendar day), streamed in chunks of ``batch_size``."""
    now = now or timezone.now()
    counts = {"reminded": 0, "escalated": 0}
    shortest = (
        AccessPolicy.objects.filter(sla_business_days__gt=0)
        .order_by("sla_business_days")
        .values_list("sla_business_days", flat=True)
        .first()
        or DEFAULT_POLICIES[Classification.CONFIDENTIAL]["sla_business_days"]
    )
    # A step escalated at submission (nobody but the requester could decide it) is still reminded once.
    steps = (
        ApprovalStep.objects.filter(
            Q(escalated_at__isnull=True) | Q(reminded_at__isnull=True),
            status=ApprovalStepStatus.PENDING,
            access_request__status=S.PENDING_APPROVAL,
            activated_at__lte=now - timedelta(days=shortest),
        )
        .select_related("access_request__policy")
        .order_by("activated_at")
    )
    for step in steps.iterator(chunk_size=batch_size):
        policy = step.access_request.policy
        sla = policy.sla_business_days if policy else DEFAULT_POLICIES[Classification.CONFIDENTIAL]["sla_business_days"]
        if not sla:
            continue
        if (
            step.escalated_at is None
            and now >= add_business_days(step.activated_at, 2 * sla)
            and step.reminded_at is not None
        ):
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
    audit_record(
        actor=None,
        action="access_request.reminder_sent",
        obj=access_request,
        before={"step": step.order, "reminded_at": None},
        after={"step": step.order, "reminded_at": now.isoformat()},
        message=f"Pending longer than the SLA; reminded: {step.label}.",
    )
    _notify_approvers(access_request.pk, verb=Verb.REMINDER, dedupe=f"reminder:{step.pk}")


@transaction.atomic
def _escalate(step: ApprovalStep, *, now) -> None:
    access_request = AccessRequest.objects.select_related("output_port__data_product__domain__owner_team").get(
        pk=step.access_request_id
    )
    domain = access_request.output_port.data_product.domain
    team = domain.owner_team
    recipients = []
    if team is not None:
        recipients = list(team_approvers(team=team)) or list(team.members.filter(is_active=True))
    if not recipients:
        recipients = list(User.objects.filter(groups__name=STEWARDS_GROUP, is_active=True))
    audit_record(
        actor=None,
        action="access_request.escalated",
        obj=access_request,
        before={"step": step.order, "escalated_at": None},
        after={"step": step.order, "escalated_at": now.isoformat()},
        message=f"Pending longer than twice the SLA; escalated to {team or 'the governance stewards'}.",
    )
    notify(
        recipients=recipients,
        verb=Verb.ESCALATION,
        obj=access_request,
        subject=f"Overdue: access request #{access_request.pk} for {access_request.output_port.data_product.name}",
        message=(
            f"Access request #{access_request.pk} by {access_request.requester} has waited for "
            f'"{step.label}" longer than twice the SLA. As the {domain} domain owner, please follow up.'
        ),
        url=reverse("access:request_detail", args=[access_request.pk]),
        dedupe_key=f"escalation:{step.pk}",
    )
    webhook_publish(
        event=WebhookEvent.REQUEST_REMINDER,
        payload=_payload(access_request, escalated=True),
        dedupe_key=f"escalation:{step.pk}",
    )
