"""What a connector hands to metadata sync, and the contract every connector fulfils.

A connector reads a platform's catalog (PostgreSQL's ``pg_catalog``, MariaDB's
``information_schema``, a dbt ``manifest.json``) and describes each table, view or model as a
:class:`DiscoveredAsset`. It never writes to the portal's database: comparing with the catalog
and applying changes is the job of ``apps.sync.services.platform_sync``, the same for
every kind of platform.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.platforms.models import ConnectionParams, Platform


class ConnectorError(Exception):
    """The platform could not be read, said in words a platform admin acts on.

    ``message`` is stored on the failed ``SyncRun`` and shown in the UI as is: e.g.
    "Cannot connect to 10.0.0.1:5432: connection refused", "Database 'x' does not exist on
    10.0.0.1:5432". It never contains the password.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DiscoveredColumn:
    """A column as the platform describes it. ``ordinal`` starts at 1; ``data_type`` is the
    platform's SQL spelling (``VARCHAR(50)``, ``NUMERIC(8, 2)``); ``default`` is the default
    expression as SQL text, ``""`` when none."""

    name: str
    ordinal: int
    data_type: str
    description: str = ""
    nullable: bool = True
    is_primary_key: bool = False
    default: str = ""


@dataclass(frozen=True)
class DiscoveredForeignKey:
    """A foreign key constraint of the asset it belongs to (the referencing side).
    ``columns`` and ``referred_columns`` are in constraint order, pairwise."""

    name: str
    columns: tuple[str, ...]
    referred_schema: str
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True)
class DiscoveredPrivilege:
    """A privilege a platform principal holds on the asset today.

    ``grantee`` is the platform's spelling of the principal (PostgreSQL role name or ``PUBLIC``,
    MariaDB ``'user'@'host'``); ``privilege`` the SQL keyword (``SELECT``, ``INSERT``, ...);
    ``via_schema`` is true when it is held on the whole schema/database rather than the table.
    """

    grantee: str
    privilege: str
    is_grantable: bool = False
    via_schema: bool = False


@dataclass(frozen=True)
class DiscoveredAsset:
    """A table, view, materialized view or dbt model found on the platform.

    ``kind`` is an ``apps.catalog.choices.AssetKind`` value; ``columns`` are in ordinal order;
    ``row_count_estimate`` is the platform's statistic (``None`` when unknown), not an exact count;
    ``last_analyzed_at`` (aware datetime or ``None``) when the platform last refreshed it;
    ``privileges`` who holds what on it today (``None``: the connector does not read privileges,
    and those already in the catalog are kept).
    """

    schema: str
    name: str
    kind: str
    description: str = ""
    columns: tuple[DiscoveredColumn, ...] = ()
    foreign_keys: tuple[DiscoveredForeignKey, ...] = ()
    row_count_estimate: int | None = None
    size_bytes: int | None = None  # storage incl. indexes (a statistic, outside the fingerprint)
    last_analyzed_at: datetime | None = None
    privileges: tuple[DiscoveredPrivilege, ...] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def fingerprint(self) -> str:
        """sha256 (64 hex characters) of a canonical JSON of the asset's metadata.

        Everything is included except the statistics (``row_count_estimate``,
        ``last_analyzed_at``), which move with every ANALYZE, and ``privileges``, which have their
        own :meth:`privileges_fingerprint`: counting them would rewrite assets (and their columns)
        whose definition did not change.
        Foreign keys are sorted by name so the platform's listing order does not matter.
        """
        data = {name: getattr(self, name) for name in _ASSET_FINGERPRINT_FIELDS}
        # Built by hand rather than with dataclasses.asdict(), which deep-copies: 10x faster.
        data["columns"] = [{name: getattr(c, name) for name in _COLUMN_FIELDS} for c in self.columns]
        data["foreign_keys"] = sorted(
            ({name: getattr(fk, name) for name in _FOREIGN_KEY_FIELDS} for fk in self.foreign_keys),
            key=lambda fk: (fk["name"], fk["columns"]),
        )
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def privileges_fingerprint(self) -> str:
        """sha256 (64 hex) of the sorted privileges; ``""`` when there are none (or none read)."""
        if not self.privileges:
            return ""
        rows = sorted((p.grantee, p.privilege, p.is_grantable, p.via_schema) for p in self.privileges)
        canonical = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_COLUMN_FIELDS = tuple(f.name for f in fields(DiscoveredColumn))
_FOREIGN_KEY_FIELDS = tuple(f.name for f in fields(DiscoveredForeignKey))
_ASSET_FINGERPRINT_FIELDS = tuple(
    f.name
    for f in fields(DiscoveredAsset)
    if f.name not in {"row_count_estimate", "size_bytes", "last_analyzed_at", "privileges"}
)

# progress(done, total): called by connectors while they read; total may be None when unknown.
ProgressCallback = Callable[[int, "int | None"], None]
# Set by the sync engine around a run, so connectors report progress without a new argument.
progress_reporter: ContextVar[ProgressCallback | None] = ContextVar("sync_progress_reporter", default=None)


class Connector(abc.ABC):
    """Reads one platform's metadata. Subclasses are registered per ``PlatformKind`` in
    ``apps.sync.connectors.CONNECTORS``; they are cheap to build and hold no connection
    between calls."""

    def __init__(self, platform: Platform):
        self.platform = platform

    def _params(self) -> ConnectionParams:
        """The service account's connection parameters; ConnectorError when the stored password
        cannot be decrypted (e.g. the key changed)."""
        from apps.core.exceptions import ApplicationError

        try:
            return self.platform.connection_params()
        except ApplicationError as exc:
            raise ConnectorError(exc.message) from exc

    def _select_schemas(
        self, available: list[str], *, is_system: Callable[[str], bool], missing_message: Callable[[list[str]], str]
    ) -> list[str]:
        """The schemas to read: the platform's ``include_schemas`` (deduplicated, in order), or
        every ``available`` one that is not a system schema when none is set. A wanted schema
        that is not ``available`` raises ConnectorError(``missing_message(missing)``): refusing
        beats marking every asset of a mistyped schema as removed."""
        wanted = [s for s in self.platform.include_schemas if s]
        if not wanted:
            return [s for s in available if not is_system(s)]
        missing = [s for s in wanted if s not in available]
        if missing:
            raise ConnectorError(missing_message(missing))
        return list(dict.fromkeys(wanted))

    def report_progress(self, done: int, total: int | None) -> None:
        """Tell the sync engine how far reading has got (e.g. schemas read / schemas); the
        engine shows it on the run in progress. Optional for connectors; cheap to call often."""
        callback = progress_reporter.get()
        if callback is not None:
            callback(done, total)

    @abc.abstractmethod
    def check(self) -> str:
        """Connect and read something trivial. Returns a one-line description of the server
        (e.g. ``"PostgreSQL 16.4"``). Raises :class:`ConnectorError`."""

    @abc.abstractmethod
    def discover(self) -> list[DiscoveredAsset]:
        """Every table, view and materialized view (or model) in the platform's schemas, in a
        deterministic order. Raises :class:`ConnectorError` when the platform cannot be read;
        never returns a partial listing."""
