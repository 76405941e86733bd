"""PostgreSQL search on a small real catalog: matching, typos, ranking, visibility, facets."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.insights.models import UsageEvent
from apps.search.backends import postgres
from apps.search.indexing import index_products, popularity_refresh
from apps.search.selectors import search_autocomplete, search_products
from apps.search.types import SearchParams
from tests.catalog.factories import DataContractFactory, DataProductFactory, QualityCheckFactory
from tests.search.conftest import product_with_table

pytestmark = pytest.mark.django_db


def names(page):
    return [hit.product.name for hit in page.hits]


def test_salary_finds_the_pay_history_product_through_a_column_description(catalog):
    # given: "salary" is only in the description of the `rate` column ("Salary hourly rate.")
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="salary"))
    # then: the product is found and the column is shown, highlighted
    assert names(page) == ["Employees and pay history"]
    match = page.hits[0].matches[0]
    assert match.kind == "column" and match.label_html == "rate"
    assert match.description_html == "<mark>Salary</mark> hourly rate"


def test_typos_are_corrected_from_the_vocabulary(catalog):
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="custmer"))
    # then
    assert "Sales orders and customers" in names(page)
    assert page.results.corrections == {"custmer": "customer"}


def test_typos_are_corrected_without_pg_trgm_too(catalog, monkeypatch):
    # given: a server without pg_trgm (the embedded pgserver of `make demo`)
    monkeypatch.setattr(postgres, "trigram_available", lambda: False)
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="custmer"))
    # then
    assert "Sales orders and customers" in names(page)


def test_the_word_being_typed_matches_as_a_prefix(catalog):
    page = search_products(user=catalog.unrelated, params=SearchParams(query="vend"))
    assert names(page) == ["Vendors"]
    assert page.results.corrections == {}  # a prefix of a known word is not a typo


def test_a_quoted_phrase_matches_words_in_order(catalog):
    assert names(search_products(user=catalog.unrelated, params=SearchParams(query='"pay history"'))) == [
        "Employees and pay history"
    ]
    assert names(search_products(user=catalog.unrelated, params=SearchParams(query='"history pay"'))) == []


def test_drafts_are_found_only_by_their_owners_and_stewards(catalog):
    params = SearchParams(query="churn")
    assert names(search_products(user=catalog.unrelated, params=params)) == []
    assert names(search_products(user=catalog.owner, params=params)) == ["Customer churn draft"]
    assert names(search_products(user=catalog.steward, params=params)) == ["Customer churn draft"]
    assert search_products(user=AnonymousUser(), params=params).total == 0


def test_retired_products_are_not_found_by_consumers(catalog):
    page = search_products(user=catalog.unrelated, params=SearchParams(query="customer"))
    assert "Old customer list" not in names(page)


def test_popularity_contract_and_quality_raise_a_product_deprecated_lowers_it(catalog):
    # given: three products equally relevant for "ledger"
    kw = dict(platform=catalog.platform, domain=catalog.sales, owner_team=catalog.sales_team, summary="General ledger.")
    plain = product_with_table(name="Ledger A", slug="ledger-a", schema="la", table="t", **kw)
    popular = product_with_table(name="Ledger B", slug="ledger-b", schema="lb", table="t", **kw)
    trusted = product_with_table(name="Ledger C", slug="ledger-c", schema="lc", table="t", **kw)
    deprecated = product_with_table(name="Ledger D", slug="ledger-d", schema="ld", table="t", status="deprecated", **kw)
    UsageEvent.objects.bulk_create([UsageEvent(kind="product_view", data_product=popular) for _ in range(50)])
    DataContractFactory(data_product=trusted)
    QualityCheckFactory(asset=trusted.output_ports.get().platform.assets.get(schema="lc"), status="pass")
    index_products(product_ids=[plain.pk, popular.pk, trusted.pk, deprecated.pk])
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="ledger"))
    # then
    ranked = names(page)
    assert ranked.index("Ledger B") < ranked.index("Ledger A")
    assert ranked.index("Ledger C") < ranked.index("Ledger A")
    assert ranked[-1] == "Ledger D"


def test_facets_count_every_match_and_filters_narrow(catalog):
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="customer"))
    facets = {f.name: {v.key: v.count for v in f.values} for f in page.facets}
    # then: "customer" is in Sales orders (name) and in Vendors? no: only Sales orders and customers
    assert facets["domain"] == {"sales": page.total}
    assert facets["classification"]["public"] == 1
    assert facets["contract"] == {"no": page.total}
    assert facets["platform"] == {"warehouse": page.total}
    # when filtering on a domain the query does not match
    page = search_products(
        user=catalog.unrelated, params=SearchParams(query="customer", filters={"domain": [str(catalog.hr.pk)]})
    )
    assert page.total == 0


def test_sorting_by_name_and_newest(catalog):
    by_name = names(
        search_products(
            user=catalog.steward,
            params=SearchParams(query="", filters={"domain": [str(catalog.sales.pk)]}, sort="name"),
        )
    )
    assert by_name == sorted(by_name, key=str.lower)
    newest = search_products(
        user=catalog.steward, params=SearchParams(filters={"domain": [str(catalog.sales.pk)]}, sort="newest")
    )
    created = [hit.product.created_at for hit in newest.hits]
    assert created == sorted(created, reverse=True)


def test_highlights_escape_catalog_text(catalog):
    # given: an owner put markup (and a highlight marker) into a product name
    product = DataProductFactory(
        name="<script>alert(1)</script> Payroll \x02x\x03",
        slug="xss",
        summary="Payroll data",
        domain=catalog.hr,
        owner_team=catalog.hr_team,
    )
    index_products(product_ids=[product.pk])
    # when
    hit = search_products(user=catalog.unrelated, params=SearchParams(query="payroll")).hits[0]
    # then
    assert "<script>" not in hit.name_html
    assert "&lt;script&gt;" in hit.name_html and "<mark>Payroll</mark>" in hit.name_html
    assert "<mark>x</mark>" not in hit.name_html


def test_autocomplete_suggests_products_and_words_and_tolerates_typos(catalog):
    suggestions = search_autocomplete(user=catalog.unrelated, text="custo")
    assert suggestions[0].slug == "sales-orders"
    assert "customer" in [s.text for s in suggestions if not s.slug]
    typo = search_autocomplete(user=catalog.unrelated, text="custmer")
    assert "sales-orders" in [s.slug for s in typo]
    assert search_autocomplete(user=catalog.unrelated, text="churn") == [] or all(
        s.slug != "churn-draft" for s in search_autocomplete(user=catalog.unrelated, text="churn")
    )
    assert search_autocomplete(user=AnonymousUser(), text="custo") == []


def test_popularity_counts_grants_requests_and_recent_views_only(catalog):
    # given: 10 recent views and 10 views from last year
    UsageEvent.objects.bulk_create(
        [UsageEvent(kind="product_view", data_product=catalog.vendors) for _ in range(10)]
        + [
            UsageEvent(kind="product_view", data_product=catalog.vendors, at=timezone.now() - timedelta(days=365))
            for _ in range(10)
        ]
    )
    # when
    popularity_refresh(product_ids=[catalog.vendors.pk])
    # then
    from apps.search.models import ProductSearchDocument

    doc = ProductSearchDocument.objects.get(product=catalog.vendors)
    assert (doc.view_count, doc.popularity) == (10, pytest.approx(2.0))


def test_a_very_common_word_is_ranked_and_counted_over_the_best_candidates(catalog, monkeypatch):
    # given: candidate limits as if the catalog were huge
    monkeypatch.setattr(postgres, "CANDIDATES", 1)
    monkeypatch.setattr(postgres, "TEXT_CANDIDATES", 1)
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="customer", page_size=1))
    # then: a page of results, flagged as counted over candidates only
    assert page.results.truncated is True
    assert len(page.hits) == 1
    # and with room for every match the count is exact
    monkeypatch.setattr(postgres, "CANDIDATES", 500)
    monkeypatch.setattr(postgres, "TEXT_CANDIDATES", 200)
    assert search_products(user=catalog.unrelated, params=SearchParams(query="customer")).results.truncated is False
