"""The demo's simulated history fills every KPI the executive sees (through the real services)."""

import pytest

from apps.access.models import AccessRequest
from apps.demo import loader
from apps.insights import kpis
from apps.insights.demo_history import demo_history
from apps.platforms.models import Platform
from apps.sync.services import platform_sync

pytestmark = pytest.mark.django_db

# Filled after a short history; the rest need more than 60 days or real-time data (today's backlog).
EXPECTED_FILLED = {
    "published_products",
    "products_with_consumer",
    "wau",
    "mau",
    "active_consumers",
    "teams_consuming_share",
    "self_service_share",
    "ttd_median_hours",
    "ttd_p90_hours",
    "waiting_median_hours",
    "provisioning_median_hours",
    "approval_lead_median_hours",
    "approval_rate",
    "cross_domain_share",
    "live_value",
    "products_without_use_case",
    "monthly_cost",
    "cost_per_consumer",
    "searches",
    "zero_result_share",
    "sync_success_rate",
}


def test_demo_history_fills_the_dashboard_once(aw_warehouse, client):
    # given: the demo, synced (storage sizes for the cost KPIs)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    platform_sync(platform=Platform.objects.get(slug=loader.PLATFORM_SLUG))
    # when
    counts = demo_history(days=60)
    # then
    # Some simulated requests target the demo's port awaiting exposure review and are refused.
    assert counts["requests"] > 15 and counts["approved"] > 10 and counts["searches"] > 50
    values = kpis.kpi_values(kpis.last_days(60))
    assert {k for k, v in values.items() if v is not None} >= EXPECTED_FILLED, values
    assert demo_history(days=60) == {"skipped": 1}
    n = AccessRequest.objects.count()
    client.force_login(loader.User.objects.get(username="eric"))
    assert client.get("/insights/?range=90").status_code == 200
    assert AccessRequest.objects.count() == n
