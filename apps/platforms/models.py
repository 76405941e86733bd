import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.core.models import TimeStampedModel

from . import crypto
from .choices import PlatformKind, SyncPhase, SyncRunStatus


@dataclass(frozen=True, repr=False)
class ConnectionParams:
    """Where and as whom the portal connects to a platform. ``repr`` never shows the password."""

    host: str
    port: int
    database: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"ConnectionParams(host={self.host!r}, port={self.port}, database={self.database!r}, username={self.username!r}, password=***)"


class Platform(TimeStampedModel):
    """A data platform (warehouse, lakehouse, dbt project) that holds the data behind output ports.

    The portal connects to it with a service account to sync metadata and enforce grants. The
    service account's password is either read from an environment variable named in
    ``password_env_var`` (preferred) or stored encrypted; it is never shown or logged.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=PlatformKind.choices)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="platforms",
        help_text="The platform team that administers it.",
    )
    host = models.CharField(max_length=255, blank=True, help_text="Host name, IP, or a Unix socket directory.")
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(max_length=255, blank=True)
    username = models.CharField(max_length=255, blank=True, help_text="The portal's service account.")
    password_env_var = models.CharField(
        max_length=255,
        blank=True,
        help_text="Name of the environment variable that holds the service account's password.",
    )
    password_encrypted = models.TextField(blank=True, editable=False)
    include_schemas = models.JSONField(
        default=list,
        blank=True,
        help_text="Schemas (databases on MariaDB) to sync; empty means every non-system schema.",
    )
    public_host = models.CharField(
        max_length=255,
        blank=True,
        help_text="Host consumers connect to, shown on 'how to connect' (defaults to host).",
    )
    reserved_locations = models.JSONField(
        default=list,
        blank=True,
        help_text="Locations the service account needs for itself, never exposable: schema names (databases on "
        "MariaDB), or `database.schema`, or `database.*` for a whole PostgreSQL database.",
    )
    sync_enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
        help_text="Minutes between scheduled syncs (5 minutes to 7 days).",
    )
    # dbt platforms only. ``database`` then names the database the dbt target builds into as
    # the manifest spells it, when it differs from the warehouse platform's (blank: the same).
    warehouse = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dbt_projects",
        limit_choices_to={"kind__in": ["postgresql", "mariadb"]},
        help_text="dbt only: the warehouse platform whose database the dbt project builds. Its assets get the dbt metadata.",
    )
    dbt_artifacts_path = models.CharField(
        max_length=500,
        blank=True,
        help_text="dbt only: directory on the worker holding manifest.json, catalog.json and run_results.json "
        "(dbt's target/). Uploaded artifacts are read instead when they are newer.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_password(self, raw_password: str) -> None:
        self.password_encrypted = crypto.encrypt(raw_password) if raw_password else ""

    @property
    def has_stored_password(self) -> bool:
        return bool(self.password_encrypted)

    def connection_params(self) -> ConnectionParams:
        """The service account's connection parameters, password resolved (env var first)."""
        if self.password_env_var:
            password = os.environ.get(self.password_env_var, "")
        elif self.password_encrypted:
            password = crypto.decrypt(self.password_encrypted)
        else:
            password = ""
        default_port = {PlatformKind.POSTGRESQL: 5432, PlatformKind.MARIADB: 3306}.get(self.kind, 0)
        return ConnectionParams(self.host, self.port or default_port, self.database, self.username, password)

    @property
    def display_host(self) -> str:
        return self.public_host or self.host


