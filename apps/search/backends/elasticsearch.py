"""Elasticsearch search through ``elasticsearch.dsl`` (the ``elasticsearch`` 8.x package).

Used when ``ELASTICSEARCH_URL`` is set. It indexes the same denormalised rows as the PostgreSQL
backend (``ProductSearchDocument`` + ``SearchEntry``) and ranks the same way: the text score
(name^10, summary/tags^4, description/domain/team^2, matching assets and columns through a
nested query) is multiplied in a ``script_score`` by the formula in ``SearchBackend``. Typos:
``fuzziness: AUTO``; prefixes: ``bool_prefix`` on the last word; autocomplete: a completion
suggester with fuzzy matching. Facet counts are terms aggregations over all matches.

Elasticsearch reference 8.x: "Function score query" (script_score), "Nested query" (inner_hits),
"Completion suggester", "Highlighting".
"""

from __future__ import annotations

from elasticsearch.dsl import (
    Boolean,
    Completion,
    Date,
    Document,
    Float,
    InnerDoc,
    Integer,
    Keyword,
    Nested,
    Q,
    Search,
    Text,
    analyzer,
    token_filter,
    tokenizer,
)

from apps.catalog.choices import LISTED_STATUSES

from .. import ranking
from ..choices import SearchSort
from ..highlight import strip_markers, to_html
from ..query import parse
from ..types import (
    MARK_START,
    MARK_STOP,
    MatchHit,
    ProductHit,
    SearchParams,
    SearchResults,
    Suggestion,
    Visibility,
)
from .base import SearchBackend
from .postgres import MATCHES_PER_PRODUCT, TAG_FACET_SIZE

# English text: stemming like PostgreSQL's ``english`` configuration.
english = analyzer(
    "mp_english",
    tokenizer="standard",
    filter=[
        "lowercase",
        token_filter("mp_english_stop", "stop", stopwords="_english_"),
        token_filter("mp_english_stem", "stemmer", language="english"),
    ],
)
# Identifiers (``humanresources.employeepayhistory``, ``employee_id``): split on . and _ first.
identifier = analyzer(
    "mp_identifier",
    tokenizer=tokenizer("mp_identifier_split", "pattern", pattern=r"[\W_]+"),
    filter=["lowercase", token_filter("mp_identifier_stem", "stemmer", language="english")],
)
# As-you-type prefixes of names.
edge = analyzer(
    "mp_edge",
    tokenizer="standard",
    filter=["lowercase", token_filter("mp_edge_ngram", "edge_ngram", min_gram=2, max_gram=20)],
)

# The ranking formula of apps/search/ranking.py, in Painless.
SCORE_SCRIPT = ranking.score_painless()

FACET_FIELDS = {
    "domain": "domain_id",
    "team": "owner_team_id",
    "classification": "classification",
    "platform": "platform_ids",
    "tag": "tags",
    "status": "status",
    "contract": "has_contract",
    "quality": "quality",
    "trust": "trust",
}
SORTS = {
    SearchSort.RELEVANCE: ["_score", {"product_id": "asc"}],
    SearchSort.POPULARITY: [{"popularity": "desc"}, "_score", {"product_id": "asc"}],
    SearchSort.NEWEST: [{"created_at": "desc"}, {"product_id": "asc"}],
    SearchSort.NAME: [{"name.raw": "asc"}, {"product_id": "asc"}],
}
PRODUCT_FIELDS = ranking.es_product_fields()  # name^10, summary^4, tags.text^4, description^2, ...
ENTRY_FIELDS = ranking.es_entry_fields()  # entries.label^2, entries.description
HIGHLIGHT = {"pre_tags": [MARK_START], "post_tags": [MARK_STOP]}


class Entry(InnerDoc):
    kind = Keyword()
    asset_id = Integer()
    column_id = Integer()
    label = Text(analyzer=identifier)
    description = Text(analyzer=english)


