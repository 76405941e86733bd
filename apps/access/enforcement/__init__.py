"""Grant adapters: enforce access grants on a platform. One module per platform kind, one interface
(:class:`GrantAdapter`), registered in :data:`ADAPTERS` the same way as the sync connectors
(``apps.sync.connectors.CONNECTORS``). Modules are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from apps.platforms.choices import PlatformKind

from .base import GrantAdapter, GrantSpec, PlatformGrantError, TransientPlatformError

if TYPE_CHECKING:
    from apps.platforms.models import Platform

__all__ = [
    "ADAPTERS",
    "GrantAdapter",
    "GrantSpec",
    "PlatformGrantError",
    "TransientPlatformError",
    "get_grant_adapter",
]

# PlatformKind value -> "module:Class" of its grant adapter.
ADAPTERS: dict[str, str] = {
    PlatformKind.POSTGRESQL: "apps.access.enforcement.postgresql:PostgresGrantAdapter",
    PlatformKind.MARIADB: "apps.access.enforcement.mariadb:MariaDBGrantAdapter",
}


def get_grant_adapter(platform: Platform) -> GrantAdapter:
    """The grant adapter for ``platform.kind``, bound to ``platform``. Raises
    :class:`PlatformGrantError` when the kind has none (dbt: it holds no data)."""
    target = ADAPTERS.get(platform.kind)
    if target is None:
        raise PlatformGrantError(f"Grants are not supported on {platform.get_kind_display()} platforms yet.")
    module_name, class_name = target.split(":")
    adapter_class: type[GrantAdapter] = getattr(import_module(module_name), class_name)
    return adapter_class(platform)
