"""dbt connector: reads a dbt project's artifacts (``manifest.json``, ``catalog.json``,
``run_results.json``) into a :class:`DbtProject`.

Where the artifacts come from: the platform's ``dbt_artifacts_path`` (dbt's ``target/``
directory, readable by the worker) or the newest :class:`~apps.platforms.models.DbtArtifactUpload`
made on the platform page, whichever is newer (the manifest file's modification time against the
upload time).

Versions read (https://schemas.getdbt.com/): manifest **v12** (dbt 1.8 and later), catalog v1,
run results v4 to v6. Anything else fails the sync with a message saying which file, which
version it is and what to do.

Why our own pydantic models rather than ``dbt-artifacts-parser``: that package supports v12,
but its generated models forbid unknown fields (``extra="forbid"``) all the way down, so a v12
manifest written by a newer dbt minor that *adds* a field within v12 (dbt only bumps the schema
version for breaking changes) would be rejected, and it validates the whole manifest (macros,
docs, semantic models) where we read a handful of fields per node. The models below declare only
what the sync reads and ignore the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .base import Connector, ConnectorError

MANIFEST_FILE, CATALOG_FILE, RUN_RESULTS_FILE = "manifest.json", "catalog.json", "run_results.json"
MANIFEST_VERSION = "v12"
CATALOG_VERSIONS = ("v1",)
RUN_RESULTS_VERSIONS = ("v4", "v5", "v6")
# dbt versions that wrote each manifest schema version, for the error message.
_MANIFEST_DBT_VERSIONS = {
    "v1": "0.19",
    "v2": "0.20",
    "v3": "0.21",
    "v4": "1.0",
    "v5": "1.1",
    "v6": "1.2",
    "v7": "1.3",
    "v8": "1.4",
    "v9": "1.5",
    "v10": "1.6",
    "v11": "1.7",
    "v12": "1.8 or later",
}
_SCHEMA_VERSION_RE = re.compile(r"/dbt/([a-z-]+)/(v\d+)\.json$")

RELATION_RESOURCE_TYPES = ("model", "seed", "snapshot", "source")

# run_results.json status of a test -> apps.catalog.choices.QualityCheckStatus value.
TEST_STATUS = {
    "pass": "pass",
    "success": "pass",
    "fail": "fail",
    "warn": "warn",
    "error": "error",
    "runtime error": "error",
    "skipped": "skipped",
    "skip": "skipped",
}


class ArtifactError(ConnectorError):
    """An artifact cannot be used. ``artifact`` is its file name (``manifest.json``, ...), so a
    form can show the message on the right field."""

    def __init__(self, artifact: str, message: str):
        super().__init__(message)
        self.artifact = artifact


# -- the parts of the artifacts we read (dbt manifest v12, catalog v1, run results v6) ---------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Metadata(_Lenient):
    dbt_schema_version: str
    dbt_version: str = ""
    generated_at: datetime | None = None
    project_name: str = ""


class _Column(_Lenient):
    name: str
    description: str = ""
    data_type: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


class _DependsOn(_Lenient):
    nodes: list[str] = Field(default_factory=list)


class _Config(_Lenient):
    enabled: bool = True
    materialized: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class _TestMetadata(_Lenient):
    name: str = ""


class _Node(_Lenient):
    unique_id: str
    resource_type: str
    name: str
    database: str | None = None
    schema_name: str = Field("", alias="schema")
    alias: str | None = None
    description: str | None = ""
    columns: dict[str, _Column] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    config: _Config = Field(default_factory=_Config)
    depends_on: _DependsOn = Field(default_factory=_DependsOn)
    # tests only
    column_name: str | None = None
    attached_node: str | None = None
    test_metadata: _TestMetadata | None = None


class _Source(_Lenient):
    unique_id: str
    name: str
    source_name: str = ""
    database: str | None = None
    schema_name: str = Field("", alias="schema")
    identifier: str | None = None
    description: str | None = ""
    source_description: str | None = ""
    columns: dict[str, _Column] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    config: _Config = Field(default_factory=_Config)


class _ExposureOwner(_Lenient):
    name: str | None = None
    email: str | None = None


class _Exposure(_Lenient):
    unique_id: str
    name: str
    label: str | None = None
    type: str = ""
    description: str | None = ""
    url: str | None = None
    maturity: str | None = None
    owner: _ExposureOwner = Field(default_factory=_ExposureOwner)
    depends_on: _DependsOn = Field(default_factory=_DependsOn)


class _Manifest(_Lenient):
    metadata: _Metadata
    nodes: dict[str, _Node] = Field(default_factory=dict)
    sources: dict[str, _Source] = Field(default_factory=dict)
    exposures: dict[str, _Exposure] = Field(default_factory=dict)


class _CatalogColumn(_Lenient):
    name: str
    type: str = ""
    index: int = 0
    comment: str | None = None


class _CatalogTable(_Lenient):
    columns: dict[str, _CatalogColumn] = Field(default_factory=dict)


class _Catalog(_Lenient):
    metadata: _Metadata
    nodes: dict[str, _CatalogTable] = Field(default_factory=dict)
    sources: dict[str, _CatalogTable] = Field(default_factory=dict)


class _Timing(_Lenient):
    name: str
    started_at: datetime | None = None
    completed_at: datetime | None = None


class _RunResult(_Lenient):
    unique_id: str
    status: str
    message: str | None = None
    failures: int | None = None
    timing: list[_Timing] = Field(default_factory=list)


class _RunResults(_Lenient):
    metadata: _Metadata
    results: list[_RunResult] = Field(default_factory=list)


# -- what the sync consumes ---------------------------------------------------------------------


@dataclass(frozen=True)
class DbtColumn:
    """A column as the dbt project documents it. ``data_type`` comes from ``catalog.json`` (the
    built relation) else the manifest's declared ``data_type``, ``""`` when neither; ``ordinal``
    starts at 1 (catalog order, else declaration order)."""

    name: str
    ordinal: int
    description: str = ""
    data_type: str = ""


@dataclass(frozen=True)
class DbtRelation:
    """A dbt node that is (or would be) a relation in the warehouse: a model, seed, snapshot or
    source. ``identifier`` is the relation's name (a model's ``alias``, a source's
    ``identifier``); ``upstream`` are the ``unique_id``s of the relations it is built from
    (lineage parents); ``exposures`` the exposures that read it (dicts with ``unique_id``,
    ``name``, ``label``, ``type``, ``owner``, ``url``, ``maturity``)."""

    unique_id: str
    resource_type: str
    name: str
    database: str
    schema: str
    identifier: str
    materialization: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    columns: tuple[DbtColumn, ...] = ()
    upstream: tuple[str, ...] = ()
    exposures: tuple[dict[str, Any], ...] = ()

    def fingerprint(self) -> str:
        """sha256 (64 hex characters) of a canonical JSON of everything above."""
        # Built by hand: dataclasses.asdict() deep-copies and is the slowest part of a no-op sync.
        data = {
            "unique_id": self.unique_id,
            "resource_type": self.resource_type,
            "name": self.name,
            "database": self.database,
            "schema": self.schema,
            "identifier": self.identifier,
            "materialization": self.materialization,
            "description": self.description,
            "tags": self.tags,
            "meta": self.meta,
            "columns": [(c.name, c.ordinal, c.description, c.data_type) for c in self.columns],
            "upstream": self.upstream,
            "exposures": self.exposures,
        }
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DbtTest:
    """A dbt data test and its latest result. ``attached_to`` is the ``unique_id`` of the
    relation it tests; ``status`` an ``apps.catalog.choices.QualityCheckStatus`` value
    (``unknown`` when ``run_results.json`` has no result for it, ``has_result`` false: e.g. the
    latest invocation was ``dbt run`` or tested other nodes); ``last_run_at`` is when the test
    finished (aware datetime) or ``None``."""

    unique_id: str
    name: str
    attached_to: str
    column_name: str = ""
    status: str = "unknown"
    message: str = ""
    last_run_at: datetime | None = None
    has_result: bool = False


@dataclass
class DbtProject:
    """A parsed set of dbt artifacts. ``origin`` says where they were read from (for logs)."""

    project_name: str
    dbt_version: str
    generated_at: datetime | None
    relations: list[DbtRelation]
    tests: list[DbtTest]
    origin: str = ""
    has_catalog: bool = False
    has_run_results: bool = False


@dataclass(frozen=True)
class ArtifactTexts:
    """The artifacts' raw JSON texts; ``catalog`` and ``run_results`` are ``""`` when absent."""

    manifest: str
    catalog: str = ""
    run_results: str = ""
    origin: str = ""


