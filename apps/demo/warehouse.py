"""Load the AdventureWorks schema (``shared/datasets/adventureworks/schema.sql``) into a database.

The script is written for ``psql``: its meta-commands (lines starting with a backslash) are
dropped and the rest runs in one transaction through psycopg's simple-query protocol.

The embedded PostgreSQL wheel (``pgserver``) ships without the contrib extensions the script
creates (``uuid-ossp`` for ``uuid_generate_v1()`` column defaults, ``tablefunc`` for one
``crosstab`` view). Where an extension is not available we create a stand-in with the same
signature — ``gen_random_uuid()`` (PostgreSQL 13+ core) and a ``crosstab`` that returns no rows
(only that one view, ``sales.vsalespersonsalesbyfiscalyears``, is then empty) — so the catalog
is identical either way. The tables are filled afterwards by ``warehouse_rows`` (generated rows).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from django.conf import settings

_EXTENSION_LINES = {
    'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";': "uuid-ossp",
    "CREATE EXTENSION tablefunc;": "tablefunc",
}
_STAND_INS = {
    "uuid-ossp": (
        "CREATE OR REPLACE FUNCTION public.uuid_generate_v1() RETURNS uuid "
        "LANGUAGE sql VOLATILE AS 'SELECT gen_random_uuid()';"
    ),
    "tablefunc": (
        "CREATE OR REPLACE FUNCTION public.crosstab(text, text) RETURNS SETOF record "
        "LANGUAGE plpgsql AS 'BEGIN RETURN; END';"
    ),
}
BUSINESS_SCHEMAS = ("humanresources", "person", "production", "purchasing", "sales")


def adventureworks_path() -> Path:
    return Path(settings.SHARED_DATASETS_DIR) / "adventureworks" / "schema.sql"


def load_adventureworks(conninfo: str, path: Path | None = None) -> None:
    """Create the AdventureWorks schemas in the (empty) database at ``conninfo``.

    Raises ``FileNotFoundError`` when the dataset is missing and ``psycopg.Error`` when the
    script fails (nothing is left half-loaded: it runs in one transaction).
    """
    path = path or adventureworks_path()
    with psycopg.connect(conninfo) as conn:
        available = {row[0] for row in conn.execute("SELECT name FROM pg_available_extensions")}
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("\\"):
                continue
            extension = _EXTENSION_LINES.get(line.strip())
            if extension and extension not in available:
                line = _STAND_INS[extension]
            lines.append(line)
        conn.execute("\n".join(lines))  # no parameters: simple-query protocol, many statements


def is_loaded(conninfo: str) -> bool:
    """True when the database already has the AdventureWorks business schemas."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = ANY(%s)", [list(BUSINESS_SCHEMAS)]
        ).fetchone()
    return row[0] == len(BUSINESS_SCHEMAS)
