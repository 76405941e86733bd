"""Reads for search: what the marketplace calls. Results are restricted to what the user may
see with the catalog's own rules (``apps.catalog.selectors``: drafts only for their owners)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from apps.accounts.models import Team
from apps.catalog.choices import Classification, DataProductStatus
from apps.catalog.models import DataProduct, Domain
from apps.catalog.selectors import data_product_visibility
from apps.platforms.models import Platform

from .backends import get_backend
from .choices import QualitySignal, SearchSort, TrustSignal
from .types import FACETS, Facet, FacetValue, SearchParams, SearchResults, Suggestion, Visibility

FACET_VALUES_SHOWN = 12


def visibility_for(*, user) -> Visibility:
    if not user.is_authenticated:
        return Visibility(anonymous=True)
    sees_all, own_ids = data_product_visibility(user=user)
    if sees_all:
        return Visibility(sees_all=True)
    return Visibility(own_product_ids=own_ids)


@dataclass
class SearchPage:
    """One page of search results ready for the template: hits with their ``DataProduct``
    attached (domain, owner team), labelled facets, and the params that produced them."""

    params: SearchParams
    results: SearchResults
    facets: list[Facet] = field(default_factory=list)

    @property
    def hits(self):
        return self.results.hits

    @property
    def total(self) -> int:
        return self.results.total

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.results.total // self.results.page_size))


def search_params_from(data, *, page_size: int = 20) -> SearchParams:
    """Read ``q``, facet parameters (repeatable: ``?domain=sales&domain=hr``), ``sort`` and
    ``page`` from a QueryDict. Domain, team and platform come as slugs and are turned into ids;
    unknown values are dropped (they would match nothing), a bad page is page 1."""
    filters: dict[str, list[str]] = {}
    for facet in FACETS:
        values = [v for v in data.getlist(facet) if v][:20]
        if values:
            filters[facet] = values
    lookups = {"domain": Domain, "team": Team, "platform": Platform}
    for facet, model in lookups.items():
        if facet in filters:
            filters[facet] = [
                str(pk) for pk in model.objects.filter(slug__in=filters[facet]).values_list("pk", flat=True)
            ]
            if not filters[facet]:
                filters[facet] = ["0"]  # a filter on something that does not exist matches nothing
    sort = data.get("sort", SearchSort.RELEVANCE)
    try:
        page = max(1, int(data.get("page", 1)))
    except (TypeError, ValueError):
        page = 1
    return SearchParams(
        query=(data.get("q") or "").strip()[:200],
        filters=filters,
        sort=sort if sort in SearchSort.values else SearchSort.RELEVANCE,
        page=min(page, 500),
        page_size=page_size,
    )


#: What a search page's results and labelled facets depend on (``apps.core.freshness.TOPICS``):
#: the index, and the names of domains, teams and platforms shown as facet values.
SEARCH_TOPICS = ("search", "catalog", "people", "platforms")


def search_products(
    *, user, params: SearchParams, visibility: Visibility | None = None, attach: bool = True
) -> SearchPage:
    """Run ``params`` on the configured backend for ``user``; see ``SearchBackend.search``.
    Facet counts are disjunctive: a facet with a selection counts as if only the other facets
    filtered (OR within a facet), so its other values stay visible.

    Results and labelled facets are cached for everyone with the same visibility
    (``apps.core.freshness.cached_shared`` under :data:`SEARCH_TOPICS`): any committed write to
    the index, a product, a team or a platform makes them stale, so a re-indexed product shows on
    the next search. The ``DataProduct`` of each hit is read fresh on every request.
    ``visibility``: ``visibility_for(user=user)`` when the caller has it already; ``attach``
    False leaves the products to :func:`search_attach_products` (a caller that may not render)."""
    from apps.core.freshness import cached_shared

    visibility = visibility or visibility_for(user=user)
    results, facets = cached_shared(
        "search:" + _cache_name(params, visibility),
        lambda: _search_and_label(params, visibility),
        topics=SEARCH_TOPICS,
    )
    page = SearchPage(params=params, results=results, facets=facets)
    if attach:
        search_attach_products(page)
    return page


def search_attach_products(page: SearchPage) -> None:
    """Attach each hit's ``DataProduct`` (domain and owner team selected), read fresh; hits
    whose product is gone are dropped. One query."""
    results = page.results
    products = DataProduct.objects.select_related("domain", "owner_team").in_bulk([h.product_id for h in results.hits])
    for hit in results.hits:
        hit.product = products.get(hit.product_id)
    results.hits = [h for h in results.hits if h.product is not None]


def _cache_name(params: SearchParams, visibility: Visibility) -> str:
    """A digest of everything a search's results depend on besides the index."""
    from apps.core.freshness import digest

    from .backends import backend_name

    return digest(
        backend_name(),
        params.query,
        sorted((f, sorted(v)) for f, v in params.filters.items() if v),
        params.sort,
        params.page,
        params.page_size,
        visibility.anonymous,
        visibility.sees_all,
        sorted(visibility.own_product_ids),
    )


