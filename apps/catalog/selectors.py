"""Reads for the catalog, already restricted to what the user may see.

Every signed-in user sees published and deprecated data products; drafts and retired products
only their owner team (``view_dataproduct`` object permission) and stewards (global permission).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from apps.core.visibility import visibility_rule

from .choices import LISTED_STATUSES, AssetRelationKind, DataContractStatus, QualityCheckStatus
from .models import Asset, AssetRelation, Column, DataContract, DataProduct, Domain, OutputPort, QualityCheck


def data_product_sees_all(*, user) -> bool:
    """Whether ``user`` sees every data product, drafts included (admins, stewards)."""
    return user.is_authenticated and (user.is_superuser or user.has_perm("catalog.view_dataproduct"))


def data_product_ids_with_permission(*, user, codename: str) -> list[int]:
    """Ids of the products ``user`` holds the object permission ``codename`` on (e.g.
    ``view_dataproduct``, ``decide_access_requests``), directly or through a team's group
    (django-guardian), global permissions not counted.

    Same rule as ``guardian.shortcuts.get_objects_for_user(..., accept_global_perms=False)``, read
    straight from guardian's tables through their (group/user, content type, object) indexes:
    that shortcut compares ``id::varchar`` with ``object_pk`` and scans every permission row,
    ~50 ms with 100,000 products."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission

    if not user.is_authenticated:
        return []
    content_type = ContentType.objects.get_for_model(DataProduct)
    by_user = UserObjectPermission.objects.filter(
        user=user, content_type=content_type, permission__codename=codename
    ).values_list("object_pk", flat=True)
    by_group = GroupObjectPermission.objects.filter(
        group__user=user,
        content_type=content_type,
        permission__codename=codename,
    ).values_list("object_pk", flat=True)
    return sorted({int(pk) for pk in by_user.union(by_group) if pk.isdigit()})


def data_product_with_permission(*, user, codename: str) -> QuerySet[DataProduct]:
    """Products ``user`` holds ``codename`` on (see :func:`data_product_ids_with_permission`).
    The ids go in as one array parameter (``unnest``), not as thousands of literals to plan."""
    from django.db.models.expressions import RawSQL

    ids = data_product_ids_with_permission(user=user, codename=codename)
    return DataProduct.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))


def data_product_visibility(*, user) -> tuple[bool, tuple[int, ...]]:
    """``(sees_all, own_ids)``: whether ``user`` sees every data product
    (:func:`data_product_sees_all`) and, if not, the ids of the *unlisted* products (drafts,
    retired) they may see nonetheless (:func:`data_product_own_ids`); listed products everyone
    sees, so leaving them out lets people of different teams share cached searches. Asked by
    every search and product page: cached per user until a write to people, permissions or the
    catalog (``apps.core.freshness``, topics ``people`` and ``catalog``: a status change moves a
    product in or out of the unlisted ones)."""
    from django.db.models.expressions import RawSQL

    from apps.core.freshness import cached_for_user

    def compute() -> tuple[bool, tuple[int, ...]]:
        if data_product_sees_all(user=user):
            return True, ()
        own = data_product_own_ids(user=user)
        if not own:
            return False, ()
        unlisted = (
            DataProduct.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [own]))
            .exclude(status__in=LISTED_STATUSES)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return False, tuple(unlisted)

    if not user.is_authenticated:
        return False, ()
    return cached_for_user(user, "data_product_visibility", compute, topics=("people", "catalog"))


def data_product_own_ids(*, user) -> list[int]:
    """Ids of the products whose drafts ``user`` may see (``view_dataproduct`` through a team)."""
    return data_product_ids_with_permission(user=user, codename="view_dataproduct")


def data_product_visible(*, user) -> QuerySet[DataProduct]:
    """Data products ``user`` may see (anonymous users see none); the rule: ``DataProduct.objects.visible_to``."""
    return DataProduct.objects.visible_to(user)


