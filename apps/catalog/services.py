"""Writes for the catalog: domains, data products, output ports.

A data product's owner team gets django-guardian object permissions on it through the team's
groups: members ``view_dataproduct`` (drafts), approvers ``decide_access_requests``, owners
``change_dataproduct``.
"""
from __future__ import annotations

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from apps.accounts.models import Team

from .models import DataProduct, Domain, OutputPort

PRODUCT_PERMISSIONS = {
    "members": ("catalog.view_dataproduct",),
    "approvers": ("catalog.decide_access_requests",),
    "owners": ("catalog.change_dataproduct",),
}


def domain_create(*, name: str, slug: str, description: str = "", owner_team: Team | None = None) -> Domain:
    domain = Domain(name=name, slug=slug, description=description, owner_team=owner_team)
    domain.full_clean()
    domain.save()
    return domain


@transaction.atomic
def data_product_create(*, name: str, slug: str, domain: Domain, owner_team: Team, **fields) -> DataProduct:
    """Create a data product owned by ``owner_team`` and give the team's groups their permissions.

    ``fields``: summary, description (Markdown), status, classification, tags, terms_of_use.
    Raises django ``ValidationError`` with field errors on bad input.
    """
    product = DataProduct(name=name, slug=slug, domain=domain, owner_team=owner_team, **fields)
    product.full_clean()
    product.save()
    _grant_team_permissions(product=product, team=owner_team)
    _reindex(product.pk)
    return product


@transaction.atomic
def data_product_update(*, product: DataProduct, **fields) -> DataProduct:
    """Update fields of a product. Changing ``owner_team`` moves the object permissions."""
    previous_team_id = DataProduct.objects.filter(pk=product.pk).values_list("owner_team_id", flat=True).get()
    for name, value in fields.items():
        setattr(product, name, value)
    product.full_clean()
    product.save()
    if product.owner_team_id != previous_team_id:
        _revoke_team_permissions(product=product, team=Team.objects.get(pk=previous_team_id))
        _grant_team_permissions(product=product, team=product.owner_team)
    _reindex(product.pk)
    return product


def output_port_create(*, data_product: DataProduct, name: str, platform, schema: str, **fields) -> OutputPort:
    """Add an output port (a schema, or one table with ``table=``) on ``platform`` to a product."""
    port = OutputPort(data_product=data_product, name=name, platform=platform, schema=schema, **fields)
    port.full_clean()
    port.save()
    _reindex(data_product.pk)
    return port


def _reindex(product_id: int) -> None:
    # The search index follows on commit, through Celery (apps.search), never via model signals.
    from apps.search.services import search_index_schedule

    search_index_schedule(product_ids=[product_id])


def _grant_team_permissions(*, product: DataProduct, team: Team) -> None:
    for kind, perms in PRODUCT_PERMISSIONS.items():
        for perm in perms:
            assign_perm(perm, team.group_for(kind), product)


def _revoke_team_permissions(*, product: DataProduct, team: Team) -> None:
    for kind, perms in PRODUCT_PERMISSIONS.items():
        for perm in perms:
            remove_perm(perm, team.group_for(kind), product)
