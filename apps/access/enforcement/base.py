"""The adapter interface every platform kind implements to enforce grants.

Adapters are idempotent: applying an applied grant or revoking a revoked one succeeds and
changes nothing. They raise :class:`TransientPlatformError` for errors worth retrying
(connection refused, lock timeout) and :class:`PlatformGrantError` for the rest (a missing
schema or login); messages never contain credentials.

Reconciliation compares two sets of :class:`Privilege` that an adapter computes in one
:meth:`GrantAdapter.inspect` call: ``wanted`` (what :meth:`GrantAdapter.apply` would create
given the objects the platform has now) and ``actual`` (what the grant's role really holds).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import NamedTuple


class PlatformGrantError(Exception):
    """The platform refused the grant for a reason retrying will not fix."""


class TransientPlatformError(PlatformGrantError):
    """The platform could not be reached or was busy; retrying later may succeed."""


@dataclass(frozen=True)
class GrantSpec:
    """What a grant means on the platform.

    ``role_name``: the access role carrying the privileges (created by the adapter);
    ``principal``: the grantee: a consumer's login or a team's role (on MariaDB ``user`` or
    ``user@host``; host ``%`` when omitted); ``schema``: the output port's schema (the database
    on MariaDB); ``database``: the PostgreSQL database (empty: the platform's);
    ``tables``: table names, empty for every table of the schema (and tables added later);
    ``columns``: column scope, empty for every column; otherwise column-level privileges on each
    table in scope that has at least one of them; ``privileges``: e.g. ``("SELECT",)``.
    """

    role_name: str
    principal: str
    schema: str
    database: str = ""
    tables: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    privileges: tuple[str, ...] = ("SELECT",)


class Privilege(NamedTuple):
    """One privilege of a grant's role on the platform.

    ``kind``: ``member`` (``target`` = (grantee,) holding the role), ``schema`` (the schema, or
    on MariaDB the whole database: ``db.*``), ``table`` ((schema, table)), ``column``
    ((schema, table, column)), ``default`` ((schema,): default privileges for tables created
    later), ``global`` (MariaDB ``*.*``), ``route`` (MariaDB: how a login reaches the role:
    ((login, via_role),) with ``privilege`` ``MEMBER`` or ``DEFAULT ROLE``).
    """

    kind: str
    target: tuple[str, ...]
    privilege: str

    @property
    def label(self) -> str:
        where = ".".join(self.target)
        return {
            "member": f"role granted to {where}",
            "route": f"{self.privilege} {self.target[1]} for {self.target[0]}" if len(self.target) == 2 else where,
            "default": f"default {self.privilege} on new tables in {where}",
            "global": f"{self.privilege} on *.*",
        }.get(self.kind, f"{self.privilege} on {self.kind} {where}")

    def as_json(self) -> list:
        return [self.kind, list(self.target), self.privilege]


@dataclass(frozen=True)
class Inspection:
    """What :meth:`GrantAdapter.inspect` found: whether the role exists, the privileges it
    really holds (``actual``) and those the grant should give it (``wanted``)."""

    role_exists: bool
    actual: frozenset[Privilege]
    wanted: frozenset[Privilege]

    @property
    def missing(self) -> frozenset[Privilege]:
        return self.wanted - self.actual

    @property
    def extra(self) -> frozenset[Privilege]:
        # ``route`` privileges belong to the consumer's login, not to the managed role: only
        # their absence is drift.
        return frozenset(p for p in self.actual - self.wanted if p.kind != "route")

    @property
    def in_sync(self) -> bool:
        return self.role_exists and not self.missing and not self.extra

    def table_privileges(self) -> dict[str, list[str]]:
        """``{table: [privilege, ...]}`` of the role's table-level privileges, sorted."""
        out: dict[str, list[str]] = {}
        for p in sorted(self.actual):
            if p.kind == "table":
                out.setdefault(p.target[-1], []).append(p.privilege)
        return out


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

    def apply_many(self, specs: list[GrantSpec]) -> list[GrantResult | PlatformGrantError]:
        """Apply several grants; one outcome per spec, in order: its result, or the permanent
        error that spec alone ran into. Raises TransientPlatformError when the platform is
        unreachable or busy (nothing is known to be applied then; applying again is safe).
        Adapters override it to apply a batch in one connection and transaction."""
        outcomes: list[GrantResult | PlatformGrantError] = []
        for spec in specs:
            try:
                outcomes.append(self.apply(spec))
            except TransientPlatformError:
                raise
            except PlatformGrantError as exc:
                outcomes.append(exc)
        return outcomes

    @abstractmethod
    def revoke(self, spec: GrantSpec) -> GrantResult:
        """Take the role from the principal and drop it with its privileges."""

    @abstractmethod
    def inspect(self, spec: GrantSpec) -> Inspection:
        """What the platform has now for the grant's role, and what it should have."""

    @abstractmethod
    def managed_roles(self, prefix: str) -> set[str]:
        """Names of the roles on the platform starting with ``prefix`` (the portal's roles)."""

    @abstractmethod
    def remove(self, spec: GrantSpec, privileges: frozenset[Privilege]) -> GrantResult:
        """Take ``privileges`` (found by :meth:`inspect` but not wanted) away from the role."""


def column_in_scope(columns, table: str, column: str) -> bool:
    """Whether ``table.column`` is in a grant's column scope. The scope holds ``table.column``
    entries (what an access request stores) or bare column names (every table in scope)."""
    return column in columns or f"{table}.{column}" in columns
