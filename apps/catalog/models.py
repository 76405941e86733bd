from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from apps.core.models import TimeStampedModel
from apps.core.visibility import RestrictedQuerySet

from .choices import (
    AssetKind,
    AssetRelationKind,
    Classification,
    DataContractStatus,
    DataProductStatus,
    ExposureStatus,
    OutputPortType,
    QualityCheckSource,
    QualityCheckStatus,
)


class Domain(TimeStampedModel):
    """A business domain of the mesh (e.g. Sales): groups data products and their owning teams."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, help_text="Markdown.")
    owner_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_domains",
        help_text="The team accountable for the domain (escalations go to it).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataProduct(TimeStampedModel):
    """A data product: data a domain team publishes for others, with an owner, a classification
    and one or more output ports through which consumers read it."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True, help_text="One line shown in search results.")
    description = models.TextField(blank=True, help_text="Markdown; rendered sanitized.")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="data_products")
    owner_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="data_products")
    status = models.CharField(max_length=16, choices=DataProductStatus.choices, default=DataProductStatus.DRAFT)
    classification = models.CharField(
        max_length=16,
        choices=Classification.choices,
        default=Classification.INTERNAL,
    )
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    terms_of_use = models.TextField(blank=True, help_text="Markdown; consumers accept it when requesting access.")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("decide_access_requests", "Can approve or reject access requests for the data product")]
        indexes = [GinIndex(fields=["tags"], name="data_product_tags_gin")]

    def __str__(self) -> str:
        return self.name


class OutputPort(TimeStampedModel):
    """A data product's interface for consumers: a place on a platform (a schema, or one table)
    that access is granted on.

    ``exposure_status`` says whether the product may expose that place (governed exposure,
    ``apps.platforms.exposure``): only an approved port takes access requests. The default is
    *awaiting review*, so a port made outside the output port services exposes nothing.
    """

    data_product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="output_ports")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    platform = models.ForeignKey("platforms.Platform", on_delete=models.PROTECT, related_name="output_ports")
    port_type = models.CharField(max_length=16, choices=OutputPortType.choices, default=OutputPortType.SCHEMA)
    database = models.CharField(max_length=255, blank=True, help_text="Defaults to the platform's database.")
    schema = models.CharField(max_length=255)
    table = models.CharField(max_length=255, blank=True, help_text="Only for table output ports.")
    exposure_status = models.CharField(
        max_length=16,
        choices=ExposureStatus.choices,
        default=ExposureStatus.PENDING_REVIEW,
        db_index=True,
    )
    exposure_reason = models.TextField(blank=True, help_text="Why the exposure needs (or needed) a review.")
    exposure_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    exposure_decided_at = models.DateTimeField(null=True, blank=True)
    exposure_comment = models.TextField(blank=True, help_text="The reviewer's comment.")

    class Meta:
        ordering = ["data_product__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["data_product", "name"], name="output_port_name_unique_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.data_product}: {self.name}"

    @property
    def location(self) -> str:
        parts = [self.database or self.platform.database, self.schema, self.table]
        return ".".join(p for p in parts if p)

    @property
    def exposure_approved(self) -> bool:
        return self.exposure_status == ExposureStatus.APPROVED


class Asset(TimeStampedModel):
    """A table, view or dbt model found on a platform by metadata sync.

    ``fingerprint`` hashes everything sync read about it (columns included), so an unchanged
    asset costs no write on re-sync. Assets gone from the platform keep their row with
    ``removed_at`` set, and come back when they reappear.
    """

    platform = models.ForeignKey("platforms.Platform", on_delete=models.CASCADE, related_name="assets")
    schema = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=24, choices=AssetKind.choices, default=AssetKind.TABLE)
    description = models.TextField(blank=True)
    row_count_estimate = models.BigIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Storage on the platform, read by the sync (PostgreSQL pg_total_relation_size, "
        "MariaDB data_length + index_length); platform cost KPIs use it.",
    )
    last_analyzed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the platform last refreshed the statistics: PostgreSQL's last (auto)analyze, "
        "MariaDB's last data change (UPDATE_TIME).",
    )
    fingerprint = models.CharField(max_length=64, blank=True)
    privileges_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hash of the privileges held on it, so unchanged ones cost no write.",
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_changed_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # What a dbt project says about the asset (dbt manifest v12), written only by the dbt
    # platform's sync (``apps.sync.dbt_services``); the database sync never touches these,
    # so either can re-sync without wiping the other's metadata.
    dbt_platform = models.ForeignKey(
        "platforms.Platform",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dbt_assets",
        help_text="The dbt project that builds or declares this asset.",
    )
    dbt_unique_id = models.CharField(
        max_length=512, blank=True, db_index=True, help_text="dbt `unique_id`, e.g. model.shop.orders."
    )
    dbt_resource_type = models.CharField(max_length=16, blank=True, help_text="model, seed, snapshot or source.")
    dbt_materialization = models.CharField(
        max_length=32, blank=True, help_text="table, view, incremental, ephemeral, ..."
    )
    dbt_description = models.TextField(blank=True, help_text="Markdown from the dbt project's docs.")
    dbt_tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    dbt_meta = models.JSONField(default=dict, blank=True, help_text="dbt `meta` (e.g. owner).")
    dbt_exposures = models.JSONField(
        default=list,
        blank=True,
        help_text="dbt exposures (dashboards, apps, ML models) that read this asset: its downstream consumers.",
    )
    dbt_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["schema", "name"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "schema", "name"], name="asset_unique_per_platform"),
        ]

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def display_description(self) -> str:
        """The platform's own comment, else the dbt project's description."""
        return self.description or self.dbt_description

    @property
    def dbt_owner(self) -> str:
        """``meta.owner`` from the dbt project, ``""`` when not set."""
        owner = (self.dbt_meta or {}).get("owner") if isinstance(self.dbt_meta, dict) else None
        return str(owner) if owner else ""


