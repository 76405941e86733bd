from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import UsageEventKind


class UsageEvent(models.Model):
    """Something a user did in the marketplace: viewed a data product page, ran a search.

    The raw material of popularity (search ranking) and of the KPI dashboards, e.g. searches with
    ``result_count == 0`` are unmet demand. Rows are appended, never edited, except that a search
    typed as you go is one row whose ``query`` grows (see ``usage_event_record_search``).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=16, choices=UsageEventKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    data_product = models.ForeignKey(
        "catalog.DataProduct", on_delete=models.CASCADE, null=True, blank=True, related_name="usage_events",
    )
    query = models.CharField(max_length=200, blank=True)
    filters = models.JSONField(default=dict, blank=True, help_text="Facet filters of a search, e.g. {'domain': ['sales']}.")
    result_count = models.PositiveIntegerField(null=True, blank=True, help_text="Data products found (searches only).")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["kind", "data_product", "at"], name="usage_kind_product_at"),
            models.Index(fields=["user", "kind", "at"], name="usage_user_kind_at"),
            models.Index(
                fields=["at"], name="usage_zero_result_searches",
                condition=models.Q(kind="search", result_count=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.query or self.data_product_id}"
