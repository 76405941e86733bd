"""KPI computations for the dashboards: pure reads over the fact table (``UsageEvent``) and the
catalog, selector style. Every KPI has one key, a label and a one-line definition (``KPIS``);
the page, the API schema and docs/kpis.md all show the same text from here.

Time: a period is whole days ``start``..``end`` (inclusive) in ``settings.TIME_ZONE``; weeks
start on Monday 00:00 in that time zone (PostgreSQL ``date_trunc('week', at AT TIME ZONE tz)``).
"The end of a day" is the next midnight in that time zone. Medians and p90 are PostgreSQL's
``percentile_cont`` (linear interpolation). A KPI with nothing to measure is ``None`` ("no data"),
never 0.

Domain filter: ``domain_id`` narrows to the producer domain (the data product's); searches have
no domain and drop out under a domain filter.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

GIB = 1024**3


@dataclass(frozen=True)
class Kpi:
    key: str
    group: str
    label: str
    definition: str
    unit: str  # count | share | hours | money | money_per_month
    higher_is_better: bool = True
    state: bool = False  # a state at the end of the period (snapshotted daily), not a flow over it
    #: What must exist (before the period's end, in its domain) for the KPI to have data:
    #: "products" (listed data products), "teams", "use_cases", "cost_rates", or event kinds.
    needs: tuple = ()

    @property
    def group_label(self) -> str:
        return GROUPS[self.group]


GROUPS = {
    "adoption": "Adoption",
    "time_to_data": "Time to data",
    "reuse": "Reuse",
    "value": "Business value",
    "cost": "Platform cost",
    "coverage": "Coverage and trust",
    "demand": "Demand",
    "health": "Platform health",
}

_KPI_LIST = [
    Kpi(
        "published_products",
        "adoption",
        "Published data products",
        "Data products published or deprecated (listed in the marketplace) at the end of the period, by creation date.",
        "count",
        state=True,
    ),
    Kpi(
        "products_with_consumer",
        "adoption",
        "Products with an active consumer",
        "Data products with at least one grant active at the end of the period.",
        "count",
        state=True,
    ),
    Kpi(
        "wau",
        "adoption",
        "Weekly active users",
        "People who viewed a data product, searched or requested access in the 7 days ending with the period.",
        "count",
        state=True,
    ),
    Kpi(
        "mau",
        "adoption",
        "Monthly active users",
        "People who viewed a data product, searched or requested access in the 30 days ending with the period.",
        "count",
        state=True,
    ),
    Kpi(
        "active_consumers",
        "adoption",
        "Active consumers",
        "Consumers (the team asked for, else the requesting person) holding at least one active grant at the end "
        "of the period.",
        "count",
        state=True,
    ),
    Kpi(
        "teams_consuming_share",
        "adoption",
        "Teams consuming",
        "Share of all teams that consume at least one data product through an active grant at the end of the period.",
        "share",
        state=True,
    ),
    Kpi(
        "self_service_share",
        "adoption",
        "Self-service share",
        "Share of access requests approved in the period that the access policy approved without a person.",
        "share",
    ),
    Kpi(
        "ttd_median_hours",
        "time_to_data",
        "Time to data (median)",
        "Median hours from an access request's submission to its grant being usable, over grants that became "
        "usable in the period.",
        "hours",
        higher_is_better=False,
    ),
    Kpi(
        "ttd_p90_hours",
        "time_to_data",
        "Time to data (p90)",
        "90th percentile of hours from submission to usable grant, over grants that became usable in the period.",
        "hours",
        higher_is_better=False,
    ),
    Kpi(
        "waiting_median_hours",
        "time_to_data",
        "Waiting for approval (median)",
        "Median hours from submission to approval, over grants that became usable in the period.",
        "hours",
        higher_is_better=False,
    ),
    Kpi(
        "provisioning_median_hours",
        "time_to_data",
        "Provisioning (median)",
        "Median hours from approval to usable grant, over grants that became usable in the period.",
        "hours",
        higher_is_better=False,
    ),
    Kpi(
        "approval_lead_median_hours",
        "time_to_data",
        "Approval step lead time (median)",
        "Median hours an approval step waited from becoming pending to its decision, over steps decided in the period.",
        "hours",
        higher_is_better=False,
    ),
    Kpi(
        "backlog",
        "time_to_data",
        "Backlog",
        "Access requests submitted and not yet approved, rejected or cancelled at the end of the period.",
        "count",
        higher_is_better=False,
        state=True,
    ),
    Kpi(
        "past_sla",
        "time_to_data",
        "Requests past SLA",
        "Requests in the backlog at the end of the period that have waited longer than their policy's SLA "
        "(business days from submission).",
        "count",
        higher_is_better=False,
        state=True,
    ),
    Kpi(
        "approval_rate",
        "time_to_data",
        "Approval rate",
        "Share of access requests decided in the period that were approved (the rest were rejected).",
        "share",
    ),
    Kpi(
        "cross_domain_share",
        "reuse",
        "Cross-domain reuse",
        "Share of grants active at the end of the period whose consumer's domain differs from the producer's "
        "(a consumer outside every domain counts as another domain).",
        "share",
        state=True,
    ),
    Kpi(
        "products_multi_domain",
        "reuse",
        "Products reused by 2+ domains",
        "Data products with active grants to consumers of at least two different domains at the end of the period.",
        "count",
        state=True,
    ),
    Kpi(
        "live_value",
        "value",
        "Estimated annual value of live use cases",
        "Sum of the estimated annual value of use cases that are live, in their currency (split equally between "
        "the data products a use case uses when filtered by domain).",
        "money",
        state=True,
    ),
    Kpi(
        "products_without_use_case",
        "value",
        "Products with no live use case",
        "Listed data products that no live use case uses.",
        "count",
        higher_is_better=False,
        state=True,
    ),
    Kpi(
        "monthly_cost",
        "cost",
        "Platform cost per month",
        "Storage of the data products' assets (GiB) × each platform's rate per GB-month, plus each platform's "
        "fixed monthly cost split equally between its data products.",
        "money_per_month",
        higher_is_better=False,
        state=True,
    ),
    Kpi(
        "cost_per_consumer",
        "cost",
        "Cost per active consumer",
        "Platform cost per month divided by the active consumers at the end of the period.",
        "money_per_month",
        higher_is_better=False,
        state=True,
    ),
    Kpi(
        "contract_coverage",
        "coverage",
        "Products with a data contract",
        "Share of listed data products with an active data contract.",
        "share",
        state=True,
    ),
    Kpi(
        "description_coverage",
        "coverage",
        "Products with a description",
        "Share of listed data products with a description and a named owner team.",
        "share",
        state=True,
    ),
    Kpi(
        "quality_passing",
        "coverage",
        "Products passing quality checks",
        "Share of listed data products that have quality checks and none failing.",
        "share",
        state=True,
    ),
    Kpi(
        "retirement_candidates",
        "coverage",
        "Retirement candidates",
        "Listed data products neither viewed nor holding an active grant in the 90 days ending with the period.",
        "count",
        higher_is_better=False,
        state=True,
    ),
    Kpi("searches", "demand", "Searches", "Searches run in the period (a query typed as you go counts once).", "count"),
    Kpi(
        "zero_result_share",
        "demand",
        "Searches with no result",
        "Share of the period's searches that found no data product (unmet demand).",
        "share",
        higher_is_better=False,
    ),
    Kpi(
        "sync_success_rate",
        "health",
        "Sync success rate",
        "Share of metadata sync runs that finished in the period and succeeded.",
        "share",
    ),
    Kpi(
        "drift_found",
        "health",
        "Drift found",
        "Differences between grants and what a platform had, found by reconciliation in the period.",
        "count",
        higher_is_better=False,
    ),
]
_NEEDS = {
    "published_products": ("products",),
    "products_with_consumer": ("grant_active",),
    "wau": (),
    "mau": (),
    "active_consumers": ("grant_active",),
    "teams_consuming_share": ("teams", "grant_active"),
    "backlog": ("request_submitted",),
    "past_sla": ("request_submitted",),
    "cross_domain_share": ("grant_active",),
    "products_multi_domain": ("grant_active",),
    "products_without_use_case": ("products",),
    "retirement_candidates": ("products",),
    "drift_found": ("grant_active",),
}
_KPI_LIST = [Kpi(**{**k.__dict__, "needs": _NEEDS.get(k.key, ())}) for k in _KPI_LIST]
KPIS: dict[str, Kpi] = {k.key: k for k in _KPI_LIST}
STATE_KPIS = [k.key for k in _KPI_LIST if k.state]


@dataclass(frozen=True)
class Period:
    """Whole days ``start``..``end`` (inclusive) in ``settings.TIME_ZONE``; ``domain_id`` narrows
    to one producer domain (None: all)."""

    start: date
    end: date
    domain_id: int | None = None

    @property
    def since(self) -> datetime:
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        """Exclusive end: midnight after ``end``."""
        return day_start(self.end + timedelta(days=1))

    def previous(self) -> Period:
        days = (self.end - self.start).days + 1
        return Period(self.start - timedelta(days=days), self.start - timedelta(days=1), self.domain_id)


def tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz())


def today() -> date:
    return timezone.localtime(timezone.now(), tz()).date()


def last_days(days: int, *, domain_id=None, end: date | None = None) -> Period:
    end = end or today()
    return Period(end - timedelta(days=days - 1), end, domain_id)


def _rows(sql: str, params: list | dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _one(sql: str, params) -> object:
    rows = _rows(sql, params)
    return rows[0][0] if rows else None


def _dom(alias: str, domain_id, params: list) -> str:
    if domain_id is None:
        return ""
    params.append(domain_id)
    return f" AND {alias}.domain_id = %s"


def _hours(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def _share(part, whole) -> float | None:
    return None if not whole else round(part / whole, 4)


E = "insights_usageevent"

# --- one request's memo ------------------------------------------------------------------------
#
# Every function below takes an optional ``cache``: a dict that lives for one request (or one
# snapshot run). Its keys name what was computed and for which instant and domain, e.g.
# ``("grants", until, domain_id)``, so the tiles, the previous period, the trend points and the
# charts of one dashboard share every intermediate result and compute each KPI once.


def _memo(cache: dict | None, key, compute):
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


# --- grants active at an instant ---------------------------------------------------------------

# An instant as integer microseconds since the epoch: thousands of grant rows compare as ints in
# Python instead of each becoming a time-zone-aware datetime.
_MICROS = "(extract(epoch FROM {}) * 1000000)::bigint"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # as the database driver returns instants: in UTC


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


_GRANT_SPANS = f"""
    SELECT a.access_request_id, a.data_product_id, a.domain_id, a.consumer_team_id, a.consumer_domain_id,
           a.platform_id, {_MICROS.format("a.at")}, {_MICROS.format("x.ended")}, r.requester_id, r.on_behalf_of_team_id
    FROM {E} a
    LEFT JOIN (SELECT access_request_id, min(at) AS ended FROM {E}
               WHERE kind IN ('grant_expired', 'grant_revoked') AND at >= %s GROUP BY access_request_id) x
         ON x.access_request_id = a.access_request_id
    LEFT JOIN access_accessrequest r ON r.id = a.access_request_id
    WHERE a.kind = 'grant_active' AND a.at < %s {{dom}}
      AND NOT EXISTS (SELECT 1 FROM {E} y WHERE y.access_request_id = a.access_request_id
                      AND y.kind IN ('grant_expired', 'grant_revoked') AND y.at < %s)
