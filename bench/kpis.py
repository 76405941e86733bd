"""Benchmark the KPI dashboard through HTTP on a large history; prints figures, never fails.

    .venv/bin/python bench/kpis.py            # 1,000,000 events, 50,000 requests over two years
    .venv/bin/python bench/kpis.py --smoke    # 20,000 events, 1,000 requests; database dropped afterwards
    .venv/bin/python bench/kpis.py --reseed   # drop the data and seed again
    .venv/bin/python bench/kpis.py --events 200000 --requests 10000   # any size in between

Seeds (once; kept between runs of the same size) 10 domains, 40 teams, 200 data products,
2,000 people, ``--requests`` access requests with their approval steps, grants and fact events
(submitted, step decided, approved / rejected, grant active, expired / revoked) and product views
and searches up to ``--events`` rows in the fact table, spread over two years — all with
``COPY``, each table's column list derived from its Django model (``_meta.concrete_fields``).

Then ``VACUUM (ANALYZE)`` the fact table (as autovacuum would after such a load: the dashboard's
queries are index-only scans, which need the visibility map), takes the daily snapshots the
dashboard reads (its trend points and the last day of the previous period), starts gunicorn
(2 workers) on ``--port`` and, logged in as an executive through the login form, GETs the
dashboard (``/insights/?range=90``) ``--rounds`` times each way and prints p50/p95:

- ``live``: every trend point and the previous period computed (``source=live``, never cached);
- ``snapshot``: the default page — past trend points, the previous period's state tiles and whole
  past weeks from the snapshots, today computed — with the dashboard cache emptied before every
  request (``apps.insights.dashboard_cache.invalidate``), so every request computes;
- ``snapshot, cached``: the same page loaded again within the cache's lifetime (printed, not in
  the summary line).

The last line (uncached figures)::

    kpis: events=N live_p95_ms=N snapshot_p95_ms=N

Database: ``mp_kpi_bench`` (``BENCH_DATABASE_URL``; ``--smoke`` uses ``<name>_smoke`` and drops
it at the end), never the portal's own. Redis: ``BENCH_REDIS_URL`` (default database 5).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SMOKE = "--smoke" in sys.argv
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_kpi_bench") + (
    "_smoke" if SMOKE else ""
)
os.environ["DJANGO_SETTINGS_MODULE"] = "mesh_portal.settings.local"
os.environ["DATABASE_URL"] = DB_URL
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ["DEBUG"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bench._common import database_drop, free_port, pct  # noqa: E402

BENCH_USER, BENCH_PASSWORD = "bench-exec", "bench-password-1"


def _database(reseed: bool) -> None:
    from django.core.management import call_command

    info = psycopg.conninfo.conninfo_to_dict(DB_URL)
    name = info["dbname"]
    server = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reseed:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0)


def _copy(model, rows: list[dict]) -> None:
    """COPY ``rows`` (attname -> value; missing fields take the model default) into ``model``'s table."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in rows[0])]
    columns = [f.column for f in fields]
    buf = io.StringIO()
    for row in rows:
        values = []
        for f in fields:
            v = row[f.attname] if f.attname in row else (f.get_default() if f.has_default() else None)
            if v is None and not f.null and f.get_internal_type() in ("CharField", "TextField"):
                v = ""
            if v is None:
                values.append("\\N")
            elif isinstance(v, (dict, list)) and f.get_internal_type() == "JSONField":
                values.append(json.dumps(v).replace("\\", "\\\\"))
            elif isinstance(v, list):
                values.append("{" + ",".join(f'"{x}"' for x in v) + "}")
            elif isinstance(v, bool):
                values.append("t" if v else "f")
            elif isinstance(v, datetime):
                values.append(v.isoformat())
            else:
                values.append(str(v).replace("\t", " ").replace("\n", " "))
        buf.write("\t".join(values) + "\n")
    buf.seek(0)
    with connection.cursor() as cur:
        with cur.connection.cursor().copy(
            sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
        ) as copy:
            while chunk := buf.read(1 << 20):
                copy.write(chunk)


def _next_ids(model, n: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            f"SELECT nextval(pg_get_serial_sequence('{model._meta.db_table}', 'id')) FROM generate_series(1, %s)", [n]
        )
        return [r[0] for r in cur.fetchall()]


