"""One ranking formula, two backends: the PostgreSQL order is the order the formula in
``apps/search/ranking.py`` gives when evaluated in Python, and the Elasticsearch Painless script
is generated from the same constants (no Elasticsearch runs here, so the script is checked as text).
"""

from datetime import timedelta
from itertools import product as combinations

import pytest
from django.utils import timezone

from apps.insights.models import UsageEvent
from apps.search import ranking
from apps.search.backends import elasticsearch, postgres
from apps.search.indexing import index_products, popularity_refresh
from apps.search.models import ProductSearchDocument
from apps.search.types import SearchParams, Visibility
from tests.search.conftest import product_with_table

pytestmark = pytest.mark.django_db

# Ranking signals of the fixture set: every combination of these, so each multiplier moves the order.
POPULARITY = (0.0, 4.0, 120.0)
CONTRACT = (False, True)
QUALITY = ("pass", "none", "fail")
STATUS = ("published", "deprecated")
TRUST = ("trusted", "issues")


@pytest.fixture
def equally_relevant(catalog):
    """72 products that match "ledger" alike (same name words, summary, tags and tables), each
    with its own combination of popularity, contract, quality, status and trust."""
    kw = dict(
        platform=catalog.platform,
        domain=catalog.sales,
        owner_team=catalog.sales_team,
        summary="General ledger.",
        table="entries",
    )
    products = {}
    for i, signals in enumerate(combinations(POPULARITY, CONTRACT, QUALITY, STATUS, TRUST)):
        products[product_with_table(name="Ledger", slug=f"ledger-{i}", schema=f"books{i}", **kw).pk] = signals
    index_products(product_ids=list(products))
    for pk, (popularity, has_contract, quality, status, trust) in products.items():
        ProductSearchDocument.objects.filter(product_id=pk).update(
            popularity=popularity, has_contract=has_contract, quality=quality, status=status, trust=trust
        )
    return products


def test_postgres_orders_products_as_the_formula_does(equally_relevant, monkeypatch):
    # given: a trust boost that ties with no other combination (1.1 would tie a passing quality signal)
    monkeypatch.setitem(ranking.TRUST_MULTIPLIERS, "trusted", 1.07)
    # and: the order the formula gives in Python, for products equally relevant
    expected = sorted(
        equally_relevant,
        key=lambda pk: (
            -ranking.multiplier(
                popularity=equally_relevant[pk][0],
                has_contract=equally_relevant[pk][1],
                quality=equally_relevant[pk][2],
                status=equally_relevant[pk][3],
                trust=equally_relevant[pk][4],
            ),
            pk,
        ),
    )

    # when: the PostgreSQL backend ranks them
    results = postgres.PostgresBackend().search(
        SearchParams(query="ledger", page_size=100), visibility=Visibility(sees_all=True)
    )

    # then: the same order, and each score is one relevance times the Python multiplier
    assert [hit.product_id for hit in results.hits] == expected
    relevances = {
        hit.score
        / ranking.multiplier(
            popularity=equally_relevant[hit.product_id][0],
            has_contract=equally_relevant[hit.product_id][1],
            quality=equally_relevant[hit.product_id][2],
            status=equally_relevant[hit.product_id][3],
            trust=equally_relevant[hit.product_id][4],
        )
        for hit in results.hits
    }
    assert max(relevances) == pytest.approx(min(relevances), rel=1e-5)


def test_popularity_in_the_index_is_the_formula(catalog):
    # given: 7 recent page views and 3 old ones
    UsageEvent.objects.bulk_create(
        [UsageEvent(kind="product_view", data_product=catalog.vendors) for _ in range(7)]
        + [
            UsageEvent(kind="product_view", data_product=catalog.vendors, at=timezone.now() - timedelta(days=40))
            for _ in range(3)
        ]
    )

    # when
    popularity_refresh(product_ids=[catalog.vendors.pk])

    # then
    doc = ProductSearchDocument.objects.get(product=catalog.vendors)
    assert doc.popularity == pytest.approx(
        ranking.popularity(consumers=doc.consumer_count, requests=doc.request_count, views=doc.view_count)
    )
    assert doc.popularity == pytest.approx(7 * ranking.POPULARITY_WEIGHTS["views"])


def test_painless_script_and_field_boosts_come_from_the_same_constants(monkeypatch):
    # given: the script the Elasticsearch backend sends
    script = elasticsearch.SCORE_SCRIPT

    # then: it is the rendering of the formula, with every constant in it
    assert script == ranking.score_painless()
    assert f"/ {ranking.POPULARITY_DAMPING!r})" in script
    assert f"s *= {ranking.CONTRACT_MULTIPLIER!r};" in script
    for key, value in {
        **ranking.QUALITY_MULTIPLIERS,
        **ranking.STATUS_MULTIPLIERS,
        **ranking.TRUST_MULTIPLIERS,
    }.items():
        assert f"== '{key}') {{ s *= {value!r}; }}" in script
    assert elasticsearch.PRODUCT_FIELDS == ranking.es_product_fields()
    assert elasticsearch.PRODUCT_FIELDS[0] == "name^10"  # A / D = 1.0 / 0.1
    assert elasticsearch.ENTRY_FIELDS == ["entries.label^2", "entries.description"]

    # and: changing a constant changes the script, the SQL and the Python score alike
    monkeypatch.setitem(ranking.STATUS_MULTIPLIERS, "deprecated", 0.5)
    assert "if (st == 'deprecated') { s *= 0.5; }" in ranking.score_painless()
    assert "WHEN 'deprecated' THEN 0.5" in ranking.score_sql("r")
    assert ranking.multiplier(popularity=0, has_contract=False, quality="none", status="deprecated") == 0.5
