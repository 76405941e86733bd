"""Notifications and webhooks about access requests and grants (apps.notifications)."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.accounts.choices import STEWARDS_GROUP
from apps.accounts.models import User
from apps.accounts.selectors import team_approvers
from apps.core.tasks import enqueue_batch_on_commit
from apps.notifications.choices import Verb, WebhookEvent
from apps.notifications.services import Notice, notify, notify_many, webhook_publish, webhook_publish_many

from ..choices import (
    ApprovalStepKind,
    GrantStatus,
)
from ..models import (
    AccessRequest,
    ApprovalStep,
    ApproverDelegation,
    Grant,
)
from ..permissions import sod_refusal
from ._base import _current_step, _jsonable

_LOOK_UP = object()


def _payload(access_request: AccessRequest, *, grant=_LOOK_UP, **extra) -> dict:
    """The webhook body's ``data`` for a request event (no secrets, no credentials); ``grant``:
    the request's grant (or None) when the caller has it, else looked up."""
    product = access_request.output_port.data_product
    if grant is _LOOK_UP:
        grant = Grant.objects.filter(access_request=access_request).first()
    return {
        "access_request": {
            "id": access_request.pk,
            "status": access_request.status,
            "requester": access_request.requester.username,
            "on_behalf_of_team": access_request.on_behalf_of_team.slug if access_request.on_behalf_of_team else None,
            "purpose": access_request.purpose,
            "purpose_category": access_request.purpose_category.slug if access_request.purpose_category else None,
            "expires_at": _jsonable(access_request.expires_at),
            "columns": access_request.columns,
            "extends": access_request.extends_id,
            "policy": str(access_request.policy or ""),
            "decided_by": access_request.decided_by.username if access_request.decided_by else None,
            "decision_comment": access_request.decision_comment,
        },
        "data_product": {
            "slug": product.slug,
            "name": product.name,
            "classification": product.classification,
            "domain": product.domain.slug,
            "owner_team": product.owner_team.slug,
        },
        "output_port": {
            "id": access_request.output_port_id,
            "name": access_request.output_port.name,
            "location": access_request.output_port.location,
        },
        "grant": {"id": grant.pk, "status": grant.status, "expires_at": _jsonable(grant.expires_at)} if grant else None,
        **extra,
    }


def _load(access_request_id: int) -> AccessRequest:
    return _loading().get(pk=access_request_id)


def _loading():
    return AccessRequest.objects.select_related(
        "output_port__data_product__domain",
        "output_port__data_product__owner_team",
        "output_port__platform",
        "requester",
        "on_behalf_of_team",
        "purpose_category",
        "policy",
        "decided_by",
    )


def step_people(*, step: ApprovalStep) -> list:
    """Active people whose role lets them decide ``step`` (stewards, the owner team's approvers,
    or the named users and team), before delegation and segregation of duties."""
    if step.kind == ApprovalStepKind.STEWARD:
        return list(User.objects.filter(groups__name=STEWARDS_GROUP, is_active=True).distinct())
    if step.kind == ApprovalStepKind.OWNER:
        return list(team_approvers(team=step.access_request.output_port.data_product.owner_team))
    people = list(step.named_users.filter(is_active=True)) if step.pk else []
    if step.team_id:
        people += list(team_approvers(team=step.team))
    return list(dict.fromkeys(people))


def step_approvers(*, step: ApprovalStep) -> list:
    """People who may decide ``step`` now: by role, plus the delegates of those away."""
    access_request = step.access_request
    people = step_people(step=step)
    now = timezone.now()
    delegates = [
        d.delegate
        for d in ApproverDelegation.objects.filter(
            delegator__in=[p.pk for p in people], starts__lte=now, ends__gt=now
        ).select_related("delegate")
    ]

    # Nobody is asked to decide what segregation of duties or four eyes would refuse them.
    return [
        p
        for p in dict.fromkeys(people + delegates)
        if sod_refusal(person=p, access_request=access_request, step=step) is None
    ]


