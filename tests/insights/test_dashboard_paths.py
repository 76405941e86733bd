"""The dashboard's fast paths give the numbers of the slow ones: one memo per page, trend lines
computed live in one pass, the previous period and past weeks from daily snapshots, and the
short-lived cache of the computed dashboard (per domain filter, invalidated by writes)."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.insights import dashboard_cache, kpis, selectors
from apps.insights.kpis import Period
from apps.insights.snapshots import kpi_snapshot_take, state_series, state_series_all
from tests.insights.conftest import PERIOD

pytestmark = pytest.mark.django_db

CUSTOM = {"range": "custom", "start": "2026-01-05", "end": "2026-01-18"}


def _snapshot_days(first: date, last: date) -> None:
    day = first
    while day <= last:
        kpi_snapshot_take(day=day)
        day += timedelta(days=1)


def _numbers(shown: dict) -> tuple[list, list]:
    tiles = [(t["kpi"].key, t["value"], t["previous"], t["change"], t.get("series")) for t in shown["tiles"]]
    charts = [(c.key, c.columns, c.rows) for c in shown["charts"]]
    return tiles, charts


def _count(queries, fragment: str) -> int:
    return sum(1 for q in queries if fragment in q["sql"])


def test_trend_lines_computed_live_in_one_pass_match_one_by_one(history):
    # given: a period of four trend points (Sundays 4, 11, 18 January and Sunday 25)
    period = Period(date(2026, 1, 1), date(2026, 1, 25))
    for domain_id in (None, history.hr.pk, history.sales.pk):
        p = Period(period.start, period.end, domain_id)
        # when: every point is computed live, the grants and backlog of all points in one query each
        with CaptureQueriesContext(connection) as queries:
            together = state_series_all(p, source="live")
        assert _count(queries.captured_queries, "kind = 'grant_active' AND a.at <") == 1
        # then: the same as each KPI's trend line computed on its own, point by point
        for key in kpis.STATE_KPIS:
            assert together[key] == state_series(p, key, source="live"), (domain_id, key)


def test_the_dashboard_from_snapshots_gives_the_live_numbers(history):
    # given: daily snapshots of the period and of the one before (previous period: 22 Dec - 4 Jan)
    _snapshot_days(PERIOD.previous().start, PERIOD.end)
    for domain_id in (None, history.hr.pk, history.sales.pk):
        period = Period(PERIOD.start, PERIOD.end, domain_id)
        # when: the dashboard is built from snapshots (today live) and entirely live
        with CaptureQueriesContext(connection) as from_snapshots:
            snapshot = selectors.kpi_dashboard(period=period, source="snapshot")
        with CaptureQueriesContext(connection) as computed:
            live = selectors.kpi_dashboard(period=period, source="live")
        # then: every tile, trend point and chart row is the same
        assert _numbers(snapshot) == _numbers(live), domain_id
        # and each is computed once: the grants at the end of the period in one query, time to
        # data of this period and the previous one in one query, both whole weeks of active users
        # read from their Sunday's snapshot
        snap, comp = from_snapshots.captured_queries, computed.captured_queries
        assert _count(snap, "kind = 'grant_active' AND a.at <") == 1
        assert _count(comp, "kind = 'grant_active' AND a.at <") == 1
        assert _count(snap, "GROUPING SETS") == _count(comp, "GROUPING SETS") == 1
        assert _count(snap, "count(DISTINCT user_id) FROM") == 0
        assert _count(comp, "count(DISTINCT user_id) FROM") == 1
        assert len(snap) < len(comp)
    values = {t["kpi"].key: t for t in selectors.kpi_dashboard(period=PERIOD)["tiles"]}
    assert values["backlog"]["value"] == 1 and values["backlog"]["series"][-1] == (date(2026, 1, 18), 1)
    assert values["ttd_p90_hours"]["value"] == 9.75


def test_active_users_per_week_from_snapshots_only_for_whole_weeks(history):
    from apps.insights import charts

    # given: snapshots of both Sundays; the period starts on Friday 9 January
    kpi_snapshot_take(day=date(2026, 1, 11))
    kpi_snapshot_take(day=date(2026, 1, 18))
    period = Period(date(2026, 1, 9), date(2026, 1, 18))
    # then: the week cut by the period's start counts from Friday only (sam's R2 on Sunday, not
    # ana's extension on Thursday, as the Sunday's 7-day snapshot would); the whole week of
    # 12 January is its Sunday's snapshot, the same as counted: ana, sam, hank and eric
    rows = [["2026-01-05", 1], ["2026-01-12", 4]]
    assert charts.active_users_by_week(period, source="snapshot").rows == rows
    assert charts.active_users_by_week(period, source="live").rows == rows


def test_top_searches_and_searches_with_no_result_in_one_pass(history):
    from apps.insights import charts
    from apps.insights.models import UsageEvent
    from tests.insights.history import at

    for query, results, n in [
        ("Payroll", 0, 3),
        ("orders", 5, 2),
        ("payroll", 0, 1),
        ("Churn", 0, 1),
        ("orders", 9, 1),
    ]:
        UsageEvent.objects.bulk_create(
            UsageEvent(kind="search", at=at(16, 10), query=query, result_count=results) for _ in range(n)
        )
    cache: dict = {}
    top = charts.top_searches(PERIOD, cache, limit=2)
    zero = charts.top_searches(PERIOD, cache, zero=True, limit=2)
    assert top.rows == [["payroll", 4, 0], ["orders", 3, 9]]
    assert zero.rows == [["payroll", 4, 0], ["churn", 1, 0]]
    assert charts.top_searches(Period(PERIOD.start, PERIOD.end, history.hr.pk)).rows == []  # searches have no domain


def _tile(page: str, key: str) -> str:
    return re.search(rf'id="tile-{key}".*?class="kpi-value"><a[^>]*>([^<]*)</a>', page, re.S).group(1)


@pytest.fixture
def cached(settings, monkeypatch):
    """The dashboard cache on, as outside a transaction (tests run in one, where nothing is cached)."""
    settings.INSIGHTS_DASHBOARD_CACHE_SECONDS = 60
    monkeypatch.setattr(dashboard_cache, "_in_transaction", lambda: False)
    dashboard_cache.invalidate()  # nothing from an earlier run on this database


def _new_transaction() -> None:
    """The test's transaction never commits: let what follows register its commit callback as a
    transaction of its own would (the history's writes registered one already)."""
    connection._insights_dashboard_registered_in = None


def test_the_cached_dashboard_is_per_domain_and_a_target_shows_at_once(
    client, history, cached, django_capture_on_commit_callbacks
):
    url = reverse("insights:dashboard")
    # given: HR's owner loads HR's dashboard (computed, then cached)
    client.force_login(history.hana)
    hr_page = client.get(url, {**CUSTOM, "domain": history.hr.pk}).content.decode()
    assert _tile(hr_page, "backlog") == "1"
    # then: Sales' owner never gets it: HR is not theirs (404 before any cache), their own domain
    # has its own numbers
    client.force_login(history.sam)
    assert client.get(url, {**CUSTOM, "domain": history.hr.pk}).status_code == 404
    sales_page = client.get(url, CUSTOM).content.decode()
    assert _tile(sales_page, "backlog") == "no data"
    # and an executive's "all domains" is its own entry, read from the cache the second time
    client.force_login(history.eric)
    first = client.get(url, CUSTOM).content.decode()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, CUSTOM).content.decode()
    assert _count(queries.captured_queries, "grant_active") == 0
    assert _tile(again, "backlog") == _tile(first, "backlog") == "1"
    # when: a steward sets a target, the next load shows it (the write invalidated the cache)
    client.force_login(history.greta)
    assert "on track" not in client.get(url, CUSTOM).content.decode()
    _new_transaction()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("insights:target_create"),
            {
                "kpi": "ttd_median_hours",
                "value": 24,
                "direction": "at_most",
                "start": "2026-01-01",
                "end": "2026-03-31",
            },
        )
    assert "on track" in client.get(url, CUSTOM).content.decode()
    # and live (every point computed) is never cached
    with CaptureQueriesContext(connection) as queries:
        client.get(url, {**CUSTOM, "source": "live"})
        client.get(url, {**CUSTOM, "source": "live"})
    assert _count(queries.captured_queries, "kind = 'grant_active' AND a.at <") == 2


def test_access_lifecycle_events_invalidate_the_cached_dashboard_once_per_transaction(
    history, cached, django_capture_on_commit_callbacks
):
    from django.core.cache import caches

    from apps.insights.choices import UsageEventKind
    from apps.insights.services import event_record

    key = dashboard_cache._version_key()
    before = caches["shared"].get(key)
    _new_transaction()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event_record(kind=UsageEventKind.REQUEST_CANCELLED, access_request=history.r6)
        event_record(kind=UsageEventKind.QUALITY_RUN, data_product=history.pay)
    assert callbacks.count(dashboard_cache.invalidate) == 1
    assert caches["shared"].get(key) == before + 1
