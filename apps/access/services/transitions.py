"""The access request transition (checked against ``ACCESS_REQUEST_TRANSITIONS``)."""
from __future__ import annotations

from django.db import transaction

from apps.core.exceptions import ApplicationError
from apps.insights.choices import REQUEST_STATUS_EVENTS
from apps.insights.services import event_record

from ..choices import (
    ACCESS_REQUEST_TRANSITIONS,
    AccessRequestStatus,
)
from ..models import (
    AccessRequest,
)
from ._base import S, _jsonable, audit_record
from .notify import _notify_requester


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
    if access_request.pk is not None:  # a stored request (the state-machine test drives bare ones)
        event_record(kind=REQUEST_STATUS_EVENTS.get(to), actor=actor, access_request=access_request)
    if access_request.pk is not None and to in (S.REVOKED, S.EXPIRED, S.FAILED):
        # Grant outcomes reach the requester whichever code path ended the grant.
        pk = access_request.pk
        transaction.on_commit(lambda: _notify_requester(pk, to), robust=True)
