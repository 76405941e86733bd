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


def data_product_sees_all(*, user) -> bool:
    """Whether ``user`` sees every data product, drafts included (admins, stewards)."""
    return user.is_authenticated and (user.is_superuser or user.has_perm("catalog.view_dataproduct"))


def data_product_own(*, user) -> QuerySet[DataProduct]:
    """Products ``user`` holds ``view_dataproduct`` on through a team (their drafts are visible)."""
    return get_objects_for_user(user, "catalog.view_dataproduct", klass=DataProduct, accept_global_perms=False)


def data_product_visible(*, user) -> QuerySet[DataProduct]:
    """Data products ``user`` may see (anonymous users see none)."""
    if not user.is_authenticated:
        return DataProduct.objects.none()
    if data_product_sees_all(user=user):
        return DataProduct.objects.all()
    return DataProduct.objects.filter(Q(status__in=LISTED_STATUSES) | Q(pk__in=data_product_own(user=user).values("pk")))


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
