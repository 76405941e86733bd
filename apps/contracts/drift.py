"""Drift: where a data product's current contract and its platform disagree.

Compared with what the latest metadata sync recorded (``catalog.Asset``/``Column``) for the
product's output ports — never with the live platform, so a check costs no platform query:
missing table, missing column, type mismatch (``physicalType`` against the column's type;
``logicalType`` against its type family), nullability (``required`` but nullable), extra
columns (on the platform, not in the contract), primary key mismatch (when the object declares
one) and ``servers`` entries naming a schema or database the platform lacks.

Findings are upserted by a stable key; one that disappears is resolved, one an owner accepted
stays accepted while the difference is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import DataContract, DataProduct

from .choices import DriftKind, DriftStatus
from .diff import _parse_type
from .mapping import SERVER_KINDS
from .models import DriftFinding

#: ODCS logical type → the physical type names (lower case, without arguments) it allows.
LOGICAL_FAMILIES = {
    "string": {
        "varchar",
        "char",
        "text",
        "uuid",
        "citext",
        "name",
        "bpchar",
        "enum",
        "set",
        "tinytext",
        "mediumtext",
        "longtext",
        "json",
        "jsonb",
        "xml",
        "string",
        "nvarchar",
        "nchar",
    },
    "integer": {
        "smallint",
        "integer",
        "int",
        "bigint",
        "int2",
        "int4",
        "int8",
        "tinyint",
        "mediumint",
        "serial",
        "bigserial",
        "smallserial",
    },
    "number": {
        "numeric",
        "decimal",
        "real",
        "double precision",
        "double",
        "float",
        "float4",
        "float8",
        "money",
        "smallint",
        "integer",
        "int",
        "bigint",
        "tinyint",
        "mediumint",
    },
    "boolean": {"boolean", "bool", "bit", "tinyint"},
    "date": {"date"},
    "timestamp": {"timestamp", "timestamptz", "datetime"},
    "time": {"time", "timetz", "time without time zone", "time with time zone"},
    "object": {"json", "jsonb", "record", "hstore"},
    "array": {"array"},
}


@dataclass(frozen=True)
class Drift:
    """One difference found (before it is stored)."""

    kind: str
    object_name: str
    property_name: str
    expected: str
    actual: str
    message: str
    platform_id: int | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object_name}.{self.property_name}"[:512]


def _base(type_text: str) -> str:
    base, _ = _parse_type(type_text)
    if base.endswith("[]") or base.startswith("_"):
        return "array"
    return base.split(" unsigned")[0].strip()


def types_match(contract_type: str, platform_type: str) -> bool:
    """Whether a contract's ``physicalType`` names the platform's type (aliases and spacing
    aside: ``varchar(50)`` = ``character varying(50)``; ``int`` = ``integer``)."""
    aliases = {
        "int": "integer",
        "int4": "integer",
        "int8": "bigint",
        "int2": "smallint",
        "float8": "double precision",
        "double": "double precision",
        "float4": "real",
        "bool": "boolean",
        "decimal": "numeric",
        "timestamp without time zone": "timestamp",
        "datetime": "timestamp",
    }
    a, b = _parse_type(contract_type), _parse_type(platform_type)
    name_a, name_b = aliases.get(a[0], a[0]), aliases.get(b[0], b[0])
    return name_a == name_b and (not a[1] or a[1] == b[1])


def logical_type_matches(logical: str, platform_type: str) -> bool:
    family = LOGICAL_FAMILIES.get(logical)
    if family is None:
        return True  # unknown logical types are the JSON Schema's business, not drift
    base = _base(platform_type)
    known = set().union(*LOGICAL_FAMILIES.values())
    if base not in known and not any(base.startswith(f) for f in known if len(f) > 3):
        return True  # a domain or user-defined type (public."Name"): its base type is not in the catalog
    return base in family or any(base.startswith(f) for f in family if len(f) > 3)


def _dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def contract_drift(*, contract: DataContract) -> list[Drift]:
    """Every difference between ``contract`` and the synced catalog of its product's ports."""
    from apps.catalog.models import Asset
    from apps.catalog.selectors import data_product_assets
    from apps.platforms.models import Platform

    product = contract.data_product
    doc = contract.document if isinstance(contract.document, dict) else {}
    assets = {}
    for asset in data_product_assets(product=product):
        assets.setdefault(asset.name.lower(), asset)
    drifts: list[Drift] = []
    for obj in _dicts(doc.get("schema")):
        name = str(obj.get("name") or "")
        table = str(obj.get("physicalName") or name)
        asset = assets.get(table.lower())
        if asset is None:
            drifts.append(Drift(DriftKind.MISSING_TABLE, name, "", table, "", f"Table {table} is not on the platform."))
            continue
        columns = {c.name.lower(): c for c in asset.columns.all()}
        props = _dicts(obj.get("properties"))
        declared = set()
        declares_pk = any(p.get("primaryKey") for p in props)
        for prop in props:
            pname = str(prop.get("name") or "")
            column_name = str(prop.get("physicalName") or pname)
            declared.add(column_name.lower())
            column = columns.get(column_name.lower())
            where = f"{table}.{column_name}"
            if column is None:
                drifts.append(
                    Drift(
                        DriftKind.MISSING_COLUMN,
                        name,
                        pname,
                        column_name,
                        "",
                        f"Column {where} is not on the platform.",
                        asset.platform_id,
                    )
                )
                continue
            physical = prop.get("physicalType")
            if physical and not types_match(str(physical), column.data_type):
                drifts.append(
                    Drift(
                        DriftKind.TYPE_MISMATCH,
                        name,
                        pname,
                        str(physical),
                        column.data_type,
                        f"{where} is {column.data_type} on the platform, the contract says {physical}.",
                        asset.platform_id,
                    )
                )
            elif (
                not physical
                and prop.get("logicalType")
                and not logical_type_matches(str(prop["logicalType"]), column.data_type)
            ):
                drifts.append(
                    Drift(
                        DriftKind.TYPE_MISMATCH,
                        name,
                        pname,
                        str(prop["logicalType"]),
                        column.data_type,
                        f"{where} is {column.data_type} on the platform, not a {prop['logicalType']}.",
                        asset.platform_id,
                    )
                )
            if prop.get("required") and column.nullable:
                drifts.append(
                    Drift(
                        DriftKind.NULLABILITY,
                        name,
                        pname,
                        "required",
                        "nullable",
                        f"{where} is required by the contract but nullable on the platform.",
                        asset.platform_id,
                    )
                )
            if declares_pk and bool(prop.get("primaryKey")) != column.is_primary_key:
                drifts.append(
                    Drift(
                        DriftKind.PRIMARY_KEY,
                        name,
                        pname,
                        str(bool(prop.get("primaryKey"))).lower(),
                        str(column.is_primary_key).lower(),
                        f"{where} is {'' if column.is_primary_key else 'not '}part of the platform's primary key; "
                        f"the contract says it is{'' if prop.get('primaryKey') else ' not'}.",
                        asset.platform_id,
                    )
                )
        if props:
            for column_key, column in columns.items():
                if column_key not in declared:
                    drifts.append(
                        Drift(
                            DriftKind.EXTRA_COLUMN,
                            name,
                            column.name,
                            "",
                            column.data_type,
                            f"{table}.{column.name} is on the platform but not in the contract.",
                            asset.platform_id,
                        )
                    )
            if not declares_pk and any(c.is_primary_key for c in columns.values()):
                pass  # a contract silent about keys promises none: not drift
    for index, server in enumerate(_dicts(doc.get("servers"))):
        kind = SERVER_KINDS.get(str(server.get("type") or "").lower())
        if kind is None:
            continue
        port = product.output_ports.filter(name=str(server.get("server") or "")).select_related("platform").first()
        platform = port.platform if port else Platform.objects.filter(slug=str(server.get("server") or "")).first()
        if platform is None:
            continue
        schema = str(server.get("schema") or (server.get("database") if kind == "mariadb" else "") or "")
        database = str(server.get("database") or "") if kind == "postgresql" else ""
        label = f"servers[{index}] ({server.get('server')})"
        if database and platform.database and database != platform.database:
            drifts.append(
                Drift(
                    DriftKind.MISSING_DATABASE,
                    label,
                    "",
                    database,
                    platform.database,
                    f"{label} names database {database}; platform {platform.name} is {platform.database}.",
                    platform.pk,
                )
            )
        elif schema and not Asset.objects.filter(platform=platform, schema=schema, removed_at__isnull=True).exists():
            drifts.append(
                Drift(
                    DriftKind.MISSING_SCHEMA,
                    label,
                    "",
                    schema,
                    "",
                    f"{label} names schema {schema}, which platform {platform.name} does not have.",
                    platform.pk,
                )
            )
    return drifts


