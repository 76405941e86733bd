"""Reads for people and teams."""
from __future__ import annotations

from django.db.models import QuerySet

from .choices import TeamRole
from .models import Team, TeamMembership, User


def team_list_for_user(*, user: User) -> QuerySet[Team]:
    """Teams ``user`` belongs to (for "on behalf of" in access requests)."""
    return Team.objects.filter(memberships__user=user).order_by("name")


def team_member_ids(*, team: Team) -> set[int]:
    return set(TeamMembership.objects.filter(team=team).values_list("user_id", flat=True))


def team_approvers(*, team: Team) -> QuerySet[User]:
    """Users who may decide access requests for the team's data products."""
    return User.objects.filter(
        memberships__team=team, memberships__role__in=[TeamRole.OWNER, TeamRole.APPROVER], is_active=True
    ).distinct()
