"""Search results are cached for everyone with the same visibility (apps.core.freshness
``cached_shared``), yet a change to the index shows on the very next search and nobody sees a
product they may not see. Transactional tests: writes commit as in production, so the cache is used."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.services import data_product_publish, data_product_update
from apps.search.selectors import search_products
from apps.search.types import SearchParams

pytestmark = pytest.mark.django_db(transaction=True)


def _search(user, query, **filters):
    with CaptureQueriesContext(connection) as queries:
        page = search_products(user=user, params=SearchParams(query=query, filters=filters))
    ran_search = any("search_productdocument" in q["sql"] for q in queries.captured_queries)
    return [hit.product.name for hit in page.hits], ran_search


def test_a_repeated_search_is_answered_from_the_cache(catalog):
    # given a search run once
    first, ran = _search(catalog.unrelated, "salary")
    assert first == ["Employees and pay history"] and ran
    # when the same search runs again, for another user who sees the same products
    again, ran = _search(catalog.unrelated, "salary")
    # then the index is not queried and the results are the same
    assert again == first and not ran


def test_a_renamed_product_shows_on_the_next_search(catalog):
    # given "vendors" searched (and cached)
    assert _search(catalog.unrelated, "vendors")[0] == ["Vendors"]
    # when the owner renames it (the service re-indexes it after commit)
    data_product_update(product=catalog.vendors, name="Vendors and suppliers")
    # then the very next search shows the new name, from the index
    names, ran = _search(catalog.unrelated, "vendors")
    assert names == ["Vendors and suppliers"] and ran


def test_a_draft_is_never_served_from_its_owners_cached_search(catalog):
    # given the draft's owner searched for it: cached under the owner's visibility
    assert "Customer churn draft" in _search(catalog.owner, "churn")[0]
    # when someone who may not see drafts searches the same words
    names, ran = _search(catalog.unrelated, "churn")
    # then they get their own (uncached) answer without the draft
    assert "Customer churn draft" not in names and ran


def test_publishing_a_draft_shows_it_on_the_next_search(catalog):
    # given a search that cannot see the draft, cached
    assert "Customer churn draft" not in _search(catalog.unrelated, "churn")[0]
    # when its owner publishes it
    data_product_publish(product=catalog.draft, actor=catalog.owner)
    # then it is found on the next search
    assert "Customer churn draft" in _search(catalog.unrelated, "churn")[0]


def test_filtered_facet_counts_come_from_the_cache_too(catalog):
    # given a filtered search (its disjunctive facet counts take extra searches)
    first, ran = _search(catalog.unrelated, "customer", domain=[str(catalog.sales.pk)])
    assert ran
    # when it is repeated, then nothing is searched again
    assert _search(catalog.unrelated, "customer", domain=[str(catalog.sales.pk)]) == (first, False)


def test_owners_of_listed_products_only_share_everyones_cached_search(catalog):
    from apps.accounts.choices import TeamRole
    from apps.accounts.services import team_membership_set
    from apps.catalog.services import data_product_create
    from tests.accounts.factories import TeamFactory, UserFactory

    seller, shipping = UserFactory(username="seller"), TeamFactory(name="Shipping", slug="shipping")
    team_membership_set(team=shipping, user=seller, role=TeamRole.OWNER)
    parcels = data_product_create(name="Parcels", slug="parcels", domain=catalog.sales, owner_team=shipping)
    data_product_publish(product=parcels, actor=seller)  # the team's only product, listed
    assert _search(catalog.unrelated, "vendors") == (["Vendors"], True)
    # the same search by an owner whose products are all published comes from the same entry
    assert _search(seller, "vendors") == (["Vendors"], False)
