from django.db import models


class QualitySignal(models.TextChoices):
    """A data product's quality at a glance, from the latest results of its quality checks."""

    PASSING = "pass", "Checks passing"
    WARNING = "warn", "Warnings"
    FAILING = "fail", "Checks failing"
    NONE = "none", "No checks"


class TrustSignal(models.TextChoices):
    """A data product's trust at a glance, from its data contract (``apps.contracts.selectors.trust_summaries``)."""

    TRUSTED = "trusted", "Trusted"
    ISSUES = "issues", "Has issues"
    NONE = "none", "No data contract"


#: ``trust_summary``'s level -> the search document's trust signal.
TRUST_BY_LEVEL = {
    "good": TrustSignal.TRUSTED,
    "warning": TrustSignal.ISSUES,
    "poor": TrustSignal.ISSUES,
    "none": TrustSignal.NONE,
}


class SearchSort(models.TextChoices):
    RELEVANCE = "relevance", "Relevance"
    POPULARITY = "popularity", "Popularity"
    NEWEST = "newest", "Newest"
    NAME = "name", "Name"


class EntryKind(models.TextChoices):
    ASSET = "asset", "Table or view"
    COLUMN = "column", "Column"
