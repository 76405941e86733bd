"""Query counts of the busiest pages, pinned (issue 13): a change that adds a query per page, or
one per row (N+1), fails here. The counts are for a consumer with no team, no delegations, inside
the test's transaction (so the navigation badges are computed, not read from the cache; the marketplace
fragment's key adds the person's access requests and visibility: tests/catalog/test_marketplace_cache.py
pins the cached counts)."""

import pytest
from django.urls import reverse

from apps.search.indexing import index_products
from tests.accounts.factories import UserFactory
from tests.catalog.factories import (
    AssetFactory,
    ColumnFactory,
    DataContractFactory,
    DataProductFactory,
    OutputPortFactory,
)
from tests.platforms.factories import PlatformFactory

pytestmark = pytest.mark.django_db

TABS = ["overview", "ports", "schema", "contract", "quality", "lineage", "consumers", "access", "activity"]


@pytest.fixture
def shop():
    platform = PlatformFactory()
    products = []
    for i in range(3):
        product = DataProductFactory(name=f"Customer orders {i}", slug=f"customer-orders-{i}")
        OutputPortFactory(data_product=product, platform=platform, schema=f"shop{i}")
        DataContractFactory(data_product=product)
        for t in range(3):
            asset = AssetFactory(platform=platform, schema=f"shop{i}", name=f"orders_{t}")
            for c in range(4):
                ColumnFactory(asset=asset, name=f"customer_{c}", ordinal=c + 1)
    index_products(product_ids=None)
    return products


def _count(client, url, data=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, data)  # warm the per-process caches (content types, vocabulary)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, data).status_code == 200
    return len(ctx)


def test_product_page_tabs_run_a_fixed_number_of_queries(client, shop):
    client.force_login(UserFactory())
    url = reverse("catalog:product_detail", args=["customer-orders-1"])
    counts = {tab: _count(client, url, {"tab": tab}) for tab in TABS}
    assert counts == PRODUCT_PAGE_QUERIES


def test_search_and_home_run_a_fixed_number_of_queries(client, shop):
    client.force_login(UserFactory())
    assert _count(client, reverse("catalog:marketplace"), {"q": "customer orders"}) == SEARCH_QUERIES
    assert _count(client, reverse("catalog:marketplace")) == HOME_QUERIES


PRODUCT_PAGE_QUERIES = {
    "overview": 29,
    "ports": 18,
    "schema": 21,
    "contract": 21,
    "quality": 20,
    "lineage": 22,
    "consumers": 21,
    "access": 18,
    "activity": 21,
}
SEARCH_QUERIES = 26
HOME_QUERIES = 22
