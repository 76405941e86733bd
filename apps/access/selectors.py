"""Reads for access requests, policies and audit, restricted to what the user may see.

Consumers see their own requests; approvers (``catalog.decide_access_requests`` on the product,
named approvers of a step, delegates while a delegation runs, the domain owner team once a
request is escalated) see the requests they decide; stewards (the governance stewards group or
the global ``access.view_accessrequest`` permission) see all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from apps.accounts.choices import TeamRole
from apps.audit.models import AuditEvent
from apps.catalog.models import DataProduct

from .choices import AccessRequestStatus, ApprovalStepKind, ApprovalStepStatus, GrantStatus
from .models import (
    AccessPolicy,
    AccessRequest,
    ApprovalStep,
    ApproverDelegation,
    Grant,
    GrantDrift,
    Purpose,
)
from .permissions import delegators_of, is_steward

_APPROVER_ROLES = [TeamRole.OWNER, TeamRole.APPROVER]


def _base() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.select_related(
        "requester",
        "on_behalf_of_team",
        "output_port__platform",
        "output_port__data_product__owner_team",
        "output_port__data_product__domain",
        "decided_by",
        "grant",
        "purpose_category",
        "policy",
    )


def access_request_visible(*, user) -> QuerySet[AccessRequest]:
    """The requests ``user`` may see (the rule: ``AccessRequest.objects.visible_to``), with their
    product, port, people, grant, purpose and policy loaded."""
    return _base().visible_to(user)


def access_request_get(*, user, pk: int) -> AccessRequest:
    """One request ``user`` may see; ``Http404`` for missing and forbidden alike."""
    try:
        return access_request_visible(user=user).get(pk=pk)
    except AccessRequest.DoesNotExist:
        raise Http404("No such access request.") from None


def access_request_mine(*, user) -> QuerySet[AccessRequest]:
    return _base().filter(requester=user)


def grant_mine(*, user) -> QuerySet[Grant]:
    """``user``'s grants (requested by them or for a team they belong to), live ones first, with
    their status and expiry: the "My access" page."""
    if not user.is_authenticated:
        return Grant.objects.none()
    from django.db.models import Case, IntegerField, Value, When

    live_first = Case(
        When(status="active", then=Value(0)),
        When(status__in=["pending", "applying"], then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Grant.objects.filter(
            Q(access_request__requester=user) | Q(access_request__on_behalf_of_team__memberships__user=user)
        )
        .distinct()
        .select_related(
            "access_request__output_port__data_product",
            "access_request__output_port__platform",
            "access_request__on_behalf_of_team",
        )
        .annotate(live_first=live_first)
        .order_by("live_first", "expires_at", "-id")
    )


@dataclass(frozen=True)
class InboxScope:
    """Whom ``user`` decides for, the inputs of :func:`access_request_inbox`: ``principal_ids``
    (the user and the approvers who delegated to them right now), ``product_ids`` (products any
    of them holds ``catalog.decide_access_requests`` on), ``steward`` (any of them is a steward)
    and ``valid_until`` (when a delegation of theirs next starts or ends; None: none will)."""

    principal_ids: tuple[int, ...]
    product_ids: tuple[int, ...]
    steward: bool
    valid_until: datetime | None = None


def inbox_scope(*, user) -> InboxScope:
    """:class:`InboxScope` of ``user``, cached per user until a write to delegations, people,
    permissions or the catalog (``apps.core.freshness``), or until ``valid_until`` passes."""
    from apps.catalog.selectors import data_product_ids_with_permission
    from apps.core.freshness import cached_for_user

    def compute() -> InboxScope:
        now = timezone.now()
        principals = [user, *delegators_of(user=user, at=now)]
        product_ids: set[int] = set()
        for principal in principals:
            product_ids.update(data_product_ids_with_permission(user=principal, codename="decide_access_requests"))
        moments = [
            moment
            for starts, ends in ApproverDelegation.objects.filter(delegate=user, ends__gt=now).values_list(
                "starts", "ends"
            )
            for moment in (starts, ends)
            if moment > now
        ]
        return InboxScope(
            principal_ids=tuple(sorted(p.pk for p in principals)),
            product_ids=tuple(sorted(product_ids)),
            steward=any(p.is_steward for p in principals),
            valid_until=min(moments, default=None),
        )

    return cached_for_user(
        user,
        "inbox_scope",
        compute,
        topics=("delegations", "people", "catalog"),
        still_valid=lambda scope: scope.valid_until is None or timezone.now() < scope.valid_until,
    )


def access_request_inbox(*, user) -> QuerySet[AccessRequest]:
    """Requests whose current step ``user`` may decide (by role or as a delegate), never their
    own or their team's, nor one whose earlier step they approved (segregation of duties).
    Whom they decide for comes from :func:`inbox_scope` (cached)."""
    if not user.is_authenticated:
        return AccessRequest.objects.none()
    return _inbox(user.pk, inbox_scope(user=user))


def access_request_inbox_count(*, user, scope: InboxScope | None = None) -> int:
    """``access_request_inbox(user=user).count()`` without building the query each time: the
    statement depends only on the person and their :class:`InboxScope`, so it is compiled once
    per process for each (the navigation badge asks on every page). ``scope``: the person's
    :func:`inbox_scope` when the caller has it."""
    if not user.is_authenticated:
        return 0
    from django.db import connection

    statement, params = _inbox_count_statement(user.pk, scope or inbox_scope(user=user))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


@functools.lru_cache(maxsize=2048)
def _inbox_count_statement(user_pk: int, scope: InboxScope) -> tuple[str, tuple]:
    statement, params = _inbox(user_pk, scope).order_by().values("pk").query.sql_with_params()
    return f"SELECT count(*) FROM ({statement}) inbox", tuple(params)


def _inbox(user_pk: int, scope: InboxScope) -> QuerySet[AccessRequest]:
    step_q = Q(kind=ApprovalStepKind.NAMED, named_users__in=scope.principal_ids) | Q(
        kind=ApprovalStepKind.NAMED,
        team__memberships__user__in=scope.principal_ids,
        team__memberships__role__in=_APPROVER_ROLES,
    )
    if scope.product_ids:
        step_q |= Q(
            kind=ApprovalStepKind.OWNER,
            access_request__output_port__data_product_id__in=RawSQL(
                "SELECT unnest(%s::bigint[])", [list(scope.product_ids)]
            ),
        )
    if scope.steward:
        step_q |= Q(kind=ApprovalStepKind.STEWARD)
    waiting = ApprovalStep.objects.filter(status=ApprovalStepStatus.PENDING).filter(step_q).values("access_request_id")
    return (
        _base()
        .filter(status=AccessRequestStatus.PENDING_APPROVAL, pk__in=waiting)
        .exclude(requester_id=user_pk)
        .exclude(on_behalf_of_team__memberships__user_id=user_pk)
        .exclude(steps__decided_by_id=user_pk)
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=ApprovalStep.objects.filter(status=ApprovalStepStatus.PENDING),
                to_attr="pending_steps",
            )
        )
        .order_by("submitted_at")
    )


def access_request_for_port(*, user, output_port) -> AccessRequest | None:
    """``user``'s latest request for ``output_port`` (any status, extensions excluded), or None."""
    return _base().filter(requester=user, output_port=output_port, extends__isnull=True).order_by("-created_at").first()


