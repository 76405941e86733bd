"""Revocations: who may revoke, recording a revocation, revoking on the platform, expiry, the sweep
of stuck revocations and the give-up path (``docs/security.md``, "Revocations")."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.access.enforcement import PlatformGrantError, get_grant_adapter
from apps.core.exceptions import ApplicationError
from apps.core.tasks import enqueue_on_commit

from ..choices import ACCESS_REQUEST_TRANSITIONS, GrantAction, GrantStatus
from ..models import Grant
from ..permissions import grant_revoke_permitted, require_revoke
from ._base import S, _locked
from .grants import _record_attempt, _revoke_task, _spec
from .notify import _alert_revocation_failed
from .transitions import _grant_transition, _transition


@transaction.atomic
def grant_revoke_request(*, grant_id: int, actor, reason: str) -> Grant:
    """An owner takes an access away at any time, with a reason the consumer is told (or the
    consumer gives up their own access).

    The grant becomes revoking at once (audited with the actor and reason) and a worker drops
    the role after commit; the request then becomes revoked and the requester is notified.
    Raises ``PermissionDenied`` when ``actor`` may not revoke it, ``ApplicationError`` (field
    ``reason``) without a reason or when the grant's state does not allow it
    (:func:`apps.access.permissions.require_revoke`).
    """
    if not reason.strip():
        raise ApplicationError("Say why the access is revoked.", {"reason": ["A reason is required to revoke."]})
    grant = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("access_request__output_port__data_product")
        .get(pk=grant_id)
    )
    if grant.status == GrantStatus.REVOKING and grant.revoke_requested_at is not None:
        if grant_revoke_permitted(user=actor, grant=grant):
            # Already decided and recorded: asking again publishes the task again (idempotent).
            enqueue_on_commit(_revoke_task(), grant_id, actor_id=actor.pk)
            return grant
    require_revoke(actor=actor, grant=grant)
    _mark_revoking(grant, actor=actor, reason=reason.strip(), expired=False)
    enqueue_on_commit(_revoke_task(), grant_id, actor_id=actor.pk)
    return grant


def _mark_revoking(grant: Grant, *, actor, reason: str, expired: bool) -> None:
    """Record on the locked ``grant`` that its access must not exist (once: the first decision's
    reason and kind stay) and move it to revoking."""
    if grant.revoke_requested_at is None:
        grant.revoke_requested_at, grant.revoke_reason, grant.revoke_expired = timezone.now(), reason, expired
        Grant.objects.filter(pk=grant.pk).update(
            revoke_requested_at=grant.revoke_requested_at, revoke_reason=reason, revoke_expired=expired
        )
    _grant_transition(grant, GrantStatus.REVOKING, actor=actor, reason=grant.revoke_reason)


def grant_revoke(
    *, grant_id: int, actor=None, reason: str = "", expired: bool = False, resume_failed: bool = False
) -> Grant:
    """Take a grant back on the platform; the request becomes revoked (or expired). Idempotent:
    the task, the revoking sweep, the reconcile loop and an operator's retry all call it.

    The first call records the decision on the grant (``revoke_requested_at``, reason, expiry);
    later calls reuse it, so ``reason``/``expired`` only matter the first time. A revocation
    that gave up (failed) is left alone unless ``resume_failed`` (the reconcile loop).
    Raises TransientPlatformError (for the task to retry) when the platform is unreachable and
    PlatformGrantError when it refuses; the grant then stays revoking (see
    :func:`grant_revoke_give_up`).
    """
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update().select_related("access_request__output_port", "platform").get(pk=grant_id)
        )
        if grant.status == GrantStatus.REVOKED:
            return grant
        if grant.revocation_failed and not resume_failed:
            return grant  # gave up: only an operator's retry or the reconcile loop resumes it
        _mark_revoking(grant, actor=actor, reason=reason, expired=expired)
        reason, expired = grant.revoke_reason, grant.revoke_expired
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
            # _transition tells the requester (revoked/expired) on commit.
            _transition(access_request, target, actor=actor, action=f"access_request.{target}", message=reason)
    return grant


EXPIRY_REASON = "The access period ended."


def grant_expire_due(*, now=None) -> list[int]:
    """Mark active grants whose end date has passed as revoking (an expiry, recorded on the grant
    so a lost task is found again by :func:`grant_revoking_stuck`); their ids, to revoke."""
    now = now or timezone.now()
    ids = []
    with transaction.atomic():
        for grant in (
            Grant.objects.select_for_update(skip_locked=True)
            .filter(status=GrantStatus.ACTIVE, expires_at__lte=now)
            .order_by("pk")[:500]
        ):
            _mark_revoking(grant, actor=None, reason=EXPIRY_REASON, expired=True)
            ids.append(grant.pk)
    return ids


#: A revoking grant untouched this long lost its task (broker down, worker killed): re-enqueued.
#: Longer than the revoke task's longest retry backoff (300 s), so a task that is still retrying
#: is not duplicated; a task lost with the broker is found again within this time.
REVOKING_STALE_AFTER = timedelta(seconds=330)


def grant_revoking_stuck(*, older_than: timedelta = REVOKING_STALE_AFTER) -> list[int]:
    """Ids of grants still revoking a while after the decision (the task was lost or is
    retrying). The beat sweep re-enqueues them; :func:`grant_revoke` is idempotent."""
    cutoff = timezone.now() - older_than
    return list(
        Grant.objects.filter(status=GrantStatus.REVOKING, updated_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )


@transaction.atomic
def grant_revoke_give_up(*, grant_id: int, error: str) -> Grant:
    """The revocation could not be applied (retries exhausted, or the platform refuses): the grant
    becomes failed with a loud reason — the access **may still exist** on the platform — the
    stewards and platform operators are alerted, and the reconcile loop keeps trying to remove
    the role. An operator can retry (:func:`grant_retry`). Idempotent."""
    grant = Grant.objects.select_for_update().select_related("platform").get(pk=grant_id)
    if grant.status != GrantStatus.REVOKING:
        return grant
    reason = (
        f"Revocation failed: {error} Access may still exist on {grant.platform}; "
        "the reconcile loop keeps trying and a platform operator can retry."
    )
    _grant_transition(grant, GrantStatus.FAILED, reason=reason)
    grant_id_ = grant.pk
    transaction.on_commit(lambda: _alert_revocation_failed(grant_id_), robust=True)
    return grant
