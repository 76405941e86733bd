"""Build dbt's jaffle_shop (``shared/datasets/jaffle_shop``) in a PostgreSQL database, as
``dbt build`` would, without dbt.

- Seeds: each seed of the manifest becomes a table in its schema (``analytics``) with the column
  types dbt gave it (read from ``catalog.json``), loaded from ``seeds/<name>.csv`` with COPY.
- Models: each model's ``compiled_code`` (in the manifest) runs in dependency order as
  ``CREATE VIEW`` or ``CREATE TABLE ... AS`` per its materialization (incremental builds a
  table; ephemeral models are already inlined as CTEs in their children's compiled code).

The compiled code names relations with three parts (``"jaffle_shop"."analytics"."orders"``);
PostgreSQL only accepts the current database there, so each known relation name is rewritten
to ``"schema"."name"`` and the project loads into a database of any name. Everything runs in
one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import json
import re
from graphlib import TopologicalSorter
from pathlib import Path

import psycopg
from django.conf import settings
from psycopg import sql

SCHEMA = "analytics"
# A type name as catalog.json spells it: "integer", "text", "numeric(10, 2)", "timestamp without time zone".
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?(\[\])?$")
_MATERIALIZATION_SQL = {
    "view": "CREATE VIEW {} AS {}",
    "table": "CREATE TABLE {} AS {}",
    "incremental": "CREATE TABLE {} AS {}",
}


def jaffle_shop_path() -> Path:
    return Path(settings.SHARED_DATASETS_DIR) / "jaffle_shop"


def is_loaded(conninfo: str, path: Path | None = None) -> bool:
    """True when every seed and non-ephemeral model of the project exists in the database."""
    manifest = _manifest(path or jaffle_shop_path())
    wanted = [
        (n["schema"], n["alias"] or n["name"])
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("seed", "model") and n["config"].get("materialized") != "ephemeral"
    ]
    with psycopg.connect(conninfo) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            [[s for s, _ in wanted], [r for _, r in wanted]],
        ).fetchone()[0]
    return found == len(wanted)


def load_jaffle_shop(conninfo: str, path: Path | None = None) -> dict[str, int]:
    """Create the seeds and models of the project at ``path`` (default: the shared dataset) in
    the database ``conninfo`` points at. Returns ``{"seeds": n, "models": n, "rows": n}``.
    Raises ``psycopg.Error`` (nothing is kept then) or ``ValueError`` for an unexpected
    column type in ``catalog.json``."""
    path = path or jaffle_shop_path()
    manifest = _manifest(path)
    catalog = json.loads((path / "target" / "catalog.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"]
    relation_names = {
        n["relation_name"]: sql.Identifier(n["schema"], n["alias"] or n["name"]).as_string(None)
        for n in list(nodes.values()) + list(manifest.get("sources", {}).values())
        if n.get("relation_name")
    }
    seeds = sorted(uid for uid, n in nodes.items() if n["resource_type"] == "seed")
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    order = TopologicalSorter(
        {uid: [p for p in n["depends_on"]["nodes"] if p in models] for uid, n in models.items()}
    ).static_order()
    counts = {"seeds": 0, "models": 0, "rows": 0}
    with psycopg.connect(conninfo) as conn, conn.transaction():
        schemas = {nodes[uid]["schema"] for uid in seeds} | {n["schema"] for n in models.values()}
        for schema in sorted(schemas):
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for uid in seeds:
            counts["rows"] += _seed(conn, nodes[uid], catalog["nodes"][uid], path)
            counts["seeds"] += 1
        for uid in order:
            node = models[uid]
            template = _MATERIALIZATION_SQL.get(node["config"]["materialized"])
            if template is None:
                continue  # ephemeral: inlined into its children
            code = node["compiled_code"]
            # Longest first, so no name is a prefix of another's replacement.
            for qualified in sorted(relation_names, key=len, reverse=True):
                code = code.replace(qualified, relation_names[qualified])
            target = sql.Identifier(node["schema"], node["alias"] or node["name"])
            conn.execute(sql.SQL(template).format(target, sql.SQL(code)))
            counts["models"] += 1
    return counts


def _manifest(path: Path) -> dict:
    return json.loads((path / "target" / "manifest.json").read_text(encoding="utf-8"))


def _seed(conn: psycopg.Connection, node: dict, built: dict, path: Path) -> int:
    columns = sorted(built["columns"].values(), key=lambda c: c["index"])
    for column in columns:
        if not _TYPE_RE.match(column["type"]):
            raise ValueError(f"Unexpected type {column['type']!r} for seed column {column['name']!r}")
    table = sql.Identifier(node["schema"], node["alias"] or node["name"])
    conn.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            table,
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c["name"]), sql.SQL(c["type"])) for c in columns),
        )
    )
    csv_path = path / node["original_file_path"]
    names = sql.SQL(", ").join(sql.Identifier(c["name"]) for c in columns)
    with conn.cursor() as cur:
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(table, names)) as copy:
            copy.write(csv_path.read_bytes())
        return cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]
