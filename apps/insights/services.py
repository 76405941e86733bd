"""Writes of the insights app: the fact table (``event_record``), use cases, cost rates,
KPI targets, daily snapshots and retention.

Recording an event is an INSERT inside the caller's transaction: it commits with the change it
describes and rolls back with it ("on commit", without a signal or a second transaction).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError

from . import dashboard_cache
from .choices import UsageEventKind
from .models import KpiTarget, PlatformCostRate, UsageEvent, UseCase

K = UsageEventKind

# A search typed as you go fires a request every few keystrokes; within this window a longer
# (or shorter) version of the same query updates the user's last search instead of adding one.
SEARCH_SETTLE_WINDOW = timedelta(seconds=10)


def _consumer(access_request) -> tuple[int | None, int | None]:
    """(consuming team id, its domain id) of a request: the team asked for, else the requester's
    first team (by membership age); the team's domain is the one it owns, else the domain where
    it owns a data product (lowest id). Two small queries."""
    from apps.accounts.models import TeamMembership
    from apps.catalog.models import DataProduct, Domain

    team_id = access_request.on_behalf_of_team_id
    if team_id is None:
        team_id = (
            TeamMembership.objects.filter(user_id=access_request.requester_id)
            .order_by("created_at", "id")
            .values_list("team_id", flat=True)
            .first()
        )
    if team_id is None:
        return None, None
    domain_id = Domain.objects.filter(owner_team_id=team_id).order_by("id").values_list("id", flat=True).first()
    if domain_id is None:
        domain_id = (
            DataProduct.objects.filter(owner_team_id=team_id)
            .order_by("domain_id")
            .values_list("domain_id", flat=True)
            .first()
        )
    return team_id, domain_id


def event_record(
    *,
    kind: str | None,
    actor=None,
    at=None,
    access_request=None,
    grants=None,
    step=None,
    data_product=None,
    platform=None,
    sync_run=None,
    seconds: float | None = None,
    data: dict | None = None,
) -> list[UsageEvent]:
    """Append events to the fact table: the ONE write path for everything but views and searches.

    ``kind``: a :class:`UsageEventKind` value; ``None`` records nothing (so a caller can pass
    ``REQUEST_STATUS_EVENTS.get(status)`` in one line). ``actor``: the user who acted (None or
    anonymous: the system). ``access_request``: the request it is about; its product, domain,
    classification, platform and consuming team/domain are copied onto the row (the consumer
    from the request's ``request_submitted`` event when there is one, so later team changes do
    not move history). ``grants``: a list of grants, one row each (bulk, three queries for the
    batch). ``step``: an ApprovalStep just decided (its wait, kind and team are recorded).
    ``sync_run``: a finished SyncRun (platform, duration, status and counts are recorded, at its
    end). ``seconds``: duration the event closes (see ``UsageEvent.seconds``); for request decisions
    it is computed from ``submitted_at``. Returns the rows written.
    """
    if kind is None:
        return []
    dashboard_cache.invalidate_on_commit()  # the dashboard shows it on the next load
    at = at or timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    data = dict(data or {})
    if grants is not None:
        return _record_grants(kind, grants, at=at, user=user, data=data)
    row = UsageEvent(kind=kind, at=at, user=user, seconds=seconds, data=data)
    if step is not None:
        access_request = access_request or step.access_request
        if step.activated_at is not None and step.decided_at is not None:
            row.seconds = (step.decided_at - step.activated_at).total_seconds()
        data.update(step_kind=step.kind, step_order=step.order, approver_team_id=step.team_id, decision=step.status)
    if access_request is not None:
        _fill_from_request(row, access_request)
        if kind in (K.REQUEST_APPROVED, K.REQUEST_REJECTED) and access_request.submitted_at and seconds is None:
            row.seconds = (at - access_request.submitted_at).total_seconds()
        if kind == K.REQUEST_APPROVED:
            data.setdefault("auto", not access_request.steps.exists())
        if kind == K.REQUEST_EXTENDED:
            data["extends"] = access_request.extends_id
    if data_product is not None:
        row.data_product, row.domain_id = data_product, data_product.domain_id
        row.classification = data_product.classification
    if platform is not None:
        row.platform = platform
    if sync_run is not None:
        row.platform_id, row.at = sync_run.platform_id, sync_run.finished_at or at
        row.seconds = (row.at - sync_run.started_at).total_seconds()
        data.update(
            run=sync_run.pk,
            status=sync_run.status,
            created=sync_run.created_count,
            updated=sync_run.updated_count,
            removed=sync_run.removed_count,
        )
    row.save()
    return [row]


def _fill_from_request(row: UsageEvent, access_request) -> None:
    port = access_request.output_port
    product = port.data_product
    row.access_request_id = access_request.pk
    row.data_product_id, row.domain_id, row.classification = product.pk, product.domain_id, product.classification
    row.platform_id = port.platform_id
    if access_request.extends_id:
        row.data.setdefault("extension", True)
    submitted = (
        UsageEvent.objects.filter(access_request_id=access_request.pk, kind=K.REQUEST_SUBMITTED)
        .values("consumer_team_id", "consumer_domain_id")
        .first()
    )
    if submitted is not None:
        row.consumer_team_id, row.consumer_domain_id = submitted["consumer_team_id"], submitted["consumer_domain_id"]
    else:
        row.consumer_team_id, row.consumer_domain_id = _consumer(access_request)


def _record_grants(kind: str, grants, *, at, user, data) -> list[UsageEvent]:
    from apps.access.models import AccessRequest

    grants = list(grants)
    if not grants:
        return []
    requests = {
        r.pk: r
        for r in AccessRequest.objects.select_related("output_port__data_product").filter(
            pk__in=[g.access_request_id for g in grants]
        )
    }
    consumers = {
        e["access_request_id"]: e
        for e in UsageEvent.objects.filter(kind=K.REQUEST_SUBMITTED, access_request_id__in=list(requests)).values(
            "access_request_id", "consumer_team_id", "consumer_domain_id"
        )
    }
    rows = []
    for grant in grants:
        request = requests[grant.access_request_id]
        product = request.output_port.data_product
        consumer = consumers.get(request.pk)
        team_id, domain_id = (
            (consumer["consumer_team_id"], consumer["consumer_domain_id"]) if consumer else _consumer(request)
        )
        rows.append(
            UsageEvent(
                kind=kind,
                at=at,
                user=user,
                data=dict(data),
                access_request_id=request.pk,
                grant_id=grant.pk,
                data_product_id=product.pk,
                domain_id=product.domain_id,
                classification=product.classification,
                platform_id=grant.platform_id,
                consumer_team_id=team_id,
                consumer_domain_id=domain_id,
                seconds=(at - request.submitted_at).total_seconds() if request.submitted_at else None,
            )
        )
    return UsageEvent.objects.bulk_create(rows)


@contextmanager
def _asynchronous_commit():
    """Commit the enclosed writes without waiting for the WAL flush (PostgreSQL's
    "Asynchronous Commit", docs 28.4: ``SET LOCAL synchronous_commit TO OFF``).

    For the facts every page view and search writes: the request no longer waits for the disk,
    and a server crash may lose the last fraction of a second of them (at most three times
    ``wal_writer_delay``), never corrupt anything. Inside a caller's transaction (whose other
    writes must stay durable) the setting is left alone."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def usage_event_record_view(*, user, data_product) -> UsageEvent:
    """Record that ``user`` opened ``data_product``'s page (committed asynchronously:
    :func:`_asynchronous_commit`)."""
    with _asynchronous_commit():
        return UsageEvent.objects.create(
            kind=K.PRODUCT_VIEW,
            user=user if user.is_authenticated else None,
            data_product=data_product,
            domain_id=data_product.domain_id,
            classification=data_product.classification,
        )


