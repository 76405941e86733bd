"""Writes for usage events. Recording never fails the page that records: it is one INSERT."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .choices import UsageEventKind
from .models import UsageEvent

# A search typed as you go fires a request every few keystrokes; within this window a longer
# (or shorter) version of the same query updates the user's last search instead of adding one.
SEARCH_SETTLE_WINDOW = timedelta(seconds=10)


def usage_event_record_view(*, user, data_product) -> UsageEvent:
    """Record that ``user`` opened ``data_product``'s page."""
    return UsageEvent.objects.create(
        kind=UsageEventKind.PRODUCT_VIEW, user=user if user.is_authenticated else None, data_product=data_product,
    )


def usage_event_record_search(*, user, query: str, filters: dict, result_count: int) -> UsageEvent:
    """Record a search (``query`` up to 200 characters, ``filters`` facet -> values, number of
    data products found). Refining the previous query within ``SEARCH_SETTLE_WINDOW`` (it starts
    with the earlier text, or the other way round) updates that event, so "s", "sa", "salary"
    count as one search for "salary", and a zero-result count is the settled query's."""
    query = query[:200]
    user = user if user.is_authenticated else None
    now = timezone.now()
    if user is not None:
        last = (
            UsageEvent.objects.filter(user=user, kind=UsageEventKind.SEARCH, at__gte=now - SEARCH_SETTLE_WINDOW)
            .order_by("-at", "-id").first()
        )
        if last and last.query and query and (query.startswith(last.query) or last.query.startswith(query)):
            last.query, last.filters, last.result_count, last.at = query, filters, result_count, now
            last.save(update_fields=["query", "filters", "result_count", "at"])
            return last
    return UsageEvent.objects.create(
        kind=UsageEventKind.SEARCH, user=user, query=query, filters=filters, result_count=result_count,
    )


def data_demand_record(*, user, query: str, note: str = "") -> UsageEvent:
    """Record that ``user`` asked for data the marketplace does not have ("ask for this data" on
    a search with no result): a zero-result search event (so ``selectors.zero_result_searches``,
    the unmet-demand list, counts it) whose ``filters`` carry ``{"asked": true, "note": note}``
    (``note`` up to 500 characters). Not merged with the typing-as-you-go searches."""
    return UsageEvent.objects.create(
        kind=UsageEventKind.SEARCH, user=user if user.is_authenticated else None, query=query[:200],
        filters={"asked": True, "note": note[:500]}, result_count=0,
    )
