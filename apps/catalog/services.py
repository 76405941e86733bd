"""Writes for the catalog: domains, data products, output ports.

A data product's owner team gets django-guardian object permissions on it through the team's
groups: members ``view_dataproduct`` (drafts), approvers ``decide_access_requests``, owners
``change_dataproduct``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from apps.accounts.models import Team
from apps.core.exceptions import ApplicationError

from .choices import DataContractStatus
from .models import DataContract, DataProduct, Domain, OutputPort

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


# --- publishing from a data contract file (CI) ---------------------------------------------------

@dataclass
class ContractPublishResult:
    """What :func:`data_contract_publish` did: ``changes`` lists what was written
    (e.g. ``["data_product.created", "output_port.created:pg", "data_contract.created:1.0.0"]``);
    empty when the file was already published as is."""

    data_product: DataProduct
    data_contract: DataContract
    created: bool
    changes: list[str] = field(default_factory=list)


_CONTRACT_TO_PRODUCT_STATUS = {"active": "published", "deprecated": "deprecated", "retired": "retired"}
_SERVER_KINDS = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mariadb", "mariadb": "mariadb"}


def _parse_contract(text: str):
    """YAML text → (validated ODCS model, plain dict). Raises ApplicationError with field errors."""
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError as PydanticValidationError

    from apps.core.parsing import InputLimitError, contract_limits, safe_load_yaml

    try:
        data = safe_load_yaml(text, field="contract", what="contract", **contract_limits())
    except InputLimitError as exc:
        raise ApplicationError(f"The contract was refused: {exc.message}", exc.extra) from None
    if not isinstance(data, dict):
        raise ApplicationError("The contract must be a YAML mapping.", {"contract": ["Expected a mapping at the top level."]})
    try:
        model = OpenDataContractStandard.model_validate(data)
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors()[:50]:
            name = ".".join(str(p) for p in ("contract", *error["loc"]))
            errors.setdefault(name, []).append(error["msg"])
        raise ApplicationError("The contract does not follow the Open Data Contract Standard v3.", errors) from None
    missing = [f for f in ("id", "version", "kind") if not getattr(model, f)]
    if missing or (model.kind and model.kind != "DataContract"):
        raise ApplicationError(
            "The contract lacks required ODCS fields.",
            {f"contract.{f}": ["This field is required."] for f in missing}
            | ({"contract.kind": ["Must be DataContract."]} if model.kind and model.kind != "DataContract" else {}),
        )
    return model, model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _lookup(model, value: str, field_name: str, label: str):
    from django.db.models import Q

    found = model.objects.filter(Q(slug=value) | Q(name__iexact=value)).first() if value else None
    if found is None:
        raise ApplicationError(f"No {label} {value!r}.", {field_name: [f"No {label} with slug or name {value!r}."]})
    return found


def _custom(props, name: str) -> str:
    for prop in props or []:
        if prop.property == name and prop.value not in (None, ""):
            return str(prop.value)
    return ""


@transaction.atomic
def data_contract_publish(
    *, actor, contract: str, data_product: str = "", domain: str = "", owner_team: str = "", platform: str = "",
) -> ContractPublishResult:
    """Create or update a data product, its output ports and its data contract from an ODCS v3
    data contract (YAML text), idempotently: publishing the same file twice writes nothing.

    Mapping (Open Data Contract Standard v3.1, "Fundamentals", "Team", "Infrastructure & Servers"):
    product slug = ``data_product`` argument, else slugified ``dataProduct``, else ``name``;
    product name = ``dataProduct`` or ``name``; ``domain`` / ``team.name`` (or the arguments,
    which win) pick an existing domain and owner team by slug or name; ``description.purpose``
    → description (its first line → summary), ``usage``/``limitations`` → terms of use;
    ``tags`` → tags; custom property ``classification`` → classification. A new product's status
    follows the contract's (``active`` → published, else draft); an existing product keeps its
    lifecycle status (use publish/deprecate). Each server of type postgres/mysql/mariadb becomes an
    output port named after ``server`` on schema ``schema``; its platform is the ``platform``
    argument, else the server's custom property ``platform``, else the platform whose slug is the
    server name. The contract is stored as ``DataContract`` keyed by (product, ``version``).

    Permissions: creating needs :func:`~apps.catalog.selectors.data_product_can_create` on the
    owner team; updating needs ``change_dataproduct`` on the product (else ``PermissionDenied``;
    a product the actor may not see is reported as a field error, like a missing one would be
    taken: never revealed). Raises ``ApplicationError`` with field errors (``contract.<path>``,
    ``domain``, ``owner_team``, ``servers.<i>``) for bad input; nothing is written then.
    """
    from django.core.exceptions import PermissionDenied
    from django.utils.text import slugify

    from apps.platforms.models import Platform

    from .selectors import data_product_can_create, data_product_visible

    model, document = _parse_contract(contract)
    product_name = (model.dataProduct or model.name or "").strip()
    slug = data_product or slugify(product_name)[:100]
    if not slug:
        raise ApplicationError("Name the data product.", {"contract.dataProduct": ["Give `dataProduct` or `name`."]})
    changes: list[str] = []

    description = model.description
    purpose = (description.purpose or "").strip() if description else ""
    terms = "\n\n".join(
        f"**{label}.** {text.strip()}"
        for label, text in (("Usage", description and description.usage), ("Limitations", description and description.limitations))
        if text
    )
    wanted = {"name": (product_name or slug)[:200]}
    if purpose:
        wanted |= {"description": purpose, "summary": purpose.splitlines()[0][:300]}
    if terms:
        wanted["terms_of_use"] = terms
    if model.tags:
        wanted["tags"] = [t[:50] for t in model.tags]
    classification = _custom(model.customProperties, "classification").lower()
    if classification:
        from .choices import Classification

        if classification not in Classification.values:
            raise ApplicationError("Unknown classification.", {"contract.customProperties.classification": [
                f"Choose one of {', '.join(Classification.values)}."]})
        wanted["classification"] = classification

    product = DataProduct.objects.select_for_update().filter(slug=slug).first()
    created = product is None
    if product is not None and not data_product_visible(user=actor).filter(pk=product.pk).exists():
        raise ApplicationError("The data product slug is taken.", {"data_product": [f"The slug {slug!r} is taken."]})
    if created:
        team_ref = owner_team or (model.team.name if model.team is not None and not isinstance(model.team, list) else "")
        if not team_ref:
            raise ApplicationError("Say which team owns the new data product.", {"owner_team": ["Required to create a data product."]})
        team = _lookup(Team, team_ref, "owner_team", "team")
        domain_obj = _lookup(Domain, domain or model.domain or "", "domain", "domain")
        if not data_product_can_create(user=actor, owner_team=team):
            raise PermissionDenied(f"Only owners of {team} can create its data products.")
        product = data_product_create(
            slug=slug, domain=domain_obj, owner_team=team,
            status=_CONTRACT_TO_PRODUCT_STATUS.get(model.status or "", "draft"), **wanted,
        )
        _audit(actor=actor, action="data_product.created", obj=product, after={"status": product.status},
               message=f"From data contract {model.id} {model.version}.")
        changes.append("data_product.created")
    else:
        if not actor.has_perm("catalog.change_dataproduct", product):
            raise PermissionDenied("Only owners of the product's owner team can change it.")
        if domain:
            wanted["domain"] = _lookup(Domain, domain, "domain", "domain")
        diff = {k: v for k, v in wanted.items() if getattr(product, k) != v}
        if diff:
            data_product_update(product=product, **diff)
            changes.append("data_product.updated:" + ",".join(sorted(diff)))

    for index, server in enumerate(model.servers or []):
        kind = _SERVER_KINDS.get((server.type or "").lower())
        if kind is None:
            continue  # not a platform the portal grants on (yet): kept in the contract only
        where = f"servers.{index}"
        if not server.schema_:
            raise ApplicationError("A server needs a schema.", {f"{where}.schema": ["Required for an output port."]})
        platform_ref = platform or _custom(server.customProperties, "platform") or server.server
        platform_obj = Platform.objects.filter(slug=platform_ref).first()
        if platform_obj is None:
            raise ApplicationError(f"No platform {platform_ref!r}.", {where: [f"No platform with slug {platform_ref!r}."]})
        port_fields = {"platform": platform_obj, "schema": server.schema_, "database": server.database or "",
                       "description": server.description or ""}
        port = OutputPort.objects.filter(data_product=product, name=server.server).first()
        if port is None:
            output_port_create(data_product=product, name=server.server, **port_fields)
            changes.append(f"output_port.created:{server.server}")
        else:
            diff = {k: v for k, v in port_fields.items() if getattr(port, k) != v}
            if diff:
                for k, v in diff.items():
                    setattr(port, k, v)
                port.full_clean()
                port.save()
                changes.append(f"output_port.updated:{server.server}")

    status = model.status if model.status in DataContractStatus.values else DataContractStatus.DRAFT
    data_contract = DataContract.objects.filter(data_product=product, version=model.version).first()
    if data_contract is None:
        data_contract = DataContract(data_product=product, version=model.version)
        changes.append(f"data_contract.created:{model.version}")
    elif (data_contract.document, data_contract.contract_id, data_contract.status) != (document, model.id, status):
        changes.append(f"data_contract.updated:{model.version}")
    if changes and changes[-1].startswith("data_contract."):
        data_contract.contract_id = model.id[:255]
        data_contract.status = status
        data_contract.document = document
        data_contract.source_yaml = contract
        data_contract.full_clean()
        data_contract.save()
    if changes:
        _audit(actor=actor, action="data_contract.published", obj=product, message="; ".join(changes))
    return ContractPublishResult(data_product=product, data_contract=data_contract, created=created, changes=changes)