def usage_event_record_search(*, user, query: str, filters: dict, result_count: int) -> UsageEvent:
    """Record a search (``query`` up to 200 characters, ``filters`` facet -> values, number of
    data products found). Refining the previous query within ``SEARCH_SETTLE_WINDOW`` (it starts
    with the earlier text, or the other way round) updates that event, so "s", "sa", "salary"
    count as one search for "salary", and a zero-result count is the settled query's.
    Committed asynchronously (:func:`_asynchronous_commit`)."""
    query = query[:200]
    user = user if user.is_authenticated else None
    now = timezone.now()
    with _asynchronous_commit():
        if user is not None:
            last = (
                UsageEvent.objects.filter(user=user, kind=K.SEARCH, at__gte=now - SEARCH_SETTLE_WINDOW)
                .order_by("-at", "-id")
                .first()
            )
            if last and last.query and query and (query.startswith(last.query) or last.query.startswith(query)):
                last.query, last.filters, last.result_count, last.at = query, filters, result_count, now
                last.save(update_fields=["query", "filters", "result_count", "at"])
                return last
        return UsageEvent.objects.create(
            kind=K.SEARCH,
            user=user,
            query=query,
            filters=filters,
            result_count=result_count,
        )


def usage_events_prune(*, now=None, retention_days: int | None = None) -> int:
    """Delete fact rows older than ``retention_days`` (default ``settings.INSIGHTS_RETENTION_DAYS``;
    0 or less keeps everything), in batches of 10,000. Returns the number deleted. Daily
    snapshots keep the trend lines of pruned days."""
    days = settings.INSIGHTS_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(UsageEvent.objects.filter(at__lt=cutoff).order_by().values_list("id", flat=True)[:10000])
        if not ids:
            if deleted:
                dashboard_cache.invalidate()
            return deleted
        deleted += UsageEvent.objects.filter(id__in=ids).delete()[0]


