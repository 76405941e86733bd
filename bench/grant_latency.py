"""Benchmark approval → usable grant on the local stack; prints figures, never fails on timings.

    .venv/bin/python bench/grant_latency.py                 # 1,000 requests, 1 worker, prefork x4
    .venv/bin/python bench/grant_latency.py --smoke         # CI: 5 requests, everything dropped afterwards
    .venv/bin/python bench/grant_latency.py -n 50 --pool threads --concurrency 8

What it does: creates a portal database (``BENCH_DATABASE_URL``, default
``mesh_portal_bench_grants``, migrated on first use, emptied each run, dropped with ``--drop``),
a warehouse database ``mpt_bench_grants_wh`` with a schema of five tables, ``n`` consumer logins (``mpt_bench_login_<i>``)
mapped to ``n`` portal users, and ``n`` access requests waiting for the owner. It starts real
``celery worker`` subprocess(es) on the real Redis (``BENCH_REDIS_URL``, default db 3), then
approves all ``n`` requests in **one** transaction. The clock starts when that transaction
commits (the first on-commit callback, before the ``n`` tasks are published) and stops, per
consumer, at its first successful ``SELECT`` on the port's table.

Polling "as the consumer": a poller process (its own GIL) with four threads, started at the commit, keeps one connection each;
each round asks the catalog once which waiting consumers hold SELECT (``has_table_privilege``), and
for each of them runs ``SET LOCAL ROLE <login>; SELECT ...`` — PostgreSQL checks the privileges of
the login exactly as for a session of its own, without opening ``n`` connections (``max_connections``
is shared); that SELECT's success is the time recorded. At the end a sample of consumers connect with their own login
and password to confirm. Roles, logins and the warehouse are dropped afterwards.

Last line: ``grant_latency: n=N p50_s=N p95_s=N max_s=N per_s=N`` (``per_s``: grants usable per
second, ``n`` / time from commit to the last consumer's first successful SELECT).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# --smoke (CI) uses names of its own, so it never collides with a full run on the same server.
SMOKE = "--smoke" in sys.argv
_TAG = "bsmoke" if SMOKE else "bench"
PORTAL_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/mesh_portal_{_TAG}_grants")
# Workers keep their portal connection like production does (CONN_MAX_AGE=60 there).
PORTAL_URL += ("&" if "?" in PORTAL_URL else "?") + "conn_max_age=60"
os.environ["DJANGO_SETTINGS_MODULE"] = "mesh_portal.settings.test"
os.environ["TEST_DATABASE_URL"] = PORTAL_URL
os.environ["TEST_REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ["GRANT_ROLE_PREFIX"] = PREFIX = f"mpt_{_TAG}_g_"

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

SERVER = os.environ.get("BENCH_WAREHOUSE_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WAREHOUSE = f"mpt_{_TAG}_grants_wh"
LOGIN = f"mpt_{_TAG}_login_"
PASSWORD = "mesh-bench"


def _conninfo(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def _server(statement, params=None) -> list:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def _drop_bench_roles() -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        roles = [r for (r,) in conn.execute("SELECT rolname FROM pg_roles") if r.startswith((PREFIX, LOGIN))]
        for role in sorted(roles, key=lambda r: not r.startswith(PREFIX)):  # access roles first
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def setup_platform(n: int) -> None:
    _server(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(WAREHOUSE)))
    _drop_bench_roles()
    _server(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(WAREHOUSE)))
    with psycopg.connect(_conninfo(WAREHOUSE), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA bench")
        for i in range(5):
            conn.execute(
                sql.SQL("CREATE TABLE {} (id int primary key, name text, amount numeric)").format(
                    sql.Identifier("bench", f"t{i}")
                )
            )
        conn.execute("INSERT INTO bench.t0 VALUES (1, 'a', 1)")
        with conn.transaction():
            for i in range(n):
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(f"{LOGIN}{i}"), sql.Literal(PASSWORD)
                    )
                )


def setup_portal(n: int):
    """Users, a product with a port on ``bench``, and ``n`` requests pending approval."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    dbname = connection.settings_dict["NAME"]
    if not _server("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]):
        _server(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)

    from apps.access import services
    from apps.accounts.models import User
    from apps.accounts.services import team_membership_set
    from apps.platforms.models import Platform, PlatformIdentity
    from tests.accounts.factories import TeamFactory
    from tests.catalog.factories import DataProductFactory, OutputPortFactory

    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    platform = Platform.objects.create(
        slug="bench",
        name="Bench warehouse",
        kind="postgresql",
        host=info.get("host", "127.0.0.1"),
        port=int(info.get("port", 5432)),
        database=WAREHOUSE,
        username=info.get("user", "postgres"),
    )
    owner = User.objects.create_user("owner")
    team = TeamFactory(name="Bench owners", slug="bench-owners")
    team_membership_set(team=team, user=owner, role="owner")
    product = DataProductFactory(name="Bench", slug="bench", owner_team=team)
    port = OutputPortFactory(data_product=product, name="bench", platform=platform, schema="bench")
    users = User.objects.bulk_create([User(username=f"consumer{i}") for i in range(n)])
    PlatformIdentity.objects.bulk_create(
        [PlatformIdentity(user=u, platform=platform, principal=f"{LOGIN}{i}") for i, u in enumerate(users)]
    )
    # The factory's product is Confidential: its policy asks for an end date (at most 180 days).
    expires_at = timezone.now() + timedelta(days=90)
    request_ids = [
        services.access_request_submit(requester=u, output_port=port, purpose="bench", expires_at=expires_at).pk
        for u in users
    ]
    return owner, request_ids


def start_workers(count: int, pool: str, concurrency: int) -> list[subprocess.Popen]:
    # A worker as in production: what its tasks publish goes through the broker (not eager).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CELERY_TASK_ALWAYS_EAGER": "false"}
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mesh_portal",
        "worker",
        "-l",
        os.environ.get("BENCH_WORKER_LOGLEVEL", "warning"),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        "1",
    ]
    log = open(os.environ.get("BENCH_WORKER_LOG", "/tmp/mesh_portal_bench_worker.log"), "ab")  # noqa: SIM115
    return [
        subprocess.Popen([*args, "-n", f"bench{i}@%h"], cwd=ROOT, env=env, stdout=log, stderr=log) for i in range(count)
    ]


