"""Mixed load on the portal: locust against gunicorn on loopback with a real Celery worker; prints figures.

    .venv/bin/python bench/load.py                          # 50 users, 60 s, 400 data products
    .venv/bin/python bench/load.py --users 50 --duration 30 --workers 3
    .venv/bin/python bench/load.py --smoke                  # CI: 5 users, 5 s, everything dropped

Builds a demo-like portal of its own (``mp_load_bench``, ``BENCH_DATABASE_URL``; kept between runs,
``--reseed`` rebuilds it, ``--drop`` drops it): 10 domains and teams, ``--products`` data products
(a third Public, the rest Confidential), each with an output port on a real PostgreSQL warehouse
(``mpt_load_wh``, rebuilt each run: 20 schemas of 5 tables, synced into the catalog by the real sync), data contracts
on every fifth product, lineage from the foreign keys, ``--users`` people (each a consumer and an
approver of one team) with their warehouse logins, and the search index. Sessions are created up
front (no password hashing in the measured window).

Then it starts gunicorn (``mesh_portal/gunicorn.conf.py``, the production configuration) on a free
loopback port, a real Celery worker on ``BENCH_REDIS_URL`` (default db 15), and runs locust headless
(``bench/_locustfile.py``) for ``--duration`` seconds with ``--users`` users and no think time:

- 70 % search and browse (ranked search, marketplace home and facets, autocomplete);
- 20 % product pages, every tab;
- 10 % request access (form + submit) and decide (approvals inbox + approve); the worker creates
  the grants on the warehouse meanwhile.

It prints requests/s, p50/p95/p99 per request kind, errors, and the CPU milliseconds per request
spent by the gunicorn processes (their user + system CPU time during the run / requests). Last line::

    load: users=N rps=N p95_ms=N p99_ms=N errors=N

Goal (issue 13, on the 2-core machine): >= 300 requests/s, p95 < 100 ms, 0 errors. Timings are
printed, never asserted. Warehouse logins and grant roles (``mpt_load_*``) are dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SMOKE = "--smoke" in sys.argv
_TAG = "lsmoke" if SMOKE else "load"
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_load_bench") + (
    "_smoke" if SMOKE else ""
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SERVER = os.environ.get("BENCH_WAREHOUSE_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WAREHOUSE = f"mpt_{_TAG}_wh"
LOGIN = f"mpt_{_TAG}_login_"
PREFIX = f"mpt_{_TAG}_g_"
SECRET_KEY = "load-bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
# The local settings with DEBUG off and external services: the production settings need HTTPS
# (secure cookies, redirects) and collected static files, which plain loopback HTTP does not have;
# static files are no part of the measured load (WhiteNoise serves them without Django).
ENV = {
    "DJANGO_SETTINGS_MODULE": "mesh_portal.settings.local",
    "DATABASE_URL": DB_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": SECRET_KEY,
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "GRANT_ROLE_PREFIX": PREFIX,
    "SEARCH_BACKEND": "postgres",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
}
os.environ.update(ENV)

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bench._common import database_create, database_drop, database_exists, free_port  # noqa: E402

DOMAINS = [
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Supply Chain",
    "Manufacturing",
    "Logistics",
    "Customer Service",
    "Risk",
    "Procurement",
]
ENTITIES = [
    "customer",
    "order",
    "invoice",
    "payment",
    "shipment",
    "product",
    "inventory",
    "employee",
    "salary",
    "supplier",
    "campaign",
    "lead",
    "contract",
    "claim",
    "ticket",
    "account",
    "transaction",
    "store",
    "warehouse",
    "sensor",
    "subscription",
    "churn",
    "revenue",
    "budget",
    "forecast",
    "refund",
]
SUFFIXES = ["history", "snapshots", "events", "facts", "summary", "master data", "metrics", "ledger"]
N_SCHEMAS = 20


def _dbname() -> str:
    return psycopg.conninfo.conninfo_to_dict(DB_URL)["dbname"]


def _conninfo(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def _drop_roles() -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        roles = [r for (r,) in conn.execute("SELECT rolname FROM pg_roles") if r.startswith((PREFIX, LOGIN))]
        for role in sorted(roles, key=lambda r: not r.startswith(PREFIX)):  # access roles before the logins
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def build_warehouse(users: int) -> None:
    """The warehouse: ``N_SCHEMAS`` schemas of five related tables, and one login per user."""
    database_drop(SERVER, WAREHOUSE)
    _drop_roles()
    database_create(SERVER, WAREHOUSE)
    with psycopg.connect(_conninfo(WAREHOUSE), autocommit=True) as conn:
        for s in range(N_SCHEMAS):
            schema = f"area_{s:02d}"
            statements = [f"CREATE SCHEMA {schema};"]
            for t in range(5):
                entity = ENTITIES[(s * 5 + t) % len(ENTITIES)]
                ref = (
                    f", {ENTITIES[(s * 5 + t - 1) % len(ENTITIES)]}_id bigint REFERENCES {schema}.t{t - 1} (id)"
                    if t
                    else ""
                )
                statements.append(
                    f"CREATE TABLE {schema}.t{t} (id bigint PRIMARY KEY, {entity}_name text, amount numeric(12,2), "
                    f"created_at timestamptz, status text, region text, score double precision{ref});"
                )
                statements.append(f"COMMENT ON TABLE {schema}.t{t} IS 'One row per {entity}.';")
                statements.append(f"COMMENT ON COLUMN {schema}.t{t}.{entity}_name IS 'Display name of the {entity}.';")
                statements.append(f"INSERT INTO {schema}.t{t} (id) VALUES (1);")
            conn.execute("\n".join(statements))
        with conn.transaction():
            for i in range(users):
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'mesh-bench'").format(sql.Identifier(f"{LOGIN}{i}"))
                )


def build_portal(n_products: int, n_users: int) -> None:
    """Migrate and load the portal through the services (and the real metadata sync)."""
    import random

    from django.core.management import call_command

    from apps.access import services as access_services
    from apps.accounts.models import User
    from apps.accounts.services import team_create, team_membership_set
    from apps.catalog.models import DataContract, OutputPort
    from apps.catalog.services import data_product_create, domain_create, output_port_create
    from apps.platforms.models import Platform, PlatformIdentity
    from apps.search.indexing import index_products
    from apps.sync.services import platform_sync

    rnd = random.Random(13)
    call_command("migrate", verbosity=0)
    access_services.access_policy_ensure_defaults()
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    platform = Platform.objects.create(
        slug="load-warehouse",
        name="Load warehouse",
        kind="postgresql",
        host=info.get("host", "127.0.0.1"),
        port=int(info.get("port", 5432)),
        database=WAREHOUSE,
        username=info.get("user", "postgres"),
        include_schemas=[f"area_{s:02d}" for s in range(N_SCHEMAS)],
    )
    run = platform_sync(platform=platform)
    if run.status != "succeeded":
        raise SystemExit(f"warehouse sync failed: {run.error}")
    teams, domains = [], []
    for d in DOMAINS:
        slug = d.lower().replace(" ", "-")
        team = team_create(name=f"{d} team", slug=f"{slug}-team")
        teams.append(team)
        domains.append(domain_create(name=d, slug=slug, description=f"The {d} domain.", owner_team=team))
    for i in range(n_users):
        user = User.objects.create_user(f"load{i}", first_name="Load", last_name=f"User {i}")
        team_membership_set(team=teams[i % len(teams)], user=user, role="approver")
        PlatformIdentity.objects.create(user=user, platform=platform, principal=f"{LOGIN}{i}")
    for i in range(n_products):
        d = i % len(DOMAINS)
        e1, e2 = rnd.choice(ENTITIES), rnd.choice(ENTITIES)
        name = f"{e1.title()} {e2} {rnd.choice(SUFFIXES)} {i}"
        product = data_product_create(
            name=name,
            slug=f"p{i}-{e1}-{e2}",
            domain=domains[d],
            owner_team=teams[d],
            summary=f"{e1.title()} and {e2} data of the {DOMAINS[d]} domain.",
            description=f"## {name}\n\nCurated {e1} records joined with {e2} details.",
            status="published",
            classification="public" if i % 3 == 0 else "confidential",
            tags=rnd.sample(["pii", "finance", "gold", "kpi", "reporting"], 2),
        )
        port = output_port_create(
            actor=None,
            data_product=product,
            name="warehouse schema",
            platform=platform,
            schema=f"area_{i % N_SCHEMAS:02d}",
        )
        # Several synthetic products share each schema, which governed exposure sends to review;
        # the benchmark measures serving, not the review, so its ports are approved as a steward would.
        OutputPort.objects.filter(pk=port.pk).update(exposure_status="approved")
        if i % 5 == 0:
            DataContract.objects.create(
                data_product=product,
                contract_id=f"urn:load:{i}",
                version="1.0.0",
                status="active",
                document={
                    "apiVersion": "v3.0.2",
                    "kind": "DataContract",
                    "id": f"urn:load:{i}",
                    "version": "1.0.0",
                    "status": "active",
                    "name": name,
                    "schema": [{"name": "t0", "properties": [{"name": "id", "logicalType": "integer"}]}],
                },
            )
    index_products(product_ids=None)


def plan(path: Path) -> dict:
    """Sessions for every user (created directly: no login in the measured window) and the data."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User
    from apps.catalog.models import DataProduct, Domain
    from apps.search.models import SearchTerm

    users = []
    for user in User.objects.filter(username__startswith="load").prefetch_related("memberships"):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"  # the password backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        users.append(
            {"username": user.username, "session": session.session_key, "team": user.memberships.all()[0].team_id}
        )
    products = list(DataProduct.objects.values_list("slug", "owner_team_id", "classification"))
    words = list(SearchTerm.objects.order_by("-frequency").values_list("term", flat=True)[:60])
    data = {
        "csrf": secrets.token_hex(16),  # a 32-character CSRF secret, sent as cookie and form field
        "users": users,
        "products": [slug for slug, _, _ in products],
        "requestable": [{"slug": slug, "team": team} for slug, team, _ in products],
        "domains": list(Domain.objects.values_list("slug", flat=True)),
        "words": sorted(set(ENTITIES) | {w for w in words if w.isalpha()}),
    }
    path.write_text(json.dumps(data))
    return data


