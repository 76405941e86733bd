"""Benchmark dbt metadata sync; prints figures, never fails on timings.

    .venv/bin/python bench/dbt_sync.py                  # jaffle_shop, then a generated 2,000-model project
    .venv/bin/python bench/dbt_sync.py --models 10000
    .venv/bin/python bench/dbt_sync.py --smoke          # CI: 50 models, databases dropped afterwards

1. jaffle_shop for real: built in PostgreSQL (``mpt_bench_jaffle``, dropped at the end), its
   warehouse synced by the database connector, then its dbt artifacts: first dbt sync, no-op
   re-sync (catalog writes counted).
2. A generated project of ``--models`` models (10 documented columns, 2 tests each, each model
   built from the previous two): the warehouse's assets are written into the catalog through
   the sync engine (as a database sync would, no real tables), then the dbt sync is timed first,
   as a no-op, and after 1% of the test results changed.

The catalog goes into ``mp_dbt_bench`` (``BENCH_DATABASE_URL`` to change it; created and migrated
on first use). The last line reads
``dbt_sync: jaffle_first_s=N jaffle_noop_s=N jaffle_noop_writes=N models=N first_s=N noop_s=N noop_writes=N changed_s=N``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesh_portal.settings.test")
# Its own database, never the portal's nor the test suite's (``TEST_DATABASE_URL`` is ignored);
# ``--smoke`` (CI) uses ``<name>_smoke`` and drops it at the end.
SMOKE = "--smoke" in sys.argv
os.environ["TEST_DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_dbt_bench"
) + ("_smoke" if SMOKE else "")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

SERVER = os.environ.get("BENCH_WAREHOUSE_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
JAFFLE_DB = "mpt_bench_jaffle"
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")


def _admin(statement) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(statement)


def _portal_database() -> None:
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(SERVER, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0)


def _timed_sync(platform) -> tuple[float, int, object]:
    """(seconds, catalog writes, run)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.sync.services import platform_sync

    tables = ('"catalog_asset"', '"catalog_column"', '"catalog_assetrelation"', '"catalog_qualitycheck"')
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        run = platform_sync(platform=platform)
        elapsed = time.perf_counter() - started
    if run.status != "succeeded":
        raise SystemExit(f"sync failed: {run.error}")
    writes = sum(
        1
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(WRITE_VERBS) and any(t in q["sql"] for t in tables)
    )
    return elapsed, writes, run


def _jaffle() -> dict[str, float]:
    from apps.demo.jaffle_shop import SCHEMA, jaffle_shop_path, load_jaffle_shop
    from apps.platforms.models import Platform

    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(JAFFLE_DB)))
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(JAFFLE_DB)))
    try:
        info = psycopg.conninfo.conninfo_to_dict(SERVER)
        info["dbname"] = JAFFLE_DB
        started = time.perf_counter()
        load_jaffle_shop(psycopg.conninfo.make_conninfo(**info))
        print(f"jaffle_shop built in PostgreSQL: {time.perf_counter() - started:.2f} s")
        Platform.objects.filter(slug__startswith="bench-jaffle").delete()
        warehouse = Platform.objects.create(
            slug="bench-jaffle-wh",
            name="bench jaffle warehouse",
            kind="postgresql",
            host=info.get("host", ""),
            port=int(info.get("port", 5432)),
            database=JAFFLE_DB,
            username=info.get("user", "postgres"),
            include_schemas=[SCHEMA],
        )
        dbt = Platform.objects.create(
            slug="bench-jaffle-dbt",
            name="bench jaffle dbt",
            kind="dbt",
            warehouse=warehouse,
            database="jaffle_shop",
            dbt_artifacts_path=str(jaffle_shop_path() / "target"),
        )
        wh_s, _, _ = _timed_sync(warehouse)
        first_s, first_w, run = _timed_sync(dbt)
        noop_s, noop_w, noop = _timed_sync(dbt)
        print(f"jaffle_shop warehouse sync: {wh_s:.3f} s")
        print(f"jaffle_shop dbt first sync: {first_s:.3f} s ({run.created_count} nodes, {first_w} catalog writes)")
        print(
            f"jaffle_shop dbt no-op re-sync: {noop_s:.3f} s ({noop.unchanged_count} unchanged, {noop_w} catalog writes)"
        )
        Platform.objects.filter(pk__in=[dbt.pk, warehouse.pk]).delete()
        return {"jaffle_first_s": first_s, "jaffle_noop_s": noop_s, "jaffle_noop_writes": noop_w}
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(JAFFLE_DB)))


