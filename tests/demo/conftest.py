"""The demo loader also builds jaffle_shop in ``<warehouse db>_jaffle_shop`` on the warehouse's
server; drop it with the session's warehouse."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql


@pytest.fixture(scope="session", autouse=True)
def _drop_demo_jaffle_shop(aw_warehouse, pg_admin_conninfo):
    yield
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(f"{aw_warehouse['dbname']}_jaffle_shop")
            )
        )
