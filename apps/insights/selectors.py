"""Reads over the insights fact table for popularity, the dashboards' filters, targets and the
lists behind the charts (drill-down). KPI numbers themselves live in ``kpis.py``/``charts.py``."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Max, QuerySet
from django.http import Http404
from django.utils import timezone

from . import kpis
from .choices import TargetDirection, UsageEventKind
from .models import KpiTarget, UsageEvent
from .permissions import kpi_can_view, kpi_domain_ids

POPULARITY_WINDOW = timedelta(days=30)
RANGES = {"30": 30, "90": 90, "365": 365}


def zero_result_searches(*, since=None) -> QuerySet:
    """Unmet demand: ``[{"query": str, "n": int, "last_at": datetime}]`` of searches that found
    nothing since ``since`` (default: 30 days), most frequent first."""
    since = since or timezone.now() - POPULARITY_WINDOW
    return (
        UsageEvent.objects.filter(kind=UsageEventKind.SEARCH, result_count=0, at__gte=since)
        .exclude(query="")
        .values("query")
        .annotate(n=Count("id"), last_at=Max("at"))
        .order_by("-n", "-last_at")
    )


def product_view_count(*, data_product, since=None) -> int:
    """Page views of ``data_product`` since ``since`` (default: 30 days)."""
    since = since or timezone.now() - POPULARITY_WINDOW
    return UsageEvent.objects.filter(kind=UsageEventKind.PRODUCT_VIEW, data_product=data_product, at__gte=since).count()


def kpi_period_for(
    *, user, range_: str = "90", start: date | None = None, end: date | None = None, domain_id: int | None = None
) -> kpis.Period:
    """The period and domain ``user`` asked for, checked: Http404 when they may not see that
    domain's (or the whole mesh's) KPIs. ``range_``: "30", "90", "365" (days ending today) or
    "custom" with ``start`` and ``end``. A domain owner without ``domain_id`` gets their first domain."""
    allowed = kpi_domain_ids(user)
    if domain_id is None and allowed is not None:
        if not allowed:
            raise Http404
        domain_id = sorted(allowed)[0]
    if not kpi_can_view(user, domain_id):
        raise Http404
    if range_ == "custom" and start and end:
        return kpis.Period(start, end, domain_id)
    return kpis.last_days(RANGES.get(range_, 90), domain_id=domain_id)


def kpi_domains(*, user) -> QuerySet:
    """Domains ``user`` may pick in the dashboard's filter."""
    from apps.catalog.models import Domain

    allowed = kpi_domain_ids(user)
    qs = Domain.objects.order_by("name")
    return qs if allowed is None else qs.filter(pk__in=allowed)


def kpi_target_status(target: KpiTarget | None, value) -> str | None:
    """ "on track" / "behind" for ``value`` against ``target`` (None without a target or a value)."""
    if target is None or value is None:
        return None
    ok = value >= target.value if target.direction == TargetDirection.AT_LEAST else value <= target.value
    return "on track" if ok else "behind"


def kpi_targets(*, period: kpis.Period) -> dict[str, KpiTarget]:
    """The target of each KPI that applies to ``period`` (overlapping dates; the domain's own
    target wins over an all-domains one), by KPI key."""
    out: dict[str, KpiTarget] = {}
    qs = KpiTarget.objects.filter(start__lte=period.end, end__gte=period.start).order_by("-created_at")
    for target in qs.filter(domain__isnull=True):
        out.setdefault(target.kpi, target)
    if period.domain_id:
        for target in qs.filter(domain_id=period.domain_id):
            out[target.kpi] = target
    return out


def kpi_tiles(*, period: kpis.Period, cache: dict | None = None, source: str = "snapshot") -> list[dict]:
    """One tile per KPI: ``{"kpi": Kpi, "value", "previous", "change", "target", "status"}``;
    ``previous`` is the value over the period of the same length just before; ``change`` the
    difference (None when either is "no data"). ``source="snapshot"``: the previous period's
    state KPIs come from the daily snapshot of its last day when there is one (a state KPI
    depends on the period's end only); ``"live"``: everything computed. ``cache``: the request's
    memo (``apps.insights.kpis``)."""
    from .snapshots import state_values_stored

    cache = {} if cache is None else cache
    before = period.previous()
    kpis.ttd_stats_many([period, before], cache=cache)  # time to data of both periods in one pass
    current = kpis.kpi_values(period, cache=cache)
    stored = state_values_stored(period, before.end, cache=cache) if source == "snapshot" else None
    if stored is not None:
        previous = {
            **{key: stored[key] for key in kpis.STATE_KPIS},
            **kpis.kpi_values(before, [k for k, kpi in kpis.KPIS.items() if not kpi.state], cache=cache),
        }
    else:
        previous = kpis.kpi_values(before, cache=cache)
    targets = kpi_targets(period=period)
    tiles = []
    for key, kpi in kpis.KPIS.items():
        value, before_value = current[key], previous[key]
        change = None if value is None or before_value is None else round(value - before_value, 4)
        target = targets.get(key)
        tiles.append(
            {
                "kpi": kpi,
                "value": value,
                "previous": before_value,
                "change": change,
                "target": target,
                "status": kpi_target_status(target, value),
            }
        )
    return tiles