def _generated_manifest(models: int) -> tuple[dict, dict]:
    version = "https://schemas.getdbt.com/dbt/{}.json"
    nodes: dict[str, dict] = {}
    results = []
    for i in range(models):
        uid = f"model.bench.m{i:05d}"
        parents = [f"model.bench.m{j:05d}" for j in (i - 1, i - 2) if j >= 0]
        nodes[uid] = {
            "unique_id": uid,
            "resource_type": "model",
            "name": f"m{i:05d}",
            "database": "bench",
            "schema": "marts",
            "alias": f"m{i:05d}",
            "description": f"Model {i}",
            "tags": ["bench"],
            "meta": {"owner": "bench"},
            "config": {"materialized": "table", "enabled": True},
            "depends_on": {"nodes": parents},
            "columns": {f"c{c}": {"name": f"c{c}", "description": f"Column {c} of model {i}"} for c in range(10)},
        }
        for test in ("unique", "not_null"):
            tid = f"test.bench.{test}_m{i:05d}_c0"
            nodes[tid] = {
                "unique_id": tid,
                "resource_type": "test",
                "name": f"{test}_m{i:05d}_c0",
                "database": "bench",
                "schema": "marts_tests",
                "column_name": "c0",
                "attached_node": uid,
                "test_metadata": {"name": test},
                "config": {"enabled": True},
                "depends_on": {"nodes": [uid]},
            }
            results.append({"unique_id": tid, "status": "pass", "timing": [], "message": None, "failures": 0})
    manifest = {
        "metadata": {"dbt_schema_version": version.format("manifest/v12"), "project_name": "bench"},
        "nodes": nodes,
        "sources": {},
        "exposures": {},
    }
    run_results = {
        "metadata": {"dbt_schema_version": version.format("run-results/v6"), "generated_at": "2026-01-01T00:00:00Z"},
        "results": results,
    }
    return manifest, run_results


def _generated(models: int) -> dict[str, float]:
    from django.db import transaction
    from django.utils import timezone

    from apps.platforms.models import Platform
    from apps.sync.connectors import DiscoveredAsset, DiscoveredColumn
    from apps.sync.engine import catalog_apply

    Platform.objects.filter(slug__startswith="bench-gen").delete()
    warehouse = Platform.objects.create(
        slug="bench-gen-wh", name="bench generated warehouse", kind="postgresql", database="bench"
    )
    with transaction.atomic():  # what a database sync would have found
        catalog_apply(
            platform=warehouse,
            now=timezone.now(),
            discovered=[
                DiscoveredAsset(
                    schema="marts",
                    name=f"m{i:05d}",
                    kind="table",
                    columns=tuple(
                        DiscoveredColumn(name=f"c{c}", ordinal=c + 1, data_type="integer") for c in range(10)
                    ),
                )
                for i in range(models)
            ],
        )
    manifest, run_results = _generated_manifest(models)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        (target / "manifest.json").write_text(json.dumps(manifest))
        (target / "run_results.json").write_text(json.dumps(run_results))
        size_mb = (target / "manifest.json").stat().st_size / 1e6
        dbt = Platform.objects.create(
            slug="bench-gen-dbt",
            name="bench generated dbt",
            kind="dbt",
            warehouse=warehouse,
            dbt_artifacts_path=str(target),
        )
        first_s, first_w, _ = _timed_sync(dbt)
        noop_s, noop_w, _ = _timed_sync(dbt)
        for result in run_results["results"][::100]:
            result.update(status="fail", failures=1)
        (target / "run_results.json").write_text(json.dumps(run_results))
        changed_s, changed_w, _ = _timed_sync(dbt)
    print(f"generated project: {models} models, {2 * models} tests, manifest {size_mb:.1f} MB")
    print(f"  first dbt sync: {first_s:.2f} s ({first_w} catalog writes)")
    print(f"  no-op re-sync: {noop_s:.2f} s ({noop_w} catalog writes)")
    print(f"  re-sync after 1% of test results changed: {changed_s:.2f} s ({changed_w} catalog writes)")
    Platform.objects.filter(pk__in=[dbt.pk, warehouse.pk]).delete()
    return {"models": models, "first_s": first_s, "noop_s": noop_s, "noop_writes": noop_w, "changed_s": changed_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument(
        "--smoke", action="store_true", help="CI size: 50 models; the catalog database dropped afterwards"
    )
    args = parser.parse_args()
    if args.smoke:
        args.models = 50
    django.setup()
    _portal_database()
    try:
        figures = {**_jaffle(), **_generated(args.models)}
    finally:
        if args.smoke:
            from django.db import connection

            portal = connection.settings_dict["NAME"]
            connection.close()
            _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(portal)))
    print("dbt_sync: " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