def data_product_list(*, user, query: str = "", domain: str = "", classification: str = "") -> QuerySet[DataProduct]:
    """Marketplace listing: visible products matching every word of ``query`` in the product's
    name, summary, description, tags or domain, or in its assets' and columns' names and
    descriptions; optionally filtered by domain slug and classification."""
    products = data_product_visible(user=user).select_related("domain", "owner_team")
    for word in query.split()[:8]:
        asset_match = Asset.objects.filter(
            removed_at__isnull=True,
            platform=OuterRef("output_ports__platform"),
            schema=OuterRef("output_ports__schema"),
        ).filter(
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(columns__name__icontains=word)
            | Q(columns__description__icontains=word)
        )
        products = products.filter(
            Q(name__icontains=word)
            | Q(summary__icontains=word)
            | Q(description__icontains=word)
            | Q(tags__icontains=word)
            | Q(domain__name__icontains=word)
            | Exists(asset_match)
        )
    if domain:
        products = products.filter(domain__slug=domain)
    if classification:
        products = products.filter(classification=classification)
    return products.distinct().order_by("name")


def data_product_get(*, user, slug: str) -> DataProduct:
    """The product with ``slug`` if ``user`` may see it; ``Http404`` for missing and forbidden alike."""
    try:
        return (
            data_product_visible(user=user)
            .select_related("domain", "owner_team")
            .prefetch_related(Prefetch("output_ports", queryset=OutputPort.objects.select_related("platform")))
            .get(slug=slug)
        )
    except DataProduct.DoesNotExist:
        raise Http404("No such data product.") from None


def output_port_assets(*, port: OutputPort) -> QuerySet[Asset]:
    """Assets (tables, views) the port exposes: the whole schema, or the one table; removed ones excluded.
    Columns are prefetched in ordinal order."""
    assets = Asset.objects.filter(platform_id=port.platform_id, schema=port.schema, removed_at__isnull=True)
    if port.table:
        assets = assets.filter(name=port.table)
    return assets.order_by("name").prefetch_related(
        Prefetch("columns", queryset=Column.objects.order_by("ordinal")),
        Prefetch(
            "outgoing_relations",
            queryset=AssetRelation.objects.filter(kind="foreign_key").select_related("target"),
        ),
    )


def domain_list() -> QuerySet[Domain]:
    return Domain.objects.order_by("name")


# --- Product page tabs, domain / team / person pages (issue 6) --------------------------------


def data_product_assets(*, product: DataProduct) -> QuerySet[Asset]:
    """Every asset the product's output ports expose (not removed), with columns, foreign keys
    out and in prefetched: the schema tab."""
    condition = Q(pk__in=[])
    for port in product.output_ports.all():
        port_q = Q(platform_id=port.platform_id, schema=port.schema)
        if port.table:
            port_q &= Q(name=port.table)
        condition |= port_q
    return (
        Asset.objects.filter(condition, removed_at__isnull=True)
        .order_by("schema", "name")
        .prefetch_related(
            Prefetch("columns", queryset=Column.objects.order_by("ordinal")),
            Prefetch(
                "outgoing_relations", queryset=AssetRelation.objects.filter(kind="foreign_key").select_related("target")
            ),
            Prefetch(
                "incoming_relations", queryset=AssetRelation.objects.filter(kind="foreign_key").select_related("source")
            ),
        )
    )


@dataclass(frozen=True)
class LineageNode:
    """An asset up- or downstream of a data product; ``depth`` 1 is a direct neighbour of one
    of the product's assets."""

    asset: Asset
    depth: int


@dataclass
class ProductLineage:
    """Lineage around a data product's assets (``AssetRelation`` kind ``lineage``, from dbt).

    ``edges`` are every relation walked (``source`` upstream of ``target``, both loaded), for a
    graph; ``upstream``/``downstream`` the assets reached, nearest first; ``consumers`` the dbt
    exposures (dashboards, applications, ...) reading the product's assets, each a dict with
    ``unique_id``, ``name``, ``label``, ``type``, ``owner``, ``url``, ``maturity`` and ``asset``.
    """

    assets: list[Asset]
    upstream: list[LineageNode] = field(default_factory=list)
    downstream: list[LineageNode] = field(default_factory=list)
    edges: list[AssetRelation] = field(default_factory=list)
    consumers: list[dict] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.upstream or self.downstream or self.edges or self.consumers)


