"""Usage events: product views and searches (zero results = unmet demand)."""

import pytest
from django.urls import reverse

from apps.insights.models import UsageEvent
from apps.insights.selectors import zero_result_searches
from apps.insights.services import usage_event_record_search

pytestmark = pytest.mark.django_db


def test_a_search_with_no_result_is_recorded_as_unmet_demand(client, catalog):
    # given
    client.force_login(catalog.unrelated)
    # when
    client.get(reverse("catalog:marketplace"), {"q": "quantum flux"})
    # then
    event = UsageEvent.objects.get(kind="search")
    assert (event.query, event.result_count, event.user) == ("quantum flux", 0, catalog.unrelated)
    assert list(zero_result_searches().values_list("query", "n")) == [("quantum flux", 1)]


def test_typing_as_you_go_records_one_search_for_the_settled_query(catalog):
    # when: the marketplace searches after each pause in typing
    for text, found in [("sa", 3), ("sal", 2), ("salary", 1)]:
        usage_event_record_search(user=catalog.unrelated, query=text, filters={}, result_count=found)
    usage_event_record_search(user=catalog.unrelated, query="vendors", filters={}, result_count=1)
    # then
    assert list(UsageEvent.objects.order_by("at").values_list("query", "result_count")) == [
        ("salary", 1),
        ("vendors", 1),
    ]


def test_opening_a_product_records_a_view_but_switching_tabs_does_not(client, catalog):
    client.force_login(catalog.unrelated)
    url = reverse("catalog:product_detail", args=[catalog.pay.slug])
    client.get(url)
    client.get(url, {"tab": "schema"})
    assert UsageEvent.objects.filter(kind="product_view", data_product=catalog.pay).count() == 1


def test_a_forbidden_product_records_nothing(client, catalog):
    client.force_login(catalog.unrelated)
    assert client.get(reverse("catalog:product_detail", args=[catalog.draft.slug])).status_code == 404
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_page_views_and_searches_are_committed_asynchronously(catalog):
    """Analytics facts do not wait for the WAL flush (PostgreSQL asynchronous commit); the
    setting stays local to their own transaction."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.insights.services import usage_event_record_view

    with CaptureQueriesContext(connection) as queries:
        usage_event_record_view(user=catalog.unrelated, data_product=catalog.vendors)
        usage_event_record_search(user=catalog.unrelated, query="vendors", filters={}, result_count=1)
    assert sum("synchronous_commit TO OFF" in q["sql"] for q in queries.captured_queries) == 2
    assert UsageEvent.objects.filter(user=catalog.unrelated).count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