def seed(events: int, requests: int) -> None:  # noqa: C901 - one table after another
    from django.contrib.auth.models import Group
    from django.db import transaction

    from apps.access.models import AccessRequest, ApprovalStep, Grant
    from apps.access.services import access_policy_ensure_defaults
    from apps.accounts.choices import EXECUTIVES_GROUP
    from apps.accounts.models import Team, TeamMembership, User
    from apps.accounts.services import team_create
    from apps.catalog.models import DataProduct, Domain
    from apps.catalog.services import data_product_create, domain_create, output_port_create
    from apps.insights.models import UsageEvent
    from apps.platforms.exposure import exposure_assignment_create
    from apps.platforms.models import Platform

    if UsageEvent.objects.count() >= events * 0.9:
        print(f"  seeded already: {UsageEvent.objects.count():,} events", flush=True)
        return
    rng = random.Random(14)
    t0 = time.monotonic()
    access_policy_ensure_defaults()
    exec_user = User.objects.filter(username=BENCH_USER).first() or User.objects.create_user(
        BENCH_USER, password=BENCH_PASSWORD
    )
    exec_user.groups.add(Group.objects.get_or_create(name=EXECUTIVES_GROUP)[0])
    platform, _ = Platform.objects.get_or_create(
        slug="bench", defaults=dict(name="Bench", kind="postgresql", host="127.0.0.1", database="none")
    )
    teams = [
        Team.objects.filter(slug=f"bench-team-{i}").first()
        or team_create(name=f"Bench team {i}", slug=f"bench-team-{i}")
        for i in range(40)
    ]
    domains = [
        Domain.objects.filter(slug=f"bench-domain-{i}").first()
        or domain_create(name=f"Bench domain {i}", slug=f"bench-domain-{i}", owner_team=teams[i])
        for i in range(10)
    ]
    classifications = ["public", "internal", "confidential", "restricted"]
    ports = []
    for i in range(200):
        product = DataProduct.objects.filter(slug=f"bench-{i}").first() or data_product_create(
            name=f"Bench product {i}",
            slug=f"bench-{i}",
            domain=domains[i % 10],
            owner_team=teams[i % 10],
            status="published",
            classification=classifications[i % 4],
            description="Bench.",
        )
        if product.output_ports.first() is None:
            exposure_assignment_create(
                actor=None, platform=platform, schema=f"s{i}", domain=product.domain, data_product=product
            )
        ports.append(
            product.output_ports.first()
            or output_port_create(actor=None, data_product=product, name="p", platform=platform, schema=f"s{i}")
        )
    print(f"  catalog in {time.monotonic() - t0:.1f} s", flush=True)
    now = datetime.now(UTC)
    start = now - timedelta(days=730)
    with transaction.atomic():
        user_ids = _next_ids(User, 2000)
        _copy(
            User,
            [
                {
                    "id": uid,
                    "username": f"bench-user-{uid}",
                    "password": "!",
                    "is_active": True,
                    "is_staff": False,
                    "is_superuser": False,
                    "first_name": "",
                    "last_name": "",
                    "email": "",
                    "date_joined": start,
                    "title": "",
                }
                for uid in user_ids
            ],
        )
        _copy(
            TeamMembership,
            [
                {
                    "team_id": teams[10 + i % 30].pk,
                    "user_id": uid,
                    "role": "member",
                    "created_at": start,
                    "updated_at": start,
                }
                for i, uid in enumerate(user_ids)
            ],
        )
        team_of = {uid: teams[10 + i % 30].pk for i, uid in enumerate(user_ids)}
        request_ids = _next_ids(AccessRequest, requests)
        req_rows, step_rows, grant_rows, ev = [], [], [], []
        grant_ids = _next_ids(Grant, requests)
        for n, rid in enumerate(request_ids):
            port = ports[rng.randrange(len(ports))]
            uid = rng.choice(user_ids)
            submitted = start + timedelta(seconds=rng.uniform(0, 729 * 86400))
            product = port.data_product
            auto = product.classification == "public"
            wait = timedelta(0) if auto else timedelta(hours=rng.lognormvariate(2, 1))
            decided = submitted + wait
            rejected = not auto and rng.random() < 0.12
            open_ = not auto and decided > now
            usable = decided + timedelta(minutes=rng.uniform(0.2, 30))
            ends = usable + timedelta(days=rng.choice([30, 90, 180]))
            status = (
                "pending_approval"
                if open_
                else "rejected"
                if rejected
                else "active"
                if ends > now
                else rng.choice(["expired", "expired", "revoked"])
            )
            base = dict(
                data_product_id=product.pk,
                domain_id=product.domain_id,
                classification=product.classification,
                platform_id=platform.pk,
                access_request_id=rid,
                consumer_team_id=team_of[uid],
                consumer_domain_id=None,
                data={},
            )
            req_rows.append(
                {
                    "id": rid,
                    "requester_id": uid,
                    "output_port_id": port.pk,
                    "purpose": "bench",
                    "justification": "",
                    "columns": [],
                    "expires_at": ends,
                    "status": status,
                    "submitted_at": submitted,
                    "decided_at": None if open_ else decided,
                    "approval_source": "bench",
                    "created_at": submitted,
                    "updated_at": submitted,
                }
            )
            ev.append(UsageEvent(kind="request_submitted", at=submitted, user_id=uid, **base))
            if not auto:
                step_rows.append(
                    {
                        "access_request_id": rid,
                        "order": 1,
                        "kind": "owner",
                        "team_id": product.owner_team_id,
                        "label": "owner",
                        "status": "pending" if open_ else "rejected" if rejected else "approved",
                        "activated_at": submitted,
                        "decided_at": None if open_ else decided,
                    }
                )
                if not open_:
                    ev.append(
                        UsageEvent(
                            kind="step_decided",
                            at=decided,
                            seconds=wait.total_seconds(),
                            **{**base, "data": {"step_kind": "owner", "approver_team_id": product.owner_team_id}},
                        )
                    )
            if open_:
                continue
            if rejected:
                ev.append(UsageEvent(kind="request_rejected", at=decided, seconds=wait.total_seconds(), **base))
                continue
            ev.append(
                UsageEvent(
                    kind="request_approved",
                    at=decided,
                    seconds=wait.total_seconds(),
                    **{**base, "data": {"auto": auto}},
                )
            )
            if usable > now:
                continue
            grant_rows.append(
                {
                    "id": grant_ids[n],
                    "access_request_id": rid,
                    "platform_id": platform.pk,
                    "principal": "x",
                    "role_name": f"r{rid}",
                    "privileges": ["SELECT"],
                    "schema": port.schema,
                    "tables": [],
                    "columns": [],
                    "status": "active" if status == "active" else "revoked",
                    "status_reason": "",
                    "starts_at": decided,
                    "expires_at": ends,
                    "applied_at": usable,
                    "created_at": decided,
                    "updated_at": usable,
                }
            )
            ev.append(
                UsageEvent(
                    kind="grant_active",
                    at=usable,
                    grant_id=grant_ids[n],
                    seconds=(usable - submitted).total_seconds(),
                    **base,
                )
            )
            if status in ("expired", "revoked"):
                ev.append(UsageEvent(kind=f"grant_{status}", at=min(ends, now), grant_id=grant_ids[n], **base))
        _copy(AccessRequest, req_rows)
        _copy(ApprovalStep, step_rows)
        _copy(Grant, grant_rows)
        queries = [
            "salary",
            "customers",
            "orders",
            "churn",
            "payroll forecast",
            "vendors",
            "inventory",
            "web analytics",
        ]
        while len(ev) < events:
            at = start + timedelta(seconds=rng.uniform(0, 730 * 86400))
            uid = rng.choice(user_ids)
            if rng.random() < 0.7:
                port = ports[rng.randrange(len(ports))]
                ev.append(
                    UsageEvent(
                        kind="product_view",
                        at=at,
                        user_id=uid,
                        data_product_id=port.data_product_id,
                        domain_id=port.data_product.domain_id,
                        data={},
                    )
                )
            else:
                q = rng.choice(queries)
                ev.append(
                    UsageEvent(
                        kind="search",
                        at=at,
                        user_id=uid,
                        query=q,
                        filters={},
                        data={},
                        result_count=0 if q in ("payroll forecast", "web analytics", "churn") else rng.randint(1, 30),
                    )
                )
        for i in range(0, len(ev), 100_000):
            _copy(
                UsageEvent,
                [
                    {f.attname: getattr(e, f.attname) for f in UsageEvent._meta.concrete_fields if f.attname != "id"}
                    for e in ev[i : i + 100_000]
                ],
            )
    print(f"  seeded {len(ev):,} events, {requests:,} requests in {time.monotonic() - t0:.1f} s", flush=True)