def data_product_lineage(*, product: DataProduct, max_depth: int = 6) -> ProductLineage:
    """Upstream and downstream lineage of ``product``'s assets, up to ``max_depth`` hops each
    way. Edges to removed assets are left out. Queries: one for the product's assets, then one
    per hop and direction while there is something left to walk (so ≤ 1 + 2 × ``max_depth``)."""
    assets = list(data_product_assets(product=product).prefetch_related(None).order_by("schema", "name"))
    own = {a.pk for a in assets}
    lineage = ProductLineage(assets=assets)
    edges: dict[int, AssetRelation] = {}
    for _direction, out, near, far in (
        ("upstream", lineage.upstream, "target_id", "source"),
        ("downstream", lineage.downstream, "source_id", "target"),
    ):
        seen = set(own)
        frontier = set(own)
        for depth in range(1, max_depth + 1):
            if not frontier:
                break
            step = (
                AssetRelation.objects.filter(kind=AssetRelationKind.LINEAGE, **{f"{near}__in": frontier})
                .filter(**{f"{far}__removed_at__isnull": True})
                .select_related("source__platform", "target__platform")
                .order_by("pk")
            )
            frontier = set()
            for relation in step:
                edges.setdefault(relation.pk, relation)
                other = getattr(relation, far)
                if other.pk not in seen:
                    seen.add(other.pk)
                    frontier.add(other.pk)
                    out.append(LineageNode(asset=other, depth=depth))
    lineage.upstream.sort(key=lambda n: (n.depth, n.asset.schema, n.asset.name))
    lineage.downstream.sort(key=lambda n: (n.depth, n.asset.schema, n.asset.name))
    lineage.edges = sorted(edges.values(), key=lambda r: (r.source.qualified_name, r.target.qualified_name))
    seen_exposures: set[str] = set()
    for asset in assets:
        for exposure in asset.dbt_exposures or []:
            if isinstance(exposure, dict) and exposure.get("unique_id") not in seen_exposures:
                seen_exposures.add(exposure.get("unique_id"))
                url = str(exposure.get("url") or "")
                # Shown as a link: only web addresses (never javascript: and the like).
                safe_url = url if url.lower().startswith(("https://", "http://")) else ""
                lineage.consumers.append({**exposure, "url": safe_url, "asset": asset})
    return lineage


@dataclass
class QualitySummary:
    """The latest results of the quality checks (dbt tests, contract rules) on a data product's
    assets. ``counts`` maps every ``QualityCheckStatus`` value to its number of checks;
    ``checks`` are ordered failures first."""

    checks: list[QualityCheck]
    counts: dict[str, int]
    last_run_at: datetime | None

    @property
    def total(self) -> int:
        return len(self.checks)

    @property
    def passed(self) -> int:
        return self.counts[QualityCheckStatus.PASS]

    @property
    def failed(self) -> int:
        return self.counts[QualityCheckStatus.FAIL] + self.counts[QualityCheckStatus.ERROR]

    @property
    def warned(self) -> int:
        return self.counts[QualityCheckStatus.WARN]

    @property
    def status(self) -> str:
        """``fail`` if any check failed or errored, else ``warn``, else ``pass`` if any passed,
        else ``unknown`` (no checks, or none run)."""
        if self.failed:
            return QualityCheckStatus.FAIL
        if self.warned:
            return QualityCheckStatus.WARN
        return QualityCheckStatus.PASS if self.passed else QualityCheckStatus.UNKNOWN


_STATUS_ORDER = {s: i for i, s in enumerate(["fail", "error", "warn", "unknown", "skipped", "pass"])}


