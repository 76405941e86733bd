"""Grants: create, apply (batched), fail, retry, revoke, expire; their transitions."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.access.enforcement import (
    GrantSpec,
    PlatformGrantError,
    TransientPlatformError,
    get_grant_adapter,
)
from apps.audit.transitions import transition_bulk
from apps.core.exceptions import ApplicationError
from apps.core.tasks import enqueue_batch_on_commit, enqueue_on_commit
from apps.insights.choices import UsageEventKind
from apps.insights.services import event_record
from apps.platforms.models import PlatformIdentity, TeamPlatformIdentity

from ..choices import (
    ACCESS_REQUEST_TRANSITIONS,
    GrantAction,
    GrantStatus,
)
from ..models import (
    AccessRequest,
    Grant,
    GrantAttempt,
)
from ._base import S, _locked, audit_record
from .transitions import _bulk_grant_transition, _grant_transition, _transition


def _enqueue_apply(grant_id: int) -> None:
    from ..tasks import grant_apply_task

    enqueue_on_commit(grant_apply_task, grant_id)


def _enqueue_apply_new(grant_id: int) -> None:
    """A new grant is applied by one ``grants_apply_task`` per ``APPLY_BATCH_SIZE`` grants created
    in the same transaction (an owner approving a thousand requests publishes five tasks, not a
    thousand, and the worker's pool applies them side by side). A lost task is found again by the
    pending-grant sweep."""
    from ..tasks import grants_apply_task

    enqueue_batch_on_commit(grants_apply_task, grant_id, chunk=APPLY_BATCH_SIZE)


def grant_create(*, access_request: AccessRequest, actor, starts_at=None) -> Grant:
    """The pending Grant of an approved request, carrying its output port's objects and column
    scope; applied by a worker once the caller's transaction commits. Call inside the approval's
    transaction."""
    port = access_request.output_port
    grant = Grant.objects.create(
        access_request=access_request,
        platform=port.platform,
        schema=port.schema,
        tables=[port.table] if port.table else [],
        columns=list(access_request.columns or []),
        privileges=["SELECT"],
        starts_at=starts_at or timezone.now(),
        expires_at=access_request.expires_at,
    )
    audit_record(actor=actor, action="grant.created", obj=grant, after={"status": grant.status})
    _enqueue_apply_new(grant.pk)
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
        principal = (
            known["teams"].get(team.pk)
            if known is not None
            else TeamPlatformIdentity.objects.filter(team=team, platform=grant.platform_id)
            .values_list("principal", flat=True)
            .first()
        )
        if principal is None:
            return None, (
                f"Waiting for a team role: {team} has no principal on {grant.platform}. "
                "A platform admin must map one (Team platform identities)."
            )
        return principal, ""
    principal = (
        known["users"].get(access_request.requester_id)
        if known is not None
        else PlatformIdentity.objects.filter(user=access_request.requester_id, platform=grant.platform_id)
        .values_list("principal", flat=True)
        .first()
    )
    if principal is None:
        return None, (
            f"Waiting for a login: {access_request.requester} has no identity on "
            f"{grant.platform}. A platform admin must map one (Platform identities)."
        )
    return principal, ""


def _identities(grants: list[Grant], platform_id: int) -> dict:
    """The principals of the requesters and teams of ``grants`` on one platform, in two queries."""
    users = {g.access_request.requester_id for g in grants}
    teams = {g.access_request.on_behalf_of_team_id for g in grants} - {None}
    return {
        "users": dict(
            PlatformIdentity.objects.filter(platform=platform_id, user__in=users).values_list("user", "principal")
        ),
        "teams": dict(
            TeamPlatformIdentity.objects.filter(platform=platform_id, team__in=teams).values_list("team", "principal")
        ),
    }


def _spec(grant: Grant) -> GrantSpec:
    return GrantSpec(
        role_name=grant.role_name or grant_role_name(grant),
        principal=grant.principal,
        schema=grant.schema,
        database=grant.access_request.output_port.database,
        tables=tuple(grant.tables),
        columns=tuple(grant.columns),
        privileges=tuple(grant.privileges),
    )


def _record_attempt(grant: Grant, action: str, started: float, *, summary: str = "", error: str = "") -> None:
    GrantAttempt.objects.create(
        grant=grant,
        action=action,
        duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=not error,
        summary=summary,
        error=error,
    )


#: Grants applied in one platform transaction (claimed by one apply, or published to one
#: ``grants_apply_task``). 500: on the 2-core bench machine 1,000 approvals in one transaction
#: became two tasks applied side by side, p95 0.83–0.96 s to the consumers' SELECT; at 200 the
#: fifth task waited for a free pool process (p95 1.6 s with 4 processes). bench/README.md.
APPLY_BATCH_SIZE = 500


#: After its own grant, an apply task keeps claiming batches of pending grants on the same
#: schema, at most this many, so a burst of approvals does not wait for its tasks' turn.
APPLY_DRAIN_BATCHES = 8


#: A grant another worker put in applying this recently is left to it (unless taking over).
APPLY_TAKEOVER_AFTER = timedelta(seconds=20)


_GRANT_RELATED = (
    "access_request__output_port",
    "access_request__on_behalf_of_team",
    "access_request__requester",
    "platform",
)


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
        if (
            grant.status == GrantStatus.APPLYING
            and not takeover
            and grant.updated_at > timezone.now() - APPLY_TAKEOVER_AFTER
        ):
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
        Grant.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related(*_GRANT_RELATED)
        .filter(
            status=GrantStatus.PENDING,
            platform_id=grant.platform_id,
            schema=grant.schema,
            access_request__output_port__database=grant.access_request.output_port.database,
        )
        .exclude(pk=grant.pk)
        .order_by("pk")[: APPLY_BATCH_SIZE - (1 if first else 0)]
    )
    return _claim([grant, *others] if first else list(others))


def _claim(candidates: list[Grant]) -> list[Grant]:
    """Locked grants of one platform → applying with their principal and role (one UPDATE, one
    audit INSERT); those without an identity stay pending with the reason. Returns the claimed."""
    if not candidates:
        return []
    known = _identities(candidates, candidates[0].platform_id)
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
    _bulk_grant_transition(claimed, GrantStatus.APPLYING, per_grant=per_grant)
    return claimed


def grants_apply(*, grant_ids: list[int]) -> None:
    """Apply the grants ``grant_ids`` created together (pending ones; one another worker holds
    is left to it), one platform transaction per platform, as :func:`grant_apply` does for a
    batch. A transient platform error puts them back to pending, each with a retrying
    ``grant_apply_task`` of its own (raises nothing); a single id is :func:`grant_apply` (whose
    batch also takes other pending grants on the schema)."""
    if len(grant_ids) == 1:
        try:
            grant_apply(grant_id=grant_ids[0])
        except TransientPlatformError as exc:
            _release_claimed(ids=grant_ids, reason=str(exc))
        return
    with transaction.atomic():
        locked = list(
            Grant.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related(*_GRANT_RELATED)
            .filter(pk__in=grant_ids, status=GrantStatus.PENDING)
            .order_by("pk")
        )
        by_platform: dict[int, list[Grant]] = {}
        for grant in locked:
            by_platform.setdefault(grant.platform_id, []).append(grant)
        batches = [_claim(grants) for grants in by_platform.values()]
    for claimed in batches:
        if not claimed:
            continue
        try:
            _apply_batch(claimed, keep=None)
        except TransientPlatformError:
            continue  # back to pending, each with its own retrying task (see _apply_batch)


def _apply_batch(claimed: list[Grant], *, keep: Grant | None) -> None:
    """Apply claimed grants in one adapter call; record attempts; active or failed each. On a
    transient error the grants other than ``keep`` go back to pending (re-enqueued) and the
    error is raised (``keep`` stays applying, for its task to retry)."""
    specs = [_spec(g) for g in claimed]
    started, started_at = time.monotonic(), timezone.now()
    try:
        outcomes = get_grant_adapter(claimed[0].platform).apply_many(specs)
    except TransientPlatformError as exc:
        GrantAttempt.objects.bulk_create(
            [
                GrantAttempt(
                    grant=g,
                    action=GrantAction.APPLY,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    started_at=started_at,
                    succeeded=False,
                    error=str(exc),
                )
                for g in claimed
            ]
        )
        _release_claimed(ids=[g.pk for g in claimed if keep is None or g.pk != keep.pk], reason=str(exc))
        raise
    except PlatformGrantError as exc:  # the batch could not even start (e.g. unsupported platform)
        outcomes = [exc] * len(claimed)
    applied, failed, attempts = [], [], []
    duration_ms = int((time.monotonic() - started) * 1000)
    for g, outcome in zip(claimed, outcomes, strict=True):
        failure = isinstance(outcome, PlatformGrantError)
        attempts.append(
            GrantAttempt(
                grant=g,
                action=GrantAction.APPLY,
                started_at=started_at,
                duration_ms=duration_ms,
                succeeded=not failure,
                summary="" if failure else outcome.summary,
                error=str(outcome) if failure else "",
            )
        )
        (failed.append((g.pk, str(outcome))) if failure else applied.append(g.pk))
    GrantAttempt.objects.bulk_create(attempts)
    _mark_active(applied)
    for failed_id, reason in failed:
        grant_mark_failed(grant_id=failed_id, reason=reason)


@transaction.atomic
def _mark_active(grant_ids: list[int]) -> None:
    """applying → active for the grants applied by one batch, and their requests → active (the
    same transition tables, checked row by row; written in bulk)."""
    grants = list(
        Grant.objects.select_for_update(of=("self",))
        .select_related("platform")
        .filter(pk__in=grant_ids, status=GrantStatus.APPLYING)
        .order_by("pk")
    )
    if not grants:
        return
    now = timezone.now()
    _bulk_grant_transition(grants, GrantStatus.ACTIVE, all={"applied_at": now, "verified_at": now})
    by_request = {g.access_request_id: g for g in grants}
    requests = list(AccessRequest.objects.select_for_update().filter(pk__in=by_request).order_by("pk"))
    moving = [r for r in requests if r.status != S.ACTIVE and S.ACTIVE in ACCESS_REQUEST_TRANSITIONS[r.status]]
    transition_bulk(
        moving,
        S.ACTIVE,
        table=ACCESS_REQUEST_TRANSITIONS,
        actor=None,
        action="access_request.active",
        message=lambda r: (
            f"Role {by_request[r.pk].role_name} granted to {by_request[r.pk].principal} on {by_request[r.pk].platform}."
        ),
        lock=False,
        at=now,
    )
    event_record(kind=UsageEventKind.GRANT_ACTIVE, grants=[by_request[r.pk] for r in moving], at=now)
    if moving:
        from ..tasks import access_requests_notify_task

        # One task per batch: the worker goes on to the next batch while another sends these.
        request_ids = [r.pk for r in moving]
        enqueue_on_commit(access_requests_notify_task, request_ids, "active")


@transaction.atomic
def _release_claimed(*, ids: list[int], reason: str) -> None:
    """Grants claimed into a batch that hit a transient error go back to pending, each with its
    own apply task again (their first task may have run already and left them to the batch)."""
    for grant in Grant.objects.select_for_update().filter(pk__in=ids, status=GrantStatus.APPLYING):
        _grant_transition(grant, GrantStatus.PENDING, reason=f"Retrying: {reason}")
        _enqueue_apply(grant.pk)


@transaction.atomic
def _revoke_task():
    from ..tasks import grant_revoke_task

    return grant_revoke_task


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
    """Re-enqueue a failed grant (platform operators): a failed *revocation* is revoked again
    (failed → revoking), any other failed grant is applied again. Raises ApplicationError unless
    it failed."""
    grant = Grant.objects.select_for_update().get(pk=grant_id)
    if grant.status != GrantStatus.FAILED:
        raise ApplicationError("Only a failed grant can be retried.")
    if grant.revoke_requested_at is not None:
        _grant_transition(
            grant, GrantStatus.REVOKING, actor=actor, reason=f"Retrying the revocation: {grant.revoke_reason}".strip()
        )
        audit_record(actor=actor, action="grant.retry", obj=grant, message="Revocation retried.")
        enqueue_on_commit(_revoke_task(), grant.pk, actor_id=getattr(actor, "pk", None))
        return grant
    access_request = _locked(grant.access_request_id)
    if access_request.status == S.FAILED:
        _transition(access_request, S.PROVISIONING, actor=actor, action="access_request.retry")
    audit_record(actor=actor, action="grant.retry", obj=grant)
    _enqueue_apply(grant.pk)
    return grant


def grant_pending_stuck(*, older_than: timedelta = timedelta(seconds=30)) -> list[int]:
    """Ids of grants still pending (or applying) a while after approval: the apply task was lost
    (broker down at commit, worker killed) or waits for a login. Re-enqueued by beat."""
    cutoff = timezone.now() - older_than
    return list(
        Grant.objects.filter(
            status__in=[GrantStatus.PENDING, GrantStatus.APPLYING], updated_at__lte=cutoff
        ).values_list("pk", flat=True)[:500]
    )
