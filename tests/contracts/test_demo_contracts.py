"""The demo shows every contract state: a contract per product, zero drift on HR, drift on
Persons, failing rules (and an incident) on HR's empty tables, passing rules on jaffle_shop."""
from __future__ import annotations

import pytest

from apps.catalog.models import DataContract, DataProduct
from apps.contracts.drift import contract_drift_check
from apps.contracts.models import DriftFinding, Incident
from apps.contracts.services import contract_quality_run
from apps.demo import loader
from apps.platforms.models import Platform
from apps.sync.services import platform_sync

pytestmark = pytest.mark.django_db


def test_demo_contracts(aw_warehouse):
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)  # idempotent
    assert DataContract.objects.count() == len(loader.CONTRACTS) == DataProduct.objects.count()
    assert DataContract.objects.get(data_product__slug="employees-and-pay-history").status == "production"
    for platform in Platform.objects.exclude(kind="dbt"):
        assert platform_sync(platform=platform).status == "succeeded"
    products = {p.slug: p for p in DataProduct.objects.all()}
    # drift: none on HR, on purpose on Persons
    assert contract_drift_check(product_id=products["employees-and-pay-history"].pk) == 0
    assert contract_drift_check(product_id=products["persons-and-contacts"].pk) > 0
    kinds = set(DriftFinding.objects.filter(data_product=products["persons-and-contacts"]).values_list("kind", flat=True))
    assert {"missing_column", "nullability", "extra_column"} <= kinds
    # quality: HR's tables are empty, so its rowCount rule fails and opens an incident
    hr_run = contract_quality_run(product_id=products["employees-and-pay-history"].pk)
    assert hr_run.failed >= 1
    assert Incident.objects.filter(data_product=products["employees-and-pay-history"], status="open").exists()
    orders = contract_quality_run(product_id=products[loader.JAFFLE_PRODUCT_SLUG].pk)
    assert (orders.passed, orders.failed, orders.errors) == (6, 0, 0)
