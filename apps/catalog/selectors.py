"""Reads for the catalog, already restricted to what the user may see.

Every signed-in user sees published and deprecated data products; drafts and retired products
only their owner team (``view_dataproduct`` object permission) and stewards (global permission).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from .choices import LISTED_STATUSES, AssetRelationKind, QualityCheckStatus
from .models import Asset, AssetRelation, Column, DataProduct, Domain, OutputPort, QualityCheck


def data_product_visible(*, user) -> QuerySet[DataProduct]:
    """Data products ``user`` may see (anonymous users see none)."""
    if not user.is_authenticated:
        return DataProduct.objects.none()
    if user.is_superuser or user.has_perm("catalog.view_dataproduct"):
        return DataProduct.objects.all()
    own = get_objects_for_user(user, "catalog.view_dataproduct", klass=DataProduct, accept_global_perms=False)
    return DataProduct.objects.filter(Q(status__in=LISTED_STATUSES) | Q(pk__in=own.values("pk")))


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


# -- lineage and quality of a data product ---------------------------------------------------


def data_product_assets(*, product: DataProduct) -> QuerySet[Asset]:
    """The present (not removed) assets behind ``product``'s output ports: each port's schema,
    or its one table. ``product.output_ports`` should be prefetched (``data_product_get``);
    the caller has checked that the user may see ``product``."""
    match = Q(pk__in=[])
    for port in product.output_ports.all():
        port_q = Q(platform_id=port.platform_id, schema=port.schema)
        if port.table:
            port_q &= Q(name=port.table)
        match |= port_q
    return Asset.objects.filter(match, removed_at__isnull=True)


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
    assets = list(data_product_assets(product=product).order_by("schema", "name"))
    own = {a.pk for a in assets}
    lineage = ProductLineage(assets=assets)
    edges: dict[int, AssetRelation] = {}
    for direction, out, near, far in (("upstream", lineage.upstream, "target_id", "source"),
                                      ("downstream", lineage.downstream, "source_id", "target")):
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
            asset__in=data_product_assets(product=product), removed_at__isnull=True,
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
    exposing = output_port_visible(user=user).filter(
        platform=OuterRef("platform"), schema=OuterRef("schema")
    ).filter(Q(table="") | Q(table=OuterRef("name")))
    return Asset.objects.filter(removed_at__isnull=True).filter(Exists(exposing)).select_related("platform")


def asset_get(*, user, pk: int) -> Asset:
    """One asset ``user`` may see, columns prefetched in ordinal order; ``Http404`` otherwise."""
    try:
        return asset_visible(user=user).prefetch_related(
            Prefetch("columns", queryset=Column.objects.order_by("ordinal"))
        ).get(pk=pk)
    except Asset.DoesNotExist:
        raise Http404("No such asset.") from None


def data_contract_list(*, user):
    """Data contracts of the data products ``user`` may see, newest first."""
    from .models import DataContract

    return DataContract.objects.filter(data_product__in=data_product_visible(user=user).values("pk")).select_related(
        "data_product"
    ).order_by("-created_at", "-pk")
