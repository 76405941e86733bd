"""From a validated ODCS contract to what the portal should hold: a pure function, no database.

Mapping (Open Data Contract Standard v3.1, "Fundamentals", "Team", "Infrastructure & Servers"):
product slug = the ``data_product`` argument, else slugified ``dataProduct``, else ``name``;
``dataProduct`` (else ``name``) names a *new* product — an existing product is renamed only
when the contract has ``dataProduct`` explicitly; ``description.purpose`` → description (its
first line → summary), ``usage``/``limitations`` → terms of use, ``tags`` → tags, custom
property ``classification`` → classification (each only when present: an absent field never
clears or changes the product). ``team.name`` / ``domain`` pick owner team and domain of a new
product. Each server of type postgres/mysql/mariadb is an output port named ``server``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.text import slugify

#: ODCS ``status`` → the lifecycle status of a product *created* from the contract.
CONTRACT_TO_PRODUCT_STATUS = {
    "active": "published",
    "production": "published",
    "deprecated": "deprecated",
    "retired": "retired",
}
SERVER_KINDS = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mariadb", "mariadb": "mariadb"}


@dataclass(frozen=True)
class PortPlan:
    """An output port a ``servers`` entry asks for; ``index`` is its position in ``servers``."""

    index: int
    name: str
    kind: str
    platform_ref: str
    schema: str
    database: str
    description: str


@dataclass(frozen=True)
class ProductPlan:
    """What the contract says about its data product. ``fields`` holds only what the contract
    states explicitly (applied to new and existing products); ``new_fields`` is added when the
    product is created (its name and status)."""

    slug: str
    fields: dict
    new_fields: dict
    team_ref: str
    domain_ref: str
    ports: list[PortPlan] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _custom(props, name: str) -> str:
    for prop in props or []:
        if isinstance(prop, dict) and prop.get("property") == name and prop.get("value") not in (None, ""):
            return str(prop["value"])
    return ""


def contract_to_product_plan(
    document: dict, *, data_product: str = "", domain: str = "", owner_team: str = "", platform: str = ""
) -> ProductPlan:
    """``document`` (a validated ODCS dict) and the caller's overrides → :class:`ProductPlan`.
    Problems that depend only on the document (no product name, unknown classification, a
    server without schema) are in ``plan.errors`` as ``{"contract.<path>": [message]}``."""
    from apps.catalog.choices import Classification

    errors: dict[str, list[str]] = {}
    product_name = str(document.get("dataProduct") or document.get("name") or "").strip()
    slug = data_product or slugify(product_name)[:100]
    if not slug:
        errors["contract.dataProduct"] = ["Give `dataProduct` or `name`."]
    fields: dict = {}
    if str(document.get("dataProduct") or "").strip():
        fields["name"] = str(document["dataProduct"]).strip()[:200]
    description = document.get("description") if isinstance(document.get("description"), dict) else {}
    purpose = str(description.get("purpose") or "").strip()
    if purpose:
        fields |= {"description": purpose, "summary": purpose.splitlines()[0][:300]}
    terms = "\n\n".join(
        f"**{label}.** {str(text).strip()}"
        for label, text in (("Usage", description.get("usage")), ("Limitations", description.get("limitations")))
        if text
    )
    if terms:
        fields["terms_of_use"] = terms
    if document.get("tags"):
        fields["tags"] = [str(t)[:50] for t in document["tags"]]
    classification = _custom(document.get("customProperties"), "classification").lower()
    if classification:
        if classification in Classification.values:
            fields["classification"] = classification
        else:
            errors["contract.customProperties.classification"] = [f"Choose one of {', '.join(Classification.values)}."]
    team = document.get("team")
    team_ref = owner_team or (str(team.get("name") or "") if isinstance(team, dict) else "")
    ports = []
    for index, server in enumerate(document.get("servers") or []):
        kind = SERVER_KINDS.get(str(server.get("type") or "").lower())
        if kind is None:
            continue  # not a platform the portal grants on (yet): kept in the contract only
        schema = str(server.get("schema") or (server.get("database") if kind == "mariadb" else "") or "")
        if not schema:
            errors[f"contract.servers[{index}].schema"] = ["Required for an output port."]
            continue
        ports.append(
            PortPlan(
                index=index,
                name=str(server.get("server") or "")[:120],
                kind=kind,
                platform_ref=platform
                or _custom(server.get("customProperties"), "platform")
                or str(server.get("server") or ""),
                schema=schema,
                database=str(server.get("database") or "") if kind == "postgresql" else "",
                description=str(server.get("description") or ""),
            )
        )
    new_fields = {
        "name": (product_name or slug)[:200],
        "status": CONTRACT_TO_PRODUCT_STATUS.get(str(document.get("status") or "").lower(), "draft"),
    }
    return ProductPlan(
        slug=slug,
        fields=fields,
        new_fields=new_fields,
        team_ref=team_ref,
        domain_ref=domain or str(document.get("domain") or ""),
        ports=ports,
        errors=errors,
    )