"""


def _grant_spans(first: datetime, last: datetime, domain_id) -> list[tuple]:
    """Grant events active at some instant of ``first``..``last``: the six columns of
    :func:`active_grants_at`, then (active since, ended at or None — both in microseconds since
    the epoch —, requester id or None when the request is gone, team asked for)."""
    # Not ended before ``first``; ``ended`` is then the first end at or after ``first``, if any.
    params: list = [first, last]
    dom = _dom("a", domain_id, params)
    params.append(first)
    return _rows(_GRANT_SPANS.format(dom=dom), params)


def _covered(prefetched: tuple | None, first: datetime, last: datetime) -> bool:
    return prefetched is not None and prefetched[0] <= first and last <= prefetched[1]


def grants_prefetch(instants: list[datetime], domain_id=None, *, cache: dict) -> None:
    """Read in one query the grants active at any of ``instants`` (for a trend line computed
    live), so :func:`active_grants_at` at each of them needs no query of its own."""
    first, last = min(instants, default=None), max(instants, default=None)
    if instants and not _covered(cache.get(("grant_spans", domain_id)), first, last):
        cache[("grant_spans", domain_id)] = (first, last, _grant_spans(first, last, domain_id))


def _grant_rows_at(at: datetime, domain_id, cache: dict | None) -> list[tuple]:
    def compute():
        first, last, spans = (cache or {}).get(("grant_spans", domain_id)) or (None, None, None)
        if spans is None or not first <= at <= last:
            spans = _grant_spans(at, at, domain_id)
        micros = _micros(at)
        return [g for g in spans if g[6] < micros and (g[7] is None or g[7] >= micros)]

    return _memo(cache, ("grants", at, domain_id), compute)


def active_grants_at(at: datetime, domain_id=None, *, cache: dict | None = None) -> list[tuple]:
    """Grants active at ``at``: ``[(request id, product id, domain id, consumer team id,
    consumer domain id, platform id)]``, one per access request (an extension moves the end of
    the same grant; a revoked grant granted again is a new request); a grant is active from its
    ``grant_active`` event until the first ``grant_expired``/``grant_revoked`` of its request."""
    return [g[:6] for g in _grant_rows_at(at, domain_id, cache)]


def _consumers(grants: list[tuple]) -> set:
    """Consumers of grants (rows of :func:`_grant_rows_at`): ("team", id) when asked for a team,
    else ("user", requester id); a request that no longer exists counts for nobody."""
    return {("team", g[9]) if g[9] else ("user", g[8]) for g in grants if g[8] is not None}


# --- the KPIs ----------------------------------------------------------------------------------


def kpi_values(period: Period, keys: list[str] | None = None, *, cache: dict | None = None) -> dict[str, float | None]:
    """``{key: value or None}`` for the KPIs ``keys`` (default: all) over ``period``. ``cache``:
    one request's memo (see above); a KPI already computed for the same period (a state KPI: the
    same end) and domain is not computed again."""
    keys = keys or list(KPIS)
    cache = {} if cache is None else cache
    out = {}
    for key in keys:
        # A state KPI depends on the period's end only (and the domain), a flow on both ends.
        memo_key = ("kpi", key, None if KPIS[key].state else period.since, period.until, period.domain_id)
        if memo_key not in cache:
            cache[memo_key] = (
                _COMPUTE[key](period, cache) if all(_has(need, period, cache) for need in KPIS[key].needs) else None
            )
        out[key] = cache[memo_key]
    return out


def _has(need: str, period: Period, cache: dict) -> bool:
    """Whether ``need`` exists before the period's end (in its domain): no history, no data."""
    if need == "products":
        return _listed_count(period, cache) > 0
    if need == "teams":
        return _team_count(cache) > 0
    first = _memo(cache, ("first", need, period.domain_id), lambda: _first_event(need, period.domain_id))
    return first is not None and first < period.until