@transaction.atomic
def data_product_demand_record(*, actor, query: str, note: str = "") -> UsageEvent:
    """Unmet demand, one click ("ask for this data" on a search that found nothing, or "request a
    new data product" on the dashboard): ``actor`` asks for a data product about ``query``, with an
    optional ``note`` (up to 500 characters). Records a ``product_requested`` event (``filters``:
    ``{"asked": true, "note": note}``, result count 0) and notifies the governance stewards in-app
    and by email (once per person, query and day)."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from apps.accounts.choices import STEWARDS_GROUP
    from apps.notifications.choices import Verb
    from apps.notifications.services import notify

    query = query.strip()[:200]
    row = UsageEvent.objects.create(
        kind=K.PRODUCT_REQUESTED,
        user=actor if actor.is_authenticated else None,
        query=query,
        filters={"asked": True, "note": note.strip()[:500]},
        result_count=0,
    )
    stewards = get_user_model().objects.filter(groups__name=STEWARDS_GROUP, is_active=True)
    who = actor.get_full_name() or actor.username
    notify(
        recipients=stewards,
        verb=Verb.PRODUCT_DEMAND,
        subject=f"Data product asked for: {query}",
        message=f"{who} searched for “{query}”, found no data product and asks for one.",
        url=reverse("insights:dashboard"),
        dedupe_key=f"demand:{actor.pk}:{query.lower()}:{timezone.now():%Y-%m-%d}",
    )
    return row


# --- use cases, cost rates, targets ----------------------------------------------------------


@transaction.atomic
def use_case_save(
    *,
    actor,
    name: str,
    consuming_team=None,
    data_products=(),
    status: str = "planned",
    estimated_annual_value=None,
    currency: str = "EUR",
    link: str = "",
    description: str = "",
    use_case: UseCase | None = None,
    access_request=None,
) -> UseCase:
    """Create (or update ``use_case``) a use case of data products. ``estimated_annual_value``:
    Decimal or None, per year in ``currency`` (3 letters). ``access_request``: attach it.
    Raises ApplicationError with field errors on bad input."""
    from apps.audit.services import audit_record

    use_case = use_case or UseCase(created_by=actor if getattr(actor, "is_authenticated", False) else None)
    before = {"name": use_case.name, "status": use_case.status} if use_case.pk else None
    use_case.name, use_case.consuming_team, use_case.status = name.strip(), consuming_team, status
    use_case.estimated_annual_value, use_case.currency = estimated_annual_value, (currency or "EUR").upper()
    use_case.link, use_case.description = link, description
    _full_clean(use_case)
    use_case.save()
    if data_products:
        use_case.data_products.add(*data_products)
    if access_request is not None:
        use_case.access_requests.add(access_request)
        use_case.data_products.add(access_request.output_port.data_product)
    dashboard_cache.invalidate_on_commit()
    audit_record(
        actor=actor,
        action="use_case.changed" if before else "use_case.created",
        obj=use_case,
        before=before,
        after={
            "name": use_case.name,
            "status": use_case.status,
            "value": str(use_case.estimated_annual_value or ""),
            "currency": use_case.currency,
        },
    )
    return use_case


def use_case_attach(*, actor, access_request, name: str) -> UseCase | None:
    """Attach ``access_request`` (and its data product) to the use case called ``name`` of its
    consuming team (the team asked for, else the requester's first team; case-insensitive), or
    record a new *planned* one. Blank ``name``: nothing. Returns the use case."""
    name = (name or "").strip()[:200]
    if not name:
        return None
    team_id, _ = _consumer(access_request)
    existing = UseCase.objects.filter(name__iexact=name, consuming_team_id=team_id).first()
    if existing is not None:
        existing.access_requests.add(access_request)
        existing.data_products.add(access_request.output_port.data_product)
        dashboard_cache.invalidate_on_commit()
        return existing
    from apps.accounts.models import Team

    return use_case_save(
        actor=actor, name=name, consuming_team=Team.objects.filter(pk=team_id).first(), access_request=access_request
    )


@transaction.atomic
def platform_cost_rate_set(
    *, actor, platform, per_gb_month, fixed_monthly=0, currency: str = "EUR"
) -> PlatformCostRate:
    """Set the platform's storage cost: ``per_gb_month`` per GiB-month plus ``fixed_monthly``, both
    Decimal ≥ 0 in ``currency``. Audited. Raises ApplicationError on bad input."""
    from apps.audit.services import audit_record

    rate, _ = PlatformCostRate.objects.get_or_create(platform=platform)
    before = {
        "per_gb_month": str(rate.per_gb_month),
        "fixed_monthly": str(rate.fixed_monthly),
        "currency": rate.currency,
    }
    if per_gb_month is None or per_gb_month < 0 or fixed_monthly is None or fixed_monthly < 0:
        raise ApplicationError("Costs cannot be negative.", {"per_gb_month": ["Must be 0 or more."]})
    rate.per_gb_month, rate.fixed_monthly, rate.currency = per_gb_month, fixed_monthly, currency.upper()
    _full_clean(rate)
    rate.save()
    dashboard_cache.invalidate_on_commit()
    audit_record(
        actor=actor,
        action="platform.cost_rate_changed",
        obj=platform,
        before=before,
        after={
            "per_gb_month": str(rate.per_gb_month),
            "fixed_monthly": str(rate.fixed_monthly),
            "currency": rate.currency,
        },
    )
    return rate


@transaction.atomic
def kpi_target_set(*, actor, kpi: str, value: float, direction: str, start, end, domain=None) -> KpiTarget:
    """A steward sets a target for KPI ``kpi`` (a key of ``apps.insights.kpis.KPIS``), optionally
    for one domain. Raises PermissionDenied for non-stewards, ApplicationError on bad input."""
    from apps.audit.services import audit_record

    from .kpis import KPIS
    from .permissions import require_target_set

    require_target_set(actor)
    if kpi not in KPIS:
        raise ApplicationError("Unknown KPI.", {"kpi": ["Pick a KPI from the list."]})
    if start and end and end < start:
        raise ApplicationError("The end is before the start.", {"end": ["The end must be on or after the start."]})
    target = KpiTarget(kpi=kpi, value=value, direction=direction, start=start, end=end, domain=domain, created_by=actor)
    _full_clean(target)
    target.save()
    dashboard_cache.invalidate_on_commit()
    audit_record(
        actor=actor,
        action="kpi_target.created",
        obj=target,
        after={
            "kpi": kpi,
            "value": value,
            "direction": direction,
            "start": str(start),
            "end": str(end),
            "domain": str(domain or ""),
        },
    )
    return target


def _full_clean(obj) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ApplicationError("Please correct the errors below.", exc.message_dict) from exc