def _end(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "no end date"


def _approver_wording(access_request: AccessRequest, step: ApprovalStep, *, reminder: bool) -> tuple[str, str]:
    """(subject, message) for the approvers of ``step``: an extension says so with the current and
    the requested end date; a reminder says how long the request has waited."""
    product = access_request.output_port.data_product
    extension = access_request.extends_id is not None
    kind = "Extension request" if extension else "Access request"
    waited = ""
    if reminder and access_request.submitted_at:
        days = max(1, (timezone.now() - access_request.submitted_at).days)
        waited = f" (waiting {days} day{'s' if days != 1 else ''})"
    subject = f"{'Reminder: ' if reminder else ''}{kind} #{access_request.pk} for {product.name} waits for your decision{waited}"
    if extension:
        asks = (
            f"{access_request.requester} asks to extend their access to {access_request.output_port} "
            f"({product.get_classification_display()}) from {_end(access_request.extends.expires_at)} "
            f"to {_end(access_request.expires_at)}."
        )
    else:
        asks = (
            f"{access_request.requester} asks to read {access_request.output_port} "
            f"({product.get_classification_display()}), until {_end(access_request.expires_at)}."
        )
    message = f"{asks} Purpose: {access_request.purpose}. Step {step.order}: {step.label}."
    if waited:
        message += f" The request has waited{waited.removeprefix(' (waiting').removesuffix(')')} so far."
    return subject, message


def _notify_approvers(access_request_id: int, *, verb: str = "", dedupe: str = "") -> None:
    """Tell the current step's approvers (and their delegates) that a request waits for them."""
    access_request = _load(access_request_id)
    step = _current_step(access_request)
    if step is None:
        return
    verb = verb or Verb.DECISION_NEEDED
    subject, message = _approver_wording(access_request, step, reminder=verb == Verb.REMINDER)
    notify(
        recipients=step_approvers(step=step),
        verb=verb,
        obj=access_request,
        subject=subject,
        message=message,
        url=reverse("access:request_detail", args=[access_request.pk]),
        dedupe_key=dedupe or f"decide:{step.pk}",
    )
    if verb == Verb.REMINDER:
        webhook_publish(
            event=WebhookEvent.REQUEST_REMINDER,
            payload=_payload(access_request, step=step.as_dict()),
            dedupe_key=dedupe,
        )
    else:
        webhook_publish(
            event=WebhookEvent.REQUEST_SUBMITTED,
            payload=_payload(access_request, step=step.as_dict()),
            dedupe_key=f"access_request:{access_request.pk}:step:{step.order}",
        )


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


def _requester_notice(access_request: AccessRequest, event: str, grant: Grant | None) -> Notice:
    verb, _webhook_event, wording = _REQUESTER_EVENTS.get(event, (Verb.DECIDED, None, event))
    comment = (
        f" Comment: {access_request.decision_comment}"
        if access_request.decision_comment and event in ("approved", "rejected")
        else ""
    )
    if event == "approved" and access_request.extends_id is not None:
        comment = f" Your access now runs until {_end(access_request.expires_at)}.{comment}"
    if event == "revoked" and grant is not None and grant.status_reason:
        comment = f" Reason: {grant.status_reason}"
    return Notice(
        recipients=(access_request.requester,),
        verb=verb,
        obj=access_request,
        subject=f"Your access request #{access_request.pk} {wording}",
        message=f"Your access to {access_request.output_port} (request #{access_request.pk}) {wording}.{comment}",
        url=reverse("access:request_detail", args=[access_request.pk]),
        dedupe_key=f"access_request:{access_request.pk}:{event}",
    )


def access_requests_notify_approvers(*, access_request_ids: list[int]) -> None:
    """Tell the current step's approvers of each request that it waits for them (nothing for a
    request decided meanwhile)."""
    for access_request_id in access_request_ids:
        _notify_approvers(access_request_id)


def notify_requester_on_commit(access_request_id: int, event: str) -> None:
    """After commit, a worker tells the requester about ``event``: one
    ``access_requests_notify_task`` per transaction and event however many requests it decided
    (an owner approving a thousand at once waits for none of the notices); when the broker
    refuses the task, the notices are written in this process instead."""
    from ..tasks import access_requests_notify_task

    enqueue_batch_on_commit(
        access_requests_notify_task,
        access_request_id,
        event,
        fallback=lambda ids: access_requests_notify(access_request_ids=ids, event=event),
    )


def notify_approvers_on_commit(access_request_id: int) -> None:
    """After commit, a worker tells the current step's approvers that the request waits for them
    (one ``access_requests_notify_approvers_task`` per transaction); in this process when the
    broker refuses it."""
    from ..tasks import access_requests_notify_approvers_task

    enqueue_batch_on_commit(
        access_requests_notify_approvers_task,
        access_request_id,
        fallback=lambda ids: access_requests_notify_approvers(access_request_ids=ids),
    )


def access_requests_notify(*, access_request_ids: list[int], event: str) -> None:
    """Tell each requester that their request became ``event`` (in-app and e-mail) and the
    webhooks: approved, rejected, cancelled, active, revoked, expired or failed. Idempotent per
    request and event. In bulk: a fixed number of queries however many requests."""
    requests = list(_loading().filter(pk__in=access_request_ids).order_by("pk"))
    if not requests:
        return
    verb, webhook_event, _wording = _REQUESTER_EVENTS.get(event, (Verb.DECIDED, None, event))
    grants = {g.access_request_id: g for g in Grant.objects.filter(access_request__in=requests)}
    if verb is not None:
        notify_many([_requester_notice(r, event, grants.get(r.pk)) for r in requests])
    if webhook_event is not None:
        webhook_publish_many(
            (
                webhook_event,
                _payload(r, grant=grants.get(r.pk), event=event),
                f"access_request:{r.pk}:{event}",
            )
            for r in requests
        )


def grant_expiring_notify(*, now=None, within: timedelta = timedelta(days=7)) -> int:
    """Tell consumers whose active grant ends within ``within`` (default 7 days). Once per grant
    and end date (an extension re-arms it). Returns how many consumers were told."""
    now = now or timezone.now()
    told = 0
    grants = (
        Grant.objects.filter(status=GrantStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + within)
        .select_related("access_request")
        .order_by("expires_at")[:500]
    )
    for grant in grants:
        access_request = _load(grant.access_request_id)
        key = f"grant:{grant.pk}:expiring:{grant.expires_at:%Y-%m-%d}"
        created = notify(
            recipients=[access_request.requester],
            verb=Verb.GRANT_EXPIRING,
            obj=access_request,
            subject=f"Your access to {access_request.output_port.data_product.name} ends on {grant.expires_at:%Y-%m-%d}",
            message=(
                f"Your access to {access_request.output_port} ends on {grant.expires_at:%Y-%m-%d}. "
                "Ask for an extension from the request page if you still need it."
            ),
            url=reverse("access:request_detail", args=[access_request.pk]),
            dedupe_key=key,
        )
        webhook_publish(event=WebhookEvent.GRANT_EXPIRING, payload=_payload(access_request), dedupe_key=key)
        told += len(created)
    return told


def _alert_revocation_failed(grant_id: int) -> None:
    """Alert the stewards (in-app and email) and the webhooks that a revocation gave up: the
    consumer may still have access on the platform until it is retried or reconciled."""
    grant = Grant.objects.select_related("platform", "access_request").get(pk=grant_id)
    access_request = _load(grant.access_request_id)
    stewards = User.objects.filter(groups__name=STEWARDS_GROUP, is_active=True).distinct()
    key = f"grant:{grant.pk}:revocation_failed:{timezone.now():%Y-%m-%d}"  # at most one alert a day
    notify(
        recipients=stewards,
        verb=Verb.GRANT_FAILED,
        obj=access_request,
        subject=f"Revocation of grant #{grant.pk} failed: access may still exist",
        message=(
            f"The revocation of {access_request.requester}'s access to {access_request.output_port} "
            f"(grant #{grant.pk}, role {grant.role_name or '?'} on {grant.platform}) failed: {grant.status_reason} "
            "A platform operator can retry it from the request page."
        ),
        url=reverse("access:request_detail", args=[access_request.pk]),
        dedupe_key=key,
    )
    webhook_publish(
        event=WebhookEvent.GRANT_FAILED, payload=_payload(access_request, event="revocation_failed"), dedupe_key=key
    )
