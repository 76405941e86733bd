"""The denormalised search index on PostgreSQL.

Rows here are derived from the catalog (never edited by hand) by ``apps.search.indexing`` and
rebuilt on commit of a catalog change (Celery) or by ``manage.py reindex``. The Elasticsearch
backend indexes the same rows, so both backends rank the same facts.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower

from .choices import EntryKind, QualitySignal, TrustSignal


class ProductSearchDocument(models.Model):
    """One data product as search sees it: facet values, ranking signals (popularity, contract,
    quality, trust) and ``head``, the small ``tsvector`` of its name and summary/tags. Kept narrow on
    purpose (the whole text is in ``ProductSearchText``) so that the 100,000 rows stay in
    PostgreSQL's shared buffers and visiting thousands of matches costs microseconds each."""

    product = models.OneToOneField("catalog.DataProduct", on_delete=models.CASCADE, primary_key=True, related_name="+")
    name = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    domain = models.ForeignKey("catalog.Domain", on_delete=models.CASCADE, related_name="+")
    owner_team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    classification = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    platform_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    has_contract = models.BooleanField(default=False)
    quality = models.CharField(max_length=8, choices=QualitySignal.choices, default=QualitySignal.NONE)
    trust = models.CharField(
        max_length=8,
        choices=TrustSignal.choices,
        default=TrustSignal.NONE,
        help_text="From the data contract: trusted, has issues, or no contract.",
    )
    trust_card = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the product card's trust badge shows (contracts.selectors.trust_card).",
    )
    consumer_count = models.PositiveIntegerField(default=0, help_text="Active grants.")
    view_count = models.PositiveIntegerField(default=0, help_text="Page views in the last 30 days.")
    request_count = models.PositiveIntegerField(default=0, help_text="Access requests in the last 30 days.")
    popularity = models.FloatField(default=0, help_text="3 × consumers + requests + 0.2 × views (30 days).")
    created_at = models.DateTimeField(help_text="When the data product was created (sort: newest).")
    head = SearchVectorField(help_text="Name (A), summary and tags (B) only: small, for cheap first-pass ranking.")
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "search_productdocument"
        indexes = [
            GinIndex(fields=["head"], name="search_doc_head_gin"),
            GinIndex(fields=["tags"], name="search_doc_tags_gin"),
            GinIndex(fields=["platform_ids"], name="search_doc_platforms_gin"),
            models.Index(fields=["-popularity"], name="search_doc_popularity"),
            models.Index(fields=["-created_at"], name="search_doc_created"),
            models.Index(Lower("name"), name="search_doc_name_lower"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductSearchText(models.Model):
    """A data product's whole text as a weighted ``tsvector``: name A, summary and tags B,
    description, domain and owner team C, its assets' and columns' names and descriptions D."""

    product = models.OneToOneField("catalog.DataProduct", on_delete=models.CASCADE, primary_key=True, related_name="+")
    document = SearchVectorField()

    class Meta:
        db_table = "search_producttext"
        indexes = [GinIndex(fields=["document"], name="search_text_document_gin")]

    def __str__(self) -> str:
        return f"text of product {self.product_id}"


class SearchEntry(models.Model):
    """An asset (table, view) or column of a data product, for matching and highlighting: the
    results page shows which of a product's tables and columns matched. Weighted ``tsvector``:
    name A, description B."""

    product = models.ForeignKey("catalog.DataProduct", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey("catalog.Asset", on_delete=models.CASCADE, related_name="+")
    column = models.ForeignKey("catalog.Column", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=8, choices=EntryKind.choices)
    label = models.CharField(max_length=600, help_text="schema.table for assets, the column name for columns.")
    description = models.TextField(blank=True)
    document = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["document"], name="search_entry_document_gin")]

    def __str__(self) -> str:
        return self.label


class SearchTerm(models.Model):
    """A word of the catalog's vocabulary (names, tags, descriptions) with how often it occurs:
    completes what the user types and corrects typos ("custmer" → "customer") through pg_trgm
    similarity (a trigram GIN index is added by the migration when pg_trgm is available)."""

    term = models.CharField(max_length=64, primary_key=True)
    frequency = models.PositiveIntegerField(default=1)

    class Meta:
        # The primary key's ``varchar_pattern_ops`` index (Django adds it) serves prefix LIKE.
        ordering = ["-frequency"]

    def __str__(self) -> str:
        return self.term
