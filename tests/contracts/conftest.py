"""A small world for contract tests: an HR domain and team with an owner, a product with an
output port on a platform whose catalog holds the humanresources schema (no warehouse needed),
and a consumer with an active grant."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.accounts.services import team_membership_set
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import AssetFactory, ColumnFactory, DataProductFactory, DomainFactory, OutputPortFactory
from tests.platforms.factories import PlatformFactory
from tests.sync.conftest import (  # noqa: F401 - shared fixtures
    aw_platform,
    make_mariadb_database,
    make_scratch_schema,
    mariadb_server,
    mariadb_sql,
    warehouse_sql,
)

BASE = """apiVersion: v3.1.0
kind: DataContract
id: urn:datacontract:hr:employees
version: {version}
status: active
name: employees
dataProduct: Employees
domain: human-resources
team:
  name: HR Data
schema:
  - name: employee
    physicalName: employee
    properties:
      - name: businessentityid
        logicalType: integer
        physicalType: integer
        required: true
        primaryKey: true
      - name: jobtitle
        logicalType: string
        physicalType: varchar(50)
        required: true
{extra}
"""


def contract_text(version: str = "1.0.0", extra: str = "") -> str:
    return BASE.format(version=version, extra=extra)


@pytest.fixture
def hr(db):
    team = TeamFactory(name="HR Data", slug="hr-data")
    owner = UserFactory(username="hana")
    team_membership_set(team=team, user=owner, role="owner")
    domain = DomainFactory(name="Human Resources", slug="human-resources", owner_team=team)
    platform = PlatformFactory(name="Warehouse", slug="warehouse", database="warehouse")
    employee = AssetFactory(platform=platform, schema="humanresources", name="employee")
    ColumnFactory(
        asset=employee, name="businessentityid", data_type="integer", nullable=False, is_primary_key=True, ordinal=1
    )
    ColumnFactory(asset=employee, name="jobtitle", data_type="character varying(50)", nullable=False, ordinal=2)
    product = DataProductFactory(
        name="Employees",
        slug="employees",
        domain=domain,
        owner_team=team,
        classification="confidential",
        summary="Who works here.",
    )
    port = OutputPortFactory(data_product=product, name="warehouse", platform=platform, schema="humanresources")
    return SimpleNamespace(
        team=team,
        owner=owner,
        domain=domain,
        platform=platform,
        product=product,
        port=port,
        employee=employee,
        unrelated=UserFactory(username="stranger"),
    )
