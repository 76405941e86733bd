from django.db import models


class BreakingChangePolicy(models.TextChoices):
    """What happens when a contract version has a breaking change but no major version bump."""

    REFUSE = "refuse", "Refuse the version"
    WARN = "warn", "Accept it with a warning"


class ImportSource(models.TextChoices):
    API = "api", "API"
    UPLOAD = "upload", "File upload"
    PASTE = "paste", "Pasted text"
    DEMO = "demo", "Demo loader"
    REPOSITORY = "repo", "Repository file"


class DriftKind(models.TextChoices):
    """How the platform differs from what the contract promises."""

    MISSING_TABLE = "missing_table", "Table missing on the platform"
    MISSING_COLUMN = "missing_column", "Column missing on the platform"
    TYPE_MISMATCH = "type_mismatch", "Type differs"
    NULLABILITY = "nullability", "Nullable although required"
    EXTRA_COLUMN = "extra_column", "Column not in the contract"
    PRIMARY_KEY = "primary_key", "Primary key differs"
    MISSING_SCHEMA = "missing_schema", "Server names a schema the platform lacks"
    MISSING_DATABASE = "missing_database", "Server names a database the platform lacks"


class DriftStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted by the owner"
    RESOLVED = "resolved", "Resolved"


class QualityResultStatus(models.TextChoices):
    PASS = "pass", "Passed"
    FAIL = "fail", "Failed"
    ERROR = "error", "Could not run"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


IS = IncidentStatus
#: Incident lifecycle: status -> statuses it may move to (``apps.contracts.services``).
INCIDENT_TRANSITIONS: dict[str, frozenset[str]] = {
    IS.OPEN: frozenset({IS.ACKNOWLEDGED, IS.RESOLVED}),
    IS.ACKNOWLEDGED: frozenset({IS.RESOLVED}),
    IS.RESOLVED: frozenset(),
}