# -- parsing ----------------------------------------------------------------------------------


def _load_json(artifact: str, text: str | bytes) -> dict:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ArtifactError(artifact, f"{artifact} is not UTF-8 text: is it the right file?") from None
    from apps.core.parsing import InputLimitError, dbt_artifact_limits, safe_load_json

    try:
        data = safe_load_json(text, field=artifact, what=artifact, **dbt_artifact_limits())
    except InputLimitError as exc:
        hint = (
            ": the file may be truncated; copy it again from dbt's target/ directory"
            if "Not valid JSON" in exc.message
            else ""
        )
        message = exc.message.replace("Not valid JSON", f"{artifact} is not valid JSON")
        raise ArtifactError(artifact, f"{message.rstrip('.')}{hint}.") from None
    if not isinstance(data, dict):
        raise ArtifactError(artifact, f"{artifact} is not a dbt artifact: expected a JSON object.")
    return data


_KIND_LABELS = {"manifest": "manifest", "catalog": "catalog", "run-results": "run results file"}


def _schema_version(artifact: str, data: dict, kind: str) -> str:
    """The ``vN`` of ``metadata.dbt_schema_version``; ArtifactError if it is not a dbt ``kind``."""
    metadata = data.get("metadata")
    version_url = metadata.get("dbt_schema_version") if isinstance(metadata, dict) else None
    match = _SCHEMA_VERSION_RE.search(version_url) if isinstance(version_url, str) else None
    label = _KIND_LABELS[kind]
    if match is None:
        raise ArtifactError(artifact, f"{artifact} is not a dbt {label}: it has no metadata.dbt_schema_version.")
    if match.group(1) != kind:
        found = _KIND_LABELS.get(match.group(1), match.group(1).replace("-", " "))
        raise ArtifactError(artifact, f"{artifact} is a dbt {found}, not a {label}: check which file was given.")
    return match.group(2)