def _search_and_label(params: SearchParams, visibility: Visibility) -> tuple[SearchResults, list[Facet]]:
    results = get_backend().search(params, visibility=visibility)
    facets = dict(results.facets)
    # Disjunctive facets: a selected facet's own counts ignore its own filter, so ticking
    # "Internal" keeps "Public" and "Restricted" visible with the counts they would add. One
    # small extra search (page size 1) per facet that has a selection.
    for facet in [f for f, values in params.filters.items() if values]:
        others = replace(params, filters={f: v for f, v in params.filters.items() if f != facet}, page=1, page_size=1)
        facets[facet] = get_backend().search(others, visibility=visibility).facets.get(facet, {})
    return results, _label_facets(facets, params)


def _label_facets(raw: dict[str, dict[str, int]], params: SearchParams) -> list[Facet]:
    names: dict[str, dict[str, tuple[str, str]]] = {}  # facet -> key -> (label, url value)
    for facet, model in (("domain", Domain), ("team", Team), ("platform", Platform)):
        ids = [int(k) for k in raw.get(facet, {}) if k.isdigit()]
        names[facet] = {
            str(o.pk): (o.name, o.slug) for o in model.objects.filter(pk__in=ids).only("pk", "name", "slug")
        }
    static = {
        "classification": dict(Classification.choices),
        "status": dict(DataProductStatus.choices),
        "quality": dict(QualitySignal.choices),
        "contract": {"yes": "Has a data contract", "no": "No data contract"},
        "trust": dict(TrustSignal.choices),
    }
    facets = []
    for facet, label in FACETS.items():
        selected = set(params.filters.get(facet, []))
        values = []
        for key, count in sorted(raw.get(facet, {}).items(), key=lambda kv: (-kv[1], kv[0])):
            if facet in names:
                name, slug = names[facet].get(key, (key, key))
                values.append(FacetValue(key=slug, label=name, count=count, selected=key in selected))
            else:
                values.append(
                    FacetValue(
                        key=key, label=static.get(facet, {}).get(key, key), count=count, selected=key in selected
                    )
                )
        # The 12 largest values, plus any the user selected (a filter never disappears from view).
        shown = values[:FACET_VALUES_SHOWN] + [v for v in values[FACET_VALUES_SHOWN:] if v.selected]
        facets.append(Facet(name=facet, label=label, values=shown))
    return facets


def search_autocomplete(*, user, text: str, limit: int = 8) -> list[Suggestion]:
    """Suggestions while typing (data products by name, then words), typo-tolerant."""
    return get_backend().autocomplete(text[:100], visibility=visibility_for(user=user), limit=limit)


def _visible_documents(*, user):
    from django.db.models import Q

    from apps.catalog.choices import LISTED_STATUSES, DataProductStatus

    from .models import ProductSearchDocument

    visibility = visibility_for(user=user)
    docs = ProductSearchDocument.objects.exclude(status=DataProductStatus.RETIRED)
    if visibility.anonymous:
        return docs.none()
    if not visibility.sees_all:
        docs = docs.filter(Q(status__in=LISTED_STATUSES) | Q(product_id__in=visibility.own_product_ids))
    return docs


