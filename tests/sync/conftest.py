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
        name="AdventureWorks",
        slug="adventureworks",
        host=aw_warehouse["host"],
        port=aw_warehouse["port"],
        database=aw_warehouse["dbname"],
        username=aw_warehouse["user"],
        include_schemas=list(BUSINESS_SCHEMAS),
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
            host=aw_warehouse["host"],
            port=aw_warehouse["port"],
            database=aw_warehouse["dbname"],
            username=aw_warehouse["user"],
            include_schemas=[name],
        )
        ident = sql.Identifier(name).as_string(None)
        return SimpleNamespace(name=name, platform=platform, ident=ident, sql=warehouse_sql)

    yield make
    for name in namespaces:
        warehouse_sql(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


# -- MariaDB -----------------------------------------------------------------------------------

# Every database and user a test process creates on the shared MariaDB starts with this.
MARIADB_PREFIX = f"mpt_{secrets.token_hex(3)}_"


@pytest.fixture(scope="session")
def mariadb_server() -> dict:
    """Where the local MariaDB is, as root: ``{"host", "port", "user", "password"}``
    (``TEST_WAREHOUSE_MARIADB_URL``)."""
    from urllib.parse import unquote, urlsplit

    from django.conf import settings

    url = urlsplit(settings.TEST_WAREHOUSE_MARIADB_URL)
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 3306,
        "user": unquote(url.username or "root"),
        "password": unquote(url.password or ""),
    }


@pytest.fixture
def mariadb_sql(mariadb_server) -> Callable[..., list]:
    """Run SQL as root on the local MariaDB (autocommit): ``mariadb_sql("CREATE ...", params)``;
    returns the rows."""
    import pymysql

    def run(statement: str, params=None) -> list:
        conn = pymysql.connect(**mariadb_server, charset="utf8mb4", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    return run


def mariadb_ident(name: str) -> str:
    """A MariaDB identifier, back-quoted (PyMySQL has no identifier quoting of its own)."""
    return "`" + name.replace("`", "``") + "`"


@pytest.fixture
def make_mariadb_database(db, mariadb_server, mariadb_sql):
    """Factory: ``make_mariadb_database(suffix)`` creates an empty database
    ``<MARIADB_PREFIX><suffix>_<hex>`` and a MariaDB platform (as root) syncing only it.

    Returns ``SimpleNamespace(name, ident, platform, sql)``; ``make_mariadb_database.user(...)``
    creates a login ``(name, password)``. Databases and users are dropped after the test.
    """
    from apps.platforms.choices import PlatformKind

    databases, users = [], []

    def make(suffix: str = "db") -> SimpleNamespace:
        name = f"{MARIADB_PREFIX}{suffix}_{secrets.token_hex(2)}"
        mariadb_sql(f"CREATE DATABASE {mariadb_ident(name)} CHARACTER SET utf8mb4")
        databases.append(name)
        platform = PlatformFactory(
            kind=PlatformKind.MARIADB,
            host=mariadb_server["host"],
            port=mariadb_server["port"],
            database="",
            username=mariadb_server["user"],
            include_schemas=[name],
        )
        if mariadb_server["password"]:
            platform.set_password(mariadb_server["password"])
            platform.save()
        return SimpleNamespace(name=name, ident=mariadb_ident(name), platform=platform, sql=mariadb_sql)

    def user(suffix: str = "u") -> tuple[str, str]:
        name = f"{MARIADB_PREFIX}{suffix}"[:80]
        password = secrets.token_urlsafe(12)
        # '%%': with parameters, PyMySQL formats the statement with the % operator.
        mariadb_sql(f"CREATE USER {mariadb_ident(name)}@'%%' IDENTIFIED BY %s", [password])
        users.append(name)
        return name, password

    make.user = user
    yield make
    for name in databases:
        mariadb_sql(f"DROP DATABASE IF EXISTS {mariadb_ident(name)}")
    for name in users:
        mariadb_sql(f"DROP USER IF EXISTS {mariadb_ident(name)}@'%'")
