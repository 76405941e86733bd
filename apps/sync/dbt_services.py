"""Writes for dbt platforms: applying a dbt project to the catalog, and artifact uploads.

Kept beside ``services.py`` (which calls :func:`dbt_catalog_apply` from ``platform_sync`` for
platforms of kind dbt) so the database sync engine stays one readable module.

How a dbt project meets the warehouse (one asset, both kinds of metadata):

- Each model, seed, snapshot and source is **matched** to an asset of the linked warehouse
  platform (``Platform.warehouse``) by schema and relation name: exactly first, else
  case-insensitively when that finds exactly one (PostgreSQL folds unquoted names to lower case,
  MariaDB table names may be case-insensitive). Only nodes in the warehouse's database match: the
  dbt platform's ``database`` when set (the database as the dbt target names it), else the
  warehouse platform's. Ephemeral models never match: they are not built.
- A matched asset gets the ``dbt_*`` fields (unique id, resource type, materialization,
  description, tags, meta, exposures) and its columns ``dbt_description``. The database sync
  never writes these fields and this module never writes the database's ones (description,
  columns' types and comments, fingerprint), so neither re-sync wipes the other.
- A node with no warehouse asset (ephemeral, not built yet, a source in a schema the warehouse
  platform does not sync, or no warehouse linked) becomes an asset **of the dbt platform**
  (kind ``dbt_model`` for models, else ``table``), so its lineage and tests are not lost. When
  the warehouse later has the relation, the next dbt sync moves the metadata, lineage and tests
  to the warehouse asset and marks the dbt platform's asset removed.
- Lineage: one ``AssetRelation`` (kind ``lineage``, source = upstream, target = downstream,
  ``name`` = ``dbt:<platform id>``) per dependency between relations (model → model,
  seed/source/snapshot → model).
- Tests: one ``QualityCheck`` (source ``dbt``) per data test on the asset it is attached to
  (column tests keep ``column_name``), with the latest result from ``run_results.json``; a test
  the latest ``run_results.json`` did not run (``dbt run``, a ``--select``) keeps its last result.
- Exposures (dashboards, notebooks, applications) are downstream consumers, not assets: each is
  stored in ``dbt_exposures`` of every asset it depends on, and the lineage selector lists them.

Incremental: a node's metadata is written only when its fingerprint moves; column docs, lineage
edges and quality checks are compared with what is stored and only differences written, so a
re-sync of unchanged artifacts writes nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from psycopg import sql

from apps.catalog.choices import AssetKind, AssetRelationKind, QualityCheckSource
from apps.catalog.models import Asset, AssetRelation, Column, QualityCheck
from apps.core.tasks import enqueue_on_commit
from apps.platforms.models import DbtArtifactUpload, Platform

from .connectors.base import DiscoveredAsset, DiscoveredColumn
from .connectors.dbt import (
    CATALOG_FILE,
    MANIFEST_FILE,
    RUN_RESULTS_FILE,
    ArtifactError,
    DbtProject,
    DbtRelation,
    parse_catalog,
    parse_manifest,
    parse_run_results,
)
from .engine import BATCH_SIZE, SyncCounts, catalog_apply, chunks

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

UPLOADS_KEPT = 5
# Columns written by the bulk updates below, with their PostgreSQL types.
_ASSET_DBT_COLUMNS = {
    "dbt_platform_id": "bigint",
    "dbt_unique_id": "text",
    "dbt_resource_type": "text",
    "dbt_materialization": "text",
    "dbt_description": "text",
    "dbt_tags": "text[]",
    "dbt_meta": "jsonb",
    "dbt_exposures": "jsonb",
    "dbt_fingerprint": "text",
    "updated_at": "timestamptz",
}
_QUALITY_CHECK_COLUMNS = {
    "name": "text",
    "column_name": "text",
    "status": "text",
    "message": "text",
    "last_run_at": "timestamptz",
    "removed_at": "timestamptz",
}
# Which node keeps the asset's dbt fields when several point at one relation.
_RESOURCE_PRIORITY = {"model": 0, "snapshot": 1, "seed": 2, "source": 3}


def lineage_edge_name(platform: Platform) -> str:
    """``AssetRelation.name`` of the lineage edges a dbt platform owns."""
    return f"dbt:{platform.pk}"


def dbt_catalog_apply(*, platform: Platform, project: DbtProject, now) -> SyncCounts:
    """Apply ``project`` (from ``DbtConnector.discover()``) to the catalog; see the module doc.

    Counts are per relation node: *created* (first time its metadata is on an asset, or it moved
    to another asset), *updated* (fingerprint changed), *unchanged*, *removed* (gone from the
    project: its ``dbt_*`` fields are cleared; the asset itself stays, as the warehouse has it).
    Runs inside the caller's transaction; raises nothing of its own.
    """
    counts = SyncCounts()
    asset_of, placeholders = _match(platform=platform, project=project)

    # Nodes without a warehouse asset: assets of the dbt platform, through the same engine as a
    # database sync (fingerprint, removal, columns), so they cost no write when unchanged.
    catalog_apply(platform=platform, discovered=list({p.key: p for p in placeholders.values()}.values()), now=now)
    if placeholders:
        own = dict(
            ((schema, name), pk)
            for pk, schema, name in Asset.objects.filter(platform=platform).values_list("pk", "schema", "name")
        )
        for uid, item in placeholders.items():
            asset_of[uid] = own[item.key]

    owner_of: dict[int, DbtRelation] = {}
    for rel in sorted(project.relations, key=lambda r: (_RESOURCE_PRIORITY.get(r.resource_type, 9), r.unique_id)):
        owner_of.setdefault(asset_of[rel.unique_id], rel)

    enriched_before = _enrich(
        platform=platform,
        owner_of=owner_of,
        project_ids={r.unique_id for r in project.relations},
        counts=counts,
        now=now,
    )
    _column_docs_apply(owner_of=owner_of, cleared_ids=enriched_before - set(owner_of))
    _lineage_apply(platform=platform, project=project, asset_of=asset_of)
    _quality_checks_apply(project=project, asset_of=asset_of, scope=enriched_before | set(asset_of.values()), now=now)
    return counts


# -- matching -------------------------------------------------------------------------------


def _match(*, platform: Platform, project: DbtProject) -> tuple[dict[str, int], dict[str, DiscoveredAsset]]:
    """``({unique_id: warehouse asset id}, {unique_id: placeholder for the dbt platform})``."""
    warehouse = platform.warehouse
    exact: dict[tuple[str, str], int] = {}
    folded: dict[tuple[str, str], list[int]] = {}  # present assets first
    removed: set[int] = set()
    target_database = ""
    if warehouse is not None:
        target_database = (platform.database or warehouse.database).lower()
        rows = Asset.objects.filter(platform=warehouse).values_list("pk", "schema", "name", "removed_at")
        # Present assets first, so a present one wins over a removed namesake.
        for pk, schema, name, removed_at in sorted(rows, key=lambda r: (r[3] is not None, r[0])):
            if removed_at is not None:
                removed.add(pk)
            exact.setdefault((schema, name), pk)
            folded.setdefault((schema.lower(), name.lower()), []).append(pk)

    home_database = target_database or _home_database(project)
    asset_of: dict[str, int] = {}
    placeholders: dict[str, DiscoveredAsset] = {}
    taken: set[tuple[str, str]] = set()
    for rel in project.relations:
        pk = None
        if (
            warehouse is not None
            and rel.materialization != "ephemeral"
            and rel.database.lower() in ("", target_database)
        ):
            key = (rel.schema, rel.identifier)
            pk = exact.get(key)
            if pk is None:
                candidates = folded.get((rel.schema.lower(), rel.identifier.lower()), [])
                present = [c for c in candidates if c not in removed]
                pool = present or candidates
                # Ambiguous (e.g. "Orders" and "orders" both exist): no guess.
                pk = pool[0] if len(pool) == 1 else None
        if pk is not None:
            asset_of[rel.unique_id] = pk
            continue
        # A relation outside the home database keeps its database in the placeholder's schema
        # ("raw.analytics"), so raw.analytics.orders and analytics.orders stay two assets.
        schema = rel.schema if rel.database.lower() in ("", home_database) else f"{rel.database}.{rel.schema}"
        key = (schema, rel.identifier)
        if key in taken:
            # Two nodes on one unbuilt relation share its placeholder.
            placeholders[rel.unique_id] = next(p for p in placeholders.values() if p.key == key)
            continue
        taken.add(key)
        placeholders[rel.unique_id] = DiscoveredAsset(
            schema=schema,
            name=rel.identifier,
            kind=AssetKind.DBT_MODEL if rel.resource_type == "model" else AssetKind.TABLE,
            description=rel.description,
            columns=tuple(
                DiscoveredColumn(
                    name=c.name,
                    ordinal=c.ordinal,
                    data_type=(c.data_type or "unknown")[:255],
                    description=c.description,
                )
                for c in rel.columns
            ),
        )
    return asset_of, placeholders


def _home_database(project: DbtProject) -> str:
    """The database the project builds into when neither the dbt platform nor a warehouse names
    it: the one most of its models are in (dbt's target database; ties: alphabetical), else
    most of its relations'. Lower case; ``""`` for an empty project."""
    databases = [r.database.lower() for r in project.relations if r.resource_type == "model" and r.database]
    databases = databases or [r.database.lower() for r in project.relations if r.database]
    if not databases:
        return ""
    return min(set(databases), key=lambda d: (-databases.count(d), d))


# -- asset metadata --------------------------------------------------------------------------


def _enrich(
    *,
    platform: Platform,
    owner_of: dict[int, DbtRelation],
    project_ids: set[str],
    counts: SyncCounts,
    now,
) -> set[int]:
    """Write the ``dbt_*`` fields of assets whose node changed; clear them on assets this
    platform enriched before and no longer does. Returns the ids it had enriched before."""
    current = {
        pk: (dbt_platform_id, unique_id, fingerprint)
        for pk, dbt_platform_id, unique_id, fingerprint in Asset.objects.filter(
            Q(dbt_platform=platform) | Q(pk__in=list(owner_of))
        ).values_list("pk", "dbt_platform_id", "dbt_unique_id", "dbt_fingerprint")
    }
    enriched_before = {pk for pk, (platform_id, _, _) in current.items() if platform_id == platform.pk}
    rows: list[dict] = []
    for pk, rel in owner_of.items():
        platform_id, unique_id, stored_fingerprint = current[pk]
        if platform_id not in (None, platform.pk):
            # Another dbt project already describes this relation; it keeps it (no tug of war).
            counts.unchanged += 1
            continue
        fingerprint = rel.fingerprint()
        if platform_id == platform.pk and unique_id == rel.unique_id:
            if stored_fingerprint == fingerprint:
                counts.unchanged += 1
                continue
            counts.updated += 1
        else:
            counts.created += 1
        rows.append(
            {
                "id": pk,
                "dbt_platform_id": platform.pk,
                "dbt_unique_id": rel.unique_id,
                "dbt_resource_type": rel.resource_type,
                "dbt_materialization": rel.materialization[:32],
                "dbt_description": rel.description,
                "dbt_tags": [t[:100] for t in rel.tags],
                "dbt_meta": rel.meta,
                "dbt_exposures": list(rel.exposures),
                "dbt_fingerprint": fingerprint,
                "updated_at": now,
            }
        )
    for pk in enriched_before - set(owner_of):
        rows.append(
            {
                "id": pk,
                "dbt_platform_id": None,
                "dbt_unique_id": "",
                "dbt_resource_type": "",
                "dbt_materialization": "",
                "dbt_description": "",
                "dbt_tags": [],
                "dbt_meta": {},
                "dbt_exposures": [],
                "dbt_fingerprint": "",
                "updated_at": now,
            }
        )
        if current[pk][1] not in project_ids:  # else the node moved to another asset (counted there)
            counts.removed += 1
    _bulk_set(Asset, rows, _ASSET_DBT_COLUMNS)
    return enriched_before


def _column_docs_apply(*, owner_of: dict[int, DbtRelation], cleared_ids: set[int]) -> None:
    """Set each column's ``dbt_description`` to its dbt doc (name matched exactly, else
    case-insensitively); compared column by column rather than by fingerprint, so a column the
    database sync recreated gets its doc back on the next dbt sync."""
    docs: dict[int, tuple[dict[str, str], dict[str, str]]] = {}
    for pk, rel in owner_of.items():
        by_name = {c.name: c.description for c in rel.columns}
        docs[pk] = (by_name, {name.lower(): text for name, text in by_name.items()})
    rows: list[dict] = []
    for chunk in chunks(list(docs) + list(cleared_ids)):
        columns = Column.objects.filter(asset_id__in=chunk).values_list("pk", "asset_id", "name", "dbt_description")
        for pk, asset_id, name, current in columns:
            exact, folded = docs.get(asset_id, ({}, {}))
            wanted = exact.get(name, folded.get(name.lower(), ""))
            if current != wanted:
                rows.append({"id": pk, "dbt_description": wanted})
    _bulk_set(Column, rows, {"dbt_description": "text"})


# -- lineage and quality ---------------------------------------------------------------------


def _lineage_apply(*, platform: Platform, project: DbtProject, asset_of: dict[str, int]) -> None:
    name = lineage_edge_name(platform)
    wanted = {
        (asset_of[parent], asset_of[rel.unique_id])
        for rel in project.relations
        for parent in rel.upstream
        if parent in asset_of and asset_of[parent] != asset_of[rel.unique_id]
    }
    existing = {
        (source_id, target_id): pk
        for pk, source_id, target_id in AssetRelation.objects.filter(
            kind=AssetRelationKind.LINEAGE, name=name
        ).values_list("pk", "source_id", "target_id")
    }
    stale = [pk for edge, pk in existing.items() if edge not in wanted]
    for chunk in chunks(stale):
        AssetRelation.objects.filter(pk__in=chunk).delete()
    AssetRelation.objects.bulk_create(
        [
            AssetRelation(source_id=source_id, target_id=target_id, kind=AssetRelationKind.LINEAGE, name=name)
            for source_id, target_id in sorted(wanted - set(existing))
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )


def _quality_checks_apply(*, project: DbtProject, asset_of: dict[str, int], scope: set[int], now) -> None:
    """Upsert one check per test on its asset; checks no longer in the project (or whose test
    moved to another asset) are marked removed, and come back if they reappear."""
    wanted = {(asset_of[t.attached_to], t.unique_id): t for t in project.tests if t.attached_to in asset_of}
    fields = ["name", "column_name", "status", "message", "last_run_at", "removed_at"]
    rows: list[dict] = []
    seen: set[tuple[int, str]] = set()
    for chunk in chunks(sorted(scope)):
        stored = QualityCheck.objects.filter(source=QualityCheckSource.DBT, asset_id__in=chunk).values_list(
            "pk",
            "asset_id",
            "unique_id",
            *fields,
        )
        for pk, asset_id, unique_id, *values in stored:
            key = (asset_id, unique_id)
            test = wanted.get(key)
            current = dict(zip(fields, values, strict=True))
            if test is None:
                if current["removed_at"] is None:
                    rows.append({"id": pk, **current, "removed_at": now})
                continue
            seen.add(key)
            target = {
                "name": test.name,
                "column_name": test.column_name,
                "status": test.status,
                "message": test.message,
                "last_run_at": test.last_run_at,
                "removed_at": None,
            }
            if not test.has_result:
                # The latest run_results.json did not run this test: keep the result we know.
                target.update(status=current["status"], message=current["message"], last_run_at=current["last_run_at"])
            if current != target:
                rows.append({"id": pk, **target})
    _bulk_set(QualityCheck, rows, _QUALITY_CHECK_COLUMNS)
    QualityCheck.objects.bulk_create(
        [
            QualityCheck(
                asset_id=asset_id,
                source=QualityCheckSource.DBT,
                unique_id=uid,
                name=t.name,
                column_name=t.column_name,
                status=t.status,
                message=t.message,
                last_run_at=t.last_run_at,
            )
            for (asset_id, uid), t in sorted(wanted.items())
            if (asset_id, uid) not in seen
        ],
        batch_size=BATCH_SIZE,
    )


def _bulk_set(model, rows: list[dict], columns: dict[str, str]) -> None:
    """``UPDATE`` rows of ``model``'s table by id, one statement per 5,000 rows: the new values
    travel as one JSON array unpacked by ``jsonb_to_recordset``. ``rows`` are dicts with ``id``
    and every key of ``columns`` (column name -> PostgreSQL type). Django's ``bulk_update``
    builds a ``CASE`` per row and field instead: 30 s for 20,000 columns against 0.3 s here."""
    if not rows:
        return
    names = list(columns)
    statement = sql.SQL(
        "UPDATE {table} AS t SET {assignments} FROM jsonb_to_recordset(%s::jsonb) AS v({record}) WHERE t.id = v.id"
    ).format(
        table=sql.Identifier(model._meta.db_table),
        assignments=sql.SQL(", ").join(sql.SQL("{0} = v.{0}").format(sql.Identifier(n)) for n in names),
        record=sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in {"id": "bigint", **columns}.items()
        ),
    )
    with connection.cursor() as cursor:
        query = statement.as_string(cursor.connection)
        for chunk in chunks(rows):
            cursor.execute(query, [json.dumps(chunk, default=_json_value)])


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"Cannot store {type(value).__name__} in a bulk update")