def _start(args: list[str], log) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def _wait_http(port: int, proc: subprocess.Popen, what: str) -> None:
    import urllib3

    http = urllib3.PoolManager()
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            if http.request("GET", f"http://127.0.0.1:{port}/healthz", timeout=2, retries=False).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


def warm_up(port: int, data: dict) -> None:
    """Every page kind a few times per gunicorn worker, so imports, template compilation and
    connections happen before the measured window."""
    from concurrent.futures import ThreadPoolExecutor

    import urllib3

    http = urllib3.PoolManager(maxsize=8)
    user = data["users"][0]
    headers = {"Cookie": f"sessionid={user['session']}; csrftoken={data['csrf']}"}
    slug = data["products"][0]
    paths = [
        "/",
        f"/?q={data['words'][0]}",
        f"/?domain={data['domains'][0]}",
        "/search/suggest/?q=cu",
        "/access/inbox/",
        f"/access/products/{slug}/request/",
    ] + [
        f"/products/{slug}/?tab={t}"
        for t in ("overview", "ports", "schema", "contract", "quality", "lineage", "consumers", "access", "activity")
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: http.request("GET", f"http://127.0.0.1:{port}{p}", headers=headers), paths * 8))


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (gunicorn master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            pids += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run_load(*, users: int, duration: int, gunicorn_workers: int | None, plan_path: Path, out: Path) -> dict:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # the benchmark's own broker database: no tasks of earlier runs
    port = free_port()
    log = open(out / "servers.log", "ab")  # noqa: SIM115
    gunicorn_env = {"WEB_CONCURRENCY": str(gunicorn_workers)} if gunicorn_workers else {}
    os.environ.update(gunicorn_env)
    web = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mesh_portal.wsgi",
            "-c",
            "mesh_portal/gunicorn.conf.py",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
        ],
        log,
    )
    worker = _start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mesh_portal",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        log,
    )
    try:
        _wait_http(port, web, "gunicorn")
        warm_up(port, json.loads(plan_path.read_text()))
        cpu0 = _tree_cpu_seconds(web.pid)
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "_locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                f"{duration}s",
                "--stop-timeout",
                "10",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(out / "load"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={**os.environ, "LOAD_PLAN": str(plan_path)},
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
        cpu = _tree_cpu_seconds(web.pid) - cpu0
        if not (out / "load_stats.csv").exists():
            print(result.stdout[-3000:], result.stderr[-3000:])
            raise SystemExit(f"locust failed ({result.returncode})")
        return {"elapsed": elapsed, "cpu": cpu, "locust_rc": result.returncode, "locust_err": result.stderr}
    finally:
        _stop(web)
        _stop(worker)
        log.close()


def report(out: Path, users: int, figures: dict) -> str:
    rows = list(csv.DictReader((out / "load_stats.csv").open()))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"\n{'kind':<14}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for r in rows:
        print(
            f"{r['Name']:<14}{r['Request Count']:>9}{r['Failure Count']:>8}{float(r['Requests/s']):>8.1f}"
            f"{r['50%']:>8}{r['95%']:>8}{r['99%']:>8}"
        )
    failures = out / "load_failures.csv"
    if failures.exists():
        for r in list(csv.DictReader(failures.open()))[:10]:
            print(f"  failure: {r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:200]}")
    n = int(total["Request Count"])
    print(
        f"gunicorn CPU: {figures['cpu']:.1f} s for {n} requests = {1000 * figures['cpu'] / max(n, 1):.1f} ms CPU per request "
        f"(run {figures['elapsed']:.0f} s, {os.cpu_count()} CPUs)"
    )
    return (
        f"load: users={users} rps={float(total['Requests/s']):.0f} p95_ms={total['95%']} p99_ms={total['99%']} "
        f"errors={total['Failure Count']}"
    )


def profile_pages(data: dict, repeat: int) -> None:
    """pyinstrument profiles and query counts of the product page, a search and the marketplace
    home, in this process through Django's test client (the whole middleware stack, no HTTP)."""
    from django.db import connection
    from django.test import Client
    from pyinstrument import Profiler

    client = Client()
    client.cookies["sessionid"] = data["users"][1 % len(data["users"])]["session"]
    slug = data["products"][len(data["products"]) // 2]
    pages = {
        "product page": f"/products/{slug}/",
        "product page, schema tab": f"/products/{slug}/?tab=schema",
        "search": "/?q=customer+orders",
        "marketplace home": "/",
        "autocomplete": "/search/suggest/?q=cust",
        "request form": f"/access/products/{slug}/request/",
        "approvals inbox": "/access/inbox/",
    }
    summary = []
    for name, path in pages.items():
        for _ in range(3):
            assert client.get(path, headers={"HX-Request": "true"} if "suggest" in path else {}).status_code == 200, (
                path
            )
        queries: list[str] = []

        def record(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            client.get(path)
        profiler = Profiler(interval=0.0002)
        started = time.perf_counter()
        profiler.start()
        for _ in range(repeat):
            client.get(path)
        profiler.stop()
        ms = (time.perf_counter() - started) * 1000 / repeat
        print(f"\n=== {name} ({path}): {ms:.1f} ms per request in-process, {len(queries)} queries")
        summary.append(f"  {ms:6.1f} ms {len(queries):3d} queries  {name}")
        for q in queries:
            print(f"    {q[:150]}")
        # Flat, by total time: pyinstrument's tree hid every frame under the test client here.
        flat = profiler.output_text(unicode=False, color=False, show_all=False, flat=True, flat_time="total")
        print("\n".join(flat.splitlines()[:60]))
    print("\nIn-process, per request (pyinstrument on):\n" + "\n".join(summary))


def grants_summary() -> None:
    from django.db.models import Count

    from apps.access.models import AccessRequest, Grant

    requests = dict(AccessRequest.objects.order_by().values_list("status").annotate(n=Count("pk")))
    grants = dict(Grant.objects.order_by().values_list("status").annotate(n=Count("pk")))
    print(f"access requests by status: {requests}; grants by status: {grants}")


def reset_requests() -> None:
    """A kept database: requests and grants of earlier runs end (their warehouse roles were dropped),
    so every user can request every product again. Bench bookkeeping, not a portal transition."""
    from apps.access.choices import OPEN_REQUEST_STATES
    from apps.access.models import AccessRequest, Grant

    Grant.objects.exclude(status__in=["revoked", "failed"]).update(status="revoked")
    AccessRequest.objects.filter(status__in=OPEN_REQUEST_STATES).update(status="cancelled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="instead of the load: profile N requests of each of four pages (pyinstrument)",
    )
    parser.add_argument("--smoke", action="store_true", help="CI size: 5 users, 5 s, 30 products, all dropped")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.duration, args.products, args.reseed, args.drop = 5, 5, 30, True, True

    if args.reseed:
        database_drop(DB_URL, _dbname())
    fresh = not database_exists(DB_URL, _dbname())
    with tempfile.TemporaryDirectory(prefix="mp-load-") as tmp:
        out = Path(tmp)
        try:
            build_warehouse(args.users)
            if fresh:
                database_create(DB_URL, _dbname())
            django.setup()
            if fresh:
                t = time.monotonic()
                build_portal(args.products, args.users)
                from django.db import connection as _conn

                with _conn.cursor() as cur:  # statistics, as a database in use has them
                    cur.execute("VACUUM ANALYZE")
                print(
                    f"built the portal: {args.products} data products, {args.users} users in {time.monotonic() - t:.0f} s"
                )
            else:
                from django.core.management import call_command

                call_command("migrate", verbosity=0)
                reset_requests()
            data = plan(out / "plan.json")
            from django.db import connection

            if args.profile:
                profile_pages(data, args.profile)
                return
            connection.close()
            print(
                f"load: {args.users} users for {args.duration} s against gunicorn "
                f"({os.environ.get('WEB_CONCURRENCY') or args.workers or 'configured'} workers) + 1 Celery worker; "
                f"{len(data['products'])} data products",
                flush=True,
            )
            figures = run_load(
                users=args.users,
                duration=args.duration,
                gunicorn_workers=args.workers,
                plan_path=out / "plan.json",
                out=out,
            )
            summary = report(out, args.users, figures)
            if not summary.endswith("errors=0"):
                print("servers' log (last lines):\n" + (out / "servers.log").read_text()[-4000:])
            grants_summary()
            print(summary)
        finally:
            from django.db import connection

            connection.close()
            database_drop(SERVER, WAREHOUSE)
            _drop_roles()
            if args.drop:
                database_drop(DB_URL, _dbname())


if __name__ == "__main__":
    main()
