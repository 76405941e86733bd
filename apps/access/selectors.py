"""Reads for access requests and grants, restricted to what the user may see.

Consumers see their own requests; approvers (``catalog.decide_access_requests`` on the product)
see the requests for their products; stewards (global ``access.view_accessrequest``) see all.
"""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from apps.catalog.models import DataProduct

from .choices import AccessRequestStatus
from .models import AccessRequest, AuditEvent, Grant


def _decidable_products(user) -> QuerySet[DataProduct]:
    return get_objects_for_user(user, "catalog.decide_access_requests", klass=DataProduct, accept_global_perms=False)


def _base() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.select_related(
        "requester", "on_behalf_of_team", "output_port__platform", "output_port__data_product__owner_team",
        "output_port__data_product__domain", "decided_by", "grant",
    )


def access_request_visible(*, user) -> QuerySet[AccessRequest]:
    if not user.is_authenticated:
        return AccessRequest.objects.none()
    if user.is_superuser or user.has_perm("access.view_accessrequest"):
        return _base()
    return _base().filter(
        Q(requester=user) | Q(output_port__data_product__in=_decidable_products(user).values("pk"))
    )


def access_request_get(*, user, pk: int) -> AccessRequest:
    """One request ``user`` may see; ``Http404`` for missing and forbidden alike."""
    try:
        return access_request_visible(user=user).get(pk=pk)
    except AccessRequest.DoesNotExist:
        raise Http404("No such access request.") from None


def access_request_mine(*, user) -> QuerySet[AccessRequest]:
    return _base().filter(requester=user)


def access_request_inbox(*, user) -> QuerySet[AccessRequest]:
    """Requests waiting for ``user``'s decision (never their own: segregation of duties)."""
    if not user.is_authenticated:
        return AccessRequest.objects.none()
    return (
        _base()
        .filter(status=AccessRequestStatus.PENDING_APPROVAL, output_port__data_product__in=_decidable_products(user).values("pk"))
        .exclude(requester=user)
        .exclude(on_behalf_of_team__memberships__user=user)
        .order_by("submitted_at")
    )


def access_request_can_decide(*, user, access_request: AccessRequest) -> bool:
    """Whether ``user`` may approve or reject it now (permission, state and segregation of duties)."""
    from .services import decision_refusal

    return decision_refusal(actor=user, access_request=access_request) is None


def access_request_for_port(*, user, output_port) -> AccessRequest | None:
    """``user``'s latest request for ``output_port`` (any status), or None."""
    return _base().filter(requester=user, output_port=output_port).order_by("-created_at").first()


def grant_active_for_product(*, product: DataProduct) -> QuerySet[Grant]:
    """Active grants on the product's output ports: its consumers."""
    return Grant.objects.filter(
        access_request__output_port__data_product=product, status="active"
    ).select_related("access_request__requester", "access_request__on_behalf_of_team", "access_request__output_port")


def audit_for_access_request(*, access_request: AccessRequest) -> QuerySet[AuditEvent]:
    ids = [str(access_request.pk)]
    grant = Grant.objects.filter(access_request=access_request).first()
    q = Q(object_type="access_request", object_id__in=ids)
    if grant:
        q |= Q(object_type="grant", object_id=str(grant.pk))
    return AuditEvent.objects.filter(q).select_related("actor").order_by("at", "id")


# --- grants, audit and KPIs (also read by the REST API) ----------------------------------------

def grant_visible(*, user) -> QuerySet[Grant]:
    """Grants of the access requests ``user`` may see (``access_request_visible``)."""
    return Grant.objects.filter(access_request__in=access_request_visible(user=user).values("pk")).select_related(
        "platform", "access_request__requester", "access_request__output_port__data_product"
    )


def grant_get(*, user, pk: int) -> Grant:
    """One grant ``user`` may see; ``Http404`` for missing and forbidden alike."""
    try:
        return grant_visible(user=user).get(pk=pk)
    except Grant.DoesNotExist:
        raise Http404("No such grant.") from None


def grant_can_operate(*, user) -> bool:
    """Platform operators (global ``access.change_grant``, e.g. admins) retry failed grants."""
    return bool(user.is_authenticated and user.has_perm("access.change_grant"))


def grant_can_revoke(*, user, grant: Grant) -> bool:
    """Who may take a grant back: its consumer (giving up their own access), the approvers of the
    product (``decide_access_requests``) and platform operators."""
    if not user.is_authenticated:
        return False
    access_request = grant.access_request
    return (
        access_request.requester_id == user.pk
        or grant_can_operate(user=user)
        or user.has_perm("catalog.decide_access_requests", access_request.output_port.data_product)
    )


def audit_can_view(*, user) -> bool:
    """Stewards (global ``access.view_auditevent``) and admins read the whole audit trail."""
    return bool(user.is_authenticated and user.has_perm("access.view_auditevent"))


def audit_event_list(*, user) -> QuerySet[AuditEvent]:
    """The audit trail, newest first; empty for users who may not read it."""
    if not audit_can_view(user=user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.select_related("actor").order_by("-at", "-id")


def kpi_can_view(*, user) -> bool:
    """Executives, stewards and admins see the KPIs."""
    from apps.accounts.choices import EXECUTIVES_GROUP

    if not user.is_authenticated:
        return False
    return audit_can_view(user=user) or user.is_steward or user.groups.filter(name=EXECUTIVES_GROUP).exists()


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
