"""Reconciliation: compare active grants with their platform and correct drift; finish
revocations that are stuck or gave up; drop roles of revoked grants found again."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.access.enforcement import (
    PlatformGrantError,
    TransientPlatformError,
    get_grant_adapter,
)
from apps.platforms.models import Platform

from ..choices import (
    DriftAction,
    DriftKind,
    GrantAction,
    GrantStatus,
)
from ..models import (
    Grant,
    GrantDrift,
)
from ._base import audit_record
from .grants import _record_attempt, _spec
from .revocations import REVOKING_STALE_AFTER, grant_revoke, grant_revoke_give_up


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
        grant = (
            Grant.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("access_request__output_port", "platform")
            .filter(pk=grant_id, status=GrantStatus.ACTIVE)
            .first()
        )
        if grant is None:
            return []
        adapter, spec = get_grant_adapter(grant.platform), _spec(grant)
        try:
            found = adapter.inspect(spec)
        except TransientPlatformError:
            raise
        except PlatformGrantError as exc:  # e.g. the consumer's login was dropped on the platform
            return _record_drifts(
                grant,
                [(DriftKind.MISSING, frozenset(), DriftAction.FAILED, f"Could not inspect role {spec.role_name}.")],
                error=str(exc),
            )
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
            findings.append(
                (
                    DriftKind.ROLE_MISSING,
                    found.wanted,
                    DriftAction.RECREATED,
                    f"Role {spec.role_name} was missing on {grant.platform}.",
                )
            )
        else:
            if found.missing:
                findings.append(
                    (
                        DriftKind.MISSING,
                        found.missing,
                        DriftAction.REAPPLIED,
                        f"Removed outside the portal: {_words(found.missing)}.",
                    )
                )
            if found.extra:
                findings.append(
                    (
                        DriftKind.EXTRA,
                        found.extra,
                        DriftAction.REMOVED,
                        f"Added outside the portal: {_words(found.extra)}.",
                    )
                )
        return _record_drifts(grant, findings, error=error)


def _record_drifts(grant: Grant, findings: list, *, error: str) -> list[GrantDrift]:
    """One GrantDrift and audit event per finding ``(kind, privileges, action, summary)``. A
    finding the platform keeps refusing to have corrected is recorded once, not every run."""
    drifts = []
    latest = GrantDrift.objects.filter(grant=grant).order_by("-at", "-pk").first()
    for kind, privileges, action, summary in findings:
        action = DriftAction.FAILED if error else action
        if (
            latest is not None
            and action == DriftAction.FAILED
            and latest.action == DriftAction.FAILED
            and (latest.kind, latest.summary, latest.error) == (kind, summary, error)
        ):
            continue
        drift = GrantDrift.objects.create(
            grant=grant,
            platform=grant.platform,
            kind=kind,
            found=[p.as_json() for p in sorted(privileges)],
            summary=summary,
            action=action,
            error=error,
        )
        audit_record(
            actor=None,
            action=f"grant.drift_{kind}",
            obj=grant,
            after={"action": drift.action},
            message=summary + (f" Not corrected: {error}" if error else ""),
        )
        drifts.append(drift)
    return drifts


def platform_reconcile(*, platform_id: int) -> list[GrantDrift]:
    """Make a platform match the portal; the drifts found.

    - every active grant is compared and corrected (see :func:`grant_reconcile`);
    - grants whose access must not exist — revoking for longer than ``REVOKING_STALE_AFTER``
      (their task was lost) or failed while revoking (retries exhausted) — are revoked again
      (:func:`~apps.access.services.revocations.grant_revoke` is idempotent), so a committed
      revocation always converges;
    - roles of revoked or expired grants found on the platform again are dropped.

    Raises TransientPlatformError when the platform is unreachable (the beat task retries).
    """
    drifts: list[GrantDrift] = []
    grant_ids = (
        Grant.objects.filter(platform_id=platform_id, status=GrantStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for grant_id in grant_ids.iterator(chunk_size=200):
        drifts += grant_reconcile(grant_id=grant_id)
    _finish_revocations(platform_id=platform_id)
    return drifts + _drop_roles_of_revoked_grants(platform_id=platform_id)


def _finish_revocations(*, platform_id: int) -> list[int]:
    """Revoke again the grants of a platform whose revocation is stuck or gave up; the ids."""
    cutoff = timezone.now() - REVOKING_STALE_AFTER
    stuck = (
        Grant.objects.filter(platform_id=platform_id, revoke_requested_at__isnull=False)
        .filter(Q(status=GrantStatus.REVOKING, updated_at__lte=cutoff) | Q(status=GrantStatus.FAILED))
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    done = []
    for grant_id in list(stuck):
        try:
            grant_revoke(grant_id=grant_id, resume_failed=True)
        except TransientPlatformError:
            raise
        except PlatformGrantError as exc:
            grant_revoke_give_up(grant_id=grant_id, error=str(exc))
            continue
        done.append(grant_id)
    return done


def _drop_roles_of_revoked_grants(*, platform_id: int) -> list[GrantDrift]:
    """A portal role (``<GRANT_ROLE_PREFIX><grant id>``) that exists on the platform although
    its grant was revoked (recreated by hand, or restored from a backup) is dropped again."""
    if not Grant.objects.filter(platform_id=platform_id, status=GrantStatus.REVOKED).exists():
        return []
    adapter, prefix = get_grant_adapter(Platform.objects.get(pk=platform_id)), settings.GRANT_ROLE_PREFIX
    ids = {int(name[len(prefix) :]) for name in adapter.managed_roles(prefix) if name[len(prefix) :].isdigit()}
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
        drifts.append(
            GrantDrift.objects.create(
                grant=grant,
                platform=grant.platform,
                kind=DriftKind.REVOKED_ROLE,
                summary=message,
                action=DriftAction.FAILED if error else DriftAction.REMOVED,
                error=error,
            )
        )
        audit_record(actor=None, action=f"grant.drift_{DriftKind.REVOKED_ROLE}", obj=grant, message=message)
    return drifts


def platform_ids_to_reconcile() -> list[int]:
    """Platforms with at least one grant that is active or must not exist (revoking, failed,
    revoked or expired): beat reconciles each of them."""
    return list(
        Grant.objects.exclude(status=GrantStatus.PENDING).order_by().values_list("platform_id", flat=True).distinct()
    )
