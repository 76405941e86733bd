"""Shared fixtures. Platform tests use the real local PostgreSQL (and MariaDB): a warehouse
database with the AdventureWorks schema is created once per test process and dropped after."""

from __future__ import annotations

import secrets
import uuid

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from apps.demo.warehouse import load_adventureworks


def _server_conninfo(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(settings.TEST_WAREHOUSE_PG_URL)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


@pytest.fixture(scope="session")
def pg_admin_conninfo() -> str:
    """Superuser connection to the local PostgreSQL server's maintenance database."""
    return settings.TEST_WAREHOUSE_PG_URL


@pytest.fixture(scope="session")
def aw_warehouse(pg_admin_conninfo):
    """A fresh database with the AdventureWorks schema. Yields a dict:
    ``{"dbname", "conninfo", "host", "port", "user"}`` (superuser conninfo to that database)."""
    dbname = f"mpt_warehouse_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    conninfo = _server_conninfo(dbname)
    load_adventureworks(conninfo)
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    yield {
        "dbname": dbname,
        "conninfo": conninfo,
        "host": info.get("host", "127.0.0.1"),
        "port": int(info.get("port", 5432)),
        "user": info.get("user", "postgres"),
    }
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        # The demo loader (tests/demo, tests/search, tests/browser...) builds jaffle_shop beside it.
        for name in (dbname, f"{dbname}_jaffle_shop"):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        # Roles are cluster-wide: drop every role this test process created.
        for (role,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [settings.GRANT_ROLE_PREFIX + "%"]
        ).fetchall():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def pg_consumer_login(pg_admin_conninfo):
    """A throwaway LOGIN role on the local PostgreSQL: ``(name, password)``. Dropped after the test."""
    name = f"{settings.GRANT_ROLE_PREFIX}login_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(12)
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    yield name, password
    # The login itself starts with the prefix, so aw_warehouse's teardown would also catch it;
    # dropping here keeps the cluster clean between tests.
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def pytest_terminal_summary(terminalreporter, config):
    """Print how many requests ``tests/api/test_schemathesis.py`` sent (summed over xdist workers).
    Here, not in tests/api/conftest.py: the xdist controller loads only this top-level conftest."""
    import json

    if hasattr(config, "workerinput"):  # an xdist worker: the controller reports
        return
    from pathlib import Path

    files = list((Path(__file__).resolve().parents[1] / "var").glob("schemathesis-*.json"))
    if not files:
        return
    data = [json.loads(f.read_text()) for f in files]
    for f in files:
        f.unlink()
    terminalreporter.write_line(
        f"schemathesis: {sum(d['cases'] for d in data)} generated requests over "
        f"{max(d['operations'] for d in data)}+ operations"
    )


# Test modules that start a Celery worker, drive a browser or generate API requests from the
# OpenAPI schema: marked ``slow`` so ``make test-fast`` (-m "not slow") skips them; CI runs all.
SLOW_MODULE_PREFIXES = ("test_worker_", "test_browser_", "test_schemathesis")


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if item.path.name.startswith(SLOW_MODULE_PREFIXES):
            item.add_marker(pytest.mark.slow)