def _validate(artifact: str, model: type[BaseModel], data: dict) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(
            artifact,
            f"{artifact} does not have the expected structure at '{where}': {first['msg']} "
            f"({exc.error_count()} problem{'s' if exc.error_count() != 1 else ''} in all).",
        ) from None


def parse_manifest(text: str | bytes) -> _Manifest:
    """Parse a ``manifest.json``. Raises :class:`ArtifactError` unless it is valid JSON of a dbt
    manifest with schema version v12 (https://schemas.getdbt.com/dbt/manifest/v12.json)."""
    data = _load_json(MANIFEST_FILE, text)
    version = _schema_version(MANIFEST_FILE, data, "manifest")
    if version != MANIFEST_VERSION:
        if version not in _MANIFEST_DBT_VERSIONS:  # newer than this Mesh Portal knows
            raise ArtifactError(
                MANIFEST_FILE,
                f"{MANIFEST_FILE} has dbt manifest schema {version}, newer than the {MANIFEST_VERSION} Mesh Portal "
                "reads: upgrade Mesh Portal, or generate the manifest with a dbt version that writes "
                f"{MANIFEST_VERSION} (dbt 1.8 to 1.10).",
            )
        written_by = _MANIFEST_DBT_VERSIONS[version]
        raise ArtifactError(
            MANIFEST_FILE,
            f"{MANIFEST_FILE} has dbt manifest schema {version} (written by dbt {written_by}); Mesh Portal reads "
            f"{MANIFEST_VERSION} (dbt 1.8 or later). Regenerate it with a current dbt (e.g. `dbt parse`).",
        )
    return _validate(MANIFEST_FILE, _Manifest, data)


def parse_catalog(text: str | bytes) -> _Catalog:
    """Parse a ``catalog.json`` (dbt catalog v1). Raises :class:`ArtifactError`."""
    data = _load_json(CATALOG_FILE, text)
    version = _schema_version(CATALOG_FILE, data, "catalog")
    if version not in CATALOG_VERSIONS:
        raise ArtifactError(CATALOG_FILE, f"{CATALOG_FILE} has dbt catalog schema {version}; Mesh Portal reads v1.")
    return _validate(CATALOG_FILE, _Catalog, data)


def parse_run_results(text: str | bytes) -> _RunResults:
    """Parse a ``run_results.json`` (dbt run results v4 to v6). Raises :class:`ArtifactError`."""
    data = _load_json(RUN_RESULTS_FILE, text)
    version = _schema_version(RUN_RESULTS_FILE, data, "run-results")
    if version not in RUN_RESULTS_VERSIONS:
        raise ArtifactError(
            RUN_RESULTS_FILE,
            f"{RUN_RESULTS_FILE} has dbt run results schema {version}; Mesh Portal reads "
            f"{', '.join(RUN_RESULTS_VERSIONS)} (dbt 1.0 or later).",
        )
    return _validate(RUN_RESULTS_FILE, _RunResults, data)


