"""Trust in search: the index keeps each product's trust signal and card facts (from its data
contract, drift, quality runs and incidents), the "trust" facet filters on it, trusted products
rank a little higher, and the marketplace cards show the badge."""

import pytest
from django.urls import reverse

from apps.contracts.models import DriftFinding, Incident, QualityResult, QualityRun
from apps.search import ranking
from apps.search.indexing import index_products
from apps.search.models import ProductSearchDocument
from apps.search.selectors import product_card_facts, search_products
from apps.search.types import SearchParams
from tests.accounts.factories import UserFactory
from tests.catalog.factories import DataContractFactory
from tests.search.conftest import product_with_table

pytestmark = pytest.mark.django_db


def _run(product, contract, statuses):
    run = QualityRun.objects.create(
        data_contract=contract, data_product=product, passed=statuses.count("pass"), failed=statuses.count("fail")
    )
    QualityResult.objects.bulk_create(
        [
            QualityResult(
                run=run, data_product=product, rule_key=f"t:{i}", name=f"Rule {i}", metric="rowCount", status=status
            )
            for i, status in enumerate(statuses)
        ]
    )


@pytest.fixture
def ledgers(catalog):
    """Three products equally relevant for "ledger": trusted (contract kept), with issues (a
    failing rule and an open incident, drift), and without a contract."""
    kw = dict(platform=catalog.platform, domain=catalog.sales, owner_team=catalog.sales_team, summary="General ledger.")
    trusted = product_with_table(name="Ledger trusted", slug="ledger-trusted", schema="lt", table="t", **kw)
    issues = product_with_table(name="Ledger issues", slug="ledger-issues", schema="li", table="t", **kw)
    plain = product_with_table(name="Ledger plain", slug="ledger-plain", schema="lp", table="t", **kw)
    _run(trusted, DataContractFactory(data_product=trusted, version="1.2.0", status="active"), ["pass", "pass"])
    contract = DataContractFactory(data_product=issues, version="2.0.0", status="active")
    _run(issues, contract, ["pass", "fail", "pass", "pass"])
    Incident.objects.create(data_product=issues, rule_key="t:1", title="Rule 1 failed")
    DriftFinding.objects.create(
        data_product=issues,
        data_contract=contract,
        kind="missing_column",
        key="k",
        message="Column t.x is not on the platform.",
    )
    index_products(product_ids=[trusted.pk, issues.pk, plain.pk])
    return trusted, issues, plain


def test_the_index_keeps_the_trust_signal_and_the_card_facts(ledgers):
    trusted, issues, plain = ledgers
    docs = {d.product_id: d for d in ProductSearchDocument.objects.filter(product__in=ledgers)}
    assert [docs[p.pk].trust for p in ledgers] == ["trusted", "issues", "none"]
    assert docs[trusted.pk].trust_card == {
        "level": "good",
        "version": "1.2.0",
        "valid": True,
        "drift": 0,
        "rate": 100,
        "passed": 2,
        "total": 2,
        "freshness": None,
        "open_incidents": 0,
        "incident": None,
    }
    card = docs[issues.pk].trust_card
    assert (card["level"], card["drift"], card["rate"], card["open_incidents"]) == ("poor", 1, 75, 1)
    assert card["incident"]["title"] == "Rule 1 failed" and card["incident"]["status"] == "open"
    assert docs[plain.pk].trust_card == {}


def test_the_trust_facet_counts_and_filters(ledgers, catalog):
    trusted, issues, plain = ledgers
    # when
    page = search_products(user=catalog.unrelated, params=SearchParams(query="ledger"))
    facets = {f.name: {v.key: (v.label, v.count) for v in f.values} for f in page.facets}
    # then
    assert facets["trust"] == {"trusted": ("Trusted", 1), "issues": ("Has issues", 1), "none": ("No data contract", 1)}
    only = search_products(user=catalog.unrelated, params=SearchParams(query="ledger", filters={"trust": ["trusted"]}))
    assert [h.product for h in only.hits] == [trusted]
    # the facet stays disjunctive: ticking "trusted" keeps the other values visible with their counts
    assert {v.key: v.count for f in only.facets if f.name == "trust" for v in f.values} == {
        "trusted": 1,
        "issues": 1,
        "none": 1,
    }


def test_trusted_products_rank_a_little_higher(ledgers, catalog):
    trusted, issues, plain = ledgers
    # when
    hits = search_products(user=catalog.unrelated, params=SearchParams(query="ledger")).hits
    # then: same text match; the trusted one is boosted by TRUST_MULTIPLIERS on top of the contract's
    assert [h.product for h in hits] == [trusted, issues, plain]
    scores = {h.product: h.score for h in hits}
    assert scores[trusted] / scores[issues] == pytest.approx(ranking.TRUST_MULTIPLIERS["trusted"], rel=1e-4)
    assert scores[issues] / scores[plain] == pytest.approx(ranking.CONTRACT_MULTIPLIER, rel=1e-4)


def test_marketplace_cards_show_the_trust_badge(ledgers, client):
    trusted, issues, plain = ledgers
    product_card_facts(user=UserFactory(), products=[plain])
    assert plain.card_trust == {"level": "none"}
    # when: the marketplace home (popular and new data products, as cards)
    client.force_login(UserFactory())
    html = client.get(reverse("catalog:marketplace")).content.decode()
    # then
    cards = {p.slug: html[html.index(f'/products/{p.slug}/"') :][:4000].split("</article>")[0] for p in ledgers}
    assert "Trusted" in cards["ledger-trusted"] and "100% of 2 rules passed" in cards["ledger-trusted"]
    assert "Contract 1.2.0" in cards["ledger-trusted"] and "No incidents" in cards["ledger-trusted"]
    assert "Has issues" in cards["ledger-issues"] and "1 drift finding" in cards["ledger-issues"]
    assert "75% of 4 rules passed" in cards["ledger-issues"] and "(open)" in cards["ledger-issues"]
    assert f"/products/{issues.slug}/#trust" in cards["ledger-issues"]
    assert "trust-badge" not in cards["ledger-plain"]
