"""Who may see and change KPIs (the one place for these rules).

Executives, governance stewards and admins see every domain; the members of a domain's owner
team (and of the owner teams of its data products) with the owner role see that domain's;
everyone else sees no dashboard (404). Only stewards (and admins) set targets and cost rates.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def kpi_sees_all(user) -> bool:
    from apps.accounts.choices import EXECUTIVES_GROUP

    if not user.is_authenticated:
        return False
    return bool(
        user.is_superuser
        or user.is_steward
        or user.has_perm("audit.view_auditevent")
        or user.groups.filter(name=EXECUTIVES_GROUP).exists()
    )


def kpi_domain_ids(user) -> list[int] | None:
    """None: every domain; else the ids of the domains whose KPIs ``user`` may see (maybe [])."""
    from django.db.models import Q

    from apps.accounts.choices import TeamRole
    from apps.catalog.models import Domain

    if kpi_sees_all(user):
        return None
    if not user.is_authenticated:
        return []
    teams = user.memberships.filter(role=TeamRole.OWNER).values_list("team_id", flat=True)
    return list(
        Domain.objects.filter(Q(owner_team_id__in=teams) | Q(data_products__owner_team_id__in=teams))
        .values_list("pk", flat=True)
        .distinct()
    )


def kpi_can_view(user, domain_id: int | None = None) -> bool:
    """May ``user`` see the KPIs of ``domain_id`` (None: of the whole mesh)?"""
    allowed = kpi_domain_ids(user)
    if allowed is None:
        return True
    return domain_id is not None and domain_id in allowed


def kpi_can_view_any(user) -> bool:
    """Whether ``user`` sees the KPIs of at least one domain (the navigation asks on every page):
    the same rule as :func:`kpi_domain_ids` being None or non-empty, as one ``EXISTS`` query instead of
    listing the domains (every product has a domain, so an owned product means a visible domain)."""
    from django.db.models import Exists, OuterRef

    from apps.accounts.choices import TeamRole
    from apps.catalog.models import DataProduct, Domain

    if kpi_sees_all(user):
        return True
    if not user.is_authenticated:
        return False
    return (
        user.memberships.filter(role=TeamRole.OWNER)
        .filter(
            Exists(Domain.objects.filter(owner_team_id=OuterRef("team_id")))
            | Exists(DataProduct.objects.filter(owner_team_id=OuterRef("team_id")))
        )
        .exists()
    )


def kpi_target_can_set(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_steward))


def require_target_set(user) -> None:
    if not kpi_target_can_set(user):
        raise PermissionDenied("Only governance stewards set KPI targets.")


def kpi_lands_on_dashboard(user) -> bool:
    """Executives land on the dashboard after login."""
    from apps.accounts.choices import EXECUTIVES_GROUP

    return bool(user.is_authenticated and user.groups.filter(name=EXECUTIVES_GROUP).exists())