def data_product_quality(*, product: DataProduct) -> QualitySummary:
    """Quality summary of ``product``: its assets' current (not removed) checks. One query."""
    checks = list(
        QualityCheck.objects.filter(
            asset__in=data_product_assets(product=product),
            removed_at__isnull=True,
        ).select_related("asset")
    )
    checks.sort(key=lambda c: (_STATUS_ORDER.get(c.status, 9), c.asset.name, c.column_name, c.name))
    counts = {status: 0 for status in QualityCheckStatus.values}
    for check in checks:
        counts[check.status] = counts.get(check.status, 0) + 1
    runs = [c.last_run_at for c in checks if c.last_run_at]
    return QualitySummary(checks=checks, counts=counts, last_run_at=max(runs) if runs else None)


def data_product_can_change(*, user, product: DataProduct) -> bool:
    """Whether ``user`` may edit ``product`` (owners of its owner team, or global ``change_dataproduct``)."""
    return bool(user.is_authenticated and user.has_perm("catalog.change_dataproduct", product))


def data_product_can_create(*, user, owner_team) -> bool:
    """Whether ``user`` may create a data product owned by ``owner_team``: an owner of that team,
    or someone with the global ``catalog.add_dataproduct`` permission (admins)."""
    from apps.accounts.choices import TeamRole

    if not user.is_authenticated:
        return False
    if user.has_perm("catalog.add_dataproduct"):
        return True
    return owner_team.memberships.filter(user=user, role=TeamRole.OWNER).exists()


def data_contract_can_publish(*, user) -> bool:
    """Whether ``user`` may publish data contracts at all (checked before the contract is parsed):
    an owner of some team (who may create its products or change them), or someone with the
    global ``catalog.add_dataproduct`` / ``catalog.change_dataproduct`` permission."""
    from apps.accounts.choices import TeamRole
    from apps.accounts.models import TeamMembership as Membership

    if not user.is_authenticated:
        return False
    if user.has_perm("catalog.add_dataproduct") or user.has_perm("catalog.change_dataproduct"):
        return True
    return Membership.objects.filter(user=user, role=TeamRole.OWNER).exists()


def data_product_get_for_change(*, user, slug: str) -> DataProduct:
    """The product with ``slug`` for editing: ``Http404`` if ``user`` may not see it,
    ``PermissionDenied`` if they see it but may not change it."""
    from django.core.exceptions import PermissionDenied

    product = data_product_get(user=user, slug=slug)
    if not data_product_can_change(user=user, product=product):
        raise PermissionDenied("Only owners of the product's owner team can change it.")
    return product


def output_port_visible(*, user) -> QuerySet[OutputPort]:
    """Output ports of the data products ``user`` may see."""
    return OutputPort.objects.filter(data_product__in=data_product_visible(user=user).values("pk")).select_related(
        "platform", "data_product"
    )


def output_port_get(*, user, pk: int) -> OutputPort:
    """One output port of a product ``user`` may see; ``Http404`` for missing and forbidden alike."""
    try:
        return output_port_visible(user=user).get(pk=pk)
    except OutputPort.DoesNotExist:
        raise Http404("No such output port.") from None


def asset_visible(*, user) -> QuerySet[Asset]:
    """Assets (not removed) exposed by an output port of a data product ``user`` may see."""
    exposing = (
        output_port_visible(user=user)
        .filter(platform=OuterRef("platform"), schema=OuterRef("schema"))
        .filter(Q(table="") | Q(table=OuterRef("name")))
    )
    return Asset.objects.filter(removed_at__isnull=True).filter(Exists(exposing)).select_related("platform")


def asset_get(*, user, pk: int) -> Asset:
    """One asset ``user`` may see, columns prefetched in ordinal order; ``Http404`` otherwise."""
    try:
        return (
            asset_visible(user=user)
            .prefetch_related(Prefetch("columns", queryset=Column.objects.order_by("ordinal")))
            .get(pk=pk)
        )
    except Asset.DoesNotExist:
        raise Http404("No such asset.") from None


def data_contract_list(*, user):
    """Data contracts of the data products ``user`` may see, newest first."""
    from .models import DataContract

    return (
        DataContract.objects.filter(data_product__in=data_product_visible(user=user).values("pk"))
        .select_related("data_product")
        .order_by("-created_at", "-pk")
    )


