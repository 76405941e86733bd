"""The access models' settings of the one transition helper (:mod:`apps.audit.transitions`):
access requests (``ACCESS_REQUEST_TRANSITIONS``), grants (``GRANT_TRANSITIONS``) and approval steps
(``APPROVAL_STEP_TRANSITIONS``). Callers hold the request's (or grant's) row lock already."""

from __future__ import annotations

from apps.audit import transitions as audit_transitions
from apps.core import freshness
from apps.insights.choices import REQUEST_STATUS_EVENTS
from apps.insights.services import event_record

from ..choices import (
    ACCESS_REQUEST_TRANSITIONS,
    APPROVAL_STEP_TRANSITIONS,
    GRANT_TRANSITIONS,
    ApprovalStepStatus,
)
from ..models import (
    AccessRequest,
    ApprovalStep,
    Grant,
)
from ._base import S, _jsonable
from .notify import notify_requester_on_commit


def _transition(
    access_request: AccessRequest,
    to: str,
    *,
    actor,
    action: str,
    message: str = "",
    after_extra: dict | None = None,
    **changes,
) -> None:
    """Move a locked request to ``to`` (``ApplicationError`` unless the table allows it), audited as
    ``action`` with the changed fields before and after; records the insights event, and tells the
    requester after commit when the access ended (revoked, expired, failed)."""
    entering_or_leaving_inboxes = S.PENDING_APPROVAL in (access_request.status, to)
    audit_transitions.transition(
        access_request,
        to,
        table=ACCESS_REQUEST_TRANSITIONS,
        actor=actor,
        action=action,
        message=message,
        changes=changes,
        subject="This request",
        lock=False,
        audit_before={f: _jsonable(getattr(access_request, f, None)) for f in changes},
        audit_after={**{f: _jsonable(v) for f, v in changes.items()}, **(after_extra or {})},
    )
    if entering_or_leaving_inboxes:  # approvers' inbox badges (apps.core.freshness, topic decisions)
        freshness.bump_on_commit(["decisions"])
    if access_request.pk is not None:  # a stored request (the state-machine test drives bare ones)
        event_record(kind=REQUEST_STATUS_EVENTS.get(to), actor=actor, access_request=access_request)
    if access_request.pk is not None and to in (S.REVOKED, S.EXPIRED, S.FAILED):
        # Grant outcomes reach the requester whichever code path ended the grant.
        pk = access_request.pk
        notify_requester_on_commit(pk, to)


def _grant_transition(grant: Grant, to: str, *, actor=None, reason: str = "", **changes) -> None:
    """Move a locked grant to ``to`` with ``reason`` as its ``status_reason`` (``ApplicationError``
    unless the table allows it); audited as ``grant.<to>`` unless the status stays the same."""
    audit_transitions.transition(
        grant,
        to,
        table=GRANT_TRANSITIONS,
        actor=actor,
        action=f"grant.{to}",
        message=reason,
        changes={"status_reason": reason, **changes},
        audit_unchanged=False,
        lock=False,
    )


def _bulk_grant_transition(
    grants: list[Grant],
    to: str,
    *,
    actor=None,
    reason: str = "",
    all: dict | None = None,
    per_grant: dict | None = None,
) -> None:
    """:func:`_grant_transition` for many locked grants at once (``all``: fields set on every grant,
    ``per_grant``: grant id -> fields), a handful of queries for a batch of 50 grants."""
    audit_transitions.transition_bulk(
        grants,
        to,
        table=GRANT_TRANSITIONS,
        actor=actor,
        action=f"grant.{to}",
        message=reason,
        changes={"status_reason": reason, **(all or {})},
        per_object=per_grant,
        audit_unchanged=False,
        lock=False,
    )


def _step_transition(
    step: ApprovalStep,
    to: str,
    *,
    actor,
    action: str | None,
    message: str = "",
    audit_before: dict | None = None,
    audit_after: dict | None = None,
    on_commit=None,
    **changes,
) -> None:
    """Move an approval step to ``to`` (``ApplicationError`` unless ``APPROVAL_STEP_TRANSITIONS``
    allows it); the audit event is about the step's request."""
    audit_transitions.transition(
        step,
        to,
        table=APPROVAL_STEP_TRANSITIONS,
        actor=actor,
        action=action,
        message=message,
        changes=changes,
        audit_object=step.access_request,
        audit_before=audit_before,
        audit_after=audit_after,
        on_commit=on_commit,
    )


def _steps_cancel(access_request: AccessRequest, *, statuses) -> None:
    """The request's steps in ``statuses`` become cancelled (the request's own event records why)."""
    steps = list(access_request.steps.select_for_update().filter(status__in=statuses).order_by("order"))
    audit_transitions.transition_bulk(
        steps, ApprovalStepStatus.CANCELLED, table=APPROVAL_STEP_TRANSITIONS, actor=None, action=None, lock=False
    )
