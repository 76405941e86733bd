"""The sync engine's write path: apply what a connector discovered to the catalog (``Asset``,
``Column``, ``AssetRelation``, ``AssetPrivilege``) in batches. Unchanged assets are recognised by
their fingerprint and cost no write. ``catalog_apply`` is public: the database sync
(``services.platform_sync``) and the dbt sync (``dbt_services``) both call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from apps.catalog.choices import AssetRelationKind
from apps.catalog.models import Asset, AssetPrivilege, AssetRelation, Column, OutputPort
from apps.platforms.models import ExposureAssignment, Platform

from .connectors import DiscoveredAsset

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000

_ASSET_SYNCED_FIELDS = [
    "kind",
    "description",
    "row_count_estimate",
    "size_bytes",
    "last_analyzed_at",
    "fingerprint",
    "privileges_fingerprint",
    "last_changed_at",
    "removed_at",
]
# Refreshed on unchanged assets without counting as a change (no updated_at, no last_changed_at).
_ASSET_OUTSIDE_FINGERPRINT_FIELDS = ["row_count_estimate", "size_bytes", "last_analyzed_at", "privileges_fingerprint"]
# A run in progress writes its progress at most this often (seconds): a row update each time.


_COLUMN_SYNCED_FIELDS = ["ordinal", "data_type", "description", "nullable", "is_primary_key", "default"]


@dataclass
class SyncCounts:
    """What one apply did: assets created, updated, unchanged and marked removed, and the
    ``(schema, name)`` keys of the created and updated ones."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    changed_keys: set[tuple[str, str]] = field(default_factory=set)


def catalog_apply(*, platform: Platform, discovered: list[DiscoveredAsset], now) -> SyncCounts:
    """Compare ``discovered`` with ``platform``'s assets and write the difference (bulk
    statements only, none per asset): assets, columns, foreign keys, privileges, then the
    mapping rules (``schema_mapping_apply``). ``now`` (aware datetime) stamps
    ``last_changed_at``/``removed_at``. Runs inside the caller's transaction (``platform_sync``
    and ``dbt_catalog_apply`` call it); returns the :class:`SyncCounts`."""
    counts = SyncCounts()
    existing: dict[tuple[str, str], Asset] = {
        (a.schema, a.name): a
        for a in Asset.objects.filter(platform=platform).only(
            "id",
            "schema",
            "name",
            "fingerprint",
            "removed_at",
            "row_count_estimate",
            "size_bytes",
            "last_analyzed_at",
            "privileges_fingerprint",
        )
    }
    seen: set[tuple[str, str]] = set()
    to_write: list[Asset] = []
    to_write_discovered: list[DiscoveredAsset] = []
    stats_changed: list[Asset] = []
    privileges_changed: list[tuple[tuple[str, str], DiscoveredAsset]] = []
    for item in discovered:
        key = item.key
        if key in seen:
            continue  # a connector bug; the (platform, schema, name) constraint would fail anyway
        seen.add(key)
        fingerprint = item.fingerprint()
        current = existing.get(key)
        # None: the connector does not read privileges; keep what the catalog has.
        privileges_fingerprint = (
            item.privileges_fingerprint()
            if item.privileges is not None
            else (current.privileges_fingerprint if current is not None else "")
        )
        previous_privileges = current.privileges_fingerprint if current is not None else ""
        if item.privileges is not None and previous_privileges != privileges_fingerprint:
            privileges_changed.append((key, item))
        if current is not None and current.fingerprint == fingerprint and current.removed_at is None:
            counts.unchanged += 1
            if (
                current.row_count_estimate != item.row_count_estimate
                or current.size_bytes != item.size_bytes
                or current.last_analyzed_at != item.last_analyzed_at
                or current.privileges_fingerprint != privileges_fingerprint
            ):
                current.row_count_estimate = item.row_count_estimate
                current.size_bytes = item.size_bytes
                current.last_analyzed_at = item.last_analyzed_at
                current.privileges_fingerprint = privileges_fingerprint
                stats_changed.append(current)
            continue
        if current is None:
            counts.created += 1
        else:
            counts.updated += 1
        counts.changed_keys.add(key)
        to_write.append(
            Asset(
                platform=platform,
                schema=item.schema,
                name=item.name,
                kind=item.kind,
                description=item.description,
                row_count_estimate=item.row_count_estimate,
                size_bytes=item.size_bytes,
                last_analyzed_at=item.last_analyzed_at,
                fingerprint=fingerprint,
                privileges_fingerprint=privileges_fingerprint,
                last_changed_at=now,
                removed_at=None,
            )
        )
        to_write_discovered.append(item)

    # New and changed assets in one upsert; PostgreSQL returns every row's id.
    Asset.objects.bulk_create(
        to_write,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["platform", "schema", "name"],
        update_fields=[*_ASSET_SYNCED_FIELDS, "updated_at"],
    )
    if stats_changed:
        # Statistics and privileges, not a change of the asset: neither updated_at nor last_changed_at moves.
        Asset.objects.bulk_update(stats_changed, _ASSET_OUTSIDE_FINGERPRINT_FIELDS, batch_size=BATCH_SIZE)

    gone = [a.pk for key, a in existing.items() if key not in seen and a.removed_at is None]
    for chunk in chunks(gone):
        Asset.objects.filter(pk__in=chunk).update(removed_at=now, updated_at=now)
    counts.removed = len(gone)

    ids = {key: a.pk for key, a in existing.items()}
    ids.update({(a.schema, a.name): a.pk for a in to_write})
    # Assets that are new or back from removal: unchanged assets may have keys pointing at them.
    arrived_ids = {
        ids[key] for key in counts.changed_keys if key not in existing or existing[key].removed_at is not None
    }
    _columns_replace(assets=to_write, discovered=to_write_discovered)
    _foreign_keys_rebuild(discovered=discovered, ids=ids, changed_keys=counts.changed_keys, arrived_ids=arrived_ids)
    _privileges_replace(changed=privileges_changed, ids=ids)
    schema_mapping_apply(platform=platform)
    return counts


