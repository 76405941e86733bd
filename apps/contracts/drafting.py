"""A first draft of a contract from what the platform's metadata sync found: objects and
properties with physical and logical types, required from NOT NULL, primary keys and
descriptions. Owners edit it before publishing; the demo publishes it as is."""

from __future__ import annotations

from .drift import LOGICAL_FAMILIES, _base


def logical_type_for(platform_type: str) -> str:
    """The ODCS logical type of a platform type (``character varying(50)`` → ``string``)."""
    base = _base(platform_type)
    for logical in ("integer", "number", "boolean", "date", "timestamp", "time", "string", "object", "array"):
        if base in LOGICAL_FAMILIES[logical]:
            return logical
    return "string"


def contract_draft_from_assets(
    *, assets, contract_id: str, name: str, version: str = "1.0.0", status: str = "active", extra: dict | None = None
) -> dict:
    """An ODCS v3.1.0 document describing ``assets`` (synced ``catalog.Asset`` with columns)."""
    schema = []
    for asset in assets:
        props = []
        for column in asset.columns.all():
            prop = {
                "name": column.name,
                "logicalType": logical_type_for(column.data_type),
                "physicalType": column.data_type,
                "required": not column.nullable,
            }
            if column.is_primary_key:
                prop["primaryKey"] = True
            if column.display_description:
                prop["description"] = column.display_description
            props.append(prop)
        obj = {
            "name": asset.name,
            "physicalName": asset.name,
            "physicalType": "view" if asset.kind != "table" else "table",
            "properties": props,
        }
        if asset.display_description:
            obj["description"] = asset.display_description
        schema.append(obj)
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": contract_id,
        "version": version,
        "status": status,
        "name": name,
        "schema": schema,
        **(extra or {}),
    }