def wait_workers_ready(count: int, timeout: float = 60) -> None:
    from mesh_portal.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if len(replies) >= count:
            return
    raise SystemExit("workers did not start")


class Poller:
    """Checks, as each consumer (``SET ROLE``), whether its SELECT succeeds; records the time."""

    def __init__(self, n: int, go, threads: int = 4):
        self.go = go
        self.waiting = list(range(n))
        self.first_ok: dict[int, float] = {}
        self.lock = threading.Lock()
        self.threads = threads
        self.stop = False
        self.rounds = 0

    def run_thread(self, index: int) -> None:
        with psycopg.connect(_conninfo(WAREHOUSE), autocommit=True) as conn:
            self.go.wait()  # connected in advance; polling starts at the commit
            while not self.stop:
                with self.lock:
                    mine = [i for i in self.waiting if i % self.threads == index]
                if not mine:
                    if index == 0 and not self.waiting:
                        return
                    time.sleep(0.01)
                    continue
                # One cheap catalog question for every consumer still waiting, then the real
                # SELECT as each consumer the catalog says can read: its success is the figure.
                # (A SELECT per waiting consumer per round cost the server ~0.1 s a round and
                # competed with the worker for the two cores.)
                ready = conn.execute(
                    "SELECT i FROM unnest(%s::int[], %s::text[]) AS w(i, r)"
                    " WHERE has_table_privilege(r, 'bench.t0', 'SELECT')",
                    [mine, [f"{LOGIN}{i}" for i in mine]],
                ).fetchall()
                for (i,) in ready:
                    # One round trip; SET LOCAL ends with the statement's implicit transaction.
                    try:
                        conn.execute(
                            sql.SQL("SET LOCAL ROLE {}; SELECT id FROM bench.t0 LIMIT 1").format(
                                sql.Identifier(f"{LOGIN}{i}")
                            )
                        )
                        ok = True
                    except psycopg.errors.InsufficientPrivilege:
                        ok = False
                    if ok:
                        with self.lock:
                            self.first_ok[i] = time.monotonic()
                            self.waiting.remove(i)
                if index == 0:
                    self.rounds += 1
                time.sleep(0.01)  # a pause between rounds leaves the CPU to the workers

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.run_thread, args=(k,), daemon=True) for k in range(self.threads)]
        for t in threads:
            t.start()
        return threads


def poll_process(n: int, timeout: float, go, out) -> None:
    """The poller in a process of its own: publishing the tasks in the bench process holds the
    GIL for seconds and would delay threads polling there. ``time.monotonic`` is the system's
    CLOCK_MONOTONIC, comparable across processes. Puts ``(first_ok, rounds, waiting)`` on ``out``."""
    poller = Poller(n, go)
    threads = poller.start()
    go.wait()
    deadline = time.monotonic() + timeout
    while poller.waiting and time.monotonic() < deadline:
        time.sleep(0.05)
    poller.stop = True
    for t in threads:
        t.join(timeout=5)
    out.put((poller.first_ok, poller.rounds, list(poller.waiting)))