def project_from_texts(texts: ArtifactTexts) -> DbtProject:
    """Parse the three artifacts and assemble the :class:`DbtProject`. Raises
    :class:`ArtifactError` naming the first file that cannot be used."""
    manifest = parse_manifest(texts.manifest)
    catalog = parse_catalog(texts.catalog) if texts.catalog.strip() else None
    run_results = parse_run_results(texts.run_results) if texts.run_results.strip() else None
    return _assemble(manifest, catalog, run_results, origin=texts.origin)


def _assemble(
    manifest: _Manifest, catalog: _Catalog | None, run_results: _RunResults | None, origin: str
) -> DbtProject:
    catalog_tables = {**catalog.nodes, **catalog.sources} if catalog else {}
    relation_ids = {
        uid
        for uid, node in manifest.nodes.items()
        if node.resource_type in RELATION_RESOURCE_TYPES and node.config.enabled
    } | {uid for uid, source in manifest.sources.items() if source.config.enabled}

    exposures_of: dict[str, list[dict[str, Any]]] = {}
    for exposure in sorted(manifest.exposures.values(), key=lambda e: e.unique_id):
        summary = {
            "unique_id": exposure.unique_id,
            "name": exposure.name,
            "label": exposure.label or exposure.name,
            "type": exposure.type,
            "owner": exposure.owner.name or exposure.owner.email or "",
            "url": exposure.url or "",
            "maturity": exposure.maturity or "",
        }
        for parent in dict.fromkeys(exposure.depends_on.nodes):
            if parent in relation_ids:
                exposures_of.setdefault(parent, []).append(summary)

    relations: list[DbtRelation] = []
    for uid in sorted(relation_ids):
        if uid in manifest.nodes:
            node = manifest.nodes[uid]
            identifier = node.alias or node.name
            materialization = node.config.materialized or node.resource_type
            description = node.description or ""
            upstream = tuple(p for p in dict.fromkeys(node.depends_on.nodes) if p in relation_ids and p != uid)
        else:
            node = manifest.sources[uid]
            identifier = node.identifier or node.name
            materialization = ""
            description = node.description or node.source_description or ""
            upstream = ()
        meta = {**node.config.meta, **node.meta}
        relations.append(
            DbtRelation(
                unique_id=uid,
                resource_type="source" if uid in manifest.sources else node.resource_type,
                name=node.name,
                database=node.database or "",
                schema=node.schema_name,
                identifier=identifier,
                materialization=materialization,
                description=description,
                tags=tuple(node.tags),
                meta=meta,
                columns=_columns(node.columns, catalog_tables.get(uid)),
                upstream=upstream,
                exposures=tuple(exposures_of.get(uid, ())),
            )
        )

    results = {r.unique_id: r for r in run_results.results} if run_results else {}
    fallback_time = run_results.metadata.generated_at if run_results else None
    tests: list[DbtTest] = []
    for uid in sorted(manifest.nodes):
        node = manifest.nodes[uid]
        if node.resource_type != "test" or not node.config.enabled:
            continue
        attached = (
            node.attached_node
            if node.attached_node in relation_ids
            else next(
                (p for p in node.depends_on.nodes if p in relation_ids),
                None,
            )
        )
        if attached is None:
            continue  # a singular test on nothing we catalog
        result = results.get(uid)
        status, message, last_run_at = "unknown", "", None
        if result is not None:
            status = TEST_STATUS.get(result.status.lower(), "unknown")
            message = _result_message(status, result)
            last_run_at = _finished_at(result) or fallback_time
        name = node.test_metadata.name if node.test_metadata and node.test_metadata.name else node.name
        tests.append(
            DbtTest(
                unique_id=uid,
                name=name[:255],
                attached_to=attached,
                column_name=(node.column_name or "")[:255],
                status=status,
                message=message,
                last_run_at=_aware(last_run_at),
                has_result=result is not None,
            )
        )
    return DbtProject(
        project_name=manifest.metadata.project_name,
        dbt_version=manifest.metadata.dbt_version,
        generated_at=_aware(manifest.metadata.generated_at),
        relations=relations,
        tests=tests,
        origin=origin,
        has_catalog=catalog is not None,
        has_run_results=run_results is not None,
    )


