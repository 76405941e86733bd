"""The marketplace's results and home sections are rendered once for everyone who would see the
same fragment (apps.catalog.views._marketplace_fragment), yet a person's own access request, a
re-indexed product and a draft's visibility show on the very next request. Transactional:
writes commit as in production, so the shared cache is used."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.access import services as access_services
from apps.catalog.services import data_product_update

pytestmark = pytest.mark.django_db(transaction=True)


def _get(client, **params) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("catalog:marketplace"), params)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_a_repeated_search_is_served_from_the_cache_in_a_few_queries(client, catalog):
    client.force_login(catalog.unrelated)
    html, first = _get(client, q="customer")
    again, cached = _get(client, q="customer")
    # the same results; the cached request reads the session and its user, the person's access
    # requests (part of the key) and records the search for the insights (BEGIN, SET LOCAL,
    # SELECT, UPDATE, COMMIT)
    assert "/products/sales-orders/" in html and "/products/sales-orders/" in again
    assert cached <= 8 < first


def test_a_new_access_request_shows_on_the_next_search(client, catalog):
    access_services.access_policy_ensure_defaults()
    client.force_login(catalog.unrelated)
    assert "Request pending" not in _get(client, q="customer")[0]
    # when the person asks for access to a product the search shows
    access_services.access_request_submit(
        requester=catalog.unrelated,
        output_port=catalog.customers.output_ports.get(),
        purpose="reporting",
        expires_at=timezone.now() + timedelta(days=30),
    )
    # then their very next search says so on its card
    after = _get(client, q="customer")[0]
    assert "Request pending" in after or "You have access" in after


def test_another_persons_card_state_is_never_shown(client, catalog):
    access_services.access_policy_ensure_defaults()
    access_services.access_request_submit(
        requester=catalog.owner,
        output_port=catalog.customers.output_ports.get(),
        purpose="reporting",
        expires_at=timezone.now() + timedelta(days=30),
    )
    client.force_login(catalog.owner)
    mine = _get(client, q="customer")[0]
    assert "Request pending" in mine or "You have access" in mine
    client.force_login(catalog.unrelated)
    theirs = _get(client, q="customer")[0]
    assert "Request pending" not in theirs and "You have access" not in theirs


def test_a_draft_in_its_owners_cached_fragment_is_never_shown_to_others(client, catalog):
    client.force_login(catalog.owner)
    assert "/products/churn-draft/" in _get(client, q="churn")[0]
    _get(client)  # the owner's home page, cached too
    client.force_login(catalog.unrelated)
    assert "/products/churn-draft/" not in _get(client, q="churn")[0]
    assert "/products/churn-draft/" not in _get(client)[0]


def test_a_renamed_product_shows_on_the_next_search_and_home(client, catalog):
    client.force_login(catalog.unrelated)
    assert "Suppliers" not in _get(client, q="vendors")[0]
    assert "Suppliers" not in _get(client)[0]  # the home page lists it too (three products)
    data_product_update(product=catalog.vendors, name="Suppliers and vendors")
    assert "Suppliers" in _get(client, q="vendors")[0]
    assert "Suppliers" in _get(client)[0]


def test_a_search_that_finds_nothing_keeps_its_own_csrf_form(client, catalog):
    client.force_login(catalog.unrelated)
    html, _ = _get(client, q="zzzzqqq")
    html_again, _ = _get(client, q="zzzzqqq")
    assert "Ask for this data" in html_again and 'name="csrfmiddlewaretoken"' in html_again


def test_the_htmx_fragment_is_the_cached_fragment(client, catalog):
    client.force_login(catalog.unrelated)
    _get(client, q="customer")
    response = client.get(reverse("catalog:marketplace"), {"q": "customer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/products/sales-orders/" in body and "<html" not in body


def test_a_request_for_a_product_not_shown_shares_the_rendered_results(client, catalog):
    from tests.accounts.factories import UserFactory

    access_services.access_policy_ensure_defaults()
    other = UserFactory(username="other")
    access_services.access_request_submit(
        requester=other,
        output_port=catalog.customers.output_ports.get(),
        purpose="reporting",
        expires_at=timezone.now() + timedelta(days=30),
    )
    # given "vendors" rendered for one person
    client.force_login(catalog.unrelated)
    _, first = _get(client, q="vendors")
    # when someone whose only request is for another product searches the same
    client.force_login(other)
    _get(client, q="payroll")  # their own navigation and badges, computed once
    html, cached = _get(client, q="vendors")
    # then they get the same rendered results from the cache
    assert 'href="/products/' in html and cached <= 8 < first