def access_request_active_for_port(*, user, output_port) -> AccessRequest | None:
    """``user``'s active access to ``output_port`` (to offer an extension), or None."""
    return (
        _base()
        .filter(requester=user, output_port=output_port, extends__isnull=True, status=AccessRequestStatus.ACTIVE)
        .first()
    )


def approval_steps_for(*, access_request: AccessRequest) -> QuerySet[ApprovalStep]:
    return (
        access_request.steps.select_related("team", "decided_by", "on_behalf_of")
        .prefetch_related("named_users")
        .order_by("order")
    )


def approval_escalation_notes(*, access_request: AccessRequest) -> list[str]:
    """The plain-words notes (``str``, addressed to the requester) of the steps that went to the
    escalation path at submission because nobody but the requester could decide them; in step order."""
    return [
        r
        for r in access_request.steps.exclude(escalation_reason="")
        .order_by("order")
        .values_list("escalation_reason", flat=True)
    ]


def grant_active_for_product(*, product: DataProduct) -> QuerySet[Grant]:
    """Active grants on the product's output ports: its consumers (person or team, port, column
    scope, since, until), oldest first. Shown to whoever may see the product page."""
    return (
        Grant.objects.filter(access_request__output_port__data_product=product, status=GrantStatus.ACTIVE)
        .select_related(
            "access_request__requester",
            "access_request__on_behalf_of_team",
            "access_request__output_port",
            "platform",
        )
        .order_by("applied_at", "pk")
    )


def grant_drift_list(*, platform) -> QuerySet[GrantDrift]:
    """Drifts reconciliation found on ``platform``, newest first, with their grant and consumer.
    The caller has checked that the user administers the platform."""
    return (
        GrantDrift.objects.filter(platform=platform)
        .select_related(
            "grant__access_request__requester",
            "grant__access_request__on_behalf_of_team",
        )
        .order_by("-at", "-pk")
    )


def platform_identities_of(*, user):
    """``user``'s own principals on platforms, and those of the teams they belong to."""
    from apps.platforms.models import PlatformIdentity, TeamPlatformIdentity

    return {
        "mine": PlatformIdentity.objects.filter(user=user).select_related("platform").order_by("platform__name"),
        "teams": TeamPlatformIdentity.objects.filter(team__memberships__user=user)
        .select_related("platform", "team")
        .order_by("team__name", "platform__name"),
    }


