"""What the portal records about data contracts beyond the document itself (which is
``apps.catalog.models.DataContract``, one row per version): how each version was imported and
how it differs from the previous one, drift between contract and platform, quality rule runs,
and incidents."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import (
    BreakingChangePolicy,
    DriftKind,
    DriftStatus,
    ImportSource,
    IncidentStatus,
    QualityResultStatus,
)


class DomainContractPolicy(models.Model):
    """A domain's rule for breaking contract changes published without a major version bump."""

    domain = models.OneToOneField("catalog.Domain", on_delete=models.CASCADE, related_name="contract_policy")
    breaking_changes = models.CharField(
        max_length=8, choices=BreakingChangePolicy.choices, default=BreakingChangePolicy.REFUSE
    )

    class Meta:
        verbose_name_plural = "domain contract policies"

    def __str__(self) -> str:
        return f"{self.domain}: {self.get_breaking_changes_display()}"


class ProductQualitySchedule(models.Model):
    """A product's default schedule for its contract's quality rules (a cron expression), used
    by rules and contracts that set none (``apps.contracts.schedules``). Without one, rules run
    every ``CONTRACT_QUALITY_INTERVAL_MINUTES``."""

    data_product = models.OneToOneField(
        "catalog.DataProduct", on_delete=models.CASCADE, related_name="quality_schedule"
    )
    schedule = models.CharField(max_length=100, help_text='Cron: minute hour day month weekday, e.g. "0 6 * * *".')
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.data_product}: {self.schedule}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from .schedules import parse_cron

        try:
            parse_cron(self.schedule)
        except ValueError as exc:
            raise ValidationError({"schedule": str(exc)}) from None


class ContractImport(models.Model):
    """One import of a data contract version: who, from where, what it changed in the product,
    and its diff against the version before it (each change classified breaking or not)."""

    data_contract = models.ForeignKey("catalog.DataContract", on_delete=models.CASCADE, related_name="imports")
    previous = models.ForeignKey(
        "catalog.DataContract",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version this one was compared with.",
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    source = models.CharField(max_length=8, choices=ImportSource.choices, default=ImportSource.API)
    source_path = models.CharField(
        max_length=1000, blank=True, help_text="For repository imports: the file, relative to CONTRACT_REPOSITORY_ROOT."
    )
    diff = models.JSONField(default=list, blank=True, help_text="[ContractChange.as_dict()] against `previous`.")
    breaking = models.BooleanField(default=False)
    product_changes = models.JSONField(
        default=list, blank=True, help_text="What the import wrote, e.g. data_product.updated:summary."
    )
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.data_contract} imported {self.created_at:%Y-%m-%d}"


class DriftFinding(models.Model):
    """A difference between a data product's current contract and what its platform really has
    (from the latest metadata sync). ``key`` identifies the finding across checks, so an owner's
    acceptance sticks until the difference changes or goes away."""

    data_product = models.ForeignKey("catalog.DataProduct", on_delete=models.CASCADE, related_name="drift_findings")
    data_contract = models.ForeignKey("catalog.DataContract", on_delete=models.CASCADE, related_name="drift_findings")
    platform = models.ForeignKey(
        "platforms.Platform", on_delete=models.CASCADE, null=True, blank=True, related_name="contract_drift_findings"
    )
    kind = models.CharField(max_length=20, choices=DriftKind.choices)
    key = models.CharField(max_length=512, help_text="kind:object.property — stable across checks.")
    object_name = models.CharField(max_length=255, blank=True)
    property_name = models.CharField(max_length=255, blank=True)
    expected = models.CharField(max_length=255, blank=True)
    actual = models.CharField(max_length=255, blank=True)
    message = models.TextField()
    status = models.CharField(max_length=10, choices=DriftStatus.choices, default=DriftStatus.OPEN)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_reason = models.TextField(blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["data_product", "object_name", "property_name", "kind"]
        constraints = [models.UniqueConstraint(fields=["data_product", "key"], name="drift_finding_key_unique")]
        indexes = [models.Index(fields=["status", "data_product"], name="drift_status_product")]

    def __str__(self) -> str:
        return self.message


class QualityRun(models.Model):
    """One execution of a contract version's quality rules and freshness SLAs on its platform."""

    data_contract = models.ForeignKey("catalog.DataContract", on_delete=models.CASCADE, related_name="quality_runs")
    data_product = models.ForeignKey("catalog.DataProduct", on_delete=models.CASCADE, related_name="quality_runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.data_product} quality run {self.started_at:%Y-%m-%d %H:%M}"


class QualityResult(models.Model):
    """The result of one quality rule (or freshness SLA) in one run, with the measured value."""

    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="results")
    data_product = models.ForeignKey("catalog.DataProduct", on_delete=models.CASCADE, related_name="quality_results")
    rule_key = models.CharField(max_length=512, help_text="object[.property]:rule key — the same across runs.")
    name = models.CharField(max_length=255)
    object_name = models.CharField(max_length=255, blank=True)
    property_name = models.CharField(max_length=255, blank=True)
    metric = models.CharField(max_length=40, blank=True, help_text="rowCount, nullValues, ..., sql, freshness.")
    expectation = models.CharField(max_length=255, blank=True, help_text="e.g. must be greater than 10.")
    status = models.CharField(max_length=8, choices=QualityResultStatus.choices)
    measured_value = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it failed or could not run.")
    executed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule_key", "-executed_at"]
        indexes = [models.Index(fields=["data_product", "rule_key", "-executed_at"], name="quality_result_trend")]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class Incident(models.Model):
    """Something went wrong with a data product against its contract (a failing quality rule,
    an SLA breach): open → acknowledged → resolved, with who and when. Owners are notified;
    consumers see open incidents on the product page."""

    data_product = models.ForeignKey("catalog.DataProduct", on_delete=models.CASCADE, related_name="incidents")
    rule_key = models.CharField(max_length=512, help_text="The failing rule; one open incident per rule.")
    title = models.CharField(max_length=300)
    details = models.TextField(blank=True)
    status = models.CharField(max_length=14, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_product", "rule_key"],
                condition=~models.Q(status="resolved"),
                name="incident_one_open_per_rule",
            )
        ]

    def __str__(self) -> str:
        return f"{self.data_product}: {self.title} ({self.status})"