class ProductIndexDocument(Document):
    """A data product in the Elasticsearch index (same facts as ``ProductSearchDocument``)."""

    product_id = Integer()
    slug = Keyword()
    name = Text(
        analyzer=english,
        fields={"raw": Keyword(normalizer="lowercase"), "prefix": Text(analyzer=edge, search_analyzer="standard")},
    )
    summary = Text(analyzer=english)
    description = Text(analyzer=english)
    tags = Keyword(fields={"text": Text(analyzer=english)})
    domain_id = Keyword()
    domain_name = Text(analyzer=english)
    owner_team_id = Keyword()
    owner_team_name = Text(analyzer=english)
    classification = Keyword()
    status = Keyword()
    platform_ids = Keyword()
    has_contract = Boolean()
    quality = Keyword()
    trust = Keyword()
    popularity = Float()
    created_at = Date()
    entries = Nested(Entry)
    suggest = Completion(analyzer="simple")

    class Index:
        name = "mesh-portal-products"
        settings = {"number_of_shards": 1, "number_of_replicas": 0}


def _visibility_filter(visibility: Visibility):
    if visibility.sees_all:
        return None
    listed = Q("terms", status=list(LISTED_STATUSES))
    if visibility.own_product_ids:
        return listed | Q("terms", product_id=list(visibility.own_product_ids))
    return listed


def build_search(params: SearchParams, *, visibility: Visibility, index: str) -> Search:
    """The request body for ``params`` (``.to_dict()`` is what is sent to ``_search``)."""
    parsed = parse(params.query)
    page_size = max(1, min(params.page_size, 100))
    page = max(1, params.page)
    s = Search(index=index).extra(track_total_hits=True, from_=(page - 1) * page_size, size=page_size)
    filters = []
    vis = _visibility_filter(visibility)
    if vis is not None:
        filters.append(vis)
    for facet, values in params.filters.items():
        if facet not in FACET_FIELDS or not values:
            continue
        if facet == "contract":
            values = [v == "yes" for v in values if v in ("yes", "no")]
        if values:
            filters.append(Q("terms", **{FACET_FIELDS[facet]: values}))
    if parsed.empty:
        text_query = Q("match_all")
    else:
        # Every word must match somewhere (product fields, or one of its assets/columns), as in
        # PostgreSQL where the product document holds all of them; typos through fuzziness.
        must = []
        for i, word in enumerate(parsed.words):
            options = [
                Q("multi_match", query=word, fuzziness="AUTO", prefix_length=1, fields=PRODUCT_FIELDS),
                Q(
                    "nested",
                    path="entries",
                    query=Q("multi_match", query=word, fuzziness="AUTO", prefix_length=1, fields=ENTRY_FIELDS),
                    score_mode="max",
                ),
            ]
            if parsed.prefix_last and i == len(parsed.words) - 1:
                options.append(Q("match_phrase_prefix", **{"name.prefix": {"query": word}}))
                options.append(Q("multi_match", query=word, type="phrase_prefix", fields=PRODUCT_FIELDS))
            must.append(Q("bool", should=options, minimum_should_match=1))
        for phrase in parsed.phrases:
            text = " ".join(phrase)
            must.append(
                Q(
                    "bool",
                    minimum_should_match=1,
                    should=[
                        Q("multi_match", query=text, type="phrase", fields=PRODUCT_FIELDS),
                        Q(
                            "nested",
                            path="entries",
                            query=Q("multi_match", query=text, type="phrase", fields=ENTRY_FIELDS),
                        ),
                    ],
                )
            )
        # Not required: finds the matching assets/columns to show (inner hits, highlighted).
        entry_text = " ".join(parsed.words + [w for p in parsed.phrases for w in p])
        show_matches = Q(
            "nested",
            path="entries",
            score_mode="max",
            query=Q("multi_match", query=entry_text, fuzziness="AUTO", prefix_length=1, fields=ENTRY_FIELDS),
            inner_hits={
                "size": MATCHES_PER_PRODUCT,
                "highlight": {
                    **HIGHLIGHT,
                    "fields": {
                        "entries.label": {"number_of_fragments": 0},
                        "entries.description": {"number_of_fragments": 1, "fragment_size": 160},
                    },
                },
            },
        )
        text_query = Q("bool", must=must, should=[show_matches])
    query = Q("bool", must=[text_query], filter=filters)
    s = s.query(
        Q(
            "function_score",
            query=query,
            functions=[{"script_score": {"script": {"source": SCORE_SCRIPT}}}],
            boost_mode="replace",
        )
    )
    sort = SORTS.get(params.sort, SORTS[SearchSort.RELEVANCE])
    if parsed.empty and params.sort == SearchSort.RELEVANCE:
        sort = SORTS[SearchSort.POPULARITY]
    s = s.sort(*sort)
    s = s.source(["product_id", "slug", "name", "summary"])
    s = (
        s.highlight_options(**HIGHLIGHT)
        .highlight("name", number_of_fragments=0)
        .highlight("summary", number_of_fragments=0)
    )
    for facet, field in FACET_FIELDS.items():
        s.aggs.bucket(facet, "terms", field=field, size=TAG_FACET_SIZE if facet == "tag" else 100)
    return s


