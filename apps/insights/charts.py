"""The dashboard's charts: each a pure read returning one ``Chart`` (title, one-line definition,
columns and rows — the same rows feed the chart, its accessible table, the CSV and the API).

Weeks start on Monday in ``settings.TIME_ZONE`` (see ``apps.insights.kpis``). Every builder takes
``(period, cache=None)``: ``cache`` is one request's memo (``apps.insights.kpis``), shared with the
tiles, so the grants at the period's end, time to data, cost and value are read once per page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from . import kpis
from .kpis import E, Period, _dom, _hours, _rows, _share


@dataclass
class Chart:
    key: str
    title: str
    definition: str
    kind: str  # line | bar | heatmap | table
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    kpi: str = ""  # the tile KPI it explains (drill-down from the tile)
    drill: str = ""  # list name a point opens (first column is the point's key)

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "definition": self.definition,
            "kind": self.kind,
            "columns": self.columns,
            "rows": self.rows,
            "kpi": self.kpi,
            "drill": self.drill,
        }


def _weeks(period: Period) -> list:
    start = period.start - timedelta(days=period.start.weekday())
    out = []
    while start <= period.end:
        out.append(start)
        start += timedelta(days=7)
    return out


def _tz() -> str:
    return str(kpis.tz())


def _domain_names(cache) -> dict[int, str]:
    from apps.catalog.models import Domain

    return kpis._memo(cache, ("domain_names",), lambda: dict(Domain.objects.values_list("pk", "name")))


def published_by_week(period: Period, cache: dict | None = None) -> Chart:
    from apps.catalog.choices import LISTED_STATUSES
    from apps.catalog.models import DataProduct

    qs = DataProduct.objects.filter(status__in=LISTED_STATUSES)
    if period.domain_id:
        qs = qs.filter(domain_id=period.domain_id)
    created = list(qs.values_list("domain_id", "created_at"))
    all_names = _domain_names(cache)
    domains = {d: all_names[d] for d, _ in created}
    names = sorted(domains.values())
    rows = []
    for week in _weeks(period):
        end = kpis.day_start(week + timedelta(days=7))
        counts = defaultdict(int)
        for domain_id, at in created:
            if at < end:
                counts[domains[domain_id]] += 1
        rows.append([week.isoformat(), *[counts[n] for n in names]])
    return Chart(
        "published_by_week",
        "Published data products per domain",
        "Listed data products at the end of each week (Monday start), per domain, by creation date.",
        "line",
        ["week", *names],
        rows,
        kpi="published_products",
    )


def active_users_by_week(period: Period, cache: dict | None = None, *, source: str = "snapshot") -> Chart:
    """Active users per week. ``source="snapshot"``: a whole week of the period that ended before
    today is its Sunday's daily snapshot of ``wau`` (the 7 days ending that Sunday are exactly the
    Monday week), so only the weeks cut by the period's ends, or without a snapshot, are counted
    from the fact table; ``"live"``: every week from the fact table."""
    from .snapshots import period_snapshots

    weeks = _weeks(period)
    found: dict = {}
    if source == "snapshot":
        stored = period_snapshots(period, cache=cache)
        today = kpis.today()
        for week in weeks:
            sunday = week + timedelta(days=6)
            values = stored.get(sunday)
            if week >= period.start and sunday <= period.end and sunday < today and values and "wau" in values:
                found[week] = values["wau"] or 0  # None ("no data") is nobody
    # the rest from the fact table, each week clipped to the period; consecutive weeks in one range
    ranges: list[list] = []
    for week in weeks:
        if week in found:
            continue
        since, until = (
            max(kpis.day_start(week), period.since),
            min(kpis.day_start(week + timedelta(days=7)), period.until),
        )
        if ranges and ranges[-1][1] == since:
            ranges[-1][1] = until
        else:
            ranges.append([since, until])
    if ranges:
        # one range scan per run of weeks (the fact table's activity index), counted together
        params: list = []
        parts = []
        for since, until in ranges:
            params += [_tz(), since, until]
            dom = _dom("e", period.domain_id, params)
            parts.append(f"""SELECT date_trunc('week', e.at AT TIME ZONE %s)::date AS week, e.user_id FROM {E} e
                             WHERE e.at >= %s AND e.at < %s AND e.user_id IS NOT NULL
                               AND e.kind IN ('product_view', 'search', 'request_submitted') {dom}""")
        found.update(
            _rows(f"SELECT week, count(DISTINCT user_id) FROM ({' UNION ALL '.join(parts)}) t GROUP BY 1", params)
        )
    return Chart(
        "active_users_by_week",
        "Active users per week",
        "People who viewed a data product, searched or requested access in each week (Monday start).",
        "bar",
        ["week", "active users"],
        [[w.isoformat(), found.get(w, 0)] for w in weeks],
        kpi="wau",
    )


def ttd_by_week(period: Period, cache: dict | None = None) -> Chart:
    found = kpis.ttd_stats(period, cache=cache)["week"]
    rows = []
    for week in _weeks(period):
        r = found.get(week)
        rows.append([week.isoformat(), *([_hours(x) for x in r[:4]] + [r[4]] if r else [None] * 4 + [0])])
    return Chart(
        "ttd_by_week",
        "Time to data per week",
        "Hours from submission to usable grant (median, p90), split into waiting for approval and "
        "provisioning (medians), by the week the grant became usable.",
        "line",
        ["week", "median h", "p90 h", "waiting median h", "provisioning median h", "grants"],
        rows,
        kpi="ttd_median_hours",
        drill="grants_usable",
    )


def ttd_by_classification(period: Period, cache: dict | None = None) -> Chart:
    rows = [
        [c, *[_hours(x) for x in r], n] for c, (*r, n) in kpis.ttd_stats(period, cache=cache)["classification"].items()
    ]
    return Chart(
        "ttd_by_classification",
        "Time to data per classification",
        "Hours from submission to usable grant (median, p90) and its two parts, per classification, over "
        "grants that became usable in the period.",
        "bar",
        ["classification", "median h", "p90 h", "waiting median h", "provisioning median h", "grants"],
        rows,
        kpi="ttd_p90_hours",
    )


def approval_lead_by_step(period: Period, cache: dict | None = None) -> Chart:
    from apps.accounts.models import Team

    params: list = [period.since, period.until]
    dom = _dom("e", period.domain_id, params)
    found = _rows(
        f"""SELECT e.data->>'step_kind', (e.data->>'approver_team_id')::bigint,
                             percentile_cont(0.5) WITHIN GROUP (ORDER BY e.seconds),
                             percentile_cont(0.9) WITHIN GROUP (ORDER BY e.seconds), count(*)
                      FROM {E} e WHERE e.kind = 'step_decided' AND e.at >= %s AND e.at < %s {dom}
                      GROUP BY 1, 2 ORDER BY 1, 2""",
        params,
    )
    teams = dict(Team.objects.filter(pk__in=[r[1] for r in found if r[1]]).values_list("pk", "name"))
    rows = [
        [
            f"{kind} · {teams.get(team, 'stewards' if kind == 'steward' else 'named people')}",
            _hours(med),
            _hours(p90),
            n,
        ]
        for kind, team, med, p90, n in found
    ]
    return Chart(
        "approval_lead_by_step",
        "Approval lead time per step and approver team",
        "Hours an approval step waited from pending to decision (median, p90), per step kind and approver "
        "team, over steps decided in the period.",
        "bar",
        ["step · approver team", "median h", "p90 h", "steps"],
        rows,
        kpi="approval_lead_median_hours",
    )


def decisions_by_domain(period: Period, cache: dict | None = None) -> Chart:
    params: list = [period.since, period.until]
    dom = _dom("e", period.domain_id, params)
    rows = [
        [name, _share(a, a + r), _share(r, a + r), a, r]
        for name, a, r in _rows(
            f"""
        SELECT d.name, count(*) FILTER (WHERE e.kind = 'request_approved'), count(*) FILTER (WHERE e.kind = 'request_rejected')
        FROM {E} e JOIN catalog_domain d ON d.id = e.domain_id
        WHERE e.kind IN ('request_approved', 'request_rejected') AND e.at >= %s AND e.at < %s {dom}
        GROUP BY d.name ORDER BY d.name""",
            params,
        )
    ]
    return Chart(
        "decisions_by_domain",
        "Approval and rejection rates per domain",
        "Share of the access requests decided in the period that were approved / rejected, per producer domain.",
        "bar",
        ["domain", "approval rate", "rejection rate", "approved", "rejected"],
        rows,
        kpi="approval_rate",
    )


def reuse_matrix(period: Period, cache: dict | None = None) -> Chart:
    grants = kpis.active_grants_at(period.until, period.domain_id, cache=cache)
    names = _domain_names(cache)
    counts = defaultdict(int)
    for (producer, consumer), n in Counter((g[2], g[4]) for g in grants).items():
        counts[(names.get(producer, "?"), names.get(consumer, "(no domain)"))] += n
    producers = sorted({p for p, _ in counts})
    consumers = sorted({c for _, c in counts})
    rows = [[p, *[counts.get((p, c), 0) for c in consumers]] for p in producers]
    return Chart(
        "reuse_matrix",
        "Cross-domain consumption (producer × consumer domain)",
        "Grants active at the end of the period, by the producer's domain (rows) and the consumer's domain (columns).",
        "heatmap",
        ["producer \\ consumer", *consumers],
        rows,
        kpi="cross_domain_share",
    )


def value_by_product(period: Period, cache: dict | None = None) -> Chart:
    from apps.catalog.models import DataProduct

    per = kpis.value_per_product(period.domain_id, cache=cache)
    products = {p.pk: p for p in DataProduct.objects.filter(pk__in=per).select_related("domain")}
    rows = sorted(
        (
            [products[pk].name, products[pk].domain.name, cur, round(float(v), 2)]
            for pk, values in per.items()
            for cur, v in values.items()
        ),
        key=lambda r: -r[3],
    )
    return Chart(
        "value_by_product",
        "Estimated annual value per data product",
        "Estimated annual value of live use cases, split equally between the data products each uses.",
        "bar",
        ["data product", "domain", "currency", "value per year"],
        rows,
        kpi="live_value",
    )


def value_by_domain(period: Period, cache: dict | None = None) -> Chart:
    from apps.catalog.models import DataProduct

    per = kpis.value_per_product(period.domain_id, cache=cache)
    domains = dict(DataProduct.objects.filter(pk__in=per).values_list("pk", "domain__name"))
    totals = defaultdict(float)
    for pk, values in per.items():
        for cur, v in values.items():
            totals[(domains[pk], cur)] += float(v)
    rows = [[d, c, round(v, 2)] for (d, c), v in sorted(totals.items())]
    return Chart(
        "value_by_domain",
        "Estimated annual value per domain",
        "Estimated annual value of live use cases, summed over each domain's data products.",
        "bar",
        ["domain", "currency", "value per year"],
        rows,
        kpi="live_value",
    )


def cost_by_product(period: Period, cache: dict | None = None) -> Chart:
    from apps.catalog.models import DataProduct

    cost = kpis.cost_per_product(period.domain_id, cache=cache)
    grants = kpis.active_grants_at(period.until, period.domain_id, cache=cache)
    consumers = defaultdict(set)
    for g in grants:
        consumers[g[1]].add(g[0])
    products = {p.pk: p for p in DataProduct.objects.filter(pk__in=cost).select_related("domain")}
    rows = sorted(
        (
            [
                products[pk].name,
                products[pk].domain.name,
                v,
                len(consumers[pk]),
                round(v / len(consumers[pk]), 2) if consumers[pk] else None,
            ]
            for pk, v in cost.items()
        ),
        key=lambda r: -r[2],
    )
    return Chart(
        "cost_by_product",
        "Platform cost per data product",
        "Monthly storage cost of each data product's assets plus its share of the platform's fixed cost, "
        "and per active grant.",
        "bar",
        ["data product", "domain", "cost per month", "active grants", "cost per active grant"],
        rows,
        kpi="monthly_cost",
    )


def cost_by_domain(period: Period, cache: dict | None = None) -> Chart:
    from apps.catalog.models import DataProduct

    cost = kpis.cost_per_product(period.domain_id, cache=cache)
    domains = dict(DataProduct.objects.filter(pk__in=cost).values_list("pk", "domain__name"))
    totals = defaultdict(float)
    for pk, v in cost.items():
        totals[domains[pk]] += v
    return Chart(
        "cost_by_domain",
        "Platform cost per domain",
        "Monthly platform cost summed over each domain's data products.",
        "bar",
        ["domain", "cost per month"],
        [[d, round(v, 2)] for d, v in sorted(totals.items())],
        kpi="monthly_cost",
    )


def coverage(period: Period, cache: dict | None = None) -> Chart:
    values = kpis.kpi_values(period, ["description_coverage", "contract_coverage", "quality_passing"], cache=cache)
    return Chart(
        "coverage",
        "Coverage and trust",
        "Share of listed data products with an owner and description, an active data contract, quality checks passing.",
        "bar",
        ["measure", "share"],
        [[kpis.KPIS[k].label, v] for k, v in values.items()],
        kpi="contract_coverage",
    )


def _search_tops(period: Period, limit: int, cache: dict | None) -> tuple[list, list]:
    """(the most frequent searches, the most frequent searches with no result) of the period, each
    at most ``limit`` rows ``[query, searches, most results]`` by count then query, in one pass."""

    def compute():
        top, zero = [], []
        for q, n, most, none, rn, rz in _rows(
            f"""
                SELECT q, n, most, zero, rn, rz FROM (
                    SELECT q, n, most, zero, row_number() OVER (ORDER BY n DESC, q) AS rn,
                           row_number() OVER (ORDER BY zero DESC, q) AS rz
                    FROM (SELECT lower(query) AS q, count(*) AS n, max(result_count) AS most,
                                 count(*) FILTER (WHERE result_count = 0) AS zero
                          FROM {E} WHERE kind = 'search' AND query <> '' AND at >= %s AND at < %s GROUP BY 1) g) t
                WHERE rn <= %s OR (zero > 0 AND rz <= %s)""",
            [period.since, period.until, limit, limit],
        ):
            if rn <= limit:
                top.append((rn, [q, n, most]))
            if none > 0 and rz <= limit:
                zero.append((rz, [q, none, 0]))
        return [r for _, r in sorted(top)], [r for _, r in sorted(zero)]

    return kpis._memo(cache, ("search_tops", period.since, period.until, limit), compute)


def top_searches(period: Period, cache: dict | None = None, *, zero: bool = False, limit: int = 20) -> Chart:
    rows = [] if period.domain_id is not None else _search_tops(period, limit, cache)[1 if zero else 0]
    if zero:
        return Chart(
            "zero_result_searches",
            "Top searches with no result (unmet demand)",
            "The most frequent searches of the period that found no data product.",
            "table",
            ["query", "searches", "results"],
            rows,
            kpi="zero_result_share",
            drill="request_product",
        )
    return Chart(
        "top_searches",
        "Top searches",
        "The most frequent searches of the period.",
        "table",
        ["query", "searches", "most results"],
        rows,
        kpi="searches",
    )


def most_requested(period: Period, cache: dict | None = None, limit: int = 20) -> Chart:
    params: list = [period.since, period.until]
    dom = _dom("e", period.domain_id, params)
    params.append(limit)
    rows = [
        list(r)
        for r in _rows(
            f"""SELECT p.name, d.name, count(*) FROM {E} e
                                       JOIN catalog_dataproduct p ON p.id = e.data_product_id
                                       JOIN catalog_domain d ON d.id = p.domain_id
                                       WHERE e.kind = 'request_submitted' AND e.at >= %s AND e.at < %s {dom}
                                       GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT %s""",
            params,
        )
    ]
    return Chart(
        "most_requested",
        "Most requested data products",
        "Data products with the most access requests submitted in the period.",
        "bar",
        ["data product", "domain", "requests"],
        rows,
    )


def platform_health(period: Period, cache: dict | None = None) -> Chart:
    from apps.access.models import GrantDrift
    from apps.platforms.models import Platform

    syncs = {
        r[0]: r[1:]
        for r in _rows(
            f"""
        SELECT platform_id, count(*) FILTER (WHERE data->>'status' = 'succeeded'), count(*) FROM {E}
        WHERE kind = 'sync_run' AND at >= %s AND at < %s GROUP BY 1""",
            [period.since, period.until],
        )
    }
    last_ok = dict(
        _rows(
            f"""SELECT platform_id, max(at) FROM {E} WHERE kind = 'sync_run'
                             AND data->>'status' = 'succeeded' AND at < %s GROUP BY 1""",
            [period.until],
        )
    )
    grants = defaultdict(int)
    for g in kpis.active_grants_at(period.until, period.domain_id, cache=cache):
        grants[g[5]] += 1
    drifts = defaultdict(int)
    for pid in GrantDrift.objects.filter(at__gte=period.since, at__lt=period.until).values_list(
        "platform_id", flat=True
    ):
        drifts[pid] += 1
    end = min(period.until, timezone.now())
    rows = []
    for platform in Platform.objects.order_by("name"):
        ok, total = syncs.get(platform.pk, (0, 0))
        fresh = last_ok.get(platform.pk)
        rows.append(
            [
                platform.name,
                _share(ok, total),
                total,
                round((end - fresh).total_seconds() / 3600, 1) if fresh else None,
                grants[platform.pk],
                drifts[platform.pk],
            ]
        )
    return Chart(
        "platform_health",
        "Platform health",
        "Per platform: share of the period's sync runs that succeeded, hours since the last successful sync "
        "(freshness), grants active at the end, drift found in the period.",
        "table",
        ["platform", "sync success", "sync runs", "hours since last sync", "active grants", "drift found"],
        rows,
        kpi="sync_success_rate",
    )


def _zero_searches(period: Period, cache: dict | None = None) -> Chart:
    return top_searches(period, cache, zero=True)


CHART_BUILDERS = {
    "published_by_week": published_by_week,
    "active_users_by_week": active_users_by_week,
    "ttd_by_week": ttd_by_week,
    "ttd_by_classification": ttd_by_classification,
    "approval_lead_by_step": approval_lead_by_step,
    "decisions_by_domain": decisions_by_domain,
    "reuse_matrix": reuse_matrix,
    "value_by_product": value_by_product,
    "value_by_domain": value_by_domain,
    "cost_by_product": cost_by_product,
    "cost_by_domain": cost_by_domain,
    "coverage": coverage,
    "top_searches": top_searches,
    "zero_result_searches": _zero_searches,
    "most_requested": most_requested,
    "platform_health": platform_health,
}


#: Charts that read daily snapshots for whole past weeks (``source``), see active_users_by_week.
_READ_SNAPSHOTS = {"active_users_by_week"}


def chart_get(key: str, period: Period, *, cache: dict | None = None, source: str = "snapshot") -> Chart | None:
    """One chart by key, None for an unknown key. ``cache``: the request's memo; ``source``:
    "snapshot" (past whole weeks from daily snapshots where a chart can) or "live"."""
    build = CHART_BUILDERS.get(key)
    if build is None:
        return None
    return build(period, cache, source=source) if key in _READ_SNAPSHOTS else build(period, cache)


def all_charts(period: Period, *, cache: dict | None = None, source: str = "snapshot") -> list[Chart]:
    cache = {} if cache is None else cache
    return [chart_get(key, period, cache=cache, source=source) for key in CHART_BUILDERS]
