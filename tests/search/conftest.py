"""A small catalog for search tests: products with ports, tables and columns on a platform
record (no warehouse connection is needed: search reads the catalog), indexed for real."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission

from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.search.indexing import index_products
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import (
    AssetFactory,
    ColumnFactory,
    DataProductFactory,
    DomainFactory,
    OutputPortFactory,
)
from tests.platforms.factories import PlatformFactory


def product_with_table(*, name, schema, table, columns=(), summary="", platform, **fields):
    """A data product whose output port is ``schema`` with one table and its columns
    (``columns``: (name, description) pairs)."""
    product = DataProductFactory(name=name, summary=summary, **fields)
    OutputPortFactory(data_product=product, name=f"{schema} schema", platform=platform, schema=schema)
    asset = AssetFactory(platform=platform, schema=schema, name=table, description=fields.get("description", ""))
    for i, (column, description) in enumerate(columns, start=1):
        ColumnFactory(asset=asset, name=column, ordinal=i, description=description)
    return product


@pytest.fixture
def catalog(db):
    """Three published products, a draft and a retired one; ``owner`` is in the HR team."""
    platform = PlatformFactory(slug="warehouse", name="Warehouse")
    hr_team, sales_team = TeamFactory(name="HR Data", slug="hr-data"), TeamFactory(name="Sales Data", slug="sales-data")
    hr, sales = DomainFactory(name="Human Resources", slug="hr"), DomainFactory(name="Sales", slug="sales")
    owner, unrelated, steward = (
        UserFactory(username="owner"),
        UserFactory(username="unrelated"),
        UserFactory(username="steward"),
    )
    team_membership_set(team=hr_team, user=owner, role=TeamRole.OWNER)
    stewards, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    stewards.permissions.add(*Permission.objects.filter(codename__in=["view_accessrequest", "view_dataproduct"]))
    steward.groups.add(stewards)
    pay = product_with_table(
        name="Employees and pay history",
        slug="employees",
        summary="People and their positions.",
        domain=hr,
        owner_team=hr_team,
        classification="confidential",
        tags=["hr"],
        platform=platform,
        schema="humanresources",
        table="employeepayhistory",
        columns=[("rate", "Salary hourly rate."), ("ratechangedate", "Date the change in pay is effective")],
    )
    customers = product_with_table(
        name="Sales orders and customers",
        slug="sales-orders",
        summary="Customers and their orders.",
        domain=sales,
        owner_team=sales_team,
        classification="public",
        tags=["sales", "customers"],
        platform=platform,
        schema="sales",
        table="customer",
        columns=[("customerid", "Primary key."), ("territoryid", "Sales territory")],
    )
    vendors = product_with_table(
        name="Vendors",
        slug="vendors",
        summary="Companies we buy from.",
        domain=sales,
        owner_team=sales_team,
        classification="internal",
        platform=platform,
        schema="purchasing",
        table="vendor",
        columns=[("creditrating", "1 = Superior, 5 = Below average")],
    )
    draft = product_with_table(
        name="Customer churn draft",
        slug="churn-draft",
        status="draft",
        domain=hr,
        owner_team=hr_team,
        platform=platform,
        schema="draft",
        table="churn",
        columns=[("customer_score", "Churn score of the customer")],
    )
    retired = product_with_table(
        name="Old customer list",
        slug="old-customers",
        status="retired",
        domain=sales,
        owner_team=sales_team,
        platform=platform,
        schema="old",
        table="customers",
    )
    index_products()
    return SimpleNamespace(
        platform=platform,
        hr_team=hr_team,
        sales_team=sales_team,
        hr=hr,
        sales=sales,
        owner=owner,
        unrelated=unrelated,
        steward=steward,
        pay=pay,
        customers=customers,
        vendors=vendors,
        draft=draft,
        retired=retired,
    )