def confirm_with_own_logins(sample: list[int]) -> None:
    info = psycopg.conninfo.conninfo_to_dict(_conninfo(WAREHOUSE))
    for i in sample:
        with psycopg.connect(**{**info, "user": f"{LOGIN}{i}", "password": PASSWORD}) as conn:
            conn.execute("SELECT id FROM bench.t0").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="access requests approved at once")
    parser.add_argument("--workers", type=int, default=1, help="celery worker processes")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the warehouse and logins afterwards")
    parser.add_argument("--drop", action="store_true", help="also drop the portal database at the end")
    parser.add_argument(
        "--smoke", action="store_true", help="CI size: 5 requests, names of its own, everything dropped"
    )
    args = parser.parse_args()
    if args.smoke:
        args.n, args.timeout, args.keep, args.drop = 5, 120, False, True

    django.setup()
    from django.db import transaction

    from apps.access import services
    from apps.access.models import Grant, GrantAttempt

    setup_platform(args.n)
    owner, request_ids = setup_portal(args.n)
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # the bench's own broker database
    workers = start_workers(args.workers, args.pool, args.concurrency)
    from mesh_portal.celery import app

    app.conf.task_always_eager = False
    try:
        wait_workers_ready(args.workers)
        ctx = multiprocessing.get_context("spawn")
        go, out = ctx.Event(), ctx.Queue()
        poller = ctx.Process(target=poll_process, args=(args.n, args.timeout, go, out), daemon=True)
        poller.start()
        time.sleep(3)  # the poller process imports and connects
        committed: dict[str, float] = {}

        def on_commit() -> None:
            committed["at"], committed["wall"] = time.monotonic(), time.time()
            go.set()  # polling starts at commit, before the tasks are published

        with transaction.atomic():
            transaction.on_commit(on_commit)
            for request_id in request_ids:
                services.access_request_approve(access_request_id=request_id, actor=owner)
            transaction.on_commit(lambda: committed.setdefault("published", time.monotonic()))
        first_ok, rounds, waiting = out.get(timeout=args.timeout + 30)
        poller.join(timeout=10)
        t0 = committed["at"]
        latencies = sorted(at - t0 for at in first_ok.values())
        if waiting:
            print(f"{len(waiting)} consumers never got access within {args.timeout:.0f} s")
        confirm_with_own_logins(sorted(first_ok)[:: max(1, args.n // 10)])
        time.sleep(2)  # consumers can read as soon as the platform commits; the portal's bookkeeping follows
        statuses = dict(Grant.objects.order_by().values_list("status").annotate(n=django.db.models.Count("pk")))
        durations = sorted(GrantAttempt.objects.filter(succeeded=True).values_list("duration_ms", flat=True))
        n = len(latencies)
        p50 = statistics.median(latencies) if latencies else float("nan")
        p95 = latencies[max(0, int(round(0.95 * n)) - 1)] if latencies else float("nan")
        worst = latencies[-1] if latencies else float("nan")
        per_s = n / worst if latencies else 0.0
        print(f"workers: {args.workers} x {args.pool} concurrency {args.concurrency}; grants: {statuses}")
        polled_s = (max(first_ok.values()) - t0) if first_ok else 0.0
        print(
            f"tasks published {committed['published'] - t0:.3f} s after commit; poll rounds: {rounds} "
            f"(~{1000 * polled_s / max(rounds, 1):.0f} ms each: the resolution of the figures below)"
        )
        if durations:
            print(
                f"platform apply per grant (GrantAttempt.duration_ms): p50={statistics.median(durations):.0f} "
                f"max={durations[-1]} ms"
            )
        starts = sorted(
            a.timestamp() - committed["wall"] for a in GrantAttempt.objects.values_list("started_at", flat=True)
        )
        applied = sorted(
            a.timestamp() - committed["wall"] for a in Grant.objects.values_list("applied_at", flat=True) if a
        )
        if starts and applied:
            print(
                f"first platform batch started {starts[0]:.3f} s after commit, last {starts[-1]:.3f} s; "
                f"grants marked active p50 {statistics.median(applied):.3f} s, last {applied[-1]:.3f} s"
            )
        print(f"grant_latency: n={n} p50_s={p50:.3f} p95_s={p95:.3f} max_s={worst:.3f} per_s={per_s:.1f}")
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
        if not args.keep:
            _server(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(WAREHOUSE)))
            _drop_bench_roles()
        if args.drop:
            from django.db import connection

            dbname = connection.settings_dict["NAME"]
            connection.close()
            _server(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


if __name__ == "__main__":
    main()
