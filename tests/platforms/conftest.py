"""Platforms pointing at the session's AdventureWorks warehouse, and throwaway schemas in it.

Tests that change the warehouse do so only in a schema of their own (``make_scratch_schema``),
dropped afterwards, so the AdventureWorks schemas stay as loaded for every other test.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from types import SimpleNamespace

import psycopg
import pytest
from psycopg import sql

from apps.demo.warehouse import BUSINESS_SCHEMAS
from tests.platforms.factories import PlatformFactory


@pytest.fixture
def aw_platform(db, aw_warehouse):
    """A PostgreSQL platform on the warehouse that syncs the five AdventureWorks business schemas."""
    return PlatformFactory(
        name="AdventureWorks", slug="adventureworks", host=aw_warehouse["host"], port=aw_warehouse["port"],
        database=aw_warehouse["dbname"], username=aw_warehouse["user"], include_schemas=list(BUSINESS_SCHEMAS),
    )


@pytest.fixture
def warehouse_sql(aw_warehouse) -> Callable[..., None]:
    """Run SQL (autocommit, superuser) on the warehouse: ``warehouse_sql("CREATE ...")``."""

    def run(statement, params=None) -> None:
        with psycopg.connect(aw_warehouse["conninfo"], autocommit=True) as conn:
            conn.execute(statement, params)

    return run


@pytest.fixture
def make_scratch_schema(db, aw_warehouse, warehouse_sql):
    """Factory: ``make_scratch_schema(prefix)`` creates a new empty schema in the warehouse and a
    platform syncing only it.

    Each call returns ``SimpleNamespace(name, platform, ident, sql)``: ``ident`` is the schema as
    a quoted identifier (for building statements), ``sql`` is ``warehouse_sql``. The schemas are
    dropped after the test.
    """
    namespaces = []

    def make(prefix: str = "mpt_scratch") -> SimpleNamespace:
        name = f"{prefix}_{secrets.token_hex(3)}"
        warehouse_sql(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        namespaces.append(name)
        platform = PlatformFactory(
            host=aw_warehouse["host"], port=aw_warehouse["port"], database=aw_warehouse["dbname"],
            username=aw_warehouse["user"], include_schemas=[name],
        )
        ident = sql.Identifier(name).as_string(None)
        return SimpleNamespace(name=name, platform=platform, ident=ident, sql=warehouse_sql)

    yield make
    for name in namespaces:
        warehouse_sql(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
