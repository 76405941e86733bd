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


def grant_mine(*, user) -> QuerySet[Grant]:
    """``user``'s grants (requested by them or for a team they belong to), live ones first, with
    their status and expiry: the "My access" page."""
    if not user.is_authenticated:
        return Grant.objects.none()
    from django.db.models import Case, IntegerField, Value, When

    live_first = Case(When(status="active", then=Value(0)), When(status__in=["pending", "applying"], then=Value(1)),
                      default=Value(2), output_field=IntegerField())
    return (
        Grant.objects.filter(Q(access_request__requester=user) | Q(access_request__on_behalf_of_team__memberships__user=user))
        .distinct()
        .select_related("access_request__output_port__data_product", "access_request__output_port__platform",
                        "access_request__on_behalf_of_team")
        .annotate(live_first=live_first).order_by("live_first", "expires_at", "-id")
    )


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
