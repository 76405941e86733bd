"""The demo warehouse's generated rows: loaded into a fresh AdventureWorks database, every table
has rows, every foreign key finds its parent, and the two facts the demo contracts rely on are
there (a fresh pay change; four shipped orders without a ship date)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from apps.demo import warehouse_rows
from apps.demo.warehouse import BUSINESS_SCHEMAS, load_adventureworks
from tests.conftest import _server_conninfo

NOW = datetime(2026, 3, 14, 15, 9, 26)  # naive UTC, as the loader uses


@pytest.fixture(scope="module")
def filled_warehouse(pg_admin_conninfo):
    """A new database with the AdventureWorks schema and the generated rows (seed 15, NOW)."""
    dbname = f"mpt_rows_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    conninfo = _server_conninfo(dbname)
    try:
        load_adventureworks(conninfo)
        assert not warehouse_rows.rows_loaded(conninfo)
        counts = warehouse_rows.load_rows(conninfo, now=NOW)
        yield conninfo, counts
    finally:
        with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def test_every_table_has_a_few_thousand_rows_at_most(filled_warehouse):
    # given
    conninfo, counts = filled_warehouse
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)",
            [list(BUSINESS_SCHEMAS)],
        ).fetchall()
        # then: the 68 tables, each with what was generated for it
        assert sorted(counts) == sorted(t for (t,) in tables) and len(counts) == 68
        for name, expected in counts.items():
            found = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*name.split(".")))
            ).fetchone()[0]
            assert found == expected > 0, name
        assert max(counts.values()) <= 5000
        assert warehouse_rows.rows_loaded(conninfo)
        # the materialized views were refreshed, sequences continue after the rows
        assert conn.execute("SELECT count(*) FROM production.vproductanddescription").fetchone()[0] > 0
        assert (
            conn.execute("SELECT nextval(pg_get_serial_sequence('sales.salesorderheader', 'salesorderid'))").fetchone()[
                0
            ]
            == counts["sales.salesorderheader"] + 1
        )


def test_every_foreign_key_finds_its_parent(filled_warehouse):
    # given: every foreign key of the business schemas, with its columns
    conninfo, _ = filled_warehouse
    with psycopg.connect(conninfo) as conn:
        keys = conn.execute(
            """
            SELECT con.conname, cn.nspname, c.relname, pn.nspname, p.relname, con.convalidated,
                   ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
                   ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
            JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
            WHERE con.contype = 'f' AND cn.nspname = ANY(%s)""",
            [list(BUSINESS_SCHEMAS)],
        ).fetchall()
        assert len(keys) > 80
        for name, child_schema, child, parent_schema, parent, validated, columns, parent_columns in keys:
            # when: children whose (non-null) key has no parent row are counted
            match = sql.SQL(" AND ").join(
                sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(cc))
                for cc, pc in zip(columns, parent_columns, strict=True)
            )
            not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(cc)) for cc in columns)
            orphans = conn.execute(
                sql.SQL("SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
                    sql.Identifier(child_schema, child), not_null, sql.Identifier(parent_schema, parent), match
                )
            ).fetchone()[0]
            # then
            assert validated and orphans == 0, name


def test_the_facts_the_demo_contracts_measure(filled_warehouse):
    conninfo, _ = filled_warehouse
    with psycopg.connect(conninfo) as conn:
        # the newest pay change is FRESH_HOURS old (HR's one-day latency SLA holds)
        newest = conn.execute("SELECT max(modifieddate) FROM humanresources.employeepayhistory").fetchone()[0]
        assert newest == NOW - timedelta(hours=warehouse_rows.FRESH_HOURS)
        # four shipped orders lack a ship date (Sales' rule fails), totals add up (another passes)
        bad, wrong_totals = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 5 AND shipdate IS NULL), "
            "count(*) FILTER (WHERE totaldue <> subtotal + taxamt + freight) FROM sales.salesorderheader"
        ).fetchone()
        assert (bad, wrong_totals) == (warehouse_rows.BAD_SHIPPED_ORDERS, 0)
        # subtypes of a business entity never share it; e-mail addresses look like e-mail addresses
        shared = conn.execute("""
            SELECT count(*) FROM (SELECT businessentityid FROM person.person UNION ALL SELECT businessentityid FROM sales.store
                                  UNION ALL SELECT businessentityid FROM purchasing.vendor) s
            GROUP BY businessentityid HAVING count(*) > 1""").fetchall()
        assert shared == []
        assert (
            conn.execute("SELECT count(*) FROM person.emailaddress WHERE emailaddress !~ '^[^@ ]+@[^@ ]+$'").fetchone()[
                0
            ]
            == 0
        )


def test_the_same_seed_and_day_give_the_same_rows(filled_warehouse):
    # when: generated again with the same seed and clock (no database)
    again = warehouse_rows.generate_rows(now=NOW)
    # then: the rows loaded before, in insertion order
    conninfo, _ = filled_warehouse
    assert list(again) == warehouse_rows.ORDER
    with psycopg.connect(conninfo) as conn:
        for name, key in (("person.person", "businessentityid"), ("sales.salesorderheader", "salesorderid")):
            table = again[name]
            loaded = conn.execute(
                sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in table.columns),
                    sql.Identifier(*name.split(".")),
                    sql.Identifier(key),
                )
            ).fetchall()
            assert loaded == table.rows, name
