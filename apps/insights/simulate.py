"""Grants without a warehouse, for the demo history and the KPI tests.

MOCK (labelled): ``simulated_platform_grants()`` replaces the PostgreSQL and MariaDB grant
adapters with one that records the statements it would run and runs none. Everything else is
the real code path — ``grant_apply`` claims, transitions, audits, records the fact events and
notifies exactly as on a worker; ``grant_revoke`` likewise. Simulating six months of grants on
the real warehouse would create and drop thousands of roles there for nothing: the KPIs count
the portal's facts, and tests/access prove the real grants on PostgreSQL and MariaDB.
"""

from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

from apps.access.enforcement.base import GrantAdapter, GrantResult, Inspection


class SimulatedGrantAdapter(GrantAdapter):
    """Says what it would do; touches no platform."""

    def apply(self, spec) -> GrantResult:
        return GrantResult(
            statements=[f"(simulated) GRANT {', '.join(spec.privileges)} ON {spec.schema} TO {spec.principal}"]
        )

    def revoke(self, spec) -> GrantResult:
        return GrantResult(statements=[f"(simulated) REVOKE {spec.role_name} FROM {spec.principal}"])

    def inspect(self, spec) -> Inspection:  # pragma: no cover - reconciliation is not simulated
        raise NotImplementedError

    def managed_roles(self, prefix: str) -> set[str]:  # pragma: no cover
        return set()

    def remove(self, spec, privileges) -> GrantResult:  # pragma: no cover
        return GrantResult()


@contextmanager
def simulated_platform_grants():
    """Within the block, grant adapters of every platform kind are simulated (see module doc)."""
    simulated = "apps.insights.simulate:SimulatedGrantAdapter"
    with mock.patch.dict("apps.access.enforcement.ADAPTERS", {"postgresql": simulated, "mariadb": simulated}):
        yield
