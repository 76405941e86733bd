"""The insights pages and API: who sees what, filters, CSV, drill-down, targets, snapshots."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps.insights import kpis
from apps.insights.models import KpiSnapshot, KpiTarget, UsageEvent
from apps.insights.snapshots import kpi_snapshot_take, state_series
from tests.insights.conftest import PERIOD

pytestmark = pytest.mark.django_db

CUSTOM = {"range": "custom", "start": "2026-01-05", "end": "2026-01-18"}


def test_who_sees_the_dashboard(client, history):
    url = reverse("insights:dashboard")
    for user, status in [
        (history.eric, 200),
        (history.greta, 200),
        (history.hana, 200),
        (history.ana, 404),
        (history.hank, 404),
    ]:
        client.force_login(user)
        assert client.get(url, CUSTOM).status_code == status, user
    # a domain owner sees their domain's only
    client.force_login(history.hana)
    assert client.get(url, {**CUSTOM, "domain": history.hr.pk}).status_code == 200
    assert client.get(url, {**CUSTOM, "domain": history.sales.pk}).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_dashboard_shows_tiles_definitions_and_charts(client, history):
    client.force_login(history.eric)
    page = client.get(reverse("insights:dashboard"), CUSTOM).content.decode()
    assert escape(kpis.KPIS["ttd_median_hours"].definition) in page
    assert "3.0 h" in page and "9.8 h" in page  # median 3.0 h, p90 9.75 h
    assert "Cross-domain consumption" in page and 'class="heatmap"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page


def test_bad_filter_is_400_not_500(client, history):
    client.force_login(history.eric)
    assert (
        client.get(
            reverse("insights:dashboard"), {"range": "custom", "start": "2026-02-01", "end": "2026-01-01"}
        ).status_code
        == 400
    )
    assert client.get(reverse("insights:dashboard"), {"range": "custom", "start": "nope"}).status_code == 400


def test_chart_csv_and_drill_down_to_requests_past_sla(client, history):
    client.force_login(history.eric)
    csv = client.get(reverse("insights:chart_csv", args=["ttd_by_classification"]), CUSTOM).content.decode()
    assert csv.splitlines()[0] == "classification,median h,p90 h,waiting median h,provisioning median h,grants"
    assert csv.splitlines()[1] == "confidential,8.25,11.25,7.0,1.25,2"
    page = client.get(reverse("insights:drill", args=["past_sla"]), CUSTOM).content.decode()
    assert f"#{history.r6.pk}" in page and f"#{history.r5.pk}" not in page
    week = client.get(
        reverse("insights:drill", args=["grants_usable"]), {**CUSTOM, "point": "2026-01-12"}
    ).content.decode()
    assert f"#{history.r2.pk}" in week and f"#{history.r1.pk}" not in week


def test_api_values_and_chart_with_permissions(client, history):
    client.force_login(history.eric)
    body = client.get("/api/v1/kpis/values/", CUSTOM).json()
    values = {k["key"]: k for k in body["kpis"]}
    assert values["ttd_p90_hours"]["value"] == 9.75
    assert values["ttd_p90_hours"]["definition"] == kpis.KPIS["ttd_p90_hours"].definition
    chart = client.get("/api/v1/kpis/charts/reuse_matrix/", CUSTOM).json()
    assert chart["rows"] == [["Human Resources", 1, 1, 1]]
    assert client.get("/api/v1/kpis/charts/nope/", CUSTOM).status_code == 404
    assert client.get("/api/v1/kpis/values/", {"range": "custom"}).status_code == 400
    client.force_login(history.ana)
    assert client.get("/api/v1/kpis/values/", CUSTOM).status_code == 404


def test_a_steward_sets_a_target_and_the_tile_says_on_track(client, history):
    client.force_login(history.greta)
    response = client.post(
        reverse("insights:target_create"),
        {"kpi": "ttd_median_hours", "value": 24, "direction": "at_most", "start": "2026-01-01", "end": "2026-03-31"},
    )
    assert response.status_code == 302
    assert KpiTarget.objects.get().kpi == "ttd_median_hours"
    page = client.get(reverse("insights:dashboard"), CUSTOM).content.decode()
    assert "on track" in page
    client.force_login(history.eric)  # executives look, stewards set
    assert client.post(reverse("insights:target_create"), {"kpi": "backlog"}).status_code == 404


def test_snapshots_and_live_give_the_same_numbers(history):
    # given: a snapshot of every day of the period
    day = PERIOD.start
    while day <= PERIOD.end:
        kpi_snapshot_take(day=day)
        day = date.fromordinal(day.toordinal() + 1)
    assert KpiSnapshot.objects.filter(domain__isnull=True).count() == 14
    # then: every state KPI's trend line is the same from snapshots and live
    for key in kpis.STATE_KPIS:
        assert state_series(PERIOD, key, source="snapshot") == state_series(PERIOD, key, source="live"), key
    assert dict(state_series(PERIOD, "backlog"))[date(2026, 1, 18)] == 1


def test_executive_lands_on_the_dashboard(client, history):
    response = client.post(reverse("login"), {"username": "eric", "password": "pw"})
    assert response.url == reverse("insights:dashboard")
    assert 'href="/insights/"' in client.get(reverse("catalog:marketplace")).content.decode()
    response = client.post(reverse("login"), {"username": "ana", "password": "pw"})
    assert response.url != reverse("insights:dashboard")
    assert 'href="/insights/">Insights</a>' not in client.get(reverse("catalog:marketplace")).content.decode()


def test_asking_for_a_new_data_product_notifies_the_stewards(client, history):
    from apps.notifications.models import Notification

    client.force_login(history.ana)
    client.post(reverse("insights:request_product"), {"query": "payroll forecast"})
    assert UsageEvent.objects.filter(kind="product_requested", query="payroll forecast").count() == 1
    assert list(Notification.objects.values_list("recipient__username", "verb")) == [("greta", "product_demand")]


def test_a_domain_page_shows_its_kpis_to_its_owners_only(client, history):
    url = reverse("catalog:domain_detail", args=[history.hr.slug])
    client.force_login(history.hana)
    assert "KPIs, last 90 days" in client.get(url).content.decode()
    client.force_login(history.ana)
    assert "KPIs, last 90 days" not in client.get(url).content.decode()


def test_a_request_can_record_its_use_case(client, history):
    from apps.insights.models import UseCase
    from apps.insights.services import use_case_attach

    use_case = use_case_attach(actor=history.ana, access_request=history.r5, name="Pay equity")
    assert use_case_attach(actor=history.ana, access_request=history.r1, name="pay equity") == use_case
    assert UseCase.objects.get().status == "planned"
    assert set(use_case.access_requests.all()) == {history.r1, history.r5}
    assert list(use_case.data_products.all()) == [history.pay]


def test_all_trend_lines_at_once_match_one_by_one(history):
    from apps.insights.snapshots import state_series_all

    kpi_snapshot_take(day=date(2026, 1, 11))
    together = state_series_all(PERIOD, source="snapshot")
    for key in kpis.STATE_KPIS:
        assert together[key] == state_series(PERIOD, key, source="live"), key


def test_the_navigation_rule_agrees_with_the_domain_rule(history):
    """``kpi_can_view_any`` (one EXISTS query, asked on every page) says yes exactly when
    ``kpi_domain_ids`` is None (every domain) or lists at least one domain."""
    from apps.accounts.models import User
    from apps.insights.permissions import kpi_can_view_any, kpi_domain_ids

    for user in User.objects.all():
        allowed = kpi_domain_ids(user)
        assert kpi_can_view_any(user) == (allowed is None or bool(allowed)), user.username
    assert kpi_can_view_any(history.hana) and not kpi_can_view_any(history.ana)