def _first_event(kind: str, domain_id) -> datetime | None:
    from django.db.models import Min

    from .models import UsageEvent

    events = UsageEvent.objects.filter(kind=kind)
    if domain_id is not None:
        events = events.filter(domain_id=domain_id)
    return events.aggregate(first=Min("at"))["first"]


def _team_count(cache) -> int:
    from apps.accounts.models import Team

    return _memo(cache, ("teams",), lambda: Team.objects.count())


def _listed_products(period: Period):
    from apps.catalog.choices import LISTED_STATUSES
    from apps.catalog.models import DataProduct

    qs = DataProduct.objects.filter(status__in=LISTED_STATUSES, created_at__lt=period.until)
    return qs.filter(domain_id=period.domain_id) if period.domain_id else qs


def _listed_count(period: Period, cache) -> int:
    return _memo(cache, ("listed", period.until, period.domain_id), lambda: _listed_products(period).count())


def _grants_end(period: Period, cache: dict) -> list[tuple]:
    return _grant_rows_at(period.until, period.domain_id, cache)


def _published(period, cache):
    return _listed_count(period, cache)


def _products_with_consumer(period, cache):
    return len({g[1] for g in _grants_end(period, cache)})


def _active_users(days: int):
    def compute(period, cache):
        params: list = [period.until - timedelta(days=days), period.until]
        dom = _dom("e", period.domain_id, params)
        return (
            _one(
                f"""SELECT count(DISTINCT e.user_id) FROM {E} e WHERE e.at >= %s AND e.at < %s
                        AND e.kind IN ('product_view', 'search', 'request_submitted') AND e.user_id IS NOT NULL {dom}""",
                params,
            )
            or None
        )

    return compute


