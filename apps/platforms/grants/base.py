"""The adapter interface every platform kind implements to enforce grants.

Adapters are idempotent: applying an applied grant or revoking a revoked one succeeds and
changes nothing. They raise :class:`TransientPlatformError` for errors worth retrying
(connection refused, lock timeout) and :class:`PlatformGrantError` for the rest (a missing
schema or login); messages never contain credentials.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class PlatformGrantError(Exception):
    """The platform refused the grant for a reason retrying will not fix."""


class TransientPlatformError(PlatformGrantError):
    """The platform could not be reached or was busy; retrying later may succeed."""


@dataclass(frozen=True)
class GrantSpec:
    """What a grant means on the platform.

    ``role_name``: the access role carrying the privileges (created by the adapter);
    ``principal``: the consumer's login the role is granted to; ``schema``: the output port's
    schema; ``tables``: table names, empty for every table of the schema (and tables added later);
    ``privileges``: table privileges, e.g. ``("SELECT",)``.
    """

    role_name: str
    principal: str
    schema: str
    database: str = ""
    tables: tuple[str, ...] = ()
    privileges: tuple[str, ...] = ("SELECT",)


@dataclass
class GrantResult:
    """What an adapter call did: statement summaries without secrets, for the grant's attempt log."""

    statements: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return "\n".join(self.statements)


class GrantAdapter(ABC):
    """Enforces grants on one platform, connecting with the platform's service account."""

    def __init__(self, platform):
        self.platform = platform

    @abstractmethod
    def apply(self, spec: GrantSpec) -> GrantResult:
        """Create the access role with the privileges and grant it to the principal."""

    @abstractmethod
    def revoke(self, spec: GrantSpec) -> GrantResult:
        """Take the role from the principal and drop it with its privileges."""

    @abstractmethod
    def inspect(self, spec: GrantSpec) -> dict:
        """What the platform has now: ``{"role_exists": bool, "granted_to_principal": bool,
        "tables": {table: [privilege, ...]}}``."""


def get_grant_adapter(platform) -> GrantAdapter:
    """The adapter for ``platform.kind``. Raises PlatformGrantError when the kind has none."""
    from .postgresql import PostgresGrantAdapter

    adapters = {"postgresql": PostgresGrantAdapter}
    try:
        return adapters[platform.kind](platform)
    except KeyError:
        raise PlatformGrantError(f"Grants are not supported on {platform.get_kind_display()} platforms yet.") from None