# The same logged-in HTTP client as bench/search.py.
class Client:
    """A logged-in browser-like client: session cookie from the real login form."""

    def __init__(self, base: str):
        import urllib3

        self.base = base
        self.http = urllib3.PoolManager(maxsize=2)
        self.cookies: dict[str, str] = {}

    def _headers(self, extra=None):
        h = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        h.update(extra or {})
        return h

    def _keep(self, response):
        for header in response.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def login(self, username: str, password: str):
        r = self.http.request("GET", self.base + "/accounts/login/", headers=self._headers())
        self._keep(r)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', r.data).group(1).decode()
        r = self.http.request(
            "POST",
            self.base + "/accounts/login/",
            redirect=False,
            fields={"username": username, "password": password, "csrfmiddlewaretoken": token},
            encode_multipart=False,
            headers=self._headers({"Referer": self.base + "/accounts/login/"}),
        )
        self._keep(r)
        assert r.status == 302, f"login failed ({r.status})"

    def get_ms(self, path: str, htmx: bool = False) -> float:
        headers = self._headers({"HX-Request": "true"} if htmx else None)
        t = time.perf_counter()
        r = self.http.request("GET", self.base + path, headers=headers, redirect=False)
        ms = (time.perf_counter() - t) * 1000
        assert r.status == 200, f"{path}: HTTP {r.status}"
        return ms


