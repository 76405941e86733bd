"""Reads for the catalog, already restricted to what the user may see.

Every signed-in user sees published and deprecated data products; drafts and retired products
only their owner team (``view_dataproduct`` object permission) and stewards (global permission).
"""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from .choices import LISTED_STATUSES
from .models import Asset, AssetRelation, Column, DataProduct, Domain, OutputPort


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