def _consumers_end(period, cache) -> set:
    return _memo(cache, ("consumers", period.until, period.domain_id), lambda: _consumers(_grants_end(period, cache)))


def _active_consumers(period, cache):
    return len(_consumers_end(period, cache))


def _teams_consuming(period, cache):
    return _share(len({g[3] for g in _grants_end(period, cache) if g[3]}), _team_count(cache))


def _self_service(period, cache):
    params: list = [period.since, period.until]
    dom = _dom("e", period.domain_id, params)
    auto, total = _rows(
        f"""SELECT count(*) FILTER (WHERE (e.data->>'auto')::boolean), count(*) FROM {E} e
                            WHERE e.kind = 'request_approved' AND e.at >= %s AND e.at < %s {dom}""",
        params,
    )[0]
    return _share(auto, total)


# Time to data of the grants that became usable in one or more periods (``bucket``: which), overall,
# per week and per classification, in one pass (GROUPING SETS): each group is the same multiset, so
# the same percentiles, as a query of its own per period.
_TTD_SQL = f"""
    SELECT t.bucket, t.week, t.classification, GROUPING(t.week, t.classification),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY t.total), percentile_cont(0.9) WITHIN GROUP (ORDER BY t.total),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY t.waiting),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY t.provisioning), count(*)
    FROM (SELECT {{bucket}} AS bucket, date_trunc('week', g.at AT TIME ZONE %s)::date AS week, g.classification,
                 extract(epoch FROM g.at - s.at) AS total, extract(epoch FROM ap.at - s.at) AS waiting,
                 extract(epoch FROM g.at - ap.at) AS provisioning
          FROM {E} g
          JOIN {E} s ON s.access_request_id = g.access_request_id AND s.kind = 'request_submitted'
          JOIN {E} ap ON ap.access_request_id = g.access_request_id AND ap.kind = 'request_approved'
          WHERE g.kind = 'grant_active' AND g.at >= %s AND g.at < %s {{dom}}) t
    WHERE t.bucket IS NOT NULL
    GROUP BY GROUPING SETS ((t.bucket, t.week), (t.bucket, t.classification), (t.bucket))
    ORDER BY 1, 4, 2, 3
"""


