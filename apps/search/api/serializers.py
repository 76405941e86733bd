"""Search API shapes: the marketplace's ranked, faceted search and autocomplete."""

from __future__ import annotations

from rest_framework import serializers

from apps.catalog.api.serializers import DataProductListSerializer
from apps.catalog.choices import Classification, DataProductStatus
from apps.search.choices import QualitySignal, SearchSort


class SearchQuerySerializer(serializers.Serializer):
    """Validates the query string (bad values answer 400 instead of being dropped silently)."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        trim_whitespace=True,
        help_text="Words to find in names, descriptions, tags, tables and columns; quotes make a phrase.",
    )
    sort = serializers.ChoiceField(
        choices=SearchSort.choices,
        required=False,
        default=SearchSort.RELEVANCE,
        help_text="relevance (default), popularity, newest or name.",
    )
    page = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=1, help_text="1-based page (at most 500)."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=20, help_text="Data products per page (1-100, default 20)."
    )
    domain = serializers.ListField(child=serializers.CharField(max_length=80), required=False, max_length=20)
    team = serializers.ListField(child=serializers.CharField(max_length=80), required=False, max_length=20)
    platform = serializers.ListField(child=serializers.CharField(max_length=80), required=False, max_length=20)
    tag = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=20)
    classification = serializers.ListField(
        child=serializers.ChoiceField(choices=Classification.choices), required=False, max_length=20
    )
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=DataProductStatus.choices), required=False, max_length=20
    )
    contract = serializers.ListField(child=serializers.ChoiceField(choices=["yes", "no"]), required=False, max_length=2)
    quality = serializers.ListField(
        child=serializers.ChoiceField(choices=QualitySignal.choices), required=False, max_length=20
    )

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):  # a QueryDict: facets repeat (?domain=a&domain=b)
            plain = {k: data.get(k) for k in ("q", "sort", "page", "page_size") if k in data}
            plain.update(
                {
                    k: data.getlist(k)
                    for k in ("domain", "team", "platform", "tag", "classification", "status", "contract", "quality")
                    if k in data
                }
            )
            data = plain
        return super().to_internal_value(data)


class MatchSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="`asset` (a table or view) or `column`.")
    asset_id = serializers.IntegerField(help_text="Id of the asset (see `assets/{id}/`).")
    column_id = serializers.IntegerField(allow_null=True, help_text="Id of the column, or null for an asset match.")
    label_html = serializers.CharField(
        help_text="`schema.table` or `table.column`, HTML-escaped, matched words in `<mark>`."
    )
    description_html = serializers.CharField(help_text="Its description, escaped, matched words in `<mark>`.")


class SearchHitSerializer(serializers.Serializer):
    data_product = DataProductListSerializer(source="product", help_text="The matching data product.")
    score = serializers.FloatField(help_text="Relevance (higher is better; only comparable within one search).")
    name_html = serializers.CharField(help_text="Name, HTML-escaped, matched words in `<mark>`.")
    summary_html = serializers.CharField(help_text="Summary, HTML-escaped, matched words in `<mark>`.")
    match_count = serializers.IntegerField(help_text="How many assets and columns of the product matched.")
    matches = MatchSerializer(many=True, help_text="The best matching assets and columns of the product.")


class FacetValueSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The value to pass back as the facet parameter (a slug or code).")
    label = serializers.CharField(help_text="Readable name.")
    count = serializers.IntegerField(help_text="Data products with this value among the results.")
    selected = serializers.BooleanField(help_text="Whether this value is in the current filter.")


class FacetSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="The query parameter: domain, team, classification, platform, tag, status, contract, quality."
    )
    label = serializers.CharField(help_text="Readable name.")
    values = FacetValueSerializer(many=True, help_text="The 12 largest values with counts, plus any selected one.")


class SearchResultSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Matching data products (a lower bound when `truncated`).")
    truncated = serializers.BooleanField(help_text="True when only the best candidates were counted.")
    page = serializers.IntegerField(help_text="This page (1-based).")
    page_size = serializers.IntegerField(help_text="Data products per page.")
    num_pages = serializers.IntegerField(help_text="Pages in all.")
    corrections = serializers.DictField(
        child=serializers.CharField(), help_text="Typed word → the word searched instead (typo tolerance)."
    )
    results = SearchHitSerializer(
        many=True, help_text="Data products, best first, with their matching assets and columns."
    )
    facets = FacetSerializer(many=True, help_text="Facets with counts over all results.")


class SuggestionSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The suggested text.")
    html = serializers.CharField(help_text="The same, HTML-escaped, typed letters in `<mark>`.")
    slug = serializers.CharField(
        allow_blank=True, help_text="Data product slug for a product suggestion; empty for a word."
    )


class AutocompleteQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, default="", help_text="What was typed so far."
    )