def _start_server(port: int) -> subprocess.Popen:
    import urllib3

    env = {**os.environ, "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mesh_portal.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--timeout",
            "300",
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    http = urllib3.PoolManager()
    for _ in range(150):
        try:
            if http.request("GET", f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return proc
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument(
        "--smoke", action="store_true", help="20,000 events, 1,000 requests, 5 rounds; the database dropped afterwards"
    )
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.events, args.requests, args.rounds = 20_000, 1_000, 5
    args.port = args.port or free_port()
    django.setup()
    try:
        _run(args)
    finally:
        if args.smoke:
            from django.db import connections

            connections.close_all()
            database_drop(DB_URL, psycopg.conninfo.conninfo_to_dict(DB_URL)["dbname"])


def _run(args) -> None:
    from django.db import connection

    _database(args.reseed)
    seed(args.events, args.requests)
    from apps.insights import kpis
    from apps.insights.dashboard_cache import invalidate
    from apps.insights.models import KpiSnapshot, UsageEvent
    from apps.insights.snapshots import kpi_snapshot_take, series_days

    t0 = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) insights_usageevent")
        cur.execute("ANALYZE")
    print(f"  vacuum and analyze in {time.monotonic() - t0:.1f} s", flush=True)
    period = kpis.last_days(90)
    # the days the dashboard reads: its trend points and the last day of the previous period
    days = {*series_days(period), period.start - timedelta(days=1)}
    t0 = time.monotonic()
    for day in sorted(days):
        if day < kpis.today() and not KpiSnapshot.objects.filter(day=day, domain__isnull=True).exists():
            kpi_snapshot_take(day=day)
    print(f"  snapshots ready in {time.monotonic() - t0:.1f} s", flush=True)
    n_events = UsageEvent.objects.count()
    server = _start_server(args.port)
    try:
        client = Client(f"http://127.0.0.1:{args.port}")
        client.login(BENCH_USER, BENCH_PASSWORD)
        results = {}
        for name, source, cold in (
            ("live", "live", True),
            ("snapshot", "snapshot", True),
            ("snapshot, cached", "snapshot", False),
        ):
            path = f"/insights/?range=90&source={source}"
            client.get_ms(path)  # warm-up (and, for "cached", the entry the next loads read)
            timings = []
            for _ in range(args.rounds):
                if cold:
                    invalidate()
                timings.append(client.get_ms(path))
            results[name] = timings
            print(
                f"dashboard ({name}): p50 {pct(timings, 50):.0f} ms, p95 {pct(timings, 95):.0f} ms "
                f"over {args.rounds} requests",
                flush=True,
            )
    finally:
        os.killpg(server.pid, 15)
    print(
        f"kpis: events={n_events} live_p95_ms={pct(results['live'], 95):.0f} "
        f"snapshot_p95_ms={pct(results['snapshot'], 95):.0f}"
    )


if __name__ == "__main__":
    main()
