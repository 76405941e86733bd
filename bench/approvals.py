"""Benchmark the approval workflow on the local PostgreSQL; prints figures, never fails on timings.

    .venv/bin/python bench/approvals.py --requests 2000
    .venv/bin/python bench/approvals.py --smoke        # CI: 40 requests, database dropped afterwards

Creates (once, then reuses) ``--requests`` pending Confidential/Restricted access requests in
the portal database ``mp_policy_bench`` (``BENCH_DATABASE_URL`` to change it; created and
migrated on first use) and times: submitting one request (policy evaluation, steps, audit,
notifications), an approver's inbox (count and first page, with the query count), the reminder
sweep over every pending step, and the streamed audit CSV export. Last line:
``approvals: requests=N submit_ms=N inbox_ms=N inbox_queries=N remind_ms=N audit_rows_per_s=N``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesh_portal.settings.test")
# Its own database, never the portal's nor the test suite's (``TEST_DATABASE_URL`` is ignored);
# ``--smoke`` (CI) uses ``<name>_smoke`` and drops it at the end.
SMOKE = "--smoke" in sys.argv
os.environ["TEST_DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_policy_bench"
) + ("_smoke" if SMOKE else "")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

SERVER = os.environ.get("BENCH_WAREHOUSE_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _portal_database() -> None:
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(SERVER, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0)


def _world(requests: int):
    from django.utils import timezone

    from apps.access import services
    from apps.access.models import AccessRequest, Purpose
    from apps.accounts.choices import TeamRole
    from apps.accounts.models import Team, User
    from apps.accounts.services import team_create, team_membership_set
    from apps.catalog.models import DataProduct, Domain
    from apps.catalog.services import data_product_create, domain_create, output_port_create
    from apps.platforms.exposure import exposure_assignment_create
    from apps.platforms.models import Platform

    services.access_policy_ensure_defaults()
    owner_team = Team.objects.filter(slug="bench-owners").first() or team_create(
        name="Bench owners", slug="bench-owners"
    )
    owner, _ = User.objects.get_or_create(username="bench-owner")
    team_membership_set(team=owner_team, user=owner, role=TeamRole.OWNER)
    platform, _ = Platform.objects.get_or_create(
        slug="bench", defaults=dict(name="Bench", kind="postgresql", host="127.0.0.1", database="none")
    )
    domain = Domain.objects.filter(slug="bench").first() or domain_create(name="Bench", slug="bench")
    ports = []
    for i, classification in enumerate(["confidential", "restricted"] * 10):
        product = DataProduct.objects.filter(slug=f"bench-{i}").first() or data_product_create(
            name=f"Bench {i}",
            slug=f"bench-{i}",
            domain=domain,
            owner_team=owner_team,
            status="published",
            classification=classification,
        )
        if product.output_ports.first() is None:
            exposure_assignment_create(
                actor=None, platform=platform, schema=f"s{i}", domain=domain, data_product=product
            )
        ports.append(
            product.output_ports.first()
            or output_port_create(actor=None, data_product=product, name="port", platform=platform, schema=f"s{i}")
        )
    existing = AccessRequest.objects.filter(output_port__data_product__domain=domain).count()
    purpose = Purpose.objects.get(slug="regulatory-reporting")
    for n in range(existing, requests):
        user, _ = User.objects.get_or_create(username=f"bench-consumer-{n // len(ports)}")
        services.access_request_submit(
            requester=user,
            output_port=ports[n % len(ports)],
            purpose="bench",
            purpose_category=purpose,
            expires_at=timezone.now() + timedelta(days=30),
        )
    return owner, ports, purpose


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="CI size: 40 requests; the database dropped afterwards")
    args = parser.parse_args()
    if args.smoke:
        args.requests = 40
    django.setup()
    _portal_database()
    try:
        _measure(args)
    finally:
        if args.smoke:
            from django.db import connection

            portal = connection.settings_dict["NAME"]
            connection.close()
            with psycopg.connect(SERVER, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(portal)))


def _measure(args) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apps.access import selectors, services
    from apps.access.models import AccessRequest
    from apps.accounts.models import User
    from apps.audit.models import AuditEvent

    started = time.perf_counter()
    owner, ports, purpose = _world(args.requests)
    print(f"world: {args.requests} requests ready in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would give a live database

    user, _ = User.objects.get_or_create(username="bench-single")
    AccessRequest.objects.filter(requester=user, status="pending_approval").update(status="cancelled")
    timings = []
    for port in ports[:10]:
        AccessRequest.objects.filter(requester=user, output_port=port, status="pending_approval").update(
            status="cancelled"
        )
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            services.access_request_submit(
                requester=user,
                output_port=port,
                purpose="bench",
                purpose_category=purpose,
                expires_at=timezone.now() + timedelta(days=30),
            )
        timings.append((time.perf_counter() - t) * 1000)
    submit_ms = sorted(timings)[len(timings) // 2]
    print(f"submit: median {submit_ms:.1f} ms, {len(ctx.captured_queries)} queries (one request)")

    owner = User.objects.get(pk=owner.pk)
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        count = selectors.access_request_inbox(user=owner).count()
        first_page = list(selectors.access_request_inbox(user=owner)[:50])
    inbox_ms, inbox_queries = (time.perf_counter() - t) * 1000, len(ctx.captured_queries)
    print(
        f"inbox: {count} waiting, count + first 50 in {inbox_ms:.1f} ms, "
        f"{inbox_queries} queries ({len(first_page)} rows)"
    )

    t = time.perf_counter()
    counts = services.access_request_remind_due(now=timezone.now() - timedelta(days=365))  # nothing due: the scan only
    remind_ms = (time.perf_counter() - t) * 1000
    print(
        f"reminder sweep (nothing due, {args.requests}+ pending steps scanned in batches of 500): "
        f"{remind_ms:.1f} ms {counts}"
    )

    steward = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("bench-admin", "", "x")
    from apps.audit.selectors import audit_event_list

    events = audit_event_list(user=steward)
    t = time.perf_counter()
    rows = sum(1 for _ in events.values_list("id", "action", "before", "after").iterator(chunk_size=2000))
    elapsed = time.perf_counter() - t
    print(
        f"audit export read: {rows} events in {elapsed * 1000:.0f} ms ({rows / max(elapsed, 1e-9):,.0f} rows/s); "
        f"{AuditEvent.objects.count()} audit events in total"
    )
    print(
        f"approvals: requests={args.requests} submit_ms={submit_ms:.1f} inbox_ms={inbox_ms:.1f} "
        f"inbox_queries={inbox_queries} remind_ms={remind_ms:.1f} audit_rows_per_s={rows / max(elapsed, 1e-9):.0f}"
    )


if __name__ == "__main__":
    main()
