"""Reads for access requests and grants, restricted to what the user may see.

Consumers see their own requests; approvers (``catalog.decide_access_requests`` on the product)
see the requests for their products; stewards (global ``access.view_accessrequest``) see all.
"""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from apps.catalog.models import DataProduct

from .choices import AccessRequestStatus, GrantStatus
from .models import AccessRequest, AuditEvent, Grant, GrantDrift


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
    """Active grants on the product's output ports: its consumers (person or team, port, column
    scope, since, until), oldest first. Shown to whoever may see the product page."""
    return Grant.objects.filter(
        access_request__output_port__data_product=product, status=GrantStatus.ACTIVE
    ).select_related(
        "access_request__requester", "access_request__on_behalf_of_team", "access_request__output_port", "platform",
    ).order_by("applied_at", "pk")


def grant_drift_list(*, platform) -> QuerySet[GrantDrift]:
    """Drifts reconciliation found on ``platform``, newest first, with their grant and consumer.
    The caller has checked that the user administers the platform."""
    return GrantDrift.objects.filter(platform=platform).select_related(
        "grant__access_request__requester", "grant__access_request__on_behalf_of_team",
    ).order_by("-at", "-pk")


def grant_can_revoke(*, user, grant: Grant | None) -> bool:
    """Whether ``user`` may revoke ``grant`` now (product owners/approvers, grant admins)."""
    from .services import grant_revoke_refusal

    return grant is not None and grant_revoke_refusal(actor=user, grant=grant) is None


def platform_identities_of(*, user):
    """``user``'s own principals on platforms, and those of the teams they belong to."""
    from apps.platforms.models import PlatformIdentity, TeamPlatformIdentity

    return {
        "mine": PlatformIdentity.objects.filter(user=user).select_related("platform").order_by("platform__name"),
        "teams": TeamPlatformIdentity.objects.filter(team__memberships__user=user)
        .select_related("platform", "team").order_by("team__name", "platform__name"),
    }


def audit_for_access_request(*, access_request: AccessRequest) -> QuerySet[AuditEvent]:
    ids = [str(access_request.pk)]
    grant = Grant.objects.filter(access_request=access_request).first()
    q = Q(object_type="access_request", object_id__in=ids)
    if grant:
        q |= Q(object_type="grant", object_id=str(grant.pk))
    return AuditEvent.objects.filter(q).select_related("actor").order_by("at", "id")
