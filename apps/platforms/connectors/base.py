"""What a connector hands to metadata sync, and the contract every connector fulfils.

A connector reads a platform's catalog (PostgreSQL's ``pg_catalog``, MariaDB's
``information_schema``, a dbt ``manifest.json``) and describes each table, view or model as a
:class:`DiscoveredAsset`. It never writes to the portal's database: comparing with the catalog
and applying changes is the job of ``apps.platforms.services.platform_sync``, the same for
every kind of platform.
"""
from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.platforms.models import Platform


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
class DiscoveredAsset:
    """A table, view, materialized view or dbt model found on the platform.

    ``kind`` is an ``apps.catalog.choices.AssetKind`` value; ``columns`` are in ordinal order;
    ``row_count_estimate`` is the platform's statistic (``None`` when unknown), not an exact count.
    """

    schema: str
    name: str
    kind: str
    description: str = ""
    columns: tuple[DiscoveredColumn, ...] = ()
    foreign_keys: tuple[DiscoveredForeignKey, ...] = ()
    row_count_estimate: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def fingerprint(self) -> str:
        """sha256 (64 hex characters) of a canonical JSON of the asset's metadata.

        Everything is included except ``row_count_estimate``: it is a statistic that moves with
        every ANALYZE, and counting it would rewrite assets whose definition did not change.
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


_COLUMN_FIELDS = tuple(f.name for f in fields(DiscoveredColumn))
_FOREIGN_KEY_FIELDS = tuple(f.name for f in fields(DiscoveredForeignKey))
_ASSET_FINGERPRINT_FIELDS = tuple(f.name for f in fields(DiscoveredAsset) if f.name != "row_count_estimate")


class Connector(abc.ABC):
    """Reads one platform's metadata. Subclasses are registered per ``PlatformKind`` in
    ``apps.platforms.connectors.CONNECTORS``; they are cheap to build and hold no connection
    between calls."""

    def __init__(self, platform: Platform):
        self.platform = platform

    @abc.abstractmethod
    def check(self) -> str:
        """Connect and read something trivial. Returns a one-line description of the server
        (e.g. ``"PostgreSQL 16.4"``). Raises :class:`ConnectorError`."""

    @abc.abstractmethod
    def discover(self) -> list[DiscoveredAsset]:
        """Every table, view and materialized view (or model) in the platform's schemas, in a
        deterministic order. Raises :class:`ConnectorError` when the platform cannot be read;
        never returns a partial listing."""