def _products_in_order(ids: list[int]) -> list[DataProduct]:
    products = DataProduct.objects.select_related("domain", "owner_team").in_bulk(ids)
    return [products[i] for i in ids if i in products]


def search_home_product_ids(*, user, popular: int = 4, newest: int = 4) -> tuple[list[int], list[int]]:
    """The marketplace home's cards for ``user``: ids of the ``popular`` most used visible
    products, and of the ``newest`` newest that are not among them. Cached for everyone with the
    same visibility under :data:`SEARCH_TOPICS` (popularity and status live in the index)."""
    from apps.core.freshness import cached_shared

    visibility = visibility_for(user=user)

    def compute() -> tuple[list[int], list[int]]:
        docs = _visible_documents(user=user).exclude(status="deprecated")
        popular_ids = list(docs.order_by("-popularity", "name").values_list("product_id", flat=True)[:popular])
        # "New" shows what "Popular" does not, so a small catalog does not list the same cards twice.
        newest_ids = [
            i
            for i in docs.order_by("-created_at").values_list("product_id", flat=True)[: popular + newest]
            if i not in popular_ids
        ][:newest]
        return popular_ids, newest_ids

    return cached_shared(
        f"search_home:{popular}:{newest}:" + _cache_name(SearchParams(), visibility),
        compute,
        topics=SEARCH_TOPICS,
    )


def search_products_in_order(ids: list[int]) -> list[DataProduct]:
    """The products of ``ids`` (domain and owner team selected) in that order; missing ones left out."""
    return _products_in_order(ids)


def search_popular(*, user, limit: int = 6) -> list[DataProduct]:
    """Most used visible products (popularity: grants, requests, views over 30 days)."""
    ids = list(
        _visible_documents(user=user)
        .exclude(status="deprecated")
        .order_by("-popularity", "name")
        .values_list("product_id", flat=True)[:limit]
    )
    return _products_in_order(ids)


def product_access_states(*, user, product_ids: list[int] | None = None) -> dict[int, str]:
    """Data product id -> "active" (``user`` has access) or "pending" (a request is on its way),
    for the products ``user`` asked for (only ``product_ids`` when given); one query."""
    from apps.access.choices import AccessRequestStatus as S
    from apps.access.models import AccessRequest

    if not user.is_authenticated:
        return {}
    requests = AccessRequest.objects.filter(
        requester=user, status__in=[S.SUBMITTED, S.PENDING_APPROVAL, S.APPROVED, S.PROVISIONING, S.ACTIVE]
    )
    if product_ids is not None:
        requests = requests.filter(output_port__data_product_id__in=product_ids)
    states: dict[int, str] = {}
    for product_id, status in requests.values_list("output_port__data_product_id", "status"):
        states[product_id] = "active" if status == S.ACTIVE or states.get(product_id) == "active" else "pending"
    return states


def product_card_facts(*, user, products) -> None:
    """Attach what a marketplace card shows to each of ``products`` (in place, two queries):
    ``card_consumers`` (int, active grants), ``card_has_contract`` (bool), ``card_quality`` (a
    ``QualitySignal`` code), ``card_trust`` (``apps.contracts.selectors.trust_card``: the trust
    badge) from the search document, and ``card_access`` for ``user``: "active" (you have
    access), "pending" (a request is on its way) or "" (none)."""
    from .models import ProductSearchDocument

    ids = [p.pk for p in products]
    docs = {
        d["product_id"]: d
        for d in ProductSearchDocument.objects.filter(product_id__in=ids).values(
            "product_id", "consumer_count", "has_contract", "quality", "trust_card"
        )
    }
    states = product_access_states(user=user, product_ids=ids)
    for product in products:
        doc = docs.get(product.pk, {})
        product.card_consumers = doc.get("consumer_count", 0)
        product.card_has_contract = doc.get("has_contract", False)
        product.card_quality = doc.get("quality", "")
        product.card_trust = doc.get("trust_card") or {"level": "none"}
        product.card_access = states.get(product.pk, "")
