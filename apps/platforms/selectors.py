"""Reads for platforms: who may see and operate a platform, sync history, and the privileges
platforms report on a data product's assets ("who has access today").

Platforms are administered by their owner team's owners and by staff holding the global
``platforms.change_platform`` permission (operators: *Sync now*, sync interval); governance
stewards and the team's other members may look (sync history) but not operate. Anyone else gets
404, exactly as for a platform that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.catalog.models import AssetPrivilege, DataProduct

from .models import DbtArtifactUpload, Platform, SyncRun


def platform_can_operate(*, user, platform: Platform) -> bool:
    """Whether ``user`` may trigger syncs of ``platform`` and change its sync settings."""
    if not user.is_authenticated:
        return False
    if user.has_perm("platforms.change_platform"):
        return True
    return (
        platform.owner_team_id is not None
        and platform.owner_team.memberships.filter(
            user=user,
            role=TeamRole.OWNER,
        ).exists()
    )


def platform_visible(*, user) -> QuerySet[Platform]:
    """Platforms whose page (sync history) ``user`` may see: operators, stewards, members of
    the owner team. Anonymous users see none."""
    if not user.is_authenticated:
        return Platform.objects.none()
    if user.has_perm("platforms.change_platform") or user.has_perm("platforms.view_platform") or _is_steward(user):
        return Platform.objects.all()
    return Platform.objects.filter(owner_team__memberships__user=user).distinct()


def platform_get(*, user, slug: str, operate: bool = False) -> Platform:
    """The platform ``slug`` if ``user`` may see it (``operate=True``: may operate it);
    ``Http404`` for missing and forbidden alike."""
    platform = platform_visible(user=user).select_related("owner_team").filter(slug=slug).first()
    if platform is None or (operate and not platform_can_operate(user=user, platform=platform)):
        raise Http404("No such platform.")
    return platform


def platform_list_rows(*, user) -> list[dict]:
    """Every platform (names and kinds are not secret) with ``can_view`` for linking its page."""
    visible = set(platform_visible(user=user).values_list("pk", flat=True))
    return [
        {"platform": p, "can_view": p.pk in visible}
        for p in Platform.objects.select_related("owner_team").order_by("name")
    ]


def sync_run_list(*, platform: Platform) -> QuerySet[SyncRun]:
    """The platform's sync runs, newest first, with who triggered them (``None`` for scheduled)."""
    return SyncRun.objects.filter(platform=platform).select_related("triggered_by").order_by("-started_at", "-pk")


def platform_last_run(*, platform: Platform) -> SyncRun | None:
    """The platform's most recently started sync run (running, succeeded or failed), or ``None``."""
    return sync_run_list(platform=platform).first()


def dbt_platform_context(*, platform: Platform) -> dict:
    """What the page of a dbt platform shows besides runs: ``latest_upload`` (the newest
    ``DbtArtifactUpload`` without its JSON texts, or ``None``), ``warehouse`` (the linked
    platform or ``None``), and ``dbt_asset_count`` (assets carrying this project's metadata)."""
    latest = (
        DbtArtifactUpload.objects.filter(platform=platform)
        .select_related("uploaded_by")
        .defer("manifest_json", "catalog_json", "run_results_json")
        .first()
    )
    return {
        "latest_upload": latest,
        "warehouse": platform.warehouse,
        "dbt_asset_count": platform.dbt_assets.filter(removed_at__isnull=True).count(),
    }


def platform_list(*, user) -> QuerySet[Platform]:
    """Every platform (names are not secret: consumers pick output ports on them); empty for anonymous."""
    if not user.is_authenticated:
        return Platform.objects.none()
    return Platform.objects.select_related("owner_team").order_by("name")


def platform_get_for_operator(*, user, slug: str) -> Platform:
    """The platform with ``slug`` if ``user`` operates it; ``Http404`` for missing and forbidden alike."""
    return platform_get(user=user, slug=slug, operate=True)