def parse_search_response(body: dict, *, page: int, page_size: int) -> SearchResults:
    """Turn an Elasticsearch ``_search`` response (JSON as a dict) into ``SearchResults``."""
    hits = []
    for raw in body.get("hits", {}).get("hits", []):
        source = raw.get("_source", {})
        highlight = raw.get("highlight", {})
        hit = ProductHit(
            product_id=int(source["product_id"]),
            score=float(raw.get("_score") or 0),
            name_html=to_html((highlight.get("name") or [source.get("name", "")])[0]),
            summary_html=to_html((highlight.get("summary") or [source.get("summary", "")])[0]),
        )
        inner = raw.get("inner_hits", {}).get("entries", {}).get("hits", {})
        total = inner.get("total", {})
        hit.match_count = total.get("value", 0) if isinstance(total, dict) else int(total or 0)
        for entry in inner.get("hits", []):
            e_source, e_hl = entry.get("_source", {}), entry.get("highlight", {})
            hit.matches.append(
                MatchHit(
                    kind=e_source.get("kind", ""),
                    asset_id=e_source.get("asset_id"),
                    column_id=e_source.get("column_id"),
                    label_html=to_html((e_hl.get("entries.label") or [e_source.get("label", "")])[0]),
                    description_html=to_html((e_hl.get("entries.description") or [e_source.get("description", "")])[0]),
                )
            )
        hits.append(hit)
    facets: dict[str, dict[str, int]] = {}
    for facet, agg in body.get("aggregations", {}).items():
        counts = {}
        for bucket in agg.get("buckets", []):
            key = bucket.get("key_as_string", bucket["key"]) if facet == "contract" else bucket["key"]
            if facet == "contract":
                key = "yes" if key in (True, 1, "true") else "no"
            counts[str(key)] = bucket["doc_count"]
        facets[facet] = counts
    total = body.get("hits", {}).get("total", {})
    return SearchResults(
        total=total.get("value", 0) if isinstance(total, dict) else int(total or 0),
        hits=hits,
        facets=facets,
        page=page,
        page_size=page_size,
    )


def build_suggest(text: str, *, index: str, size: int) -> Search:
    """Completion suggester request (fuzzy, so "custmer" completes to customer products)."""
    return (
        Search(index=index)
        .extra(size=0)
        .source(["product_id", "slug", "name", "status"])
        .suggest(
            "products",
            text,
            completion={
                "field": "suggest",
                "size": size,
                "skip_duplicates": True,
                "fuzzy": {"fuzziness": "AUTO", "prefix_length": 1},
            },
        )
    )


