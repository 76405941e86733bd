"""Ordering with a stable tie-break, so that pagination never repeats or skips a row."""
from rest_framework.filters import OrderingFilter


class StableOrderingFilter(OrderingFilter):
    """``?ordering=name`` / ``-created_at``; the primary key always breaks ties (pages are stable)."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or queryset.query.order_by or queryset.model._meta.ordering or [])
        if not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering.append("pk")
        return ordering
