"""Helpers shared by the benchmarks (not a benchmark: ``make bench-smoke`` skips ``bench/_*.py``).

- :func:`copy_models`: bulk-load rows with PostgreSQL ``COPY`` where the column list comes from the
  model (``Model._meta.concrete_fields``), so a column added by a migration gets its model default
  instead of breaking the benchmark (``null value in column ... violates not-null constraint``).
- :func:`database_create` / :func:`database_drop`: the benchmarks' own databases, never the portal's.
- :func:`pct`: a percentile of a list of numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg import sql


def _admin_conninfo(server_url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = "postgres"
    return psycopg.conninfo.make_conninfo(**info)


def database_exists(server_url: str, dbname: str) -> bool:
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone() is not None


def database_create(server_url: str, dbname: str) -> None:
    """``CREATE DATABASE dbname`` on the server of ``server_url`` (any database URL of that server)."""
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def database_drop(server_url: str, dbname: str) -> None:
    """``DROP DATABASE IF EXISTS dbname WITH (FORCE)``."""
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def copy_models(cursor, model, rows: Iterable[Mapping[str, Any]]) -> int:
    """COPY ``rows`` into ``model``'s table; returns how many rows were written.

    ``cursor``: a psycopg cursor (``django_cursor.cursor``). ``rows``: mappings keyed by field
    ``attname`` (``domain_id``, not ``domain``). The column list is every concrete field except
    an auto primary key; a field missing from a row gets its model default (``auto_now`` /
    ``auto_now_add`` fields get the current time), converted with ``get_db_prep_save`` exactly as
    the ORM would. Raises ``ValueError`` when a row has a key that is no field of the model; a
    NOT NULL field without a default that a row leaves out fails in PostgreSQL with its name.
    """
    from django.db import connection
    from django.db.models import AutoField, BigAutoField, SmallAutoField
    from django.utils import timezone

    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoField | BigAutoField | SmallAutoField)]
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    )
    unknown: set[str] | None = None
    n = 0
    with cursor.copy(stmt) as copy:
        for row in rows:
            if unknown is None:  # a typo in a benchmark's row would otherwise silently become a default
                unknown = set(row) - {f.attname for f in fields}
                if unknown:
                    raise ValueError(f"{model.__name__}: no such fields {sorted(unknown)}")
            copy.write_row(
                [
                    f.get_db_prep_save(row[f.attname] if f.attname in row else defaults[f.attname], connection)
                    for f in fields
                ]
            )
            n += 1
    return n


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a benchmark's own server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