# -- uploads ----------------------------------------------------------------------------------


@transaction.atomic
def dbt_artifacts_upload(
    *,
    platform: Platform,
    actor: User,
    manifest: str | bytes,
    catalog: str | bytes = "",
    run_results: str | bytes = "",
) -> DbtArtifactUpload:
    """Store a set of dbt artifacts for ``platform`` and schedule its sync after commit.

    ``manifest`` (required), ``catalog`` and ``run_results`` are the files' contents (UTF-8
    JSON). Each is validated as a dbt artifact (manifest schema v12, catalog v1, run results
    v4-v6) before anything is stored. The newest :data:`UPLOADS_KEPT` uploads are kept.

    Raises ``ValidationError`` with the message under ``manifest``, ``catalog`` or
    ``run_results``, and nothing is stored; ``ValidationError`` too when the platform is not a
    dbt platform. The caller checks that ``actor`` may operate the platform.
    """
    if platform.kind != "dbt":
        raise ValidationError("Artifacts can only be uploaded to a dbt platform.")
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    parsed_manifest = None
    for field_name, artifact, value, parse in (
        ("manifest", MANIFEST_FILE, manifest, parse_manifest),
        ("catalog", CATALOG_FILE, catalog, parse_catalog),
        ("run_results", RUN_RESULTS_FILE, run_results, parse_run_results),
    ):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8-sig")
            except UnicodeDecodeError:
                errors[field_name] = f"{artifact} is not UTF-8 text: is it the right file?"
                continue
        texts[field_name] = value or ""
        if not texts[field_name].strip():
            if field_name == "manifest":
                errors[field_name] = f"{artifact} is required."
            continue
        try:
            result = parse(texts[field_name])
        except ArtifactError as exc:
            errors[field_name] = exc.message
            continue
        if field_name == "manifest":
            parsed_manifest = result
    if errors:
        raise ValidationError(errors)
    upload = DbtArtifactUpload(
        platform=platform,
        uploaded_by=actor,
        manifest_json=texts["manifest"],
        catalog_json=texts["catalog"],
        run_results_json=texts["run_results"],
        dbt_version=parsed_manifest.metadata.dbt_version[:32],
        generated_at=parsed_manifest.metadata.generated_at,
    )
    upload.full_clean()
    upload.save()
    old = list(DbtArtifactUpload.objects.filter(platform=platform).values_list("pk", flat=True)[UPLOADS_KEPT:])
    if old:
        DbtArtifactUpload.objects.filter(pk__in=old).delete()

    from .tasks import platform_sync_task

    platform_id, actor_id = platform.pk, actor.pk
    enqueue_on_commit(platform_sync_task, platform_id, actor_id)
    logger.info("dbt artifacts uploaded for platform %s by user %s", platform.pk, actor.pk)
    return upload