def _ttd_key(zone: str, period: Period) -> tuple:
    return ("ttd", zone, period.since, period.until, period.domain_id)


def ttd_stats_many(periods: list[Period], *, cache: dict | None = None) -> list[dict]:
    """:func:`ttd_stats` of several periods that do not overlap, of one domain (e.g. a period and
    the one before), in one query; each is kept in ``cache`` as if computed on its own. Raises
    ValueError for periods of different domains."""
    if len({p.domain_id for p in periods}) > 1:
        raise ValueError("Periods of one domain only.")
    zone = str(tz())
    todo = [p for p in periods if cache is None or _ttd_key(zone, p) not in cache]
    if todo:
        buckets = " ".join("WHEN g.at >= %s AND g.at < %s THEN " + str(i) for i in range(len(todo)))
        params: list = [b for p in todo for b in (p.since, p.until)]
        params += [zone, min(p.since for p in todo), max(p.until for p in todo)]
        dom = _dom("g", todo[0].domain_id, params)
        found: list[dict] = [{"all": (None, None, None, None, 0), "week": {}, "classification": {}} for _ in todo]
        for bucket, week, classification, grouping, *row in _rows(
            _TTD_SQL.format(bucket=f"CASE {buckets} END", dom=dom), params
        ):
            out = found[bucket]
            if grouping == 3:
                out["all"] = tuple(row)
            elif grouping == 1:
                out["week"][week] = tuple(row)
            else:
                out["classification"][classification] = tuple(row)
        if cache is None:
            return found
        for p, out in zip(todo, found, strict=True):
            cache[_ttd_key(zone, p)] = out
    return [cache[_ttd_key(zone, p)] for p in periods]


def ttd_stats(period: Period, *, cache: dict | None = None) -> dict:
    """Time to data over grants that became usable in ``period``: ``{"all": row, "week": {monday:
    row}, "classification": {name: row}}``, each row ``(median, p90, waiting median, provisioning
    median, grants)``, durations in seconds (None without grants), weeks in ``settings.TIME_ZONE``."""
    return ttd_stats_many([period], cache=cache)[0]


def time_to_data(
    period: Period, *, cache: dict | None = None
) -> tuple[float | None, float | None, float | None, float | None]:
    """(submitted → usable median, its p90, submitted → approved median, approved → usable median)
    in hours, over grants that became usable in ``period``."""
    return tuple(_hours(x) for x in ttd_stats(period, cache=cache)["all"][:4])