def _columns(documented: dict[str, _Column], built: _CatalogTable | None) -> tuple[DbtColumn, ...]:
    docs = {c.name: c for c in documented.values()}
    docs_lower = {name.lower(): c for name, c in docs.items()}
    if built is not None and built.columns:
        ordered = sorted(built.columns.values(), key=lambda c: (c.index, c.name))
        out = []
        for ordinal, col in enumerate(ordered, start=1):
            doc = docs.get(col.name) or docs_lower.get(col.name.lower())
            out.append(
                DbtColumn(
                    name=col.name,
                    ordinal=ordinal,
                    description=(doc.description if doc else ""),
                    data_type=col.type or (doc.data_type if doc and doc.data_type else ""),
                )
            )
        # Documented columns the built relation lacks are stale docs; the warehouse decides.
        return tuple(out)
    return tuple(
        DbtColumn(name=c.name, ordinal=ordinal, description=c.description or "", data_type=c.data_type or "")
        for ordinal, c in enumerate(docs.values(), start=1)
    )


def _result_message(status: str, result: _RunResult) -> str:
    message = (result.message or "").strip()
    if status in ("fail", "warn") and result.failures:
        rows = f"{result.failures} failing row{'s' if result.failures != 1 else ''}"
        return f"{rows}: {message}" if message else rows
    return message


def _finished_at(result: _RunResult) -> datetime | None:
    execute = [t for t in result.timing if t.name == "execute" and t.completed_at]
    return execute[-1].completed_at if execute else None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


# -- the connector -------------------------------------------------------------------------


class DbtConnector(Connector):
    """Reads a dbt platform's artifacts: the newest of its ``dbt_artifacts_path`` directory and
    its latest upload. ``discover()`` returns a :class:`DbtProject` (not a list of assets):
    ``platform_sync`` hands it to ``apps.sync.dbt_services.dbt_catalog_apply``, which
    matches it to the warehouse's assets."""

    def check(self) -> str:
        texts = self.read_artifacts()
        manifest = parse_manifest(texts.manifest)
        return f"dbt {manifest.metadata.dbt_version} project '{manifest.metadata.project_name}' ({texts.origin})"

    def discover(self) -> DbtProject:  # type: ignore[override]
        return project_from_texts(self.read_artifacts())

    def read_artifacts(self) -> ArtifactTexts:
        """The raw texts of the newest artifacts. Raises :class:`ConnectorError` when there are
        none, the directory or its ``manifest.json`` is missing, or a file cannot be read."""
        upload = self.platform.dbt_uploads.first() if self.platform.pk else None
        path = (self.platform.dbt_artifacts_path or "").strip()
        if not path:
            if upload is None:
                raise ArtifactError(
                    MANIFEST_FILE,
                    "No dbt artifacts yet: upload manifest.json (with catalog.json and run_results.json) on the "
                    "platform page, or set the platform's artifacts directory.",
                )
            return self._from_upload(upload)
        directory = Path(path)
        manifest_path = directory / MANIFEST_FILE
        try:
            manifest_mtime = manifest_path.stat().st_mtime
        except FileNotFoundError:
            if upload is not None:
                return self._from_upload(upload)
            if not directory.is_dir():
                raise ArtifactError(
                    MANIFEST_FILE,
                    f"The dbt artifacts directory '{directory}' does not exist on the sync worker: "
                    "check the platform's artifacts directory.",
                ) from None
            raise ArtifactError(
                MANIFEST_FILE,
                f"{MANIFEST_FILE} not found in '{directory}': run `dbt build` and `dbt docs generate` "
                "there, or upload the artifacts.",
            ) from None
        except OSError as exc:
            raise ArtifactError(MANIFEST_FILE, f"Cannot read '{manifest_path}': {exc.strerror}.") from None
        if upload is not None and upload.uploaded_at.timestamp() > manifest_mtime:
            return self._from_upload(upload)
        return ArtifactTexts(
            manifest=_read(manifest_path),
            catalog=_read(directory / CATALOG_FILE, optional=True),
            run_results=_read(directory / RUN_RESULTS_FILE, optional=True),
            origin=f"directory {directory}",
        )

    @staticmethod
    def _from_upload(upload) -> ArtifactTexts:
        return ArtifactTexts(
            manifest=upload.manifest_json,
            catalog=upload.catalog_json,
            run_results=upload.run_results_json,
            origin=f"upload of {upload.uploaded_at:%Y-%m-%d %H:%M} UTC",
        )


def _read(path: Path, optional: bool = False) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        if optional:
            return ""
        raise ArtifactError(path.name, f"{path.name} not found in '{path.parent}'.") from None
    except UnicodeDecodeError:
        raise ArtifactError(path.name, f"{path.name} in '{path.parent}' is not UTF-8 text.") from None
    except OSError as exc:
        raise ArtifactError(path.name, f"Cannot read '{path}': {exc.strerror}.") from None
