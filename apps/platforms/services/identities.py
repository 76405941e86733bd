"""Writes for platform identities: which login (or team role) a user or team has on a platform.

The login is the grantee of the grants made for that user or team, so mapping one is a governance
change: operators only, audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from apps.core.exceptions import ApplicationError

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.platforms.models import Platform


def _require_operator(*, actor: User, platform: Platform) -> None:
    from django.core.exceptions import PermissionDenied

    from apps.platforms.selectors import platform_can_operate

    if not platform_can_operate(user=actor, platform=platform):
        raise PermissionDenied("Only the platform's operators map logins on it.")


@transaction.atomic
def platform_identity_create(*, actor: User, user: User, platform: Platform, principal: str):
    """Record ``user``'s login ``principal`` on ``platform`` (the grantee of their grants).

    Only the platform's operators (:func:`~apps.platforms.selectors.platform_can_operate`:
    its owner team's owners, admins) may: a user mapping themselves could point grants at a
    login that is not theirs. Raises ``PermissionDenied`` for anyone else; ApplicationError:
    ``user`` when they already have one there, ``principal`` when it is empty or another user's
    login on that platform."""
    from apps.platforms.models import PlatformIdentity

    return _identity_create(
        PlatformIdentity,
        actor=actor,
        platform=platform,
        principal=principal,
        owner_field="user",
        owner=user,
        action="platform_identity.created",
        audit_owner=user.username,
        blank_message="Give the login on the platform.",
        exists_message=f"{user} already has a login on this platform.",
        taken=("That login belongs to someone else.", "Already mapped to another user."),
    )


@transaction.atomic
def platform_identity_delete(*, identity, actor: User) -> None:
    """Forget a login (platform operators only; ``PermissionDenied`` otherwise). Existing grants
    stay on the platform until revoked or expired."""
    from apps.audit.services import audit_record

    _require_operator(actor=actor, platform=identity.platform)
    audit_record(
        actor=actor,
        action="platform_identity.deleted",
        obj=identity,
        before={"user": identity.user.username, "principal": identity.principal},
    )
    identity.delete()


@transaction.atomic
def team_platform_identity_create(*, actor: User, team, platform: Platform, principal: str):
    """Record ``team``'s principal on ``platform`` (a group role on PostgreSQL, a role or login
    on MariaDB): the grantee of grants requested on behalf of the team. Platform operators only
    (``PermissionDenied`` otherwise). Raises ApplicationError: ``team`` when it already has one
    there, ``principal`` when empty or another team's principal there."""
    from apps.platforms.models import TeamPlatformIdentity

    return _identity_create(
        TeamPlatformIdentity,
        actor=actor,
        platform=platform,
        principal=principal,
        owner_field="team",
        owner=team,
        action="team_platform_identity.created",
        audit_owner=team.slug,
        blank_message="Give the team's role on the platform.",
        exists_message=f"{team} already has a principal on this platform.",
        taken=("That principal belongs to another team.", "Already mapped to another team."),
    )


def _identity_create(
    model,
    *,
    actor: User,
    platform: Platform,
    principal: str,
    owner_field: str,
    owner,
    action: str,
    audit_owner: str,
    blank_message: str,
    exists_message: str,
    taken: tuple[str, str],
):
    """Shared by the user and team identity services: operator check, one principal per owner
    and platform, a principal mapped to one owner only, audited."""
    from apps.audit.services import audit_record

    _require_operator(actor=actor, platform=platform)
    principal = principal.strip()
    if not principal:
        raise ApplicationError(blank_message, {"principal": ["This field may not be blank."]})
    if model.objects.filter(**{owner_field: owner}, platform=platform).exists():
        raise ApplicationError(exists_message, {owner_field: ["Delete the existing identity first."]})
    if model.objects.filter(platform=platform, principal=principal).exclude(**{owner_field: owner}).exists():
        raise ApplicationError(taken[0], {"principal": [taken[1]]})
    identity = model(**{owner_field: owner}, platform=platform, principal=principal)
    identity.full_clean()
    identity.save()
    audit_record(actor=actor, action=action, obj=identity, after={owner_field: audit_owner, "principal": principal})
    return identity


@transaction.atomic
def team_platform_identity_delete(*, identity, actor: User) -> None:
    """Forget a team's principal (platform operators only). Existing grants stay until revoked."""
    from apps.audit.services import audit_record

    _require_operator(actor=actor, platform=identity.platform)
    audit_record(
        actor=actor,
        action="team_platform_identity.deleted",
        obj=identity,
        before={"team": identity.team.slug, "principal": identity.principal},
    )
    identity.delete()
