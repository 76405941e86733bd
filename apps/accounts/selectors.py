"""Reads for people and teams."""

from __future__ import annotations

from django.db.models import QuerySet

from .choices import TeamRole
from .models import Team, TeamMembership, User


def team_list_for_user(*, user: User) -> QuerySet[Team]:
    """Teams ``user`` belongs to (for "on behalf of" in access requests)."""
    return Team.objects.filter(memberships__user=user).order_by("name")


def team_approvers(*, team: Team) -> QuerySet[User]:
    """Users who may decide access requests for the team's data products."""
    return User.objects.filter(
        memberships__team=team, memberships__role__in=[TeamRole.OWNER, TeamRole.APPROVER], is_active=True
    ).distinct()


def team_list() -> QuerySet[Team]:
    """Every team (ownership pages are public inside the organisation)."""
    return Team.objects.order_by("name")


def team_get(*, slug: str) -> Team:
    """The team with ``slug``; ``Http404`` when missing."""
    from django.http import Http404

    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team


def team_memberships(*, team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(team=team).select_related("user").order_by("user__username", "pk")


def team_can_manage(*, user, team: Team) -> bool:
    """Who changes a team's members: its owners, and admins (global ``accounts.change_team``)."""
    if not user.is_authenticated:
        return False
    return user.has_perm("accounts.change_team") or team.memberships.filter(user=user, role=TeamRole.OWNER).exists()


def api_token_for(*, user):
    """``user``'s newest API token (``knox.models.AuthToken``: ``token_key`` prefix, ``created``,
    ``expiry``; never the key itself), or None."""
    from django.db.models import Q
    from django.utils import timezone
    from knox.models import AuthToken

    return (
        AuthToken.objects.filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()), user=user)
        .order_by("-created")
        .first()
    )
