"""Six months of simulated mesh activity for the demo (``manage.py demo_history``), so the
executive sees every KPI chart filled on first start.

How it is done, honestly:

- Time travels day by day (``time-machine``) over the 182 days before today, at a fixed seed
  (``random.Random(seed)``): the same input gives the same history.
- Searches, product views, access requests, approvals and rejections, extensions, revocations,
  expiries, use cases, cost rates and targets go **through the real services** (search service
  + ``usage_event_record_*``, ``access_request_submit/approve/reject/extend``, ``grant_apply``,
  ``grant_revoke``, ``use_case_save``, ...), so the fact table, audit trail and notifications are
  what real use would have written. Celery tasks run inline (eager) during the simulation;
  emails go to the in-memory backend.
- Grants are applied and revoked with the **simulated grant adapter**
  (``apps.insights.simulate``, a labelled mock): no role is created on the warehouse for the
  past. Grants still active at the end exist in the portal only; the reconciliation beat
  (every 5 minutes) finds their roles missing on the warehouse and creates them for real, so
  the demo logins do get the access the portal shows (and "drift found" shows those repairs).
- Metadata sync runs of the past are recorded as finished ``SyncRun`` rows with their fact event
  (95 % succeeded); re-syncing the warehouse 180 times would take minutes. The real first sync
  runs on the worker as usual and fills the assets' storage sizes for the cost KPIs.

Runs once: it does nothing when any access request exists already.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import time_machine
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone

SEARCHES = [
    ("salary", True),
    ("employees", True),
    ("customers", True),
    ("sales orders", True),
    ("vendors", True),
    ("inventory", True),
    ("products", True),
    ("addresses", True),
    ("payroll forecast", False),
    ("churn model", False),
    ("web analytics", False),
    ("marketing spend", False),
    ("revenue", True),
    ("purchase orders", True),
    ("contacts", True),
    ("supplier risk", False),
]
USE_CASES = [
    (
        "Customer churn early warning",
        "marketing-analytics",
        ["sales-orders-and-customers", "persons-and-contacts"],
        "live",
        240000,
    ),
    ("Campaign targeting", "marketing-analytics", ["sales-orders-and-customers"], "live", 180000),
    ("Workforce planning", "production-data", ["employees-and-pay-history"], "live", 90000),
    ("Supplier scorecards", "production-data", ["vendors-and-purchase-orders"], "live", 60000),
    ("Inventory optimisation", "purchasing-data", ["products-and-manufacturing"], "live", 150000),
    (
        "Sales territory design",
        "sales-data",
        ["sales-orders-and-customers", "employees-and-pay-history"],
        "planned",
        120000,
    ),
    ("Pay equity review", "governance", ["employees-and-pay-history"], "planned", None),
    ("Legacy revenue report", "marketing-analytics", ["sales-orders-and-customers"], "retired", 20000),
]
REQUESTERS = ["ana", "ana", "ana", "hana", "pete", "olga", "uma", "sam", "greta"]


@contextmanager
def _simulation():
    """Eager tasks, in-memory email, simulated grant adapter, grant tasks collected (applied by
    the simulation at the provisioning time it picks)."""
    from apps.access.tasks import grant_apply_task
    from mesh_portal.celery import app

    from .simulate import simulated_platform_grants

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            simulated_platform_grants(),
            mock.patch.object(grant_apply_task, "apply_async", lambda *a, **k: None),
        ):
            yield
    finally:
        app.conf.task_always_eager = eager


def demo_history(*, seed: int = 14, days: int = 182, today=None) -> dict[str, int]:
    """Simulate ``days`` days of activity ending yesterday. Returns counts of what it did
    (``{"skipped": 1}`` when history exists already)."""
    from apps.access.models import AccessRequest

    if AccessRequest.objects.exists():
        return {"skipped": 1}
    with _simulation():
        return _run(random.Random(seed), days=days, today=today or timezone.localdate())


def _run(rng: random.Random, *, days: int, today) -> dict[str, int]:  # noqa: C901 - one simulated day after another
    from apps.access import permissions as access_permissions
    from apps.access import services as access
    from apps.access.choices import AccessRequestStatus as S
    from apps.access.models import AccessPolicy, Grant, Purpose
    from apps.accounts.models import Team, User
    from apps.catalog.choices import LISTED_STATUSES
    from apps.catalog.models import DataProduct
    from apps.platforms.models import Platform, SyncRun
    from apps.search.selectors import search_params_from, search_products

    from . import services
    from .choices import UsageEventKind
    from .models import KpiTarget

    tz = timezone.get_current_timezone()
    users = {u.username: u for u in User.objects.filter(username__in=set(REQUESTERS) | {"eric", "admin"})}
    products = list(
        DataProduct.objects.filter(status__in=LISTED_STATUSES)
        .select_related("domain", "owner_team")
        .prefetch_related("output_ports")
    )
    products = [p for p in products if p.output_ports.all()]
    if not products or "ana" not in users:
        return {"skipped": 1}
    owners = {}
    for p in products:
        owner = User.objects.filter(memberships__team=p.owner_team, memberships__role="owner").order_by("pk").first()
        owners[p.pk] = owner
    steward = users.get("greta")
    counts = {
        "views": 0,
        "searches": 0,
        "requests": 0,
        "approved": 0,
        "rejected": 0,
        "extended": 0,
        "revoked": 0,
        "expired": 0,
        "use_cases": 0,
        "syncs": 0,
    }
    pending: list[tuple[datetime, int, str]] = []  # (when, request id, action)
    start = today - timedelta(days=days)

    def moment(day, hour_from=8, hour_to=18):
        return datetime.combine(day, time(rng.randint(hour_from, hour_to - 1), rng.randint(0, 59)), tzinfo=tz)

    def travel(at):
        return time_machine.travel(at, tick=False)

    def purpose_for(product):
        policy = AccessPolicy.objects.filter(classification=product.classification, is_current=True).first()
        allowed = list(policy.allowed_purposes.all()) if policy else []
        return rng.choice(allowed or list(Purpose.objects.filter(active=True)))

    def duration_for(product, at):
        days_ = rng.choice([30, 30, 90, 90, 180])
        if product.classification == "restricted":
            days_ = min(days_, 90)
        return at + timedelta(days=days_)

    for offset in range(days):
        day = start + timedelta(days=offset)
        weekday = day.weekday() < 5
        ramp = 0.4 + 0.6 * offset / days  # adoption grows over the six months
        # searches and views
        for _ in range(int(rng.randint(2, 8) * ramp) if weekday else rng.randint(0, 1)):
            user = users[rng.choice(REQUESTERS + ["eric"])]
            query, _found = rng.choice(SEARCHES)
            with travel(moment(day)):
                page = search_products(user=user, params=search_params_from(QueryDict(f"q={query}")))
                services.usage_event_record_search(user=user, query=query, filters={}, result_count=page.total)
            counts["searches"] += 1
        for _ in range(int(rng.randint(6, 20) * ramp) if weekday else rng.randint(0, 3)):
            user = users[rng.choice(REQUESTERS + ["eric", "eric"])]
            product = rng.choice(products[:5] * 3 + products)
            with travel(moment(day)):
                services.usage_event_record_view(user=user, data_product=product)
            counts["views"] += 1
        # new access requests
        for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0] if weekday else 0):
            requester = users[rng.choice(REQUESTERS)]
            product = rng.choice(products)
            if owners.get(product.pk) is None or requester.memberships.filter(team=product.owner_team).exists():
                continue
            port = product.output_ports.all()[0]
            at = moment(day, 8, 17)
            with travel(at):
                try:
                    request = access.access_request_submit(
                        requester=requester,
                        output_port=port,
                        purpose="Analysis for the quarterly review.",
                        purpose_category=purpose_for(product),
                        expires_at=duration_for(product, at),
                    )
                except Exception:  # an open request or access exists, or the policy refuses: a real user retries later
                    continue
            counts["requests"] += 1
            _schedule(rng, pending, request, at)
        # decisions, provisioning, due work of the day (in time order)
        end_of_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
        pending.sort()
        while pending and pending[0][0] < end_of_day:
            when, request_id, action = pending.pop(0)
            request = AccessRequest_get(request_id)
            with travel(when):
                if action == "decide" and request.status == S.PENDING_APPROVAL:
                    step = request.steps.filter(status="pending").first()
                    actor = steward if step and step.kind == "steward" else owners[request.output_port.data_product_id]
                    if access_permissions.decision_refusal(actor=actor, access_request=request):
                        continue  # e.g. the steward's own request: it waits (a real backlog item)
                    if rng.random() < 0.12:
                        access.access_request_reject(
                            access_request_id=request.pk, actor=actor, reason="The purpose does not need personal data."
                        )
                        counts["rejected"] += 1
                    else:
                        access.access_request_approve(access_request_id=request.pk, actor=actor, comment="Approved.")
                        request.refresh_from_db()
                        if request.status == S.PENDING_APPROVAL:
                            pending.append((when + timedelta(hours=rng.uniform(1, 30)), request.pk, "decide"))
                        else:
                            counts["approved"] += 1
                            pending.append((when + timedelta(minutes=rng.uniform(0.2, 25)), request.pk, "provision"))
                elif action == "provision" and request.status == S.PROVISIONING:
                    access.grant_apply(grant_id=Grant.objects.get(access_request=request).pk)
                elif action == "auto" and request.status == S.PROVISIONING:
                    counts["approved"] += 1
                    access.grant_apply(grant_id=Grant.objects.get(access_request=request).pk)
        # expiries (the beat's job), a few extensions and revocations
        with travel(end_of_day - timedelta(minutes=1)):
            for grant_id in access.grant_expire_due():
                grant = Grant.objects.select_related("access_request").get(pk=grant_id)
                original = grant.access_request
                if rng.random() < 0.35 and original.extends_id is None:
                    try:
                        extension = access.access_request_extend(
                            requester=original.requester,
                            access_request_id=original.pk,
                            expires_at=timezone.now() + timedelta(days=90),
                            justification="Still needed.",
                        )
                    except Exception:
                        extension = None
                    if extension is not None:
                        counts["extended"] += 1
                        if extension.status == S.PENDING_APPROVAL:
                            step = extension.steps.filter(status="pending").first()
                            actor = (
                                steward
                                if step and step.kind == "steward"
                                else owners[original.output_port.data_product_id]
                            )
                            try:
                                access.access_request_approve(access_request_id=extension.pk, actor=actor)
                                extension.refresh_from_db()
                                if extension.status == S.PENDING_APPROVAL:
                                    access.access_request_approve(access_request_id=extension.pk, actor=steward)
                            except Exception:
                                pass
                        grant.refresh_from_db()
                        if grant.expires_at and grant.expires_at > timezone.now():
                            continue
                access.grant_revoke(grant_id=grant_id, expired=True, reason="The access period ended.")
                counts["expired"] += 1
            if weekday and rng.random() < 0.03:
                active = list(
                    Grant.objects.filter(status="active").values_list(
                        "pk", "access_request__output_port__data_product_id"
                    )
                )
                if active:
                    grant_id, product_id = rng.choice(active)
                    access.grant_revoke(grant_id=grant_id, actor=owners[product_id], reason="No longer needed.")
                    counts["revoked"] += 1
        # a sync run of each database platform per day
        for platform in Platform.objects.exclude(kind="dbt"):
            started = moment(day, 2, 4)
            ok = rng.random() < 0.95
            run = SyncRun.objects.create(
                platform=platform,
                status="succeeded" if ok else "failed",
                started_at=started,
                finished_at=started + timedelta(seconds=rng.uniform(3, 40)),
                error="" if ok else "Connection refused (simulated).",
            )
            services.event_record(kind=UsageEventKind.SYNC_RUN, sync_run=run)
            counts["syncs"] += 1
        # the use case register fills over time
        if offset in (20, 45, 60, 80, 100, 120, 140, 160):
            name, team_slug, slugs, status, value = USE_CASES[[20, 45, 60, 80, 100, 120, 140, 160].index(offset)]
            with travel(moment(day)):
                services.use_case_save(
                    actor=users["ana"],
                    name=name,
                    consuming_team=Team.objects.filter(slug=team_slug).first(),
                    data_products=list(DataProduct.objects.filter(slug__in=slugs)),
                    status=status,
                    estimated_annual_value=Decimal(value) if value else None,
                    currency="EUR",
                    description="Recorded by the consuming team.",
                )
            counts["use_cases"] += 1
    # platform costs and a few targets, set today by the admins and the steward
    for platform in Platform.objects.exclude(kind="dbt"):
        services.platform_cost_rate_set(
            actor=users["admin"],
            platform=platform,
            per_gb_month=Decimal("0.12"),
            fixed_monthly=Decimal("400"),
            currency="EUR",
        )
    if steward is not None and not KpiTarget.objects.exists():
        for kpi, value, direction in [
            ("ttd_median_hours", 24, "at_most"),
            ("cross_domain_share", 0.5, "at_least"),
            ("self_service_share", 0.5, "at_least"),
            ("past_sla", 0, "at_most"),
        ]:
            services.kpi_target_set(
                actor=steward,
                kpi=kpi,
                value=value,
                direction=direction,
                start=today - timedelta(days=90),
                end=today + timedelta(days=90),
            )
    return counts


def AccessRequest_get(pk: int):  # noqa: N802 - a local helper
    from apps.access.models import AccessRequest

    return AccessRequest.objects.select_related("output_port").get(pk=pk)


def _schedule(rng, pending, request, at) -> None:
    from apps.access.choices import AccessRequestStatus as S

    if request.status == S.PENDING_APPROVAL:
        # business hours: most decisions within a day, some wait days (past SLA)
        delay = timedelta(hours=rng.choice([1, 2, 3, 5, 8, 20, 26, 50, 75, 120]) * rng.uniform(0.6, 1.2))
        if rng.random() < 0.02:
            return  # forgotten: stays in the backlog
        pending.append((at + delay, request.pk, "decide"))
    elif request.status == S.PROVISIONING:
        pending.append((at + timedelta(minutes=rng.uniform(0.2, 10)), request.pk, "auto"))
