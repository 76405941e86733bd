"""Benchmark metadata sync (``platform_sync``) on the local PostgreSQL; prints figures.

    .venv/bin/python bench/sync.py                       # 10,000 tables x 20 columns (the issue's goal)
    .venv/bin/python bench/sync.py --tables 0            # AdventureWorks (5 business schemas)
    .venv/bin/python bench/sync.py --drop                # drop the generated warehouse afterwards
    .venv/bin/python bench/sync.py --tables 100000       # issue 13's scale
    .venv/bin/python bench/sync.py --smoke               # CI: 40 tables x 5 columns, everything dropped

For each warehouse it times: discovery alone, the first sync (everything created), a no-op
re-sync (everything unchanged; catalog writes and queries counted), and a re-sync after 1% of
the tables got a new column comment. The last line is the summary, always in this form:

    sync: tables=N first_s=N first_tables_per_min=N noop_resync_s=N changed_resync_s=N peak_rss_mb=N

(goals, issue 3: >= 10,000 tables per minute for the first sync, < 10 s for a no-op re-sync; issue 13:
the same at 100,000 tables x 20 columns, with the peak memory of the process that syncs, which is
what a worker would need: ``peak_rss_mb``, the process's maximum resident set size).

It never touches the portal's own databases: the catalog goes into ``mesh_portal_bench_sync``
(``BENCH_DATABASE_URL`` to change it; created and migrated on first use), and each warehouse is a
database of its own (``mpt_bench_aw``, ``mpt_bench_<tables>x<columns>``), kept for the next run
unless ``--drop``. Generated tables have ``--columns`` columns, a table comment, a comment on
every other column, every tenth table a foreign key to the previous one, and a SELECT privilege
for the role ``<database>_reader`` (so the existing-privileges sync is measured too).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesh_portal.settings.test")
# Its own database, never the portal's nor the test suite's (``TEST_DATABASE_URL`` is ignored);
# ``--smoke`` (CI) uses ``<name>_smoke`` and drops it at the end.
SMOKE = "--smoke" in sys.argv
os.environ["TEST_DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesh_portal_bench_sync"
) + ("_smoke" if SMOKE else "")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

SERVER = os.environ.get("BENCH_WAREHOUSE_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BATCH_TABLES = 500  # per transaction: one transaction for 10,000 tables runs out of lock slots
# Warehouse databases (and the reader role) are named <prefix><tables>x<columns>.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "mpt_bench_")


def _conninfo(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def _database_exists(dbname: str) -> bool:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone() is not None


def _create_database(dbname: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def _drop_database(dbname: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        # Its only privileges were in that database, so the reader role can go now.
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(_reader_role(dbname))))


def _portal_database() -> None:
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    if not _database_exists(name):
        _create_database(name)
    call_command("migrate", verbosity=0)


def _adventureworks() -> tuple[str, list[str]]:
    from apps.demo.warehouse import BUSINESS_SCHEMAS, load_adventureworks

    dbname = f"{DB_PREFIX}aw"
    if not _database_exists(dbname):
        _create_database(dbname)
        load_adventureworks(_conninfo(dbname))
    return dbname, list(BUSINESS_SCHEMAS)


def _generated(tables: int, columns: int, schemas: int) -> tuple[str, list[str]]:
    dbname = f"{DB_PREFIX}{tables}x{columns}"
    names = [f"bench_{i:02d}" for i in range(schemas)]
    if _database_exists(dbname):
        _grant_reader(dbname, names)
        return dbname, names
    _create_database(dbname)
    started = time.perf_counter()
    with psycopg.connect(_conninfo(dbname), autocommit=True) as conn:
        for schema in names:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for start in range(0, tables, BATCH_TABLES):
            statements = []
            for i in range(start, min(start + BATCH_TABLES, tables)):
                schema = names[i % schemas]
                cols = ["id bigint PRIMARY KEY"] + [
                    f"c{j:02d} {('text', 'integer', 'numeric(12, 2)', 'timestamptz')[j % 4]}" for j in range(1, columns)
                ]
                if i % 10 == 9:
                    previous = names[(i - 1) % schemas]
                    cols.append(f"t{i - 1}_id bigint REFERENCES {previous}.t{i - 1} (id)")
                statements.append(f"CREATE TABLE {schema}.t{i} ({', '.join(cols)});")
                statements.append(f"COMMENT ON TABLE {schema}.t{i} IS 'Generated table number {i}.';")
                statements.extend(
                    f"COMMENT ON COLUMN {schema}.t{i}.c{j:02d} IS 'Column {j} of table {i}.';"
                    for j in range(1, columns, 2)
                )
            with conn.transaction():
                conn.execute("\n".join(statements))
    _grant_reader(dbname, names)
    print(
        f"  generated {tables} tables x {columns} columns in {schemas} schemas in {time.perf_counter() - started:.1f} s"
    )
    return dbname, names


def _reader_role(dbname: str) -> str:
    return f"{dbname}_reader"


def _grant_reader(dbname: str, schemas: list[str]) -> None:
    """SELECT on every generated table for ``<dbname>_reader`` (created if missing; idempotent)."""
    role = _reader_role(dbname)
    with psycopg.connect(_conninfo(dbname), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        for schema in schemas:
            conn.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )


def _touch_one_percent(dbname: str, schemas: list[str]) -> int:
    """Comment on the first column of 1% of the tables (at least one); returns how many tables."""
    with psycopg.connect(_conninfo(dbname), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname, a.attname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1 "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) AND NOT c.relispartition ORDER BY 1, 2",
            [schemas],
        ).fetchall()
        chosen = rows[::100][: max(1, len(rows) // 100)]
        stamp = time.time_ns()
        with conn.transaction():
            for schema, table, column in chosen:
                conn.execute(
                    sql.SQL("COMMENT ON COLUMN {}.{}.{} IS {}").format(
                        sql.Identifier(schema),
                        sql.Identifier(table),
                        sql.Identifier(column),
                        sql.Literal(f"Touched by the benchmark at {stamp}."),
                    )
                )
    return len(chosen)


def _peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (it runs ``platform_sync`` as the worker would)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_sync(platform, label: str) -> tuple[float, object]:
    """Sync once, print the figures; returns (seconds, the SyncRun)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.sync.services import platform_sync

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        run = platform_sync(platform=platform)
        elapsed = time.perf_counter() - started
    writes = sum(
        1
        for q in ctx.captured_queries
        if q["sql"].lstrip().split(" ", 1)[0] in {"INSERT", "UPDATE", "DELETE"} and '"catalog_' in q["sql"]
    )
    if run.status != "succeeded":
        raise SystemExit(f"{label}: sync failed: {run.error}")
    print(
        f"  {label:<24} {elapsed:7.2f} s   created {run.created_count:>6}  updated {run.updated_count:>6}  "
        f"unchanged {run.unchanged_count:>6}  removed {run.removed_count:>4}   "
        f"portal queries {len(ctx.captured_queries):>4}, catalog writes {writes}, peak RSS {_peak_mb():.0f} MB"
    )
    return elapsed, run


