"""Benchmark marketplace search through HTTP against a real server; prints figures.

    /work/main/.venv/bin/python bench/search.py                 # seed once (kept), then measure
    /work/main/.venv/bin/python bench/search.py --reseed        # drop and seed again
    /work/main/.venv/bin/python bench/search.py --products 10000 --columns 100000

Seeds ``--products`` data products (default 100,000) with ``--columns`` columns (default
1,000,000) spread over ~3 tables each, with realistic names and descriptions, 20 domains, 60
teams, lineage edges, data contracts, quality checks and 200,000 page views (popularity), all
with ``COPY``; then builds the search index with the same code as ``manage.py reindex``.

It then starts gunicorn (2 workers, the machine has 2 cores) on ``--port`` against that database
and measures with a real HTTP client (urllib3, logged in through the login form):

- search: a fixed set of single words, phrases, typos and facet filters (marketplace page,
  full HTML with facets and highlighted matches), p50 and p95, answered from the shared cache
  (a repeated search: the portal's results cache, ``apps.search.selectors.search_products``)
  and as many again *uncached* (the search topic bumped before each request, as a re-index
  does: the backend's statement, labels and rendering every time);
- product page: 100 random products (overview tab), p95;
- autocomplete: prefixes and typos as typed, p95.

It prints EXPLAIN ANALYZE of the statements that matter and ends with one line::

    search: n_products=N search_p50_ms=N search_p95_ms=N uncached_p50_ms=N uncached_p95_ms=N page_p95_ms=N autocomplete_p95_ms=N

The database is ``mp_search_bench`` (``BENCH_DATABASE_URL``), never the portal's own; it is kept
between runs (``--reseed`` rebuilds it, ``--drop`` drops it at the end). Timings are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_search_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
os.environ["DJANGO_SETTINGS_MODULE"] = "mesh_portal.settings.local"
os.environ["DATABASE_URL"] = DB_URL
os.environ["REDIS_URL"] = REDIS_URL
os.environ["DEBUG"] = "false"
os.environ.setdefault("SEARCH_BACKEND", "postgres")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bench._common import copy_models, free_port, pct  # noqa: E402

BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-1"

# --- realistic vocabulary ------------------------------------------------------------------------
DOMAINS = [
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Supply Chain",
    "Manufacturing",
    "Logistics",
    "Customer Service",
    "Product",
    "Risk",
    "Procurement",
    "Retail",
    "E-commerce",
    "Payments",
    "Legal",
    "IoT",
    "Research",
    "Security",
    "Operations",
    "Analytics",
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
    "device",
    "subscription",
    "churn",
    "revenue",
    "budget",
    "forecast",
    "return",
    "review",
    "session",
    "click",
    "vendor",
    "territory",
    "quota",
    "price",
    "discount",
    "loyalty",
    "refund",
    "delivery",
    "route",
    "asset",
    "incident",
    "policy",
    "premium",
    "loan",
    "card",
    "fraud",
    "audit",
    "ledger",
]
QUALIFIERS = [
    "daily",
    "monthly",
    "weekly",
    "regional",
    "global",
    "historical",
    "real-time",
    "curated",
    "aggregated",
    "enriched",
    "raw",
    "consolidated",
    "open",
    "active",
    "archived",
]
SUFFIXES = [
    "history",
    "snapshots",
    "events",
    "facts",
    "summary",
    "master data",
    "metrics",
    "ledger",
    "lines",
    "status",
    "scores",
    "dimensions",
    "feed",
    "register",
    "pipeline",
]
COLUMN_TEMPLATES = [
    ("{e}_id", "bigint", "Unique identifier of the {e}."),
    ("{e}_name", "varchar(200)", "Display name of the {e}."),
    ("{e}_status", "varchar(20)", "Current status of the {e}: open, closed or cancelled."),
    ("created_at", "timestamptz", "When the {e} record was created in the source system."),
    ("updated_at", "timestamptz", "When the {e} record was last changed."),
    ("{e}_date", "date", "Business date of the {e}."),
    ("amount", "numeric(18,2)", "Amount of the {e} in the reporting currency."),
    ("currency_code", "char(3)", "ISO 4217 currency code of the amount."),
    ("country_code", "char(2)", "ISO 3166 country of the {e}."),
    ("email_address", "varchar(320)", "E-mail address of the {e} contact (personal data)."),
    ("phone_number", "varchar(40)", "Phone number of the {e} contact (personal data)."),
    ("quantity", "integer", "Number of units in the {e}."),
    ("unit_price", "numeric(12,4)", "Price per unit for the {e}."),
    ("discount_pct", "numeric(5,2)", "Discount applied to the {e}, in percent."),
    ("region", "varchar(60)", "Sales region the {e} belongs to."),
    ("segment", "varchar(40)", "Customer segment used for {e} reporting."),
    ("is_active", "boolean", "Whether the {e} is active."),
    ("score", "double precision", "Model score of the {e} between 0 and 1."),
    ("hourly_rate", "numeric(10,2)", "Hourly pay rate (salary) of the {e} owner."),
    ("source_system", "varchar(40)", "System the {e} was loaded from."),
    ("{e}_type", "varchar(40)", "Type of {e}, from the reference list."),
    ("description", "text", "Free-text description of the {e}."),
    ("latitude", "double precision", "Latitude of the {e} location."),
    ("longitude", "double precision", "Longitude of the {e} location."),
    ("payment_method", "varchar(30)", "Payment method used: card, transfer or wallet."),
]
TAGS = [
    "pii",
    "finance",
    "gdpr",
    "kpi",
    "gold",
    "silver",
    "bronze",
    "realtime",
    "batch",
    "ml",
    "reporting",
    "reference",
    "sox",
    "marketing",
    "ops",
]

QUERIES = [
    "q=customer",
    "q=inventory",
    "q=salary",
    "q=revenue",
    "q=shipment",
    "q=employee",
    "q=campaign",
    "q=invoice",
    "q=sensor",
    "q=churn",
    'q="customer orders"',
    'q="order history"',
    'q="payment method"',
    "q=monthly+revenue",
    "q=supplier+invoice",
    "q=custmer",
    "q=invntory",
    "q=salry",
    "q=shipmnt",
    "q=emplyee",
    "q=customer&domain=sales",
    "q=order&classification=internal",
    "q=revenue&tag=finance&sort=popularity",
    "domain=finance",
    "q=inventory&status=published&contract=yes",
    "q=payment&quality=pass",
    "q=customer&sort=newest",
    "q=loyalty+points&sort=name",
    "q=fraud&tag=pii&tag=gdpr",
    "q=route&page=2",
]
AUTOCOMPLETE = [
    "cu",
    "cus",
    "cust",
    "custo",
    "custom",
    "inv",
    "inve",
    "sal",
    "salr",
    "emp",
    "empl",
    "rev",
    "reve",
    "ship",
    "shpm",
    "pay",
    "paym",
    "fra",
    "loy",
    "invo",
]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _admin_conninfo() -> str:
    info = psycopg.conninfo.conninfo_to_dict(DB_URL)
    info["dbname"] = "postgres"
    return psycopg.conninfo.make_conninfo(**info)


def _smoke_url() -> str:
    info = psycopg.conninfo.conninfo_to_dict(DB_URL)
    return DB_URL.rsplit("/", 1)[0] + "/" + info["dbname"] + "_smoke"


def _dbname() -> str:
    return psycopg.conninfo.conninfo_to_dict(DB_URL)["dbname"]


def _exists() -> bool:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_dbname()]).fetchone())


def _drop() -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_dbname())))


def _create() -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_dbname())))


def seed(n_products: int, n_columns: int) -> None:
    """Create the catalog with COPY (column lists from the models). Deterministic (seeded random)."""
    from datetime import UTC, datetime

    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from guardian.models import GroupObjectPermission

    from apps.accounts.models import User
    from apps.accounts.services import team_create, team_membership_set
    from apps.catalog.models import (
        Asset,
        AssetRelation,
        Column,
        DataContract,
        DataProduct,
        Domain,
        OutputPort,
        QualityCheck,
    )
    from apps.insights.models import UsageEvent
    from apps.platforms.models import Platform

    rnd = random.Random(6)
    t0 = time.monotonic()
    call_command("migrate", verbosity=0)
    platforms = [
        Platform.objects.create(
            slug=f"bench-{k}",
            name=f"{k.title()} warehouse",
            kind="postgresql",
            host="127.0.0.1",
            port=5432,
            database=f"bench_{k}",
            username="bench",
        )
        for k in ("sales", "finance", "lake", "ops")
    ]
    teams = [team_create(name=f"{d} team {i}", slug=f"{_slug(d)}-team-{i}") for d in DOMAINS for i in range(3)]
    user = User.objects.create_user(BENCH_USER, password=BENCH_PASSWORD, first_name="Bench", last_name="User")
    team_membership_set(team=teams[0], user=user, role="member")
    now = time.time()
    stamp = timezone.now()
    with connection.cursor() as django_cur:
        cur = django_cur.cursor  # the psycopg cursor, for COPY
        copy_models(
            cur,
            Domain,
            (
                {"slug": _slug(d), "name": d, "description": f"The {d} domain.", "owner_team_id": teams[i * 3].pk}
                for i, d in enumerate(DOMAINS)
            ),
        )
        cur.execute("SELECT id FROM catalog_domain ORDER BY id")
        domain_ids = [r[0] for r in cur.fetchall()]
        statuses = ["published"] * 85 + ["deprecated"] * 7 + ["draft"] * 6 + ["retired"] * 2
        classifications = ["public", "internal", "internal", "confidential", "restricted"]

        def products():
            for i in range(n_products):
                d = i % len(DOMAINS)
                e1, e2 = rnd.choice(ENTITIES), rnd.choice(ENTITIES)
                name = f"{rnd.choice(QUALIFIERS).title()} {e1} {e2 if e2 != e1 else ''} {rnd.choice(SUFFIXES)} {i}".replace(
                    "  ", " "
                )
                summary = f"{e1.title()} and {e2} data of the {DOMAINS[d]} domain, refreshed {rnd.choice(QUALIFIERS)}."
                description = (
                    f"## {name}\n\nCurated {e1} records joined with {e2} details for {DOMAINS[d].lower()} "
                    f"reporting. Owned by the {DOMAINS[d]} team; see the schema tab for columns."
                )
                created = datetime.fromtimestamp(now - rnd.randint(0, 3 * 365 * 86400), tz=UTC)
                yield {
                    "slug": f"p{i}-{_slug(name)[:80]}",
                    "name": name[:200],
                    "summary": summary[:300],
                    "description": description,
                    "domain_id": domain_ids[d],
                    "owner_team_id": teams[d * 3 + i % 3].pk,
                    "status": rnd.choice(statuses),
                    "classification": rnd.choice(classifications),
                    "tags": rnd.sample(TAGS, rnd.randint(0, 3)),
                    "created_at": created,
                    "updated_at": created,
                }

        copy_models(cur, DataProduct, products())
        cur.execute("SELECT id, owner_team_id FROM catalog_dataproduct ORDER BY id")
        product_rows = cur.fetchall()
        print(f"  products: {len(product_rows)} in {time.monotonic() - t0:.1f} s", flush=True)
        # django-guardian object permissions of the owner teams' groups (drafts visible to members).
        ct = ContentType.objects.get_for_model(DataProduct).pk
        perm_ids = {
            c: Permission.objects.get(content_type_id=ct, codename=c).pk
            for c in ("view_dataproduct", "decide_access_requests", "change_dataproduct")
        }
        team_groups = {t.pk: t for t in teams}

        def perms():
            for pid, team_id in product_rows:
                team = team_groups[team_id]
                for group_id, codename in (
                    (team.members_group_id, "view_dataproduct"),
                    (team.approvers_group_id, "decide_access_requests"),
                    (team.owners_group_id, "change_dataproduct"),
                ):
                    yield {
                        "object_pk": str(pid),
                        "content_type_id": ct,
                        "group_id": group_id,
                        "permission_id": perm_ids[codename],
                    }

        copy_models(cur, GroupObjectPermission, perms())
        copy_models(
            cur,
            OutputPort,
            (
                {
                    "data_product_id": pid,
                    "name": "warehouse schema",
                    "description": "Read-only schema.",
                    "platform_id": platforms[pid % 4].pk,
                    "port_type": "schema",
                    "schema": f"dp_{pid}",
                }
                for pid, _ in product_rows
            ),
        )
        # Assets: 1-5 per product (about 3), columns spread so the total is n_columns.
        per_product = max(1, n_columns // max(1, n_products))

        def assets():
            for pid, _ in product_rows:
                for k in range(1 + pid % 5):
                    e = rnd.choice(ENTITIES)
                    yield {
                        "platform_id": platforms[pid % 4].pk,
                        "schema": f"dp_{pid}",
                        "name": f"{e}_{rnd.choice(SUFFIXES).replace(' ', '_')}_{k}",
                        "kind": "table",
                        "description": f"{e.title()} {rnd.choice(SUFFIXES)} of the data product, one row per {e}.",
                        "row_count_estimate": 1000 * k,
                        "first_seen_at": stamp,
                    }

        copy_models(cur, Asset, assets())
        cur.execute("SELECT id, schema, name FROM catalog_asset ORDER BY id")
        asset_rows = cur.fetchall()
        by_product: dict[int, list[tuple[int, str]]] = {}
        for aid, schema, name in asset_rows:
            by_product.setdefault(int(schema[3:]), []).append((aid, name))
        print(f"  assets: {len(asset_rows)} in {time.monotonic() - t0:.1f} s", flush=True)

        def columns():
            for pid, alist in by_product.items():
                for j in range(per_product):
                    aid, aname = alist[j % len(alist)]
                    e = aname.split("_")[0]
                    name, dtype, desc = COLUMN_TEMPLATES[(j * 7 + pid) % len(COLUMN_TEMPLATES)]
                    yield {
                        "asset_id": aid,
                        "name": f"{name.format(e=e)}_{j}" if j >= len(COLUMN_TEMPLATES) else name.format(e=e),
                        "ordinal": j + 1,
                        "data_type": dtype,
                        "description": desc.format(e=e),
                        "nullable": j % 3 != 0,
                        "is_primary_key": j == 0,
                    }

        n = copy_models(cur, Column, columns())
        print(f"  columns: {n} in {time.monotonic() - t0:.1f} s", flush=True)
        asset_ids = [r[0] for r in asset_rows]
        copy_models(
            cur,
            AssetRelation,
            ({"source_id": rnd.choice(asset_ids), "target_id": a, "kind": "lineage"} for a in asset_ids[::6]),
        )
        copy_models(
            cur,
            DataContract,
            (
                {
                    "data_product_id": pid,
                    "contract_id": f"urn:dc:{pid}",
                    "version": "1.0.0",
                    "status": "active",
                    "document": {"apiVersion": "v3.0.2", "kind": "DataContract"},
                }
                for pid, _ in product_rows
                if pid % 5 == 0
            ),
        )
        copy_models(
            cur,
            QualityCheck,
            (
                {
                    "asset_id": alist[0][0],
                    "source": "dbt",
                    "unique_id": f"test.{pid}",
                    "name": "not_null",
                    "status": rnd.choice(["pass", "pass", "pass", "warn", "fail"]),
                }
                for pid, alist in by_product.items()
                if pid % 3 == 0
            ),
        )
        ids = [pid for pid, _ in product_rows]
        weights = [1 / (1 + r) for r in range(len(ids))]
        rnd.shuffle(ids)
        copy_models(
            cur,
            UsageEvent,
            (
                {"at": stamp, "kind": "product_view", "data_product_id": pid}
                for pid in rnd.choices(ids, weights=weights, k=min(200_000, 2 * n_products))
            ),
        )
        cur.execute("ANALYZE")
    print(f"  catalog seeded in {time.monotonic() - t0:.1f} s; building the search index…", flush=True)
    from apps.search.indexing import index_products

    t1 = time.monotonic()
    written = index_products(product_ids=None)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE search_productdocument")
        cur.execute("VACUUM ANALYZE search_searchentry")
        cur.execute("VACUUM ANALYZE search_searchterm")
    print(f"  indexed {written} products in {time.monotonic() - t1:.1f} s", flush=True)


# --- measuring ------------------------------------------------------------------------------------
def _start_server(port: int) -> subprocess.Popen:
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
            "--access-logfile",
            "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    import urllib3

    http = urllib3.PoolManager()
    for _ in range(100):
        try:
            if http.request("GET", f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return proc
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


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


def measure(port: int, rounds: int, uncached_rounds: int) -> dict:
    """Searches from the shared cache (the portal's normal state for a repeated search) and, as
    many again, with the cache made stale before each request (a search nobody ran since the
    index last changed: the backend's statement, labels and rendering every time)."""
    from django.db import connection

    from apps.core.freshness import bump

    client = Client(f"http://127.0.0.1:{port}")
    client.login(BENCH_USER, BENCH_PASSWORD)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.slug FROM catalog_dataproduct p WHERE p.status = 'published' ORDER BY md5(p.id::text) LIMIT 100"
        )
        slugs = [r[0] for r in cur.fetchall()]
    for q in QUERIES:  # warm-up: caches, connections
        client.get_ms("/?" + q)
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    uncached_per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    search, uncached = [], []
    for _ in range(rounds):
        for q in QUERIES:
            ms = client.get_ms("/?" + q)
            per_query[q].append(ms)
            search.append(ms)
    for _ in range(uncached_rounds):
        for q in QUERIES:
            bump(topics=["search"])  # what a re-index does: every cached search is stale
            ms = client.get_ms("/?" + q)
            uncached_per_query[q].append(ms)
            uncached.append(ms)
    pages = [client.get_ms(f"/products/{slug}/") for slug in slugs]
    auto = []
    for _ in range(rounds):
        for prefix in AUTOCOMPLETE:
            auto.append(client.get_ms("/search/suggest/?q=" + prefix, htmx=True))
    print("\nSearch, per query (median of rounds, ms): cached, uncached")
    for q, values in per_query.items():
        cold = uncached_per_query[q]
        print(f"  {statistics.median(values):7.1f}  {statistics.median(cold) if cold else float('nan'):7.1f}  /?{q}")
    return {"search": search, "uncached": uncached, "pages": pages, "auto": auto}


def explain() -> None:
    """EXPLAIN ANALYZE of the statements behind a search, the matches, a typo and autocomplete."""
    from django.db import connection

    from apps.accounts.models import User
    from apps.catalog.selectors import data_product_own_ids
    from apps.search.backends import postgres as pg
    from apps.search.query import parse
    from apps.search.types import SearchParams, Visibility

    visibility = Visibility(own_product_ids=tuple(data_product_own_ids(user=User.objects.get(username=BENCH_USER))))
    backend = pg.PostgresBackend()
    cases = [
        ("search 'customer' (common word, ranked, 8 facets)", "customer", {}),
        ("search 'custmer' (typo) + domain filter", "custmer", {"domain": ["1"]}),
    ]
    for title, text, filters in cases:
        parsed = parse(text)
        tsq = pg.tsquery_text(parsed, pg.corrections_for(parsed))
        query, args = backend._search_sql(tsq, SearchParams(query=text, filters=filters), visibility, 1, 20)
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query, args)
            print(f"\n--- {title}: tsquery {tsq!r}")
            print("\n".join(r[0] for r in cur.fetchall()))
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT term FROM search_searchterm WHERE term % 'custmer' "
            "ORDER BY similarity(term, 'custmer') DESC LIMIT 1"
        )
        print("\n--- typo correction (pg_trgm GIN)")
        print("\n".join(r[0] for r in cur.fetchall()))
        cur.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT d.product_id FROM search_productdocument d "
            "WHERE d.head @@ to_tsquery('english', 'cust:*A') AND d.status = ANY('{published,deprecated}') "
            "ORDER BY d.popularity DESC LIMIT 4"
        )
        print("\n--- autocomplete: product names by prefix")
        print("\n".join(r[0] for r in cur.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=1_000_000)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 0)), help="default: a free port")
    parser.add_argument("--rounds", type=int, default=34, help="rounds of the 30 searches (34: 1,020 requests)")
    parser.add_argument(
        "--uncached-rounds", type=int, default=None, help="rounds with the cache made stale first (default: --rounds)"
    )
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI size: 300 products in a database of its own, 1 round, dropped at the end",
    )
    args = parser.parse_args()
    if args.smoke:
        global DB_URL
        DB_URL = _smoke_url()
        os.environ["DATABASE_URL"] = DB_URL
        args.products, args.columns, args.rounds, args.reseed, args.drop = 300, 3000, 1, True, True
    if args.uncached_rounds is None:
        args.uncached_rounds = args.rounds

    if args.reseed and _exists():
        _drop()
    fresh = not _exists()
    if fresh:
        _create()
    django.setup()
    from django.db import connection

    if not fresh:
        with connection.cursor() as cur:
            cur.execute("SELECT to_regclass('search_productdocument') IS NOT NULL")
            fresh = not cur.fetchone()[0] or not _count("search_productdocument")
            if fresh:
                connection.close()
                _drop()
                _create()
    if fresh:
        print(f"Seeding {args.products} data products / {args.columns} columns into {_dbname()} …", flush=True)
        seed(args.products, args.columns)
    else:  # a database kept from an earlier run gets the migrations added since
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    n_products = _count("catalog_dataproduct")
    n_columns = _count("catalog_column")
    print(
        f"Catalog: {n_products} data products, {n_columns} columns, {_count('search_searchentry')} search entries, "
        f"{_count('search_searchterm')} vocabulary terms; pg_trgm: {'yes' if _trgm() else 'no'}"
    )
    connection.close()
    args.port = args.port or free_port()
    server = _start_server(args.port)
    try:
        figures = measure(args.port, args.rounds, args.uncached_rounds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    explain()
    s, u, p, a = figures["search"], figures["uncached"], figures["pages"], figures["auto"]
    print(
        f"\nsearch: {len(s)} requests from the cache, {len(u)} uncached, product page: {len(p)}, "
        f"autocomplete: {len(a)} (gunicorn, 2 workers, HTTP)"
    )
    if args.drop:
        connection.close()
        _drop()
    print(
        f"search: n_products={n_products} search_p50_ms={pct(s, 50):.0f} search_p95_ms={pct(s, 95):.0f} "
        f"uncached_p50_ms={pct(u, 50):.0f} uncached_p95_ms={pct(u, 95):.0f} "
        f"page_p95_ms={pct(p, 95):.0f} autocomplete_p95_ms={pct(a, 95):.0f}"
    )


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)).as_string(cur.cursor.connection))
        return cur.fetchone()[0]


def _trgm() -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cur.fetchone() is not None


if __name__ == "__main__":
    main()
