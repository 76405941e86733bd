from django.db import models


class QualitySignal(models.TextChoices):
    """A data product's quality at a glance, from the latest results of its quality checks."""

    PASSING = "pass", "Checks passing"
    WARNING = "warn", "Warnings"
    FAILING = "fail", "Checks failing"
    NONE = "none", "No checks"


class SearchSort(models.TextChoices):
    RELEVANCE = "relevance", "Relevance"
    POPULARITY = "popularity", "Popularity"
    NEWEST = "newest", "Newest"
    NAME = "name", "Name"


class EntryKind(models.TextChoices):
    ASSET = "asset", "Table or view"
    COLUMN = "column", "Column"
