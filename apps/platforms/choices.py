from django.db import models


class PlatformKind(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL"
    MARIADB = "mariadb", "MariaDB"
    DBT = "dbt", "dbt"


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
