"""KPI numbers on a known history (tests/insights/history.py), worked out by hand."""

from datetime import date

import pytest
from django.test import override_settings

from apps.insights import charts, kpis
from apps.insights.kpis import Period
from tests.insights.history import at

pytestmark = pytest.mark.django_db

# Two weeks, Monday 5 to Sunday 18 January 2026.
from tests.insights.conftest import PERIOD  # noqa: E402


def test_time_to_data_median_and_p90(history):
    # given: submitted -> usable R1 4.5 h, R2 1.5 h, R5 12 h, R7 10 min (the extension has no grant of its own)
    values = kpis.kpi_values(PERIOD)
    # then: percentile_cont over [0.1667, 1.5, 4.5, 12]
    assert values["ttd_median_hours"] == 3.0
    assert values["ttd_p90_hours"] == 9.75  # 4.5 + 0.7 * (12 - 4.5)
    assert values["waiting_median_hours"] == 2.0  # [0, 0, 4, 10]
    assert values["provisioning_median_hours"] == 1.0  # [1/6, 0.5, 1.5, 2]


def test_approval_steps_rates_and_self_service(history):
    values = kpis.kpi_values(PERIOD)
    assert values["approval_lead_median_hours"] == 7.0  # steps of 2, 4, 10 and 24 hours
    assert values["approval_rate"] == round(5 / 6, 4)  # R1, E1, R2, R5, R7 approved; R3 rejected
    assert values["self_service_share"] == 0.4  # R2 and R7 by policy, of five approvals


def test_backlog_and_past_sla(history):
    values = kpis.kpi_values(PERIOD)
    assert values["backlog"] == 1  # R6
    assert values["past_sla"] == 1  # waiting since Wednesday, due Friday
    # before Friday 9:00 it is not past its SLA yet
    assert kpis.kpi_values(Period(date(2026, 1, 14), date(2026, 1, 15)))["past_sla"] == 0


def test_revoked_and_granted_again_counts_once_as_active(history):
    values = kpis.kpi_values(PERIOD)
    # active at the end: R2 (Sales team), R5 (ana, granted again after R1 was revoked), R7 (hank)
    assert values["active_consumers"] == 3
    assert values["products_with_consumer"] == 2
    # R1 was active on Thursday 8 (extended), not on Saturday 10
    assert [g[0] for g in kpis.active_grants_at(at(9, 0))] == [history.r1.pk]
    assert kpis.active_grants_at(at(10, 0)) == []


def test_reuse_by_domain_with_a_request_on_behalf_of_a_team(history):
    values = kpis.kpi_values(PERIOD)
    # R2: HR -> Sales (team asked for); R5: HR -> (ana's team owns no domain); R7: HR -> HR
    assert values["cross_domain_share"] == round(2 / 3, 4)
    assert values["products_multi_domain"] == 1  # Open: Sales and HR
    matrix = charts.reuse_matrix(PERIOD)
    assert matrix.columns == ["producer \\ consumer", "(no domain)", "Human Resources", "Sales"]
    assert matrix.rows == [["Human Resources", 1, 1, 1]]


def test_active_users(history):
    values = kpis.kpi_values(PERIOD)
    assert values["wau"] == 4  # 12-18 Jan: ana (R5), sam (R6), hank (R7), eric (a view)
    assert values["mau"] == 4


def test_weeks_start_on_monday_in_the_configured_time_zone(history, settings):
    # Berlin: R2's grant (Monday 00:30) falls in the week of 12 January
    rows = {r[0]: r for r in charts.ttd_by_week(PERIOD).rows}
    assert rows["2026-01-05"][1:3] == [4.5, 4.5]
    assert rows["2026-01-12"][1] == 1.5  # median of [1/6, 1.5, 12]
    assert rows["2026-01-12"][5] == 3
    # UTC: the same grant is Sunday 23:30, in the week of 5 January
    settings.TIME_ZONE = "UTC"
    rows = {r[0]: r for r in charts.ttd_by_week(PERIOD).rows}
    assert rows["2026-01-05"][1] == 3.0  # median of [1.5, 4.5]
    assert rows["2026-01-12"][5] == 2


def test_per_classification(history):
    rows = {r[0]: r for r in charts.ttd_by_classification(PERIOD).rows}
    assert rows["confidential"][1:] == [8.25, 11.25, 7.0, 1.25, 2]  # R1 4.5 h and R5 12 h
    assert rows["public"][1:] == [0.83, 1.37, 0.0, 0.83, 2]  # R2 1.5 h and R7 10 min


def test_domain_filter(history):
    sales = kpis.kpi_values(Period(PERIOD.start, PERIOD.end, history.sales.pk))
    assert sales["ttd_median_hours"] is None
    assert sales["backlog"] is None  # nobody ever asked for a Sales product
    hr = kpis.kpi_values(Period(PERIOD.start, PERIOD.end, history.hr.pk))
    assert hr["ttd_median_hours"] == 3.0 and hr["backlog"] == 1


def test_empty_history_is_no_data_never_zero():
    values = kpis.kpi_values(PERIOD)
    assert set(values.values()) == {None}, {k: v for k, v in values.items() if v is not None}


@override_settings(TIME_ZONE="Europe/Berlin")
def test_the_backfill_gives_the_same_numbers(history):
    from apps.insights.backfill import usage_events_backfill
    from apps.insights.models import UsageEvent

    before = kpis.kpi_values(PERIOD)
    UsageEvent.objects.exclude(kind="product_view").delete()
    usage_events_backfill()
    after = kpis.kpi_values(PERIOD)
    assert {
        k: after[k]
        for k in (
            "ttd_median_hours",
            "ttd_p90_hours",
            "backlog",
            "approval_rate",
            "self_service_share",
            "active_consumers",
            "cross_domain_share",
        )
    } == {
        k: before[k]
        for k in (
            "ttd_median_hours",
            "ttd_p90_hours",
            "backlog",
            "approval_rate",
            "self_service_share",
            "active_consumers",
            "cross_domain_share",
        )
    }
