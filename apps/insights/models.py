from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.models import TimeStampedModel

from .choices import ACTIVITY_KINDS, LIFECYCLE_KINDS, TargetDirection, UsageEventKind, UseCaseStatus


class UsageEvent(models.Model):
    """One row of the insights fact table: something that happened in the mesh, at ``at``.

    Marketplace use (a data product page viewed, a search with its result count), the access
    lifecycle (request submitted, approval step decided, approved / rejected / cancelled /
    extended, grant active / expired / revoked), and platform facts (data contract published,
    quality checks run, metadata sync run). The KPI dashboards (``apps.insights.kpis``) read it.

    Rows are appended by ``apps.insights.services.event_record`` inside the transaction of the
    service that made the change, so an event exists exactly when its change committed; they are
    never edited, except that a search typed as you go is one row whose ``query`` grows (see
    ``usage_event_record_search``). Who and what are copied at record time (producer domain,
    consuming team and its domain, classification), so history does not move when a team changes
    later. ``access_request_id``, ``grant_id`` and ``step_id`` are plain ids, not foreign keys:
    facts outlive what they describe. Old rows are pruned after ``INSIGHTS_RETENTION_DAYS``.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=24, choices=UsageEventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data_product = models.ForeignKey(
        "catalog.DataProduct",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="usage_events",
    )
    query = models.CharField(max_length=200, blank=True)
    filters = models.JSONField(
        default=dict, blank=True, help_text="Facet filters of a search, e.g. {'domain': ['sales']}."
    )
    result_count = models.PositiveIntegerField(null=True, blank=True, help_text="Data products found (searches only).")
    domain = models.ForeignKey(
        "catalog.Domain",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The producer's domain (the data product's).",
    )
    consumer_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The consuming team: the team asked for, else the requester's first team.",
    )
    consumer_domain = models.ForeignKey(
        "catalog.Domain",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The consuming team's domain (the domain it owns, or where it owns data products).",
    )
    platform = models.ForeignKey(
        "platforms.Platform", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    classification = models.CharField(max_length=16, blank=True)
    access_request_id = models.BigIntegerField(null=True, blank=True)
    grant_id = models.BigIntegerField(null=True, blank=True)
    seconds = models.FloatField(
        null=True,
        blank=True,
        help_text="A duration the event closes, in seconds: a step's wait (step decided), submitted → decided "
        "(approved / rejected), a sync run's length.",
    )
    data = models.JSONField(default=dict, blank=True, help_text="Details, e.g. {'auto': true}, {'step_kind': 'owner'}.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["kind", "data_product", "at"], name="usage_kind_product_at"),
            models.Index(fields=["user", "kind", "at"], name="usage_user_kind_at"),
            models.Index(
                fields=["at"],
                name="usage_zero_result_searches",
                condition=models.Q(kind="search", result_count=0),
            ),
            models.Index(fields=["kind", "at"], name="usage_kind_at"),
            models.Index(
                fields=["grant_id", "kind"], name="usage_grant_kind", condition=models.Q(grant_id__isnull=False)
            ),
            # The KPI dashboard's reads (apps.insights.kpis and charts), each answered from one of
            # these alone (index-only scans): grants active and requests waiting at an instant,
            # approval lead time and rates, self-service share (data: {"auto": ...}), time to data
            # (per request: submitted, approved, usable) ...
            models.Index(
                fields=["kind", "at"],
                name="usage_lifecycle_at",
                include=[
                    "access_request_id",
                    "data_product",
                    "domain",
                    "consumer_team",
                    "consumer_domain",
                    "platform",
                    "classification",
                    "seconds",
                    "data",
                ],
                condition=models.Q(kind__in=LIFECYCLE_KINDS),
            ),
            models.Index(
                fields=["access_request_id", "kind"],
                name="usage_request_kind_at",
                include=["at"],
                condition=models.Q(access_request_id__isnull=False),
            ),
            # ... weekly / monthly active users, active users per week ...
            models.Index(
                fields=["at"],
                name="usage_activity",
                include=["user", "domain"],
                condition=models.Q(kind__in=ACTIVITY_KINDS, user__isnull=False),
            ),
            # ... and searches, top searches, searches with no result.
            models.Index(
                fields=["at"],
                name="usage_search_at",
                include=["result_count", "query"],
                condition=models.Q(kind=UsageEventKind.SEARCH),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.query or self.data_product_id or ''}"


class UseCase(TimeStampedModel):
    """What a consuming team uses data products for, and what it is worth: the business value
    register ("measure how data products influence business KPIs").

    ``estimated_annual_value`` is in ``currency`` (ISO 4217) per year; value per data product
    splits it equally between the products it uses. Access requests can create or attach to one.
    """

    name = models.CharField(max_length=200)
    consuming_team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="use_cases"
    )
    data_products = models.ManyToManyField("catalog.DataProduct", blank=True, related_name="use_cases")
    access_requests = models.ManyToManyField("access.AccessRequest", blank=True, related_name="use_cases")
    status = models.CharField(max_length=16, choices=UseCaseStatus.choices, default=UseCaseStatus.PLANNED)
    estimated_annual_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    link = models.URLField(blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlatformCostRate(TimeStampedModel):
    """What storing data on a platform costs, set by its admins: ``per_gb_month`` (per GiB of
    storage per month) plus an optional ``fixed_monthly``, in ``currency``."""

    platform = models.OneToOneField("platforms.Platform", on_delete=models.CASCADE, related_name="cost_rate")
    per_gb_month = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    fixed_monthly = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR")

    def __str__(self) -> str:
        return f"{self.platform}: {self.per_gb_month} {self.currency}/GB-month + {self.fixed_monthly}"


class KpiTarget(TimeStampedModel):
    """A steward's target for one KPI (optionally for one domain): reach ``value`` (at least or
    at most, ``direction``) between ``start`` and ``end``. The chart draws it and says whether the
    KPI is on track."""

    kpi = models.CharField(max_length=64)
    domain = models.ForeignKey("catalog.Domain", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    value = models.FloatField()
    direction = models.CharField(max_length=16, choices=TargetDirection.choices, default=TargetDirection.AT_LEAST)
    start = models.DateField()
    end = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["kpi", "-end"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="kpi_target_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.get_direction_display()} {self.value} by {self.end}"


class KpiSnapshot(models.Model):
    """The daily KPI values of one day (``day`` in ``settings.TIME_ZONE``), for all domains
    (``domain`` empty) or one: ``values`` maps KPI key -> number or None ("no data"). Written by
    the daily beat task; trend lines read them instead of recomputing the past."""

    day = models.DateField()
    domain = models.ForeignKey("catalog.Domain", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    values = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["day", "domain"], name="kpi_snapshot_day_domain"),
            models.UniqueConstraint(
                fields=["day"], condition=models.Q(domain__isnull=True), name="kpi_snapshot_day_all"
            ),
        ]

    def __str__(self) -> str:
        return f"KPIs of {self.day} ({self.domain or 'all domains'})"
