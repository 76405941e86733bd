"""Backfill of the fact table from the tables that existed before it (access requests, approval
steps, grants, audit events, sync runs), so an existing installation keeps its history.

Idempotent: a request, grant or sync run that already has its events is skipped.
"""

from __future__ import annotations

from django.db import transaction

from .choices import UsageEventKind
from .models import UsageEvent
from .services import _consumer

K = UsageEventKind


@transaction.atomic
def usage_events_backfill() -> dict[str, int]:
    """Write the events the access and sync history implies. Returns ``{kind: rows written}``.

    Times come from the rows: ``submitted_at``, a step's ``decided_at``, the request's
    ``decided_at``; a grant's first activation from its ``grant.active`` audit event (else its
    ``applied_at``), its end from ``revoked_at`` and the request's final status; a sync run's end
    from ``finished_at``."""
    from apps.access.models import AccessRequest, ApprovalStep, Grant
    from apps.audit.models import AuditEvent
    from apps.platforms.models import SyncRun

    counts: dict[str, int] = {}
    done = set(UsageEvent.objects.filter(kind=K.REQUEST_SUBMITTED).values_list("access_request_id", flat=True))
    requests = (
        AccessRequest.objects.filter(submitted_at__isnull=False)
        .exclude(pk__in=done)
        .select_related("output_port__data_product")
        .order_by("pk")
    )
    rows: list[UsageEvent] = []

    def add(kind, request, at, **extra):
        product = request.output_port.data_product
        rows.append(
            UsageEvent(
                kind=kind,
                at=at,
                access_request_id=request.pk,
                data_product_id=product.pk,
                domain_id=product.domain_id,
                classification=product.classification,
                platform_id=request.output_port.platform_id,
                consumer_team_id=request._team,
                consumer_domain_id=request._domain,
                **extra,
            )
        )
        counts[kind] = counts.get(kind, 0) + 1

    active_at = {
        int(e.object_id): e.at
        for e in AuditEvent.objects.filter(object_type="grant", action="grant.active").order_by("-at")
    }
    for request in requests:
        request._team, request._domain = _consumer(request)
        add(
            K.REQUEST_SUBMITTED,
            request,
            request.submitted_at,
            user_id=request.requester_id,
            data={"extension": True} if request.extends_id else {},
        )
        steps = list(ApprovalStep.objects.filter(access_request=request, decided_at__isnull=False).order_by("order"))
        for step in steps:
            add(
                K.STEP_DECIDED,
                request,
                step.decided_at,
                user_id=step.decided_by_id,
                seconds=(step.decided_at - step.activated_at).total_seconds() if step.activated_at else None,
                data={
                    "step_kind": step.kind,
                    "step_order": step.order,
                    "approver_team_id": step.team_id,
                    "decision": step.status,
                },
            )
        waited = (request.decided_at - request.submitted_at).total_seconds() if request.decided_at else None
        if request.decided_at and request.status == "rejected":
            add(K.REQUEST_REJECTED, request, request.decided_at, user_id=request.decided_by_id, seconds=waited)
        elif request.status == "cancelled":
            add(K.REQUEST_CANCELLED, request, request.updated_at, user_id=request.requester_id)
        elif request.decided_at:
            add(
                K.REQUEST_APPROVED,
                request,
                request.decided_at,
                user_id=request.decided_by_id,
                seconds=waited,
                data={"auto": not steps and request.decided_by_id is None},
            )
        if request.status == "applied":
            add(K.REQUEST_EXTENDED, request, request.updated_at, data={"extends": request.extends_id})
        grant = Grant.objects.filter(access_request=request).first()
        if grant is None:
            continue
        started = active_at.get(grant.pk) or grant.applied_at
        if started:
            add(
                K.GRANT_ACTIVE,
                request,
                started,
                grant_id=grant.pk,
                seconds=(started - request.submitted_at).total_seconds(),
            )
        if request.status in ("expired", "revoked"):
            kind = K.GRANT_EXPIRED if request.status == "expired" else K.GRANT_REVOKED
            add(kind, request, grant.revoked_at or request.updated_at, grant_id=grant.pk)
    synced = set(UsageEvent.objects.filter(kind=K.SYNC_RUN).values_list("data__run", flat=True))
    for run in SyncRun.objects.filter(finished_at__isnull=False).order_by("pk"):
        if run.pk in synced:
            continue
        rows.append(
            UsageEvent(
                kind=K.SYNC_RUN,
                at=run.finished_at,
                platform_id=run.platform_id,
                seconds=(run.finished_at - run.started_at).total_seconds(),
                data={
                    "run": run.pk,
                    "status": run.status,
                    "created": run.created_count,
                    "updated": run.updated_count,
                    "removed": run.removed_count,
                },
            )
        )
        counts[K.SYNC_RUN] = counts.get(K.SYNC_RUN, 0) + 1
    UsageEvent.objects.bulk_create(rows, batch_size=2000)
    return counts
