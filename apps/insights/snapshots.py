"""Daily KPI snapshots: the state KPIs (``kpis.STATE_KPIS``) at the end of each day, for all
domains and for each domain, so long trend lines read one row per day instead of recomputing
the past. "Today" is always computed live. Both paths call the same ``kpis.kpi_values``, so
they give the same numbers for the same history (tests/insights/test_dashboard.py).

A state KPI depends only on the end of its period (and the domain), so the snapshot of a day is
also the value of every period ending that day: the trend points, the previous period's state
tiles and the whole past weeks of ``charts.active_users_by_week`` (``wau`` of their Sunday) read it.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from . import dashboard_cache, kpis
from .models import KpiSnapshot


@transaction.atomic
def kpi_snapshot_take(*, day: date) -> int:
    """Write (or rewrite) the snapshots of ``day`` (a date in ``settings.TIME_ZONE``): one for all
    domains and one per domain. Returns the number of rows written."""
    from apps.catalog.models import Domain

    written = 0
    cache: dict = {}  # shared by the domains of the day: what does not depend on the domain is read once
    for domain_id in [None, *Domain.objects.values_list("pk", flat=True)]:
        values = kpis.kpi_values(kpis.Period(day, day, domain_id), kpis.STATE_KPIS, cache=cache)
        KpiSnapshot.objects.update_or_create(day=day, domain_id=domain_id, defaults={"values": values})
        written += 1
    dashboard_cache.invalidate_on_commit()
    return written


def kpi_snapshots_catch_up(*, until: date | None = None, max_days: int = 400) -> int:
    """Snapshot every day up to yesterday (or ``until``) that has none yet, at most ``max_days``
    back. Returns the number of days written."""
    until = until or kpis.today() - timedelta(days=1)
    first = until - timedelta(days=max_days - 1)
    have = set(
        KpiSnapshot.objects.filter(domain__isnull=True, day__gte=first, day__lte=until).values_list("day", flat=True)
    )
    days = 0
    day = first
    while day <= until:
        if day not in have:
            kpi_snapshot_take(day=day)
            days += 1
        day += timedelta(days=1)
    return days


def series_days(period: kpis.Period) -> list[date]:
    """The points of a trend line: each Sunday (end of a Monday week) in ``period``, and its last day."""
    days = []
    day = period.start + timedelta(days=(6 - period.start.weekday()))
    while day < period.end:
        days.append(day)
        day += timedelta(days=7)
    days.append(period.end)
    return days


def period_snapshots(period: kpis.Period, *, cache: dict | None = None) -> dict[date, dict]:
    """``{day: values}`` of the stored snapshots of ``period``'s domain that a dashboard of
    ``period`` can use, in one query: its trend points (:func:`series_days`) and the last day of the
    previous period; only days before today (today's is never final)."""

    def compute():
        days = [*series_days(period), period.start - timedelta(days=1)]
        today = kpis.today()
        return {
            s.day: s.values
            for s in KpiSnapshot.objects.filter(day__in=days, domain_id=period.domain_id)
            if s.day < today
        }

    return kpis._memo(cache, ("snapshots", period.start, period.end, period.domain_id), compute)


def _complete(values: dict | None) -> dict | None:
    return values if values is not None and all(key in values for key in kpis.STATE_KPIS) else None


def state_values_stored(period: kpis.Period, day: date, *, cache: dict | None = None) -> dict | None:
    """The state KPIs at the end of ``day`` from its snapshot (``day`` one of those
    :func:`period_snapshots` reads), or None when there is none or it lacks a KPI."""
    return _complete(period_snapshots(period, cache=cache).get(day))


def state_series_all(
    period: kpis.Period, *, source: str = "snapshot", today_values: dict | None = None, cache: dict | None = None
) -> dict[str, list[tuple[date, float | None]]]:
    """``{state KPI key: [(day, value)]}`` at each point of :func:`series_days`. ``source="snapshot"``
    reads daily snapshots where they exist (days before today) and computes the other points live
    (all state KPIs of a day in one pass); ``"live"`` computes every point (the grants and the
    backlog of all points in one query each). ``today_values``: the values at the period's end
    when the caller has them already; ``cache``: the request's memo (the tiles' values at the
    period's end are in it already)."""
    days = series_days(period)
    cache = {} if cache is None else cache
    stored = period_snapshots(period, cache=cache) if source == "snapshot" else {}
    missing = [
        day
        for day in days
        if _complete(stored.get(day)) is None and not (today_values is not None and day == period.end)
    ]
    if len(missing) > 1:
        instants = [kpis.day_start(day + timedelta(days=1)) for day in missing]
        kpis.grants_prefetch(instants, period.domain_id, cache=cache)
        kpis.backlog_prefetch(instants, period.domain_id, cache=cache)
    out: dict[str, list] = {key: [] for key in kpis.STATE_KPIS}
    for day in days:
        values = _complete(stored.get(day))
        if values is None:
            if today_values is not None and day == period.end:
                values = today_values
            else:
                values = kpis.kpi_values(kpis.Period(day, day, period.domain_id), kpis.STATE_KPIS, cache=cache)
        for key in kpis.STATE_KPIS:
            out[key].append((day, values.get(key)))
    return out


def state_series(period: kpis.Period, key: str, *, source: str = "snapshot") -> list[tuple[date, float | None]]:
    """``[(week end day, value)]`` of state KPI ``key`` at the end of each week of ``period``
    (Sundays, and the period's last day). ``source="snapshot"`` reads daily snapshots where they
    exist and computes the rest live (today always live); ``"live"`` computes every point."""
    days = series_days(period)
    stored = {}
    if source == "snapshot":
        stored = {s.day: s.values for s in KpiSnapshot.objects.filter(day__in=days, domain_id=period.domain_id)}
    today = kpis.today()
    out = []
    for day in days:
        if day in stored and key in stored[day] and day < today:
            out.append((day, stored[day][key]))
        else:
            out.append((day, kpis.kpi_values(kpis.Period(day, day, period.domain_id), [key])[key]))
    return out