def kpi_dashboard(*, period: kpis.Period, source: str = "snapshot") -> dict:
    """Everything the dashboard shows for ``period`` (already checked for the user, see
    :func:`kpi_period_for`), computed with one memo so each KPI and each intermediate result
    (grants at an instant, time to data, cost, value) is read once:
    ``{"tiles": [tile + "series" for state KPIs], "charts": [Chart]}``. ``source``: "snapshot"
    (past trend points, the previous period's state tiles and whole past weeks of active users
    from the daily snapshots, today live; cached for a short time, see ``dashboard_cache``) or
    "live" (everything computed, never cached; the same numbers)."""
    from .dashboard_cache import dashboard_cached

    return dashboard_cached(period, source, lambda: _kpi_dashboard_compute(period, source))


def _kpi_dashboard_compute(period: kpis.Period, source: str) -> dict:
    from . import charts
    from .snapshots import series_days, state_series_all

    cache: dict = {}
    if source == "live":
        # every trend point and the previous period's end: the grants and the backlog of all of
        # them in one query each
        instants = [
            kpis.day_start(day + timedelta(days=1)) for day in [*series_days(period), period.start - timedelta(days=1)]
        ]
        kpis.grants_prefetch(instants, period.domain_id, cache=cache)
        kpis.backlog_prefetch(instants, period.domain_id, cache=cache)
    tiles = kpi_tiles(period=period, cache=cache, source=source)
    series = state_series_all(period, source=source, cache=cache)
    for tile in tiles:
        if tile["kpi"].state:
            tile["series"] = series[tile["kpi"].key]
    return {"tiles": tiles, "charts": charts.all_charts(period, cache=cache, source=source)}


DRILL_LISTS = {
    "past_sla": "Requests past their SLA",
    "backlog": "Requests waiting for a decision",
    "retirement": "Retirement candidates",
    "no_use_case": "Products with no live use case",
    "grants_usable": "Grants that became usable",
}


def kpi_drill_list(*, name: str, period: kpis.Period, point: str = "") -> tuple[list[str], list[list]]:
    """The rows behind a tile or chart point: ``(columns, rows)``. ``point``: a week (ISO date of
    its Monday) for ``grants_usable``. Http404 for an unknown list."""
    from apps.access.models import AccessRequest
    from apps.catalog.models import DataProduct

    if name in ("past_sla", "backlog"):
        backlog = kpis.backlog_at(period.until, period.domain_id)
        ids = (
            kpis.past_sla_at(period.until, period.domain_id, backlog) if name == "past_sla" else [b[0] for b in backlog]
        )
        submitted = {b[0]: b[1] for b in backlog}
        requests = AccessRequest.objects.filter(pk__in=ids).select_related("requester", "output_port__data_product")
        return (
            ["request", "data product", "requester", "submitted", "status"],
            [
                [
                    f"#{r.pk}",
                    r.output_port.data_product.name,
                    r.requester.username,
                    timezone.localtime(submitted[r.pk]).strftime("%Y-%m-%d %H:%M"),
                    r.get_status_display(),
                ]
                for r in sorted(requests, key=lambda r: submitted[r.pk])
            ],
        )
    if name in ("retirement", "no_use_case"):
        if name == "retirement":
            qs = DataProduct.objects.filter(pk__in=kpis.retirement_candidates(period))
        else:
            qs = kpis._listed_products(period).exclude(use_cases__status="live")
        return (
            ["data product", "domain", "owner team"],
            [[p.name, p.domain.name, p.owner_team.name] for p in qs.select_related("domain", "owner_team")],
        )
    if name == "grants_usable":
        since, until = period.since, period.until
        if point:
            try:
                monday = date.fromisoformat(point)
            except ValueError:
                raise Http404 from None
            since, until = kpis.day_start(monday), kpis.day_start(monday + timedelta(days=7))
        events = UsageEvent.objects.filter(kind=UsageEventKind.GRANT_ACTIVE, at__gte=since, at__lt=until)
        if period.domain_id:
            events = events.filter(domain_id=period.domain_id)
        events = events.select_related("data_product").order_by("at")
        return (
            ["request", "data product", "usable at", "hours from submission"],
            [
                [
                    f"#{e.access_request_id}",
                    e.data_product.name if e.data_product else "",
                    timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
                    kpis._hours(e.seconds),
                ]
                for e in events
            ],
        )
    raise Http404
