"""Benchmark contract quality rules on PostgreSQL; prints figures, never fails on timings.

    .venv/bin/python bench/quality.py            # 1,000 rules over 100 tables of 1,000,000 rows
    .venv/bin/python bench/quality.py --smoke    # 100 rules over 10 tables of 1,000 rows (< 60 s)
    .venv/bin/python bench/quality.py --tables 20 --rows 100000 --keep

What it does: creates a warehouse database ``mpt_bench_quality_wh`` (``BENCH_WAREHOUSE_PG_URL``
names the server) with ``--tables`` tables of ``--rows`` generated rows (id, customer_id,
status, amount, created_at; a few NULLs and bad statuses), builds one ODCS contract with ten
rules per table (rowCount, nullValues, missingValues, invalidValues by list and by pattern,
duplicateValues, a custom SQL rule, percent units and range operators) and runs them the way
the worker does (``apps.contracts.quality.contract_quality_evaluate``: one read-only
connection, a READ ONLY transaction and statement timeout per rule). The database is dropped
afterwards unless ``--keep`` (then reused when its shape matches).

Last line: ``quality: rules=N rules_per_s=N peak_mb=N`` (peak resident memory of this process,
which plays the worker).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesh_portal.settings.test")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

SERVER = os.environ.get("BENCH_WAREHOUSE_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DBNAME = "mpt_bench_quality_wh"


def conninfo(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def build(tables: int, rows: int, keep: bool) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DBNAME]).fetchone()
        if exists and not keep:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DBNAME)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
    with psycopg.connect(conninfo(DBNAME), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for i in range(tables):
            table = sql.Identifier("bench", f"t{i:03d}")
            have = conn.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [f"bench.t{i:03d}"]
            ).fetchone()
            if have and have[0] == rows:
                continue
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} AS SELECT g AS id, (g %% 50000) AS customer_id, "
                    "CASE WHEN g %% 997 = 0 THEN 'bogus' WHEN g %% 3 = 0 THEN 'placed' ELSE 'completed' END AS status, "
                    "CASE WHEN g %% 1009 = 0 THEN NULL ELSE (g %% 500)::numeric END AS amount, "
                    "now() - (g %% 86400) * interval '1 second' AS created_at FROM generate_series(1, %s) g"
                ).format(table),
                [rows],
            )
            conn.execute(sql.SQL("ANALYZE {}").format(table))


def contract(tables: int) -> dict:
    schema = []
    for i in range(tables):
        schema.append(
            {
                "name": f"t{i:03d}",
                "quality": [
                    {"name": "rows", "metric": "rowCount", "mustBeGreaterThan": 0},
                    {"name": "dup ids", "metric": "duplicateValues", "arguments": {"properties": ["id"]}, "mustBe": 0},
                    {
                        "name": "sql negative",
                        "type": "sql",
                        "query": "SELECT COUNT(*) FROM ${object} WHERE amount < 0",
                        "mustBe": 0,
                    },
                ],
                "properties": [
                    {"name": "id", "quality": [{"name": "id nulls", "metric": "nullValues", "mustBe": 0}]},
                    {
                        "name": "status",
                        "quality": [
                            {
                                "name": "status list",
                                "metric": "invalidValues",
                                "arguments": {"validValues": ["placed", "completed"]},
                                "mustBeLessThan": 1000,
                            },
                            {
                                "name": "status pattern",
                                "metric": "invalidValues",
                                "arguments": {"pattern": "^[a-z]+$"},
                                "mustBe": 0,
                            },
                            {
                                "name": "status missing",
                                "metric": "missingValues",
                                "arguments": {"missingValues": [""]},
                                "mustBe": 0,
                            },
                        ],
                    },
                    {
                        "name": "amount",
                        "quality": [
                            {"name": "amount nulls %", "metric": "nullValues", "unit": "percent", "mustBeLessThan": 1},
                            {"name": "amount nulls", "metric": "nullValues", "mustNotBeBetween": [1, 2]},
                        ],
                    },
                    {
                        "name": "customer_id",
                        "quality": [
                            {"name": "repeat customers", "metric": "duplicateValues", "mustBeGreaterOrEqualTo": 0}
                        ],
                    },
                ],
            }
        )
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "bench",
        "version": "1.0.0",
        "status": "active",
        "schema": schema,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10 tables of 1,000 rows (100 rules)")
    parser.add_argument("--tables", type=int, default=100)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=300.0, help="statement timeout per rule, seconds")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the warehouse database")
    args = parser.parse_args()
    if args.smoke:
        args.tables, args.rows = 10, 1000
    django.setup()
    from apps.contracts.quality import contract_quality_evaluate
    from apps.platforms.models import Platform

    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    t0 = time.perf_counter()
    build(args.tables, args.rows, args.keep)
    print(f"built {args.tables} tables x {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
    platform = Platform(
        name="bench",
        slug="bench",
        kind="postgresql",
        host=info.get("host", "127.0.0.1"),
        port=int(info.get("port", 5432)),
        database=DBNAME,
        username=info.get("user", "postgres"),
    )
    document = contract(args.tables)
    t0 = time.perf_counter()
    outcomes = contract_quality_evaluate(
        platform=platform, schema="bench", document=document, timeout_seconds=args.timeout
    )
    elapsed = time.perf_counter() - t0
    statuses = {s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "error")}
    errors = [o.reason for o in outcomes if o.status == "error"][:3]
    print(f"results: {statuses}" + (f" first errors: {errors}" if errors else ""))
    print(f"elapsed {elapsed:.2f} s for {len(outcomes)} rules")
    if not args.keep:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DBNAME)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"quality: rules={len(outcomes)} rules_per_s={len(outcomes) / elapsed:.1f} peak_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
