"""Elasticsearch backend: index mapping, request bodies, parsing of responses.

No Elasticsearch server runs here: responses are hand-built fixtures (tests/search/recorded/,
labelled as such). ``test_live_*`` runs against a real cluster when ``ELASTICSEARCH_URL`` is set.
"""

import json
import os
from pathlib import Path

import pytest

from apps.search.backends.elasticsearch import (
    ElasticsearchBackend,
    ProductIndexDocument,
    build_search,
    build_suggest,
    parse_search_response,
    parse_suggest_response,
)
from apps.search.types import SearchParams, Visibility

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def test_mapping_has_analyzers_nested_entries_and_a_completion_field():
    # when
    index = ProductIndexDocument._index.to_dict()
    mapping = index["mappings"]["properties"]
    analyzers = index["settings"]["analysis"]["analyzer"]
    # then
    assert mapping["name"]["analyzer"] == "mp_english"
    assert mapping["name"]["fields"]["prefix"]["analyzer"] == "mp_edge"
    assert mapping["entries"]["type"] == "nested"
    assert mapping["entries"]["properties"]["label"]["analyzer"] == "mp_identifier"
    assert mapping["suggest"]["type"] == "completion"
    assert {"mp_english", "mp_identifier", "mp_edge"} <= set(analyzers)
    assert analyzers["mp_identifier"]["tokenizer"] == "mp_identifier_split"  # employee_id -> employee, id
    for facet_field in (
        "domain_id",
        "owner_team_id",
        "classification",
        "platform_ids",
        "tags",
        "status",
        "quality",
        "trust",
    ):
        assert mapping[facet_field]["type"] == "keyword"


def test_search_body_requires_every_word_fuzzily_filters_visibility_and_ranks_like_postgres():
    # when
    body = build_search(
        SearchParams(query="custmer orders", filters={"contract": ["yes"], "domain": ["3"]}, sort="relevance"),
        visibility=Visibility(own_product_ids=(9,)),
        index="products",
    ).to_dict()
    # then
    function_score = body["query"]["function_score"]
    script = function_score["functions"][0]["script_score"]["script"]["source"]
    assert "Math.log(1 + pop) / 4" in script and "s *= 1.2" in script and "'deprecated') { s *= 0.3" in script
    assert "if (tr == 'trusted') { s *= 1.1; }" in script  # the trust boost, as in PostgreSQL
    query = function_score["query"]["bool"]
    must = query["must"][0]["bool"]["must"]
    assert len(must) == 2  # one clause per word
    first_word = must[0]["bool"]["should"]
    assert first_word[0]["multi_match"]["query"] == "custmer" and first_word[0]["multi_match"]["fuzziness"] == "AUTO"
    assert first_word[1]["nested"]["path"] == "entries"
    assert any("match_phrase_prefix" in clause for clause in must[1]["bool"]["should"])  # last word: prefix
    filters = query["filter"]
    assert {
        "bool": {"should": [{"terms": {"status": ["published", "deprecated"]}}, {"terms": {"product_id": [9]}}]}
    } in filters
    assert {"terms": {"has_contract": [True]}} in filters and {"terms": {"domain_id": ["3"]}} in filters
    assert set(body["aggs"]) == {
        "domain",
        "team",
        "classification",
        "platform",
        "tag",
        "status",
        "contract",
        "quality",
        "trust",
    }
    assert body["highlight"]["pre_tags"] == ["\x02"]
    assert body["sort"][0] == "_score"
    assert body["track_total_hits"] is True and body["size"] == 20


def test_stewards_search_without_a_visibility_filter_and_sorts_apply():
    body = build_search(
        SearchParams(query="", sort="name", page=3, page_size=10),
        visibility=Visibility(sees_all=True),
        index="products",
    ).to_dict()
    assert body["query"]["function_score"]["query"]["bool"].get("filter", []) == []
    assert body["sort"][0] == {"name.raw": "asc"} and body["from"] == 20


def test_a_recorded_search_response_becomes_results_with_safe_highlights():
    # when
    results = parse_search_response(recorded("search_custmer.json"), page=1, page_size=20)
    # then
    assert results.total == 2
    first = results.hits[0]
    assert (first.product_id, first.match_count) == (5, 17)
    assert first.name_html == "Sales orders and <mark>customers</mark>"
    assert first.summary_html == "Customers, sales orders and &lt;b&gt;lines&lt;/b&gt;."
    assert first.matches[0].label_html == "sales.<mark>customer</mark>"
    assert first.matches[1].description_html == "Primary key &lt;script&gt;x&lt;/script&gt;."
    assert results.facets["contract"] == {"no": 1, "yes": 1}
    assert results.facets["tag"] == {"customers": 2, "pii": 1}
    assert results.facets["trust"] == {"none": 1, "trusted": 1}


def test_a_recorded_suggest_response_hides_other_teams_drafts():
    body = recorded("suggest_cust.json")
    consumer = parse_suggest_response(body, visibility=Visibility(), limit=8)
    assert [s.slug for s in consumer] == ["customer-360"]
    assert consumer[0].html == "Customer 360 &lt;b&gt;"
    owner = parse_suggest_response(body, visibility=Visibility(own_product_ids=(9,)), limit=8)
    assert [s.slug for s in owner] == ["churn-draft", "customer-360"]
    suggest = build_suggest("custmer", index="products", size=8).to_dict()["suggest"]["products"]
    assert suggest["completion"]["fuzzy"] == {"fuzziness": "AUTO", "prefix_length": 1}


live = pytest.mark.skipif(
    not os.environ.get("ELASTICSEARCH_URL"),
    reason="needs a live Elasticsearch: set ELASTICSEARCH_URL to run it (none runs on this machine)",
)


@live
@pytest.mark.django_db
def test_live_index_and_search_round_trip(catalog):
    # given
    backend = ElasticsearchBackend(url=os.environ["ELASTICSEARCH_URL"], index="mesh-portal-test-products")
    backend.index_products(product_ids=None)
    # when
    results = backend.search(SearchParams(query="custmer"), visibility=Visibility())
    suggestions = backend.autocomplete("custo", visibility=Visibility())
    # then
    assert catalog.customers.pk in [h.product_id for h in results.hits]
    assert catalog.draft.pk not in [h.product_id for h in results.hits]
    assert suggestions
    backend.client.indices.delete(index="mesh-portal-test-products", ignore_unavailable=True)
