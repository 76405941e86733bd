"""Writes for people and teams. Team membership drives object permissions (see ``Team``)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from apps.core.exceptions import ApplicationError

from .choices import ROLE_GROUPS, TeamRole
from .models import Team, TeamMembership, User


@transaction.atomic
def team_create(*, name: str, slug: str, description: str = "", email: str = "") -> Team:
    """Create a team and its three permission groups (``team:<slug>:members|approvers|owners``)."""
    groups = {kind: Group.objects.create(name=f"team:{slug}:{kind}") for kind in ("members", "approvers", "owners")}
    team = Team(
        name=name,
        slug=slug,
        description=description,
        email=email,
        members_group=groups["members"],
        approvers_group=groups["approvers"],
        owners_group=groups["owners"],
    )
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_membership_set(*, team: Team, user: User, role: str = TeamRole.MEMBER) -> TeamMembership:
    """Add ``user`` to ``team`` with ``role`` (or change their role). The user gains exactly the
    permissions of that role on the team's data products. Raises ApplicationError for an unknown role."""
    if role not in TeamRole.values:
        raise ApplicationError(
            f"Unknown team role {role!r}.", {"role": [f"Choose one of {', '.join(TeamRole.values)}."]}
        )
    membership, _ = TeamMembership.objects.select_for_update().update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    _sync_groups(team=team, user=user, role=role)
    return membership


@transaction.atomic
def team_membership_remove(*, team: Team, user: User) -> None:
    """Remove ``user`` from ``team``; they lose every permission the team gave them at once."""
    TeamMembership.objects.filter(team=team, user=user).delete()
    _sync_groups(team=team, user=user, role=None)


def _sync_groups(*, team: Team, user: User, role: str | None) -> None:
    wanted = set(ROLE_GROUPS.get(role, ())) if role else set()
    for kind in ("members", "approvers", "owners"):
        group = team.group_for(kind)
        if kind in wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)


@transaction.atomic
def api_token_create(*, user: User) -> tuple[object, str]:
    """Create ``user``'s API token, replacing any previous one (which stops working at once).

    Returns ``(auth_token, key)``: ``auth_token`` is the stored ``knox.models.AuthToken`` (only a
    digest of the key and its 15-character prefix ``token_key`` are kept, with ``created`` and
    ``expiry``, ``API_TOKEN_TTL_DAYS`` ahead); ``key`` is the secret, to show once and never store.
    """
    from knox.models import AuthToken

    with transaction.atomic():
        AuthToken.objects.filter(user=user).delete()
        return AuthToken.objects.create(user=user)


def api_token_revoke(*, user: User) -> bool:
    """Delete ``user``'s API tokens; True when there was one."""
    from knox.models import AuthToken

    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return bool(deleted)