class SyncRun(models.Model):
    """One metadata sync of a platform: when, how it ended, what changed, and why it failed."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="sync_runs")
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=16, choices=SyncRunStatus.choices, default=SyncRunStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    removed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Progress of a run in progress, committed as it goes (the catalog changes commit at the end).
    phase = models.CharField(max_length=16, choices=SyncPhase.choices, default=SyncPhase.CONNECTING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A platform never has two runs in progress at once.
            models.UniqueConstraint(
                fields=["platform"],
                condition=models.Q(status="running"),
                name="sync_run_one_running_per_platform",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} sync {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))


class PlatformIdentity(TimeStampedModel):
    """Which login (principal) a portal user has on a platform: the grantee of their grants."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="platform_identities")
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="identities")
    principal = models.CharField(max_length=255, help_text="The login or role name on the platform.")

    class Meta:
        verbose_name_plural = "platform identities"
        constraints = [models.UniqueConstraint(fields=["user", "platform"], name="platform_identity_unique")]

    def __str__(self) -> str:
        return f"{self.user} is {self.principal} on {self.platform}"


class DbtArtifactUpload(models.Model):
    """A set of dbt artifacts uploaded by a platform owner for a dbt platform.

    The JSON texts are kept as uploaded (already validated: parseable, dbt manifest v12), so
    every later sync, scheduled or manual, re-reads the newest set. ``catalog_json`` and
    ``run_results_json`` are optional (``""`` when not uploaded).
    """

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="dbt_uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)
    manifest_json = models.TextField()
    catalog_json = models.TextField(blank=True)
    run_results_json = models.TextField(blank=True)
    dbt_version = models.CharField(max_length=32, blank=True, help_text="From the manifest's metadata.")
    generated_at = models.DateTimeField(null=True, blank=True, help_text="When dbt wrote the manifest.")

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"dbt artifacts for {self.platform} uploaded {self.uploaded_at:%Y-%m-%d %H:%M}"


class ExposureAssignment(TimeStampedModel):
    """An exposure assignment: a location of a platform (a schema, or a database on MariaDB; one
    table when ``table`` is set) given by the platform's operators or a steward to a domain, or to
    one data product of it. Only the assigned domain's products (the assigned product, when set)
    may expose the location through an output port without an exposure review
    (``apps.platforms.exposure``).

    With ``data_product`` set it is also a mapping rule: metadata sync makes sure the product has
    an output port on the location, so the tables created there later appear in it.
    ``database`` blank means the platform's own database.
    """

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="exposure_assignments")
    database = models.CharField(max_length=255, blank=True, help_text="Blank: the platform's database.")
    schema = models.CharField(max_length=255, help_text="Schema (database on MariaDB), exactly as on the platform.")
    table = models.CharField(max_length=255, blank=True, help_text="Blank: the whole schema.")
    domain = models.ForeignKey("catalog.Domain", on_delete=models.CASCADE, related_name="exposure_assignments")
    data_product = models.ForeignKey(
        "catalog.DataProduct",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exposure_assignments",
        help_text="Optional: the only data product that may expose it; sync gives it an output port there.",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["platform", "database", "schema", "table"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "database", "schema", "table"], name="exposure_assignment_unique"
            )
        ]

    def __str__(self) -> str:
        target = self.data_product or self.domain
        return f"{self.platform}: {self.location} → {target}"

    @property
    def location(self) -> str:
        return ".".join(p for p in (self.database, self.schema, self.table) if p)

    def clean(self) -> None:
        from .locations import system_location_refusal

        if self.data_product_id and self.domain_id and self.data_product.domain_id != self.domain_id:
            raise ValidationError({"data_product": "The data product belongs to another domain."})
        if self.platform_id and self.schema:
            refusal = system_location_refusal(self.platform, self.schema, database=self.database)
            if refusal:
                raise ValidationError({"schema": refusal})


class TeamPlatformIdentity(TimeStampedModel):
    """Which principal a team has on a platform: the grantee of grants requested on behalf of the
    team (on PostgreSQL a group role its members belong to; on MariaDB a role or a login)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="platform_identities")
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="team_identities")
    principal = models.CharField(max_length=255, help_text="The team's role (or login) on the platform.")

    class Meta:
        verbose_name_plural = "team platform identities"
        constraints = [models.UniqueConstraint(fields=["team", "platform"], name="team_platform_identity_unique")]

    def __str__(self) -> str:
        return f"{self.team} is {self.principal} on {self.platform}"
