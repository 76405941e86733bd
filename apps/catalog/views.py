"""Marketplace (search, home), data product pages with tabs, and domain/team/person pages.

Every object goes through a selector that applies the user's visibility (404 for forbidden and
missing alike); views only parse input, call selectors/services and render.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from apps.access import selectors as access_selectors
from apps.accounts import selectors as accounts_selectors
from apps.accounts.models import TeamMembership
from apps.insights.services import data_product_demand_record, usage_event_record_search, usage_event_record_view
from apps.search import selectors as search_selectors
from apps.search.choices import SearchSort

from . import selectors

PRODUCT_TABS = [
    ("overview", "Overview"),
    ("ports", "Output ports"),
    ("schema", "Schema"),
    ("contract", "Contract"),
    ("quality", "Quality"),
    ("lineage", "Lineage"),
    ("consumers", "Consumers"),
    ("access", "Access"),
    ("activity", "Activity"),
]


@login_required
@require_GET
def marketplace(request):
    """Home (popular, new, by domain) without a query; ranked, faceted results with one.

    The results (or the home sections) are rendered once for everyone who would see the same
    fragment and kept in the shared cache (:func:`_marketplace_fragment`); the search is
    recorded for the insights on every request, cached or not."""
    params = search_selectors.search_params_from(request.GET)
    searching = bool(params.query or params.filters)
    context = {"params": params, "query": params.query, "sorts": SearchSort.choices, "searching": searching}
    fragment, total = _marketplace_fragment(request, params, context)
    if searching:
        usage_event_record_search(user=request.user, query=params.query, filters=params.filters, result_count=total)
    if fragment is None:  # a search that found nothing: its page carries a form (and a CSRF token)
        page = search_selectors.search_products(user=request.user, params=params)
        fragment = render_to_string("catalog/_results.html", _search_context(request, page, context), request)
    if request.htmx and not request.htmx.boosted:
        return HttpResponse(fragment)
    # The fragment is our own template's output, escaped when it was rendered.
    return render(request, "catalog/marketplace.html", {**context, "fragment": mark_safe(fragment)})  # noqa: S308


def _marketplace_fragment(request, params, context) -> tuple[str | None, int]:
    """``(html, total)``: the results of ``params`` (or the home sections) rendered, and the
    number of data products found. ``html`` is None for a search that found nothing.

    The products shown come from the shared caches of search
    (:func:`apps.search.selectors.search_products`, :func:`~apps.search.selectors.search_home_product_ids`);
    the rendered fragment is cached for everyone with the same visibility, the same query string
    and the same access requests *for the products shown* (the cards say "You have access" /
    "Request pending"), under the topics the fragment shows
    (:data:`apps.search.selectors.SEARCH_TOPICS`: the index, products, teams, domains,
    platforms), so a change to any of them shows on the next request."""
    from apps.core.freshness import cached_shared, digest

    visibility = search_selectors.visibility_for(user=request.user)
    if context["searching"]:
        page = search_selectors.search_products(user=request.user, params=params, visibility=visibility, attach=False)
        shown = [h.product_id for h in page.hits]
    else:
        page = None
        popular_ids, newest_ids = search_selectors.search_home_product_ids(user=request.user)
        shown = popular_ids + newest_ids
    name = digest(
        sorted(request.GET.lists()),
        visibility.sees_all,
        sorted(visibility.own_product_ids),
        sorted(search_selectors.product_access_states(user=request.user, product_ids=shown).items()),
    )

    def render_fragment() -> tuple[str | None, int]:
        if page is None:
            home = _home_context(request, context, popular_ids, newest_ids)
            return render_to_string("catalog/_home.html", home, request), 0
        if not page.hits:
            return None, page.total
        search_selectors.search_attach_products(page)
        return render_to_string("catalog/_results.html", _search_context(request, page, context), request), page.total

    return cached_shared(
        "marketplace:" + name,
        render_fragment,
        topics=search_selectors.SEARCH_TOPICS,
    )


def _search_context(request, page, context) -> dict:
    context = {**context, "page": page}
    search_selectors.product_card_facts(user=request.user, products=[h.product for h in page.hits])
    context["chips"] = _filter_chips(request, page)
    if not page.hits:  # a dead end gets a way out: corrections, popular products, "ask for this data"
        query = page.params.query
        context["popular"] = search_selectors.search_popular(user=request.user, limit=3)
        context["did_you_mean"] = [
            s for s in search_selectors.search_autocomplete(user=request.user, text=query, limit=4) if query
        ][:4]
        search_selectors.product_card_facts(user=request.user, products=context["popular"])
    return context


def _home_context(request, context, popular_ids: list[int], newest_ids: list[int]) -> dict:
    popular = search_selectors.search_products_in_order(popular_ids)
    newest = search_selectors.search_products_in_order(newest_ids)
    search_selectors.product_card_facts(user=request.user, products=popular + newest)
    return {
        **context,
        "popular": popular,
        "newest": newest,
        "domains": selectors.domain_list_with_counts(user=request.user),
    }


def _filter_chips(request, page) -> list[dict]:
    """The active filters as removable chips: ``[{"facet": label, "value": label, "url": query
    string without that value}]``."""
    chips = []
    for facet in page.facets:
        for value in facet.values:
            if value.selected:
                remaining = request.GET.copy()
                remaining.setlist(facet.name, [v for v in remaining.getlist(facet.name) if v != value.key])
                remaining.pop("page", None)
                chips.append({"facet": facet.label, "value": value.label, "url": "?" + remaining.urlencode()})
    return chips


@login_required
@require_POST
def data_demand_ask(request):
    """ "Ask for this data" on a search that found nothing: recorded as unmet demand (visible to
    governance on the insights pages), then back to the search."""
    query = (request.POST.get("q") or "").strip()[:200]
    note = (request.POST.get("note") or "").strip()[:500]
    if not query and not note:
        messages.error(request, "Say what data you are looking for.")
    else:
        data_product_demand_record(actor=request.user, query=query or note[:200], note=note)
        messages.success(
            request,
            "Thanks: the governance team sees that you are looking for "
            f"“{query or note[:60]}” and can find or ask a domain team for it.",
        )
    return redirect(
        f"{reverse('catalog:marketplace')}?{urlencode({'q': query})}" if query else reverse("catalog:marketplace")
    )


@login_required
@require_GET
def autocomplete(request):
    """htmx: suggestions under the search box while typing."""
    text = request.GET.get("q", "")
    suggestions = search_selectors.search_autocomplete(user=request.user, text=text)
    return render(request, "catalog/_suggestions.html", {"suggestions": suggestions, "query": text})


#: Tabs whose body is the same for everyone who may see the product (whether they may is checked
#: before, by ``data_product_get``), rendered once and cached per product under the topics
#: (``apps.core.freshness.TOPICS``) of what they show: the overview shows the description,
#: tables, trust (contract, drift, quality, incidents), owners and the count of active grants;
#: the schema tab the tables, columns and keys of the output ports.
CACHED_TABS: dict[str, tuple[str, ...]] = {
    "overview": ("catalog", "schema", "quality", "people", "grants"),
    "schema": ("catalog", "schema"),
}


@login_required
@require_GET
def data_product_detail(request, slug: str):
    product = selectors.data_product_get(user=request.user, slug=slug)
    search_selectors.product_card_facts(user=request.user, products=[product])  # "you have access" in the header
    tab = request.GET.get("tab", "overview")
    if tab not in dict(PRODUCT_TABS):
        tab = "overview"
    context = {
        "product": product,
        "tab": tab,
        "tabs": PRODUCT_TABS,
        "can_edit": selectors.data_product_can_change(user=request.user, product=product),
    }
    if tab in CACHED_TABS:
        from apps.core.freshness import cached_shared

        html = cached_shared(
            f"product_tab:{product.pk}:{tab}",
            # Only what is the same for everyone goes in: never can_edit or the person's access.
            lambda: render_to_string(
                f"catalog/_tab_{tab}.html", {"product": product, "tab": tab, **_tab_context(request, product, tab)}
            ),
            topics=CACHED_TABS[tab],
        )
        context["tab_html"] = mark_safe(html)  # noqa: S308  (our template's output, escaped when rendered)
    else:
        context.update(_tab_context(request, product, tab))
    if "tab" not in request.GET:  # switching tabs is not another view of the product
        usage_event_record_view(user=request.user, data_product=product)
    return render(request, "catalog/product_detail.html", context)


def _tab_context(request, product, tab: str) -> dict:
    """Only what the shown tab needs is queried."""
    user = request.user
    if tab == "overview":
        from apps.contracts import views as contract_views

        return {
            **contract_views.trust_context(product),
            "contract": selectors.data_product_contract(product=product),
            "consumer_count": access_selectors.grant_active_for_product(product=product).count(),
            "tables": selectors.data_product_tables(product=product),
            "owners": TeamMembership.objects.filter(team=product.owner_team)
            .select_related("user")
            .order_by("role", "user__username"),
        }
    if tab in ("ports", "access"):
        return {
            "ports": [
                {"port": port, "my_request": access_selectors.access_request_for_port(user=user, output_port=port)}
                for port in product.output_ports.all()
            ]
        }
    if tab == "schema":
        return {"assets": selectors.data_product_assets(product=product)}
    if tab == "contract":
        from apps.contracts import views as contract_views

        return contract_views.contract_tab_context(request, product)
    if tab == "quality":
        from apps.contracts import views as contract_views

        return {
            "quality": selectors.data_product_quality(product=product),
            **contract_views.quality_tab_context(request, product),
        }
    if tab == "lineage":
        graph_lineage = selectors.data_product_lineage_graph(product=product, user=user)
        return {
            "graph_lineage": graph_lineage,
            "graph": _lineage_graph(product, graph_lineage),
            "lineage": selectors.data_product_lineage(product=product),
        }
    if tab == "consumers":
        return {}  # catalog/_consumers.html reads them through the product_consumers tag
    if tab == "activity":
        return {"activity": selectors.data_product_activity(product=product, user=user)}
    return {}


def _lineage_graph(product, lineage: dict) -> dict:
    """Layout for the server-rendered SVG: upstream nodes left, the product centre, downstream
    right; coordinates in SVG user units."""
    box_w, box_h, gap, col_gap = 220, 44, 16, 110
    rows = max(len(lineage["upstream"]), len(lineage["downstream"]), 1)
    height = rows * (box_h + gap) + gap
    centre_y = height / 2 - box_h / 2
    xs = {"upstream": gap, "self": gap + box_w + col_gap, "downstream": gap + 2 * (box_w + col_gap)}

    def column(nodes, side):
        top = (height - len(nodes) * (box_h + gap) + gap) / 2
        placed = []
        for i, node in enumerate(nodes):
            y = top + i * (box_h + gap)
            x = xs[side]
            if side == "upstream":
                path = (x + box_w, y + box_h / 2, xs["self"], centre_y + box_h / 2)
            else:
                path = (xs["self"] + box_w, centre_y + box_h / 2, x, y + box_h / 2)
            x1, y1, x2, y2 = path
            mid = (x1 + x2) / 2
            placed.append(
                {
                    **node,
                    "x": x,
                    "y": y,
                    "path": f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}",
                    "dashed": node["kinds"] == {"foreign_key"},
                }
            )
        return placed

    return {
        "width": xs["downstream"] + box_w + gap,
        "height": height,
        "box_w": box_w,
        "box_h": box_h,
        "self": {"x": xs["self"], "y": centre_y, "label": product.name},
        "upstream": column(lineage["upstream"], "upstream"),
        "downstream": column(lineage["downstream"], "downstream"),
    }


@login_required
@require_GET
def domain_detail(request, slug: str):
    domain = selectors.domain_get(slug=slug)
    products = selectors.data_product_visible_list(user=request.user, domain=domain)
    return render(request, "catalog/domain_detail.html", {"domain": domain, "products": products})


@login_required
@require_GET
def team_detail(request, slug: str):
    team = accounts_selectors.team_get(slug=slug)
    context = {
        "team": team,
        "members": TeamMembership.objects.filter(team=team).select_related("user").order_by("role", "user__username"),
        "owns": selectors.data_product_visible_list(user=request.user, owner_team=team),
        "consumes": selectors.grant_active_visible(user=request.user).filter(access_request__on_behalf_of_team=team),
    }
    return render(request, "catalog/team_detail.html", context)


@login_required
@require_GET
def person_detail(request, username: str):
    person = selectors.person_get(username=username)
    is_self_or_steward = person == request.user or selectors.data_product_sees_all(user=request.user)
    memberships = TeamMembership.objects.filter(user=person).select_related("team").order_by("team__name")
    context = {
        "person": person,
        "memberships": memberships,
        "owns": selectors.data_product_visible_list(user=request.user, owner_team__in=[m.team_id for m in memberships]),
        "consumes": selectors.grant_active_visible(user=request.user).filter(access_request__requester=person),
        # Someone's open decisions are theirs (and governance's) to see, not everyone's.
        "pending": access_selectors.access_request_inbox(user=person) if is_self_or_steward else None,
    }
    return render(request, "catalog/person_detail.html", context)
