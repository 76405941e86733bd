"""The demo shows every contract state on the generated warehouse rows: a contract per product,
zero drift but on Persons (drifts on purpose), every rule passing but Sales' "Shipped orders have
a ship date" (an open incident), HR's latency SLA met, and hourly quality runs to draw trends."""

from __future__ import annotations

import pytest

from apps.catalog.models import DataContract, DataProduct
from apps.contracts.drift import contract_drift_check
from apps.contracts.models import DriftFinding, Incident, QualityRun
from apps.contracts.selectors import quality_latest, trust_summary
from apps.demo import loader
from apps.platforms.models import Platform
from apps.sync.services import platform_sync

pytestmark = pytest.mark.django_db

SALES, PERSONS, HR = "sales-orders-and-customers", "persons-and-contacts", "employees-and-pay-history"


def test_demo_contracts(aw_warehouse):
    # when: loaded twice (idempotent: the second load adds no version and no quality run)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    runs = QualityRun.objects.count()
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    # then: a contract per product, and QUALITY_HISTORY_RUNS hourly runs for each
    assert DataContract.objects.count() == len(loader.CONTRACTS) == DataProduct.objects.count()
    assert QualityRun.objects.count() == runs == len(loader.CONTRACTS) * loader.QUALITY_HISTORY_RUNS
    assert DataContract.objects.get(data_product__slug=HR).status == "production"
    products = {p.slug: p for p in DataProduct.objects.all()}

    # quality: every rule passes (HR's latency SLA too) but Sales' planted one, which opened one incident
    failing = {}
    for slug, product in products.items():
        latest = QualityRun.objects.filter(data_product=product).first()
        assert latest.errors == 0, (slug, list(latest.results.values_list("name", "reason")))
        failing[slug] = sorted(latest.results.filter(status="fail").values_list("name", "measured_value"))
        assert latest.passed >= 1, slug
        trend = quality_latest(product=product)
        assert {len(row["trend"]) for row in trend} == {loader.QUALITY_HISTORY_RUNS}, slug
    assert failing == {slug: [] for slug in products} | {SALES: [("Shipped orders have a ship date", 4.0)]}
    hr_sla = QualityRun.objects.filter(data_product=products[HR]).first().results.get(metric="latency")
    assert hr_sla.status == "pass" and 0 < hr_sla.measured_value < 1  # days
    incidents = Incident.objects.filter(status="open")
    assert [(i.data_product.slug, i.title) for i in incidents] == [(SALES, "Shipped orders have a ship date failed")]

    # drift (after the syncs): none but on Persons, on purpose
    for platform in Platform.objects.exclude(kind="dbt"):
        assert platform_sync(platform=platform).status == "succeeded"
    drift = {slug: contract_drift_check(product_id=product.pk) for slug, product in products.items()}
    assert drift == {slug: 0 for slug in products} | {PERSONS: drift[PERSONS]} and drift[PERSONS] > 0
    kinds = set(DriftFinding.objects.filter(data_product=products[PERSONS]).values_list("kind", flat=True))
    assert {"missing_column", "nullability", "extra_column"} <= kinds

    # trust: the three states a consumer sees
    levels = {slug: trust_summary(product=product)["level"] for slug, product in products.items()}
    assert levels == {slug: "good" for slug in products} | {PERSONS: "warning", SALES: "poor"}
    assert trust_summary(product=products[HR])["freshness"] == "met"
