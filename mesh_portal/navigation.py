"""The portal shell: who sees which navigation items, and where each persona lands after login.

One place decides it from the existing permission rules (``apps.access.selectors``:
``user_is_approver``, ``is_steward``, ``kpi_can_view``) so templates never re-implement a rule.
Personas: executive (KPI dashboard), steward (governance), owner (their products and approvals),
platform admin (platforms), business user (marketplace).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject


def _insights_url() -> str | None:
    """The KPI dashboard's URL once the insights pages exist (issue 14), else None."""
    try:
        return reverse("insights:dashboard")
    except NoReverseMatch:
        return None


def navigation_for(user) -> dict:
    """``{"approvals": bool, "governance": bool, "insights_url": str|None, "platforms": bool,
    "admin": bool}``: the navigation items ``user`` can use (an empty inbox or a 404 is not shown)."""
    from apps.access import permissions as access_permissions
    from apps.accounts.models import TeamMembership
    from apps.insights.permissions import kpi_can_view_any

    if not user.is_authenticated:
        return {}
    steward = access_permissions.is_steward(user)
    insights_url = _insights_url()
    return {
        "approvals": access_permissions.user_is_approver(user=user),
        "governance": steward,
        "insights_url": insights_url if insights_url and kpi_can_view_any(user) else None,
        "platforms": user.is_staff or steward or TeamMembership.objects.filter(user=user).exists(),
        "admin": user.is_staff,
    }


def landing_url(user) -> str:
    """Where ``user`` lands after logging in: executive -> KPI dashboard, steward -> governance,
    data product owner/approver -> their page (products owned, decisions pending), platform admin
    -> platforms, everyone else -> the marketplace."""
    from apps.access import permissions as access_permissions
    from apps.accounts.choices import EXECUTIVES_GROUP

    nav = navigation_for(user)
    if nav.get("insights_url") and user.groups.filter(name=EXECUTIVES_GROUP).exists():
        return nav["insights_url"]
    if nav.get("governance") and not user.is_superuser:
        return reverse("access:policies")
    if access_permissions.user_is_approver(user=user) and not user.is_superuser:
        return reverse("catalog:person_detail", args=[user.username])
    if user.is_staff:
        return reverse("platforms:list")
    return reverse("catalog:marketplace")


def navigation(request) -> dict:
    """Context processor: ``nav`` (see ``navigation_for``), computed only when a template reads it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from apps.core.freshness import cached_for_user

    # Roles change with people (groups, memberships, permissions) and ownership (catalog) only.
    return {
        "nav": SimpleLazyObject(
            lambda: cached_for_user(user, "navigation", lambda: navigation_for(user), topics=("people", "catalog"))
        )
    }


@login_required
def landing(request):
    """``/start/``: the login redirect; sends each persona to their page (see ``landing_url``)."""
    return redirect(landing_url(request.user))