def data_product_tables(*, product: DataProduct) -> QuerySet[Asset]:
    """The product's tables and views without their columns (the overview's list)."""
    return data_product_assets(product=product).prefetch_related(None).only("schema", "name", "kind", "description")


def data_product_contract(*, product: DataProduct) -> DataContract | None:
    """The current data contract: the newest ``active`` version, else the newest."""
    contracts = DataContract.objects.filter(data_product=product).order_by("-created_at")
    return contracts.filter(status=DataContractStatus.ACTIVE).first() or contracts.first()


def _asset_owners(assets: list[Asset], *, user) -> dict[int, DataProduct]:
    """Visible data product exposing each asset (first port wins)."""
    pairs = {(a.platform_id, a.schema) for a in assets}
    if not pairs:
        return {}
    condition = Q(pk__in=[])
    for platform_id, schema in pairs:
        condition |= Q(platform_id=platform_id, schema=schema)
    ports = OutputPort.objects.filter(condition, data_product__in=data_product_visible(user=user)).select_related(
        "data_product"
    )
    by_location: dict[tuple, list[OutputPort]] = {}
    for port in ports:
        by_location.setdefault((port.platform_id, port.schema), []).append(port)
    owners = {}
    for asset in assets:
        for port in by_location.get((asset.platform_id, asset.schema), []):
            if not port.table or port.table == asset.name:
                owners[asset.pk] = port.data_product
                break
    return owners


def data_product_lineage_graph(*, product: DataProduct, user) -> dict:
    """Upstream and downstream of the product, at product level where the other side belongs to a
    data product ``user`` may see, else as the bare asset. Shape::

        {"upstream": [node], "downstream": [node]}
        node = {"key", "label", "product": DataProduct | None, "assets": ["schema.table", ...],
                "kinds": {"lineage", "foreign_key"}}

    ``lineage`` edges come from lineage metadata (dbt); ``foreign_key`` edges are references
    between tables of different products (this product reads keys of the upstream one)."""
    own = list(data_product_assets(product=product).values_list("pk", flat=True))
    relations = (
        AssetRelation.objects.filter(Q(source_id__in=own) | Q(target_id__in=own))
        .exclude(source_id__in=own, target_id__in=own)
        .select_related("source", "target")
    )
    sides: dict[str, dict[str, dict]] = {"upstream": {}, "downstream": {}}
    edges = []
    for rel in relations:
        # Lineage: source feeds target. Foreign key: the referencing table (source) depends on
        # the referenced one (target), so the referenced table is upstream.
        if rel.kind == "lineage":
            upstream, downstream = rel.source, rel.target
        else:
            upstream, downstream = rel.target, rel.source
        other, side = (upstream, "upstream") if downstream.pk in own else (downstream, "downstream")
        edges.append((other, side, rel.kind))
    owners = _asset_owners([e[0] for e in edges], user=user)
    for other, side, kind in edges:
        owner = owners.get(other.pk)
        if owner is not None and owner.pk == product.pk:
            continue
        key = f"p{owner.pk}" if owner else f"a{other.pk}"
        node = sides[side].setdefault(
            key,
            {
                "key": key,
                "label": owner.name if owner else other.qualified_name,
                "product": owner,
                "assets": [],
                "kinds": set(),
            },
        )
        if other.qualified_name not in node["assets"]:
            node["assets"].append(other.qualified_name)
        node["kinds"].add(kind)
    return {side: sorted(nodes.values(), key=lambda n: n["label"]) for side, nodes in sides.items()}


def domain_get(*, slug: str) -> Domain:
    """Domains are public to signed-in users; ``Http404`` when missing."""
    try:
        return Domain.objects.select_related("owner_team").get(slug=slug)
    except Domain.DoesNotExist:
        raise Http404("No such domain.") from None


def domain_list_with_counts(*, user) -> list[dict]:
    """``[{"domain": Domain, "n": int}]``: domains with the number of products ``user`` may see."""
    from django.db.models import Count

    counts = dict(data_product_visible(user=user).values_list("domain_id").annotate(n=Count("id")))
    return [{"domain": d, "n": counts.get(d.pk, 0)} for d in Domain.objects.order_by("name")]


