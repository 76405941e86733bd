"""The demo on real input: AdventureWorks becomes five domains with products, and the synced
catalog shows its 68 tables with their descriptions on the product pages."""
import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.catalog.models import Asset, DataProduct, Domain
from apps.catalog.selectors import data_product_list
from apps.demo import loader
from apps.platforms.models import Platform, PlatformIdentity
from apps.sync.services import platform_sync

pytestmark = pytest.mark.django_db


def test_demo_load_is_idempotent_and_syncs_adventureworks(aw_warehouse, client):
    # when: loaded twice
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    # then
    assert sorted(Domain.objects.values_list("name", flat=True)) == [
        "Human Resources", "Person", "Production", "Purchasing", "Sales"]
    assert DataProduct.objects.count() == 5 + 1  # and jaffle_shop's "Customer orders"
    assert set(User.objects.values_list("username", flat=True)) == {u[0] for u in loader.USERS}
    platform = Platform.objects.get(slug=loader.PLATFORM_SLUG)
    assert PlatformIdentity.objects.filter(platform=platform).count() == len(loader.USERS)
    # when: the warehouse is synced
    run = platform_sync(platform=platform)
    # then: 68 tables, each business schema in its product
    assert run.status == "succeeded", run.error
    assert Asset.objects.filter(kind="table").count() == 68
    ana = User.objects.get(username="ana")
    client.force_login(ana)
    response = client.get(reverse("catalog:product_detail", args=["employees-and-pay-history"]))
    assert b"employeepayhistory" in response.content
    assert b"Employee pay history" in response.content  # the table's COMMENT
    assert b"Hana Hughes" in response.content  # the owner
    # and a business user finds the HR product by a column's words
    assert [p.slug for p in data_product_list(user=ana, query="pay rate")] == ["employees-and-pay-history"]
