"""Writes for the catalog: domains, data products, output ports.

A data product's owner team gets django-guardian object permissions on it through the team's
groups: members ``view_dataproduct`` (drafts), approvers ``decide_access_requests``, owners
``change_dataproduct``.
"""
from __future__ import annotations

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from apps.accounts.models import Team
from apps.core.exceptions import ApplicationError

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


def output_port_update(*, port: OutputPort, **fields) -> OutputPort:
    """Change an output port's ``fields`` (platform, schema, database, table, description)."""
    for name, value in fields.items():
        setattr(port, name, value)
    port.full_clean()
    port.save()
    _reindex(port.data_product_id)
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


# --- lifecycle ---------------------------------------------------------------------------------

def _audit(*, actor, action: str, obj, before: dict | None = None, after: dict | None = None, message: str = "") -> None:
    from apps.access.services import audit_record  # access depends on catalog; import at call time

    audit_record(actor=actor, action=action, obj=obj, before=before, after=after, message=message)


def _product_transition(*, product: DataProduct, actor, to: str) -> DataProduct:
    from django.core.exceptions import PermissionDenied

    from .choices import DATA_PRODUCT_TRANSITIONS, DataProductStatus

    product = DataProduct.objects.select_for_update().get(pk=product.pk)
    if not actor.has_perm("catalog.change_dataproduct", product):
        raise PermissionDenied("Only owners of the product's owner team can change its status.")
    current = product.status
    if to not in DATA_PRODUCT_TRANSITIONS[current]:
        raise ApplicationError(
            f"{product.name} is {product.get_status_display().lower()}; it cannot become "
            f"{DataProductStatus(to).label.lower()}.",
            {"status": [f"Allowed from {current}: {', '.join(sorted(DATA_PRODUCT_TRANSITIONS[current])) or 'none'}."]},
        )
    product.status = to
    product.save(update_fields=["status", "updated_at"])
    _audit(actor=actor, action=f"data_product.{to}", obj=product, before={"status": current}, after={"status": to})
    return product


@transaction.atomic
def data_product_publish(*, product: DataProduct, actor) -> DataProduct:
    """Publish a draft (or re-publish a deprecated) product: it appears in the marketplace and
    takes access requests. Raises ``PermissionDenied`` unless ``actor`` may change the product,
    ``ApplicationError`` (field ``status``) from any other status."""
    from .choices import DataProductStatus

    return _product_transition(product=product, actor=actor, to=DataProductStatus.PUBLISHED)


@transaction.atomic
def data_product_deprecate(*, product: DataProduct, actor) -> DataProduct:
    """Deprecate a published product: still listed and readable, consumers are told to move on.
    Errors as :func:`data_product_publish`."""
    from .choices import DataProductStatus

    return _product_transition(product=product, actor=actor, to=DataProductStatus.DEPRECATED)