def parse_suggest_response(body: dict, *, visibility: Visibility, limit: int) -> list[Suggestion]:
    """Product suggestions the user may see (drafts only their own), best first."""
    suggestions = []
    for option in (body.get("suggest", {}).get("products") or [{}])[0].get("options", []):
        source = option.get("_source", {})
        visible = (
            visibility.sees_all
            or source.get("status") in LISTED_STATUSES
            or source.get("product_id") in visibility.own_product_ids
        )
        if visible and not visibility.anonymous:
            suggestions.append(
                Suggestion(
                    text=source.get("name", ""), html=to_html(source.get("name", "")), slug=source.get("slug", "")
                )
            )
    return suggestions[:limit]


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, *, url: str, index: str):
        self.url, self.index = url, index
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from elasticsearch import Elasticsearch

            self._client = Elasticsearch(self.url, request_timeout=5)
        return self._client

    def search(self, params: SearchParams, *, visibility: Visibility) -> SearchResults:
        page_size, page = max(1, min(params.page_size, 100)), max(1, params.page)
        if visibility.anonymous:
            return SearchResults(total=0, hits=[], facets={}, page=page, page_size=page_size)
        body = build_search(params, visibility=visibility, index=self.index).to_dict()
        response = self.client.search(index=self.index, body=body)
        return parse_search_response(response.body, page=page, page_size=page_size)

    def autocomplete(self, text: str, *, visibility: Visibility, limit: int = 8) -> list[Suggestion]:
        if visibility.anonymous or len(text.strip()) < 2:
            return []
        body = build_suggest(text.strip(), index=self.index, size=limit * 3).to_dict()
        response = self.client.search(index=self.index, body=body)
        return parse_suggest_response(response.body, visibility=visibility, limit=limit)

    def index_products(self, *, product_ids: list[int] | None) -> None:
        """Bulk-index the rows of ``product_ids`` (``None``: recreate the index with all)."""
        from elasticsearch.helpers import bulk

        if product_ids is None:
            ProductIndexDocument._index.clone(name=self.index).delete(using=self.client, ignore_unavailable=True)
        ProductIndexDocument.init(index=self.index, using=self.client)
        docs = list(documents_for(product_ids))
        present = {d.product_id for d in docs}
        actions = [d.to_dict(include_meta=True) | {"_index": self.index} for d in docs]
        actions += [
            {"_op_type": "delete", "_index": self.index, "_id": pid}
            for pid in (product_ids or [])
            if pid not in present
        ]
        bulk(self.client, actions, raise_on_error=False, refresh="wait_for")
        # Searches cached before the index answered with these documents are stale now (the
        # PostgreSQL rows they come from were committed, and cached, a moment earlier).
        from apps.core.freshness import bump

        bump(topics=("search",))


def documents_for(product_ids: list[int] | None):
    """``ProductIndexDocument``s built from the PostgreSQL search rows (the one source of truth)."""
    from apps.catalog.models import DataProduct

    from ..models import ProductSearchDocument, SearchEntry

    docs = ProductSearchDocument.objects.select_related("domain", "owner_team")
    if product_ids is not None:
        docs = docs.filter(product_id__in=product_ids)
    for chunk_start in range(0, docs.count(), 1000):
        chunk = list(docs.order_by("product_id")[chunk_start : chunk_start + 1000])
        ids = [d.product_id for d in chunk]
        slugs = dict(DataProduct.objects.filter(pk__in=ids).values_list("pk", "slug"))
        descriptions = dict(DataProduct.objects.filter(pk__in=ids).values_list("pk", "description"))
        entries: dict[int, list[dict]] = {}
        for e in SearchEntry.objects.filter(product_id__in=ids).values(
            "product_id", "kind", "asset_id", "column_id", "label", "description"
        ):
            entries.setdefault(e.pop("product_id"), []).append(
                {**e, "label": strip_markers(e["label"]), "description": strip_markers(e["description"])}
            )
        for d in chunk:
            yield ProductIndexDocument(
                meta={"id": d.product_id},
                product_id=d.product_id,
                slug=slugs.get(d.product_id, ""),
                name=strip_markers(d.name),
                summary=strip_markers(d.summary),
                description=strip_markers(descriptions.get(d.product_id, "")),
                tags=d.tags,
                domain_id=str(d.domain_id),
                domain_name=d.domain.name,
                owner_team_id=str(d.owner_team_id),
                owner_team_name=d.owner_team.name,
                classification=d.classification,
                status=d.status,
                platform_ids=[str(p) for p in d.platform_ids],
                has_contract=d.has_contract,
                quality=d.quality,
                trust=d.trust,
                popularity=d.popularity,
                created_at=d.created_at,
                entries=entries.get(d.product_id, []),
                suggest={"input": [d.name, *d.tags], "weight": max(1, min(int(d.popularity) + 1, 1000))},
            )