@transaction.atomic
def contract_drift_check(*, product_id: int) -> int:
    """Check the product's current contract against the catalog and store the findings.
    Returns how many findings are open after the check (0 without a contract)."""
    from apps.catalog.selectors import data_product_contract

    product = DataProduct.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        return 0
    contract = data_product_contract(product=product)
    existing = {f.key: f for f in DriftFinding.objects.filter(data_product=product)}
    found = {d.key: d for d in contract_drift(contract=contract)} if contract else {}
    now = timezone.now()
    open_before = sorted(k for k, f in existing.items() if f.status == DriftStatus.OPEN)
    for key, drift in found.items():
        finding = existing.get(key)
        fields = {
            "data_contract": contract,
            "platform_id": drift.platform_id,
            "kind": drift.kind,
            "object_name": drift.object_name[:255],
            "property_name": drift.property_name[:255],
            "expected": drift.expected[:255],
            "actual": drift.actual[:255],
            "message": drift.message,
        }
        if finding is None:
            DriftFinding.objects.create(data_product=product, key=key, **fields)
            continue
        changed = (finding.expected, finding.actual) != (fields["expected"], fields["actual"])
        for name, value in fields.items():
            setattr(finding, name, value)
        if finding.status == DriftStatus.RESOLVED or (finding.status == DriftStatus.ACCEPTED and changed):
            finding.status, finding.resolved_at = DriftStatus.OPEN, None
        finding.save()
    for key, finding in existing.items():
        if key not in found and finding.status != DriftStatus.RESOLVED:
            finding.status, finding.resolved_at = DriftStatus.RESOLVED, now
            finding.save(update_fields=["status", "resolved_at", "last_seen_at"])
    open_after = sorted(
        DriftFinding.objects.filter(data_product=product, status=DriftStatus.OPEN).values_list("key", flat=True)
    )
    if open_after != open_before:
        from .indexing import search_reindex

        search_reindex(product.pk)  # the trust signal counts open drift
    return len(open_after)


def contract_drift_check_platform(*, platform_id: int) -> int:
    """After a platform's sync: check every product with an output port on it. Returns the
    number of products checked."""
    from apps.catalog.models import OutputPort

    product_ids = set(OutputPort.objects.filter(platform_id=platform_id).values_list("data_product_id", flat=True))
    for product_id in product_ids:
        contract_drift_check(product_id=product_id)
    return len(product_ids)
