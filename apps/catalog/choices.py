from django.db import models


class DataProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


# Statuses every signed-in user sees in the marketplace; drafts only their owners see.
LISTED_STATUSES = (DataProductStatus.PUBLISHED, DataProductStatus.DEPRECATED)


class Classification(models.TextChoices):
    """Data classification; the access policy picks the approval chain from it."""

    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class OutputPortType(models.TextChoices):
    SCHEMA = "schema", "Database schema"
    TABLE = "table", "Table or view"


class ExposureStatus(models.TextChoices):
    """Whether an output port may take access requests (``apps.platforms.exposure``): a port on a
    location assigned to its product's domain (or product), and exposed by no other product, is
    approved at once; any other port awaits an exposure review by a platform operator or steward."""

    APPROVED = "approved", "Approved exposure"
    PENDING_REVIEW = "pending_review", "Awaiting exposure review"
    REJECTED = "rejected", "Exposure rejected"


class AssetKind(models.TextChoices):
    TABLE = "table", "Table"
    VIEW = "view", "View"
    MATERIALIZED_VIEW = "materialized_view", "Materialized view"
    DBT_MODEL = "dbt_model", "dbt model"


class AssetRelationKind(models.TextChoices):
    FOREIGN_KEY = "foreign_key", "Foreign key"
    LINEAGE = "lineage", "Lineage"


class DataContractStatus(models.TextChoices):
    """ODCS v3 ``status`` values (Open Data Contract Standard v3.1, "Fundamentals")."""

    PROPOSED = "proposed", "Proposed"
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


class QualityCheckSource(models.TextChoices):
    DBT = "dbt", "dbt test"
    DATA_CONTRACT = "data_contract", "Data contract rule"


class QualityCheckStatus(models.TextChoices):
    """Latest result of a quality check; dbt's ``run_results.json`` statuses map onto these."""

    PASS = "pass", "Passed"
    WARN = "warn", "Warning"
    FAIL = "fail", "Failed"
    ERROR = "error", "Error"
    SKIPPED = "skipped", "Skipped"
    UNKNOWN = "unknown", "Not run yet"


DP = DataProductStatus

#: Data product lifecycle: status -> statuses it may move to (``apps.catalog.services``).
DATA_PRODUCT_TRANSITIONS: dict[str, frozenset[str]] = {
    DP.DRAFT: frozenset({DP.PUBLISHED, DP.RETIRED}),
    DP.PUBLISHED: frozenset({DP.DEPRECATED}),
    DP.DEPRECATED: frozenset({DP.PUBLISHED, DP.RETIRED}),
    DP.RETIRED: frozenset(),
}
