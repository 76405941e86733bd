"""Reads over usage events, for popularity and the KPI dashboards."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from .choices import UsageEventKind
from .models import UsageEvent

POPULARITY_WINDOW = timedelta(days=30)


def zero_result_searches(*, since=None) -> QuerySet:
    """Unmet demand: ``[{"query": str, "n": int, "last_at": datetime}]`` of searches that found
    nothing since ``since`` (default: 30 days), most frequent first."""
    since = since or timezone.now() - POPULARITY_WINDOW
    from django.db.models import Max

    return (
        UsageEvent.objects.filter(kind=UsageEventKind.SEARCH, result_count=0, at__gte=since)
        .exclude(query="")
        .values("query").annotate(n=Count("id"), last_at=Max("at")).order_by("-n", "-last_at")
    )


def product_view_count(*, data_product, since=None) -> int:
    """Page views of ``data_product`` since ``since`` (default: 30 days)."""
    since = since or timezone.now() - POPULARITY_WINDOW
    return UsageEvent.objects.filter(kind=UsageEventKind.PRODUCT_VIEW, data_product=data_product, at__gte=since).count()
