"""Lineage and quality of a data product (``data_product_lineage``, ``data_product_quality``) on
jaffle_shop synced from PostgreSQL and its dbt artifacts, and how the product page shows them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.catalog.models import QualityCheck
from apps.catalog.selectors import data_product_get, data_product_lineage, data_product_quality
from apps.sync.services import platform_sync
from tests.accounts.factories import UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory
from tests.sync.dbt_fixtures import *  # noqa: F403

pytestmark = [pytest.mark.django_db, pytest.mark.platform]


@pytest.fixture
def synced(jaffle_warehouse, dbt_platform, artifacts_dir):
    def expose(manifest):
        manifest["exposures"]["exposure.jaffle_shop.revenue"] = {
            "unique_id": "exposure.jaffle_shop.revenue",
            "name": "revenue",
            "label": "Revenue dashboard",
            "type": "dashboard",
            "url": "javascript:alert(1)",
            "owner": {"name": "Finance"},
            "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
        }

    artifacts_dir.edit("manifest.json", expose)
    for platform in (jaffle_warehouse, dbt_platform):
        assert platform_sync(platform=platform).status == "succeeded"
    return jaffle_warehouse


def _product(warehouse, *tables, status="published"):
    product = DataProductFactory(name="Customer orders", slug="customer-orders", status=status)
    for table in tables:
        OutputPortFactory(
            data_product=product, name=table, platform=warehouse, schema="analytics", table=table, port_type="table"
        )
    return product


def _load(product):
    user = UserFactory(is_superuser=True)
    return data_product_get(user=user, slug=product.slug)


def test_lineage_walks_upstream_to_the_seeds(synced, django_assert_num_queries):
    # given
    product = _load(_product(synced, "customers", "orders"))

    # when: assets, 3 hops up (the last finds nothing), 1 down
    with django_assert_num_queries(5):
        lineage = data_product_lineage(product=product)

    # then
    assert [a.name for a in lineage.assets] == ["customers", "orders"]
    assert [(n.asset.name, n.depth) for n in lineage.upstream] == [
        ("stg_customers", 1),
        ("stg_orders", 1),
        ("stg_payments", 1),
        ("raw_customers", 2),
        ("raw_orders", 2),
        ("raw_payments", 2),
    ]
    assert lineage.downstream == []
    assert len(lineage.edges) == 8
    # the dashboard reading orders is a downstream consumer; its unsafe link is dropped
    assert [(c["label"], c["asset"].name, c["url"]) for c in lineage.consumers] == [("Revenue dashboard", "orders", "")]


def test_lineage_downstream_of_staging(synced):
    # given
    product = _load(_product(synced, "stg_orders"))

    # when
    lineage = data_product_lineage(product=product)

    # then
    assert [(n.asset.name, n.depth) for n in lineage.upstream] == [("raw_orders", 1)]
    assert [(n.asset.name, n.depth) for n in lineage.downstream] == [("customers", 1), ("orders", 1)]


def test_quality_summary_counts_and_puts_failures_first(synced, django_assert_num_queries):
    # given
    product = _load(_product(synced, "customers", "orders"))
    failing = QualityCheck.objects.get(asset__name="orders", name="not_null", column_name="amount")
    failing.status, failing.message = "fail", "3 failing rows"
    failing.save()

    # when
    with django_assert_num_queries(1):
        quality = data_product_quality(product=product)

    # then: customers has 2 tests, orders 10
    assert (quality.total, quality.passed, quality.failed, quality.warned) == (12, 11, 1, 0)
    assert quality.status == "fail"
    assert quality.checks[0] == failing
    assert quality.last_run_at is not None


def test_product_without_dbt_has_empty_lineage_and_quality(synced):
    # given
    product = _load(DataProductFactory())

    # then
    assert data_product_lineage(product=product).is_empty
    assert data_product_quality(product=product).status == "unknown"


def test_product_page_shows_dbt_docs_quality_and_lineage(client, synced):
    # given
    product = _product(synced, "customers", "orders")
    reader = UserFactory()
    client.force_login(reader)

    # when: the overview, schema, quality and lineage tabs
    url = reverse("catalog:product_detail", args=[product.slug])
    page = "".join(
        client.get(url, {"tab": tab} if tab else {}).content.decode() for tab in ("", "schema", "quality", "lineage")
    )

    # then
    assert "This table has basic information about a customer" in page  # dbt description, no DB comment
    assert "This is a unique identifier for an order" in page  # dbt column doc
    assert "12 of 12 checks passed" in page
    assert "analytics.stg_payments" in page and "2 steps up" in page
    assert "Revenue dashboard" in page and "javascript:" not in page


def test_draft_product_lineage_is_not_shown_to_strangers(client, synced):
    # given
    product = _product(synced, "customers", status="draft")
    owner = UserFactory()
    team_membership_set(team=product.owner_team, user=owner, role=TeamRole.MEMBER)

    # when / then
    client.force_login(UserFactory())
    assert client.get(reverse("catalog:product_detail", args=[product.slug])).status_code == 404
    client.force_login(owner)
    assert (
        b"stg_customers"
        in client.get(reverse("catalog:product_detail", args=[product.slug]), {"tab": "lineage"}).content
    )
