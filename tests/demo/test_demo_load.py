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
        "Human Resources",
        "Person",
        "Production",
        "Purchasing",
        "Sales",
    ]
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


def test_demo_ports_are_approved_exposures_and_greta_has_one_review(aw_warehouse, client):
    from apps.catalog.models import OutputPort
    from apps.platforms.models import ExposureAssignment

    # when
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    # then: the five business schemas and jaffle_shop's are assigned; every demo port is approved but one
    platform = Platform.objects.get(slug=loader.PLATFORM_SLUG)
    assert sorted(ExposureAssignment.objects.filter(platform=platform).values_list("schema", flat=True)) == sorted(
        loader.PRODUCTS
    )
    assert ExposureAssignment.objects.filter(platform__slug=loader.JAFFLE_WAREHOUSE_SLUG).count() == 1
    pending = OutputPort.objects.exclude(exposure_status="approved")
    assert [(p.data_product.slug, p.location.split(".", 1)[1], p.exposure_status) for p in pending] == [
        ("sales-orders-and-customers", "person.businessentitycontact", "pending_review")
    ]
    assert OutputPort.objects.filter(exposure_status="approved").count() == 5 + 2
    # and greta sees it on her review page
    client.force_login(User.objects.get(username="greta"))
    page = client.get(reverse("catalog:exposure_reviews")).content.decode()
    assert f"review-{pending[0].pk}" in page and "Store contacts" in page
