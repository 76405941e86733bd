"""Search endpoints: the marketplace's ranked, faceted search and autocomplete. Both call the
selectors the marketplace page calls (``apps.search.selectors``), so results are restricted
to the data products the caller may see by the catalog's own rules."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.choices import Classification, DataProductStatus
from apps.insights.services import usage_event_record_search
from apps.search import selectors
from apps.search.choices import QualitySignal, SearchSort

from . import serializers as s

_FACET_PARAMS = [
    OpenApiParameter("domain", str, many=True, explode=True, description="Domain slug (repeat for OR)."),
    OpenApiParameter("team", str, many=True, explode=True, description="Owner team slug (repeat for OR)."),
    OpenApiParameter("platform", str, many=True, explode=True, description="Platform slug (repeat for OR)."),
    OpenApiParameter("tag", str, many=True, explode=True, description="Tag (repeat for OR)."),
    OpenApiParameter(
        "classification",
        str,
        many=True,
        explode=True,
        enum=Classification.values,
        description="Classification (repeat for OR).",
    ),
    OpenApiParameter(
        "status",
        str,
        many=True,
        explode=True,
        enum=DataProductStatus.values,
        description="Lifecycle status (repeat for OR).",
    ),
    OpenApiParameter("contract", str, many=True, explode=True, enum=["yes", "no"], description="Has a data contract."),
    OpenApiParameter(
        "quality",
        str,
        many=True,
        explode=True,
        enum=QualitySignal.values,
        description="Quality signal from the latest checks.",
    ),
]


class SearchView(APIView):
    """Marketplace search over the data products you may see."""

    @extend_schema(
        summary="Search the marketplace",
        tags=["search"],
        responses=s.SearchResultSerializer,
        parameters=[
            OpenApiParameter(
                "q",
                str,
                description="Words to find in names, descriptions, tags, domains, tables and "
                "columns (all must match; quotes make a phrase; up to 200 characters).",
            ),
            OpenApiParameter(
                "sort", str, enum=SearchSort.values, description="relevance (default), popularity, newest, name."
            ),
            OpenApiParameter("page", int, description="1-based page (1-500)."),
            OpenApiParameter("page_size", int, description="Data products per page (1-100, default 20)."),
            *_FACET_PARAMS,
        ],
        description="The marketplace's search: data products ranked by relevance, each with the assets and columns "
        "that matched, and facet counts (AND across facets, OR within one). Facets are filters: pass a "
        "facet value's `key` back as its parameter. Searches that find nothing count as unmet demand "
        "in the KPIs.",
        examples=[
            OpenApiExample(
                "Search",
                response_only=True,
                value={
                    "total": 1,
                    "truncated": False,
                    "page": 1,
                    "page_size": 20,
                    "num_pages": 1,
                    "corrections": {},
                    "results": [
                        {
                            "data_product": {
                                "slug": "employees",
                                "name": "Employees",
                                "summary": "",
                                "domain": "human-resources",
                                "owner_team": "hr-data",
                                "status": "published",
                                "classification": "internal",
                                "tags": ["hr"],
                                "updated_at": "2026-01-01T00:00:00Z",
                            },
                            "score": 1.3,
                            "name_html": "<mark>Employees</mark>",
                            "summary_html": "",
                            "match_count": 1,
                            "matches": [
                                {
                                    "kind": "column",
                                    "asset_id": 7,
                                    "column_id": 31,
                                    "label_html": "employee.<mark>jobtitle</mark>",
                                    "description_html": "",
                                }
                            ],
                        }
                    ],
                    "facets": [
                        {
                            "name": "domain",
                            "label": "Domain",
                            "values": [
                                {"key": "human-resources", "label": "Human Resources", "count": 1, "selected": False}
                            ],
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request):
        query = s.SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = selectors.search_params_from(request.query_params, page_size=query.validated_data["page_size"])
        page = selectors.search_products(user=request.user, params=params)
        usage_event_record_search(
            user=request.user, query=params.query, filters=params.filters, result_count=page.total
        )
        body = {
            "total": page.total,
            "truncated": page.results.truncated,
            "page": params.page,
            "page_size": params.page_size,
            "num_pages": page.num_pages,
            "corrections": page.results.corrections,
            "results": page.hits,
            "facets": page.facets,
        }
        return Response(s.SearchResultSerializer(body, context={"request": request}).data)


class AutocompleteView(APIView):
    """Suggestions while typing."""

    @extend_schema(
        summary="Autocomplete search words and data products",
        tags=["search"],
        responses=s.SuggestionSerializer(many=True),
        parameters=[OpenApiParameter("q", str, description="What was typed so far (up to 100 characters).")],
        description="Data products by name (with `slug`) first, then words to search for; typo-tolerant. "
        "Only products you may see.",
    )
    def get(self, request):
        query = s.AutocompleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        suggestions = selectors.search_autocomplete(user=request.user, text=query.validated_data["q"])
        return Response(s.SuggestionSerializer(suggestions, many=True).data)