def bench(dbname: str, schemas: list[str]) -> str:
    """Run the three syncs on ``dbname``; returns the summary line."""
    from apps.catalog.models import Asset, AssetPrivilege, AssetRelation, Column
    from apps.platforms.models import Platform
    from apps.sync.connectors import get_connector

    info = psycopg.conninfo.conninfo_to_dict(_conninfo(dbname))
    Platform.objects.filter(slug=f"bench-{dbname}".replace("_", "-")).delete()
    platform = Platform.objects.create(
        slug=f"bench-{dbname}".replace("_", "-"),
        name=f"Bench {dbname}",
        kind="postgresql",
        host=info.get("host", "127.0.0.1"),
        port=int(info.get("port", 5432)),
        database=dbname,
        username=info.get("user", "postgres"),
        include_schemas=schemas,
        sync_enabled=False,
    )
    try:
        started = time.perf_counter()
        discovered = get_connector(platform).discover()
        print(
            f"  {'discovery only':<24} {time.perf_counter() - started:7.2f} s   "
            f"{len(discovered)} assets, {sum(len(a.columns) for a in discovered)} columns"
        )
        first_s, first = _timed_sync(platform, "first sync")
        assets = Asset.objects.filter(platform=platform)
        print(
            f"  {'':<24}           catalog: {assets.count()} assets, "
            f"{Column.objects.filter(asset__platform=platform).count()} columns, "
            f"{AssetRelation.objects.filter(source__platform=platform).count()} relations, "
            f"{AssetPrivilege.objects.filter(asset__platform=platform).count()} privileges"
        )
        noop_s, _ = _timed_sync(platform, "no-op re-sync")
        touched = _touch_one_percent(dbname, schemas)
        changed_s, _ = _timed_sync(platform, f"re-sync, {touched} changed")
    finally:
        platform.delete()
    per_min = round(first.created_count / first_s * 60) if first_s else 0
    return (
        f"sync: tables={first.created_count} first_s={first_s:.1f} first_tables_per_min={per_min} "
        f"noop_resync_s={noop_s:.2f} changed_resync_s={changed_s:.2f} peak_rss_mb={_peak_mb():.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=10_000, help="generate this many tables (0: AdventureWorks)")
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--schemas", type=int, default=10)
    parser.add_argument("--drop", action="store_true", help="drop the warehouse database afterwards")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI size: 40 tables x 5 columns; warehouse and catalog databases dropped afterwards",
    )
    args = parser.parse_args()
    if args.smoke:
        args.tables, args.columns, args.schemas, args.drop = 40, 5, 2, True

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # CaptureQueriesContext records regardless
    _portal_database()
    if args.tables:
        dbname, schemas = _generated(args.tables, args.columns, args.schemas)
    else:
        dbname, schemas = _adventureworks()
    print(f"warehouse {dbname} ({', '.join(schemas[:5])}{', ...' if len(schemas) > 5 else ''})")
    try:
        summary = bench(dbname, schemas)
    finally:
        if args.drop:
            _drop_database(dbname)
        if args.smoke:
            from django.db import connection

            portal = connection.settings_dict["NAME"]
            connection.close()
            with psycopg.connect(SERVER, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(portal)))
    print(summary)


if __name__ == "__main__":
    main()