def audit_for_access_request(*, access_request: AccessRequest) -> QuerySet[AuditEvent]:
    """The request's and its grant's audit events, oldest first."""
    from apps.audit.selectors import audit_for_objects

    grant_id = Grant.objects.filter(access_request=access_request).values_list("pk", flat=True).first()
    return audit_for_objects(("access_request", access_request.pk), ("grant", grant_id))


# --- grants, audit and KPIs (also read by the REST API) ----------------------------------------


def grant_visible(*, user) -> QuerySet[Grant]:
    """Grants of the access requests ``user`` may see (``access_request_visible``)."""
    return Grant.objects.visible_to(user).select_related(
        "platform", "access_request__requester", "access_request__output_port__data_product"
    )


def grant_get(*, user, pk: int) -> Grant:
    """One grant ``user`` may see; ``Http404`` for missing and forbidden alike."""
    try:
        return grant_visible(user=user).get(pk=pk)
    except Grant.DoesNotExist:
        raise Http404("No such grant.") from None


def kpi_summary() -> dict:
    """Marketplace KPIs over the whole portal:
    ``{"data_products": {status: count}, "active_grants": int, "access_requests": {status: count},
    "median_approval_lead_time_seconds": float | None}`` (submitted → approved, over every
    approved request; None before the first approval). Four queries."""
    from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F

    class Median(Aggregate):
        function = "PERCENTILE_CONT"
        template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
        output_field = DurationField()

    def by_status(qs) -> dict[str, int]:
        return dict(qs.values_list("status").annotate(n=Count("pk")).order_by("status"))

    lead = (
        AccessRequest.objects.filter(decided_at__isnull=False, submitted_at__isnull=False)
        .exclude(status__in=[AccessRequestStatus.REJECTED, AccessRequestStatus.CANCELLED])
        .aggregate(m=Median(ExpressionWrapper(F("decided_at") - F("submitted_at"), output_field=DurationField())))["m"]
    )
    return {
        "data_products": by_status(DataProduct.objects.all()),
        "active_grants": Grant.objects.filter(status="active").count(),
        "access_requests": by_status(AccessRequest.objects.all()),
        "median_approval_lead_time_seconds": lead.total_seconds() if lead is not None else None,
    }


def access_policy_list(*, user) -> QuerySet[AccessPolicy]:
    """Every version of every policy, current first (stewards only; ``Http404`` otherwise)."""
    if not is_steward(user):
        raise Http404
    return (
        AccessPolicy.objects.select_related("created_by")
        .prefetch_related("allowed_purposes")
        .order_by("classification", "-version")
    )


def access_policy_current(*, classification: str) -> AccessPolicy | None:
    """The current policy version for ``classification`` with its allowed purposes prefetched;
    None before the defaults are seeded (``access_policy_ensure_defaults``)."""
    return (
        AccessPolicy.objects.filter(classification=classification, is_current=True)
        .prefetch_related("allowed_purposes")
        .first()
    )


def purpose_choices(*, classification: str) -> QuerySet[Purpose]:
    """Active purposes the current policy of ``classification`` allows (all when unrestricted)."""
    policy = access_policy_current(classification=classification)
    purposes = Purpose.objects.filter(active=True)
    if policy is not None and policy.allowed_purposes.exists():
        purposes = purposes.filter(pk__in=policy.allowed_purposes.values("pk"))
    return purposes.order_by("name")


def purpose_list(*, user) -> QuerySet[Purpose]:
    if not is_steward(user):
        raise Http404
    return Purpose.objects.order_by("-active", "name")


def purpose_available(*, user, classification: str | None = None) -> QuerySet[Purpose]:
    """Purposes ``user`` may see: with ``classification``, the ones its current policy allows
    (:func:`purpose_choices`); else every active purpose, and for stewards the retired ones too."""
    if classification:
        return purpose_choices(classification=classification)
    if is_steward(user):
        return purpose_list(user=user)
    return Purpose.objects.filter(active=True).order_by("name")


def delegation_list(*, user) -> QuerySet[ApproverDelegation]:
    """Delegations ``user`` gave or received."""
    return (
        ApproverDelegation.objects.filter(Q(delegator=user) | Q(delegate=user))
        .select_related("delegator", "delegate")
        .order_by("-starts")
    )


def port_column_choices(*, ports) -> list[tuple[str, list[tuple[str, str]]]]:
    """Column scope choices for a form: ``[(group label, [("table.column", label), ...]), ...]``,
    one group per table of each port (from the catalog's synced assets)."""
    from apps.catalog.selectors import output_port_assets  # columns prefetched in ordinal order

    groups = []
    for port in ports:
        for asset in output_port_assets(port=port):
            prefix = f"{port.name}: " if len(ports) > 1 else ""
            groups.append(
                (f"{prefix}{asset.qualified_name}", [(f"{asset.name}.{c.name}", c.name) for c in asset.columns.all()])
            )
    return groups