def _privileges_replace(*, changed: list[tuple[tuple[str, str], DiscoveredAsset]], ids: dict) -> None:
    """Make the ``AssetPrivilege`` rows of assets whose privileges moved exactly the discovered
    ones (delete and insert in bulk; nothing at all when no privilege moved)."""
    if not changed:
        return
    asset_ids = [ids[key] for key, _ in changed]
    for chunk in chunks(asset_ids):
        AssetPrivilege.objects.filter(asset_id__in=chunk).delete()
    AssetPrivilege.objects.bulk_create(
        [
            AssetPrivilege(
                asset_id=ids[key],
                grantee=p.grantee[:255],
                privilege=p.privilege[:32],
                is_grantable=p.is_grantable,
                via_schema=p.via_schema,
            )
            for key, item in changed
            # A privilege held both on the table and through its schema is stored once.
            for p in {
                (p.grantee, p.privilege): p for p in sorted(item.privileges, key=lambda p: p.via_schema, reverse=True)
            }.values()
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )


def _columns_replace(*, assets: list[Asset], discovered: list[DiscoveredAsset]) -> None:
    """Make the columns of the written ``assets`` exactly ``discovered``'s: delete the ones gone,
    upsert the rest by ``(asset, name)`` so a surviving column keeps its id."""
    if not assets:
        return
    wanted = {(asset.pk, col.name) for asset, item in zip(assets, discovered, strict=True) for col in item.columns}
    stale = [
        pk
        for chunk in chunks([a.pk for a in assets])
        for pk, asset_id, name in Column.objects.filter(asset_id__in=chunk).values_list("pk", "asset_id", "name")
        if (asset_id, name) not in wanted
    ]
    for chunk in chunks(stale):
        Column.objects.filter(pk__in=chunk).delete()
    Column.objects.bulk_create(
        [
            Column(
                asset_id=asset.pk,
                name=col.name,
                ordinal=col.ordinal,
                data_type=col.data_type,
                description=col.description,
                nullable=col.nullable,
                is_primary_key=col.is_primary_key,
                default=col.default,
            )
            for asset, item in zip(assets, discovered, strict=True)
            for col in item.columns
        ],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["asset", "name"],
        update_fields=_COLUMN_SYNCED_FIELDS,
    )


def _foreign_keys_rebuild(
    *,
    discovered: list[DiscoveredAsset],
    ids: dict[tuple[str, str], int],
    changed_keys: set[tuple[str, str]],
    arrived_ids: set[int],
) -> None:
    """Replace the foreign-key relations of changed assets, and add those of unchanged assets
    that point at an asset that just appeared or came back (their own fingerprint did not move).
    A key whose referred table is not in the catalog (a schema not synced) is skipped."""
    changed_ids = [ids[key] for key in changed_keys]
    for chunk in chunks(changed_ids):
        AssetRelation.objects.filter(kind=AssetRelationKind.FOREIGN_KEY, source_id__in=chunk).delete()
    relations = []
    for item in discovered:
        source_changed = item.key in changed_keys
        for fk in item.foreign_keys:
            target_id = ids.get((fk.referred_schema, fk.referred_table))
            if target_id is None or not (source_changed or target_id in arrived_ids):
                continue
            relations.append(
                AssetRelation(
                    source_id=ids[item.key],
                    target_id=target_id,
                    kind=AssetRelationKind.FOREIGN_KEY,
                    name=fk.name,
                    source_columns=list(fk.columns),
                    target_columns=list(fk.referred_columns),
                )
            )
    AssetRelation.objects.bulk_create(relations, batch_size=BATCH_SIZE, ignore_conflicts=True)


def chunks(items: list, size: int = 5000):
    """``items`` in slices of at most ``size`` (an ``IN (...)`` list PostgreSQL plans well)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- operator actions (UI and API) ------------------------------------------------------------


@transaction.atomic
def schema_mapping_apply(*, platform: Platform) -> list[OutputPort]:
    """Make sure every data product an ``ExposureAssignment`` of ``platform`` names (a mapping
    rule) has an output port on that schema (whole schema, ``port_type`` schema), so the tables
    sync finds there, today's and tomorrow's, show on the product. Ports that exist (same
    platform, schema, no table) are left alone, whatever their name. Ports are made by the output
    port service, so governed exposure applies (a location another product already exposes
    awaits review). Returns the ports created (``[]`` when nothing was missing; two queries
    then). Raises django ``ValidationError`` if a port cannot be created.
    """
    from apps.catalog import services as catalog_services

    mappings = list(
        ExposureAssignment.objects.filter(platform=platform, table="", data_product__isnull=False).select_related(
            "data_product"
        )
    )
    if not mappings:
        return []
    existing = set(
        OutputPort.objects.filter(
            platform=platform,
            table="",
            data_product__in=[m.data_product_id for m in mappings],
        ).values_list("data_product_id", "database", "schema")
    )
    created = []
    for mapping in mappings:
        if (mapping.data_product_id, mapping.database, mapping.schema) in existing:
            continue
        taken = set(OutputPort.objects.filter(data_product=mapping.data_product).values_list("name", flat=True))
        name = base = f"{mapping.schema} schema"[:110]
        suffix = 2
        while name in taken:
            name, suffix = f"{base} ({suffix})", suffix + 1
        created.append(
            catalog_services.output_port_create(
                actor=None,
                data_product=mapping.data_product,
                name=name,
                platform=platform,
                schema=mapping.schema,
                database=mapping.database,
                description=f"Every table and view of the `{mapping.schema}` schema on {platform.name} (mapping rule).",
            )
        )
        existing.add((mapping.data_product_id, mapping.database, mapping.schema))
    return created