def _ttd(index: int):
    def compute(period, cache):
        return time_to_data(period, cache=cache)[index]

    return compute


def _approval_lead(period, cache):
    params: list = [period.since, period.until]
    dom = _dom("e", period.domain_id, params)
    return _hours(
        _one(
            f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY e.seconds) FROM {E} e
                           WHERE e.kind = 'step_decided' AND e.at >= %s AND e.at < %s {dom}""",
            params,
        )
    )


_BACKLOG_SPANS = f"""
    SELECT s.access_request_id, {_MICROS.format("s.at")}, s.data_product_id, {_MICROS.format("d.decided")}
    FROM {E} s
    LEFT JOIN (SELECT access_request_id, min(at) AS decided FROM {E}
               WHERE kind IN ('request_approved', 'request_rejected', 'request_cancelled') AND at >= %s
               GROUP BY access_request_id) d ON d.access_request_id = s.access_request_id
    WHERE s.kind = 'request_submitted' AND s.at < %s {{dom}}
      AND NOT EXISTS (SELECT 1 FROM {E} y WHERE y.access_request_id = s.access_request_id
                      AND y.kind IN ('request_approved', 'request_rejected', 'request_cancelled') AND y.at < %s)
    ORDER BY s.at
"""


def _backlog_spans(first: datetime, last: datetime, domain_id) -> list[tuple]:
    """Requests submitted before ``last`` and not decided before ``first``: (request id, submitted
    at, product id, first decision at or after ``first`` or None), instants in microseconds since
    the epoch."""
    params: list = [first, last]
    dom = _dom("s", domain_id, params)
    params.append(first)
    return _rows(_BACKLOG_SPANS.format(dom=dom), params)


def backlog_prefetch(instants: list[datetime], domain_id=None, *, cache: dict) -> None:
    """Read in one query the requests waiting at any of ``instants`` (see :func:`grants_prefetch`)."""
    first, last = min(instants, default=None), max(instants, default=None)
    if instants and not _covered(cache.get(("backlog_spans", domain_id)), first, last):
        cache[("backlog_spans", domain_id)] = (first, last, _backlog_spans(first, last, domain_id))


def backlog_at(at: datetime, domain_id=None, *, cache: dict | None = None) -> list[tuple]:
    """Requests waiting for a decision at ``at``: ``[(request id, submitted at, product id)]``
    (extensions included), oldest first: submitted before ``at`` and no approval, rejection or
    cancellation of the request before ``at``."""

    def compute():
        first, last, spans = (cache or {}).get(("backlog_spans", domain_id)) or (None, None, None)
        if spans is None or not first <= at <= last:
            spans = _backlog_spans(at, at, domain_id)
        micros = _micros(at)
        return [
            (s[0], _EPOCH + timedelta(microseconds=s[1]), s[2])
            for s in spans
            if s[1] < micros and (s[3] is None or s[3] >= micros)
        ]

    return _memo(cache, ("backlog", at, domain_id), compute)


def _backlog(period, cache):
    return len(backlog_at(period.until, period.domain_id, cache=cache))


def past_sla_at(at: datetime, domain_id=None, backlog=None) -> list[int]:
    """Ids of requests waiting at ``at`` for longer than their policy's SLA (business days
    counted from the submission, Monday–Friday)."""
    from apps.access.models import AccessRequest
    from apps.access.policy import add_business_days

    backlog = backlog if backlog is not None else backlog_at(at, domain_id)
    sla = dict(
        AccessRequest.objects.filter(pk__in=[b[0] for b in backlog]).values_list("pk", "policy__sla_business_days")
    )
    return [pk for pk, submitted, _ in backlog if add_business_days(submitted, sla.get(pk) or 2) < at]


def _past_sla(period, cache):
    backlog = backlog_at(period.until, period.domain_id, cache=cache)
    return len(past_sla_at(period.until, period.domain_id, backlog)) if backlog else 0


def _approval_rate(period, cache):
    params: list = [period.since, period.until]
    dom = _dom("e", period.domain_id, params)
    approved, total = _rows(
        f"""SELECT count(*) FILTER (WHERE e.kind = 'request_approved'), count(*) FROM {E} e
                                WHERE e.kind IN ('request_approved', 'request_rejected') AND e.at >= %s AND e.at < %s
                                {dom}""",
        params,
    )[0]
    return _share(approved, total)


def _cross_domain(period, cache):
    grants = _grants_end(period, cache)
    return _share(sum(1 for g in grants if g[4] != g[2]), len(grants))


def _multi_domain(period, cache):
    # (product, consumer domain) pairs, then products with two or more (no domain counts as one)
    products = Counter(product for product, _ in {(g[1], g[4]) for g in _grants_end(period, cache)})
    return sum(1 for n in products.values() if n >= 2)


def value_per_product(
    domain_id=None, status: str = "live", *, cache: dict | None = None
) -> dict[int, dict[str, Decimal]]:
    """``{product id: {currency: value per year}}``: each use case of ``status`` splits its value
    equally between its data products."""
    from .models import UseCase

    def compute():
        out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for use_case in UseCase.objects.filter(status=status, estimated_annual_value__isnull=False).prefetch_related(
            "data_products"
        ):
            products = list(use_case.data_products.all())
            for product in products:
                if domain_id is None or product.domain_id == domain_id:
                    out[product.pk][use_case.currency] += use_case.estimated_annual_value / len(products)
        return out

    return _memo(cache, ("value", status, domain_id), compute)


def _live_value(period, cache):
    from .models import UseCase

    if period.domain_id is None:

        def total():
            values = UseCase.objects.filter(status="live", estimated_annual_value__isnull=False)
            return float(sum(v.estimated_annual_value for v in values)) if values else None

        return _memo(cache, ("live_value",), total)
    per = value_per_product(period.domain_id, cache=cache)
    return round(float(sum(sum(v.values()) for v in per.values())), 2) if per else None


def _without_use_case(period, cache):
    return _listed_products(period).exclude(use_cases__status="live").count()


def cost_per_product(domain_id=None, *, cache: dict | None = None) -> dict[int, float]:
    """``{product id: cost per month}``: GiB of the assets behind its output ports × the platform's
    rate per GB-month, plus the platform's fixed monthly cost split equally between the listed
    products on it. Products on a platform without a rate cost nothing."""
    from apps.catalog.choices import LISTED_STATUSES

    def compute():
        rows = _rows(
            """
            SELECT p.id, p.domain_id, o.platform_id, coalesce(sum(a.size_bytes), 0)
            FROM catalog_dataproduct p
            JOIN catalog_outputport o ON o.data_product_id = p.id
            LEFT JOIN catalog_asset a ON a.platform_id = o.platform_id AND a.schema = o.schema
                 AND (o.table = '' OR a.name = o.table) AND a.removed_at IS NULL
            WHERE p.status = ANY(%s)
            GROUP BY p.id, p.domain_id, o.platform_id""",
            [list(LISTED_STATUSES)],
        )
        rates = _cost_rates(cache)
        per_platform = defaultdict(set)
        for pid, _, platform_id, _ in rows:
            per_platform[platform_id].add(pid)
        out: dict[int, float] = defaultdict(float)
        for pid, did, platform_id, size in rows:
            rate = rates.get(platform_id)
            if rate is None or (domain_id is not None and did != domain_id):
                continue
            out[pid] += float(size) / GIB * float(rate.per_gb_month) + float(rate.fixed_monthly) / len(
                per_platform[platform_id]
            )
        return {k: round(v, 2) for k, v in out.items()}

    return _memo(cache, ("cost", domain_id), compute)


def _cost_rates(cache) -> dict:
    from .models import PlatformCostRate

    return _memo(cache, ("cost_rates",), lambda: {r.platform_id: r for r in PlatformCostRate.objects.all()})


def _monthly_cost(period, cache):
    if not _cost_rates(cache):
        return None
    return round(sum(cost_per_product(period.domain_id, cache=cache).values()), 2)


def _cost_per_consumer(period, cache):
    cost = _monthly_cost(period, cache)
    consumers = _active_consumers(period, cache)
    return None if cost is None or not consumers else round(cost / consumers, 2)


def _quality_sets(cache) -> tuple[set, set]:
    """(product ids with quality checks, product ids with a failing check): the current checks."""

    def compute():
        from apps.catalog.models import QualityCheck

        checked, failing = set(), set()
        for pid, status in QualityCheck.objects.filter(removed_at__isnull=True).values_list(
            "asset__platform__output_ports__data_product_id", "status"
        ):
            checked.add(pid)
            if status in ("fail", "error"):
                failing.add(pid)
        return checked, failing

    return _memo(cache, ("quality",), compute)


def _coverage(kind: str):
    def compute(period, cache):
        products = _listed_products(period)
        total = _listed_count(period, cache)
        if not total:
            return None
        if kind == "contract":
            part = products.filter(data_contracts__status="active").distinct().count()
        elif kind == "description":
            part = products.exclude(description="").filter(owner_team__isnull=False).count()
        else:
            checked, failing = _quality_sets(cache)
            ids = set(products.values_list("pk", flat=True))
            part = len((checked - failing) & ids)
        return _share(part, total)

    return compute


def retirement_candidates(period: Period, *, cache: dict | None = None) -> list[int]:
    """Ids of listed products neither viewed nor holding an active grant in the 90 days ending
    with ``period`` (a grant that expired or was revoked in those days counts as held)."""
    from django.db.models import Exists, OuterRef

    from .models import UsageEvent

    since = period.until - timedelta(days=90)
    recent = UsageEvent.objects.filter(data_product_id=OuterRef("pk"), at__gte=since, at__lt=period.until)
    granted = {g[1] for g in _grant_rows_at(period.until, period.domain_id, cache)}
    # Per listed product, two index probes on (kind, data product, at) instead of reading every
    # view of the 90 days.
    return [
        pk
        for pk in _listed_products(period)
        .exclude(Exists(recent.filter(kind="product_view")))
        .exclude(Exists(recent.filter(kind__in=["grant_expired", "grant_revoked"])))
        .values_list("pk", flat=True)
        if pk not in granted
    ]


def _retirement(period, cache):
    return len(retirement_candidates(period, cache=cache))


def _search_counts(period, cache) -> tuple[int, int]:
    return _memo(
        cache,
        ("searches", period.since, period.until),
        lambda: _rows(
            f"""SELECT count(*), count(*) FILTER (WHERE result_count = 0) FROM {E}
            WHERE kind = 'search' AND at >= %s AND at < %s""",
            [period.since, period.until],
        )[0],
    )


def _searches(period, cache):
    if period.domain_id is not None:
        return None
    return _search_counts(period, cache)[0] or None


def _zero_share(period, cache):
    if _searches(period, cache) is None:
        return None
    total, zero = _search_counts(period, cache)
    return _share(zero, total)


def _sync_success(period, cache):
    ok, total = _rows(
        f"""SELECT count(*) FILTER (WHERE data->>'status' = 'succeeded'), count(*) FROM {E}
                          WHERE kind = 'sync_run' AND at >= %s AND at < %s""",
        [period.since, period.until],
    )[0]
    return _share(ok, total)


def _drift(period, cache):
    from apps.access.models import GrantDrift

    qs = GrantDrift.objects.filter(at__gte=period.since, at__lt=period.until)
    if period.domain_id:
        qs = qs.filter(grant__access_request__output_port__data_product__domain_id=period.domain_id)
    return qs.count()


_COMPUTE = {
    "published_products": _published,
    "products_with_consumer": _products_with_consumer,
    "wau": _active_users(7),
    "mau": _active_users(30),
    "active_consumers": _active_consumers,
    "teams_consuming_share": _teams_consuming,
    "self_service_share": _self_service,
    "ttd_median_hours": _ttd(0),
    "ttd_p90_hours": _ttd(1),
    "waiting_median_hours": _ttd(2),
    "provisioning_median_hours": _ttd(3),
    "approval_lead_median_hours": _approval_lead,
    "backlog": _backlog,
    "past_sla": _past_sla,
    "approval_rate": _approval_rate,
    "cross_domain_share": _cross_domain,
    "products_multi_domain": _multi_domain,
    "live_value": _live_value,
    "products_without_use_case": _without_use_case,
    "monthly_cost": _monthly_cost,
    "cost_per_consumer": _cost_per_consumer,
    "contract_coverage": _coverage("contract"),
    "description_coverage": _coverage("description"),
    "quality_passing": _coverage("quality"),
    "retirement_candidates": _retirement,
    "searches": _searches,
    "zero_result_share": _zero_share,
    "sync_success_rate": _sync_success,
    "drift_found": _drift,
}
assert set(_COMPUTE) == set(KPIS)