def platform_identity_list(*, user) -> QuerySet:
    """``user``'s own logins on platforms."""
    from .models import PlatformIdentity

    return PlatformIdentity.objects.filter(user=user).select_related("platform").order_by("platform__name", "pk")


def platform_identity_list_for_platform(*, platform: Platform) -> QuerySet:
    """Every user's login on ``platform`` (for its operators), by username."""
    from .models import PlatformIdentity

    return (
        PlatformIdentity.objects.filter(platform=platform)
        .select_related("user", "platform")
        .order_by("user__username", "pk")
    )


def team_platform_identity_list(*, platform: Platform) -> QuerySet:
    """Every team's principal on ``platform`` (for its operators), by team name."""
    from .models import TeamPlatformIdentity

    return (
        TeamPlatformIdentity.objects.filter(platform=platform)
        .select_related("team", "platform")
        .order_by("team__name", "pk")
    )


# -- who has access today -------------------------------------------------------------------


def asset_privileges_for_product(*, product: DataProduct) -> QuerySet[AssetPrivilege]:
    """Privileges the platforms report on the assets behind ``product``'s output ports (a
    schema port: every asset of the schema; a table port: that asset), removed assets excluded;
    ordered by platform, grantee, asset, privilege. Empty when the product has no port."""
    condition = Q()
    for port in product.output_ports.all():
        port_q = Q(asset__platform_id=port.platform_id, asset__schema=port.schema)
        if port.table:
            port_q &= Q(asset__name=port.table)
        condition |= port_q
    if not condition:
        return AssetPrivilege.objects.none()
    return (
        AssetPrivilege.objects.filter(condition, asset__removed_at__isnull=True)
        .select_related("asset__platform")
        .order_by("asset__platform__name", "grantee", "asset__schema", "asset__name", "privilege")
    )


@dataclass
class GranteeAccess:
    """One principal's privileges on a product's assets, for the "who has access" table."""

    platform: Platform
    grantee: str
    privileges: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)
    via_schema: bool = False
    is_grantable: bool = False
    # The portal's grant whose role this is (its ``principal`` is the consumer's login), if any.
    portal_grant: object | None = None


def who_has_access(*, user, product: DataProduct) -> list[GranteeAccess] | None:
    """ "Who has access today" on ``product``, one row per (platform, grantee): the privileges it
    holds and on which assets, and the portal's ``Grant`` when the grantee is a grant's role.
    ``None`` when ``user`` may not see it: only the product's team (``view_dataproduct`` on it),
    stewards and admins see the platform's principals. Two queries besides the permission check.
    """
    from apps.access.models import Grant

    if not user.is_authenticated or not (
        user.has_perm("catalog.view_dataproduct", product)
        or user.has_perm("catalog.view_dataproduct")
        or _is_steward(user)
    ):
        return None
    rows: dict[tuple[int, str], GranteeAccess] = {}
    for privilege in asset_privileges_for_product(product=product):
        asset = privilege.asset
        row = rows.setdefault(
            (asset.platform_id, privilege.grantee),
            GranteeAccess(platform=asset.platform, grantee=privilege.grantee),
        )
        if privilege.privilege not in row.privileges:
            row.privileges.append(privilege.privilege)
        if asset.qualified_name not in row.assets:
            row.assets.append(asset.qualified_name)
        row.via_schema |= privilege.via_schema
        row.is_grantable |= privilege.is_grantable
    if rows:
        grants = Grant.objects.filter(
            platform_id__in={platform_id for platform_id, _ in rows},
            role_name__in={grantee for _, grantee in rows},
        ).exclude(role_name="")
        for grant in grants:
            if row := rows.get((grant.platform_id, grant.role_name)):
                row.portal_grant = grant
    for row in rows.values():
        row.privileges.sort()
    return list(rows.values())


def _is_steward(user) -> bool:
    return user.is_superuser or user.groups.filter(name=STEWARDS_GROUP).exists()