def data_product_visible_list(*, user, **filters) -> QuerySet[DataProduct]:
    """Visible products with domain and owner team, filtered by ``filters`` (ORM lookups)."""
    return data_product_visible(user=user).filter(**filters).select_related("domain", "owner_team").order_by("name")


def person_get(*, username: str):
    """People (active users) are public to signed-in users; ``Http404`` when missing."""
    from apps.accounts.models import User

    try:
        return User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise Http404("No such person.") from None


def grant_active_visible(*, user):
    """Active grants on data products ``user`` may see (who consumes what), newest first."""
    from apps.access.models import Grant

    return (
        Grant.objects.filter(
            status="active", access_request__output_port__data_product__in=data_product_visible(user=user)
        )
        .select_related(
            "access_request__requester",
            "access_request__on_behalf_of_team",
            "access_request__output_port__data_product",
        )
        .order_by("-applied_at", "-id")
    )


def data_product_activity(*, product: DataProduct, user, limit: int = 30) -> list[dict]:
    """What happened to the product, newest first: ``[{"at": datetime, "text": str}]``. Catalog
    changes for everyone; access requests only for those who decide them and stewards."""
    from apps.access.models import AccessRequest

    events = [{"at": product.created_at, "text": "Data product created"}]
    if product.updated_at and (product.updated_at - product.created_at).total_seconds() > 1:
        events.append({"at": product.updated_at, "text": "Data product details updated"})
    # A table's first sync is not a schema change: those are told once, as how many tables arrived.
    first_synced = []
    for asset in (
        data_product_assets(product=product).filter(last_changed_at__isnull=False).order_by("-last_changed_at")[:50]
    ):
        if abs((asset.last_changed_at - asset.created_at).total_seconds()) < 60:
            first_synced.append(asset)
        elif len(events) < 11:
            events.append({"at": asset.last_changed_at, "text": f"Schema of {asset.qualified_name} changed"})
    if first_synced:
        n = len(first_synced)
        events.append(
            {
                "at": max(a.last_changed_at for a in first_synced),
                "text": f"{n} table{'s' if n != 1 else ''} and view{'s' if n != 1 else ''} first synced from the platform"
                if n > 1
                else f"{first_synced[0].qualified_name} first synced from the platform",
            }
        )
    for contract in DataContract.objects.filter(data_product=product).order_by("-created_at")[:5]:
        events.append(
            {
                "at": contract.created_at,
                "text": f"Data contract {contract.version} published ({contract.get_status_display()})",
            }
        )
    if data_product_sees_all(user=user) or user.has_perm("catalog.decide_access_requests", product):
        for r in (
            AccessRequest.objects.filter(output_port__data_product=product)
            .select_related("requester")
            .order_by("-created_at")[:10]
        ):
            events.append(
                {
                    "at": r.submitted_at or r.created_at,
                    "text": f"Access request #{r.pk} by {r.requester}: {r.get_status_display()}",
                    "request": r,
                }
            )
    return sorted(events, key=lambda e: e["at"], reverse=True)[:limit]


@visibility_rule("catalog.DataProduct")
def data_products_visible(queryset, user):
    """The products ``user`` may see: published and deprecated ones for everyone signed in, drafts and
    retired ones for holders of ``view_dataproduct`` on them (their owner team, django-guardian), every
    product for admins and stewards (:func:`apps.catalog.selectors.data_product_sees_all`); none for
    anonymous users."""
    from django.db.models.expressions import RawSQL

    if not user.is_authenticated:
        return queryset.none()
    sees_all, own_ids = data_product_visibility(user=user)
    if sees_all:
        return queryset.all()
    if not own_ids:
        return queryset.filter(status__in=LISTED_STATUSES)
    own = RawSQL("SELECT unnest(%s::bigint[])", [list(own_ids)])
    return queryset.filter(Q(status__in=LISTED_STATUSES) | Q(pk__in=own))
