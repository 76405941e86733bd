"""Connectors read a platform's metadata; one module per ``PlatformKind``.

Adding a platform kind means writing a :class:`Connector` subclass and adding a line to
:data:`CONNECTORS`; ``platform_sync`` does not change. The same registry style serves the grant
adapters (``apps.access.enforcement.ADAPTERS``). Modules are imported on first use so the drivers
load only when a platform of that kind exists.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from apps.platforms.choices import PlatformKind

from .base import (
    Connector,
    ConnectorError,
    DiscoveredAsset,
    DiscoveredColumn,
    DiscoveredForeignKey,
    DiscoveredPrivilege,
)

if TYPE_CHECKING:
    from apps.platforms.models import Platform

__all__ = [
    "CONNECTORS",
    "Connector",
    "ConnectorError",
    "DiscoveredAsset",
    "DiscoveredColumn",
    "DiscoveredForeignKey",
    "DiscoveredPrivilege",
    "get_connector",
]

# PlatformKind value -> "module:Class" of its connector.
CONNECTORS: dict[str, str] = {
    PlatformKind.POSTGRESQL: "apps.sync.connectors.postgresql:PostgreSQLConnector",
    PlatformKind.MARIADB: "apps.sync.connectors.mariadb:MariaDBConnector",
    PlatformKind.DBT: "apps.sync.connectors.dbt:DbtConnector",
}


def get_connector(platform: Platform) -> Connector:
    """The connector for ``platform.kind``, bound to ``platform``. Raises :class:`ConnectorError`
    for a kind that has no connector yet."""
    target = CONNECTORS.get(platform.kind)
    if target is None:
        label = PlatformKind(platform.kind).label if platform.kind in PlatformKind.values else platform.kind
        raise ConnectorError(f"Metadata sync is not available for {label} platforms yet.")
    module_name, class_name = target.split(":")
    connector_class: type[Connector] = getattr(import_module(module_name), class_name)
    return connector_class(platform)
