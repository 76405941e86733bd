from django.db import models


class PlatformKind(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL"
    MARIADB = "mariadb", "MariaDB"
    DBT = "dbt", "dbt"


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SyncPhase(models.TextChoices):
    """Where a sync run is: shown with its progress on the platform page."""

    CONNECTING = "connecting", "Connecting"
    READING = "reading", "Reading the platform"
    WRITING = "writing", "Writing the catalog"
    DONE = "done", "Done"