class Column(models.Model):
    """A column of an asset, as the platform describes it."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=255)
    ordinal = models.PositiveIntegerField()
    data_type = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    nullable = models.BooleanField(default=True)
    is_primary_key = models.BooleanField(default=False)
    default = models.TextField(blank=True)
    dbt_description = models.TextField(
        blank=True, help_text="The column's doc in the dbt project (written by dbt sync only)."
    )

    class Meta:
        ordering = ["asset", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["asset", "name"], name="column_unique_per_asset")]

    def __str__(self) -> str:
        return f"{self.asset}.{self.name}"

    @property
    def display_description(self) -> str:
        """The platform's column comment, else the dbt project's column doc."""
        return self.description or self.dbt_description


class AssetRelation(models.Model):
    """A directed relation between two assets: a foreign key (from the referencing table to the
    referenced one) or a lineage edge (from upstream to downstream)."""

    source = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="outgoing_relations")
    target = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="incoming_relations")
    kind = models.CharField(max_length=16, choices=AssetRelationKind.choices)
    name = models.CharField(max_length=255, blank=True, help_text="Constraint name for foreign keys.")
    source_columns = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    target_columns = ArrayField(models.CharField(max_length=255), default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind", "name"], name="asset_relation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.target} ({self.kind})"


class DataContract(TimeStampedModel):
    """A data contract of a data product, in the Open Data Contract Standard (ODCS v3.1).

    ``document`` is the contract as parsed from its YAML (``source_yaml`` keeps the text as
    published); ``contract_id``, ``version`` and ``status`` are copied from its top-level ``id``,
    ``version`` and ``status`` fields for lookups. A product may have several versions; the
    current one is the newest ``active`` (else the newest).
    """

    data_product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="data_contracts")
    contract_id = models.CharField(max_length=255, help_text="ODCS `id`.")
    version = models.CharField(max_length=64, help_text="ODCS `version`.")
    # Stored as written: ODCS lists proposed/draft/active/deprecated/retired as examples only, and
    # contracts in the field say production, development, ... (DataContractStatus names the known ones).
    status = models.CharField(max_length=64, default=DataContractStatus.DRAFT, help_text="ODCS `status`, as written.")
    document = models.JSONField(default=dict, help_text="The ODCS document as parsed.")
    source_yaml = models.TextField(blank=True, help_text="The YAML as published.")

    class Meta:
        ordering = ["data_product", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["data_product", "version"], name="data_contract_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.data_product} contract {self.version} ({self.status})"

    def get_status_display(self) -> str:
        """The known ODCS status's label, else the status as written (``production``)."""
        return dict(DataContractStatus.choices).get(self.status, self.status.replace("_", " ").capitalize())


class QualityCheck(models.Model):
    """A data quality check on an asset (a dbt test, a data contract quality rule) with its
    latest result: the quality signal shown on the product page and used in search ranking."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="quality_checks")
    source = models.CharField(max_length=16, choices=QualityCheckSource.choices)
    unique_id = models.CharField(max_length=512, help_text="Stable id at the source, e.g. dbt's `unique_id`.")
    name = models.CharField(max_length=255)
    column_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=QualityCheckStatus.choices, default=QualityCheckStatus.UNKNOWN)
    message = models.TextField(blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asset", "name"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "source", "unique_id"], name="quality_check_unique_per_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.asset}: {self.name} ({self.status})"


class AssetPrivilege(models.Model):
    """A privilege a platform principal (role, user, ``PUBLIC``) holds on an asset today, as read
    by metadata sync from the platform's own catalog: "who has access" beside the portal's grants.

    ``grantee`` is the platform's spelling (PostgreSQL role name, MariaDB ``'user'@'host'``);
    ``privilege`` is the SQL keyword (``SELECT``, ``INSERT``...); ``is_grantable`` says whether the
    grantee may pass it on (``WITH GRANT OPTION``); ``via_schema`` marks a MariaDB database-level
    privilege that applies to every table of the database.
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="privileges")
    grantee = models.CharField(max_length=255)
    privilege = models.CharField(max_length=32)
    is_grantable = models.BooleanField(default=False)
    via_schema = models.BooleanField(default=False, help_text="Held on the whole schema/database.")

    class Meta:
        ordering = ["asset", "grantee", "privilege"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "grantee", "privilege"], name="asset_privilege_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.grantee} has {self.privilege} on {self.asset}"
