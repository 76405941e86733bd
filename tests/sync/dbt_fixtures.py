"""Fixtures for dbt sync tests: jaffle_shop built in a real PostgreSQL database (once per test
process), a warehouse platform on it and a dbt platform reading the shared artifacts.

Import them into a test module with ``from tests.sync.dbt_fixtures import *``.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from apps.demo.jaffle_shop import SCHEMA, jaffle_shop_path, load_jaffle_shop
from apps.platforms.choices import PlatformKind
from tests.platforms.factories import PlatformFactory

__all__ = ["JAFFLE_TARGET", "ArtifactsDir", "artifacts_dir", "dbt_platform", "jaffle_db", "jaffle_warehouse"]

JAFFLE_TARGET = jaffle_shop_path() / "target"


@pytest.fixture(scope="session")
def jaffle_db(pg_admin_conninfo):
    """A fresh database with jaffle_shop's seeds and models in schema ``analytics``:
    ``{"dbname", "conninfo", "host", "port", "user"}``. Dropped at the end of the session."""
    dbname = f"mpt_jaffle_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    info = psycopg.conninfo.conninfo_to_dict(pg_admin_conninfo)
    info["dbname"] = dbname
    conninfo = psycopg.conninfo.make_conninfo(**info)
    load_jaffle_shop(conninfo)
    yield {
        "dbname": dbname,
        "conninfo": conninfo,
        "host": info.get("host", "127.0.0.1"),
        "port": int(info.get("port", 5432)),
        "user": info.get("user", "postgres"),
    }
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


@pytest.fixture
def jaffle_warehouse(db, jaffle_db):
    """The PostgreSQL platform on the jaffle_shop database, syncing schema ``analytics``."""
    return PlatformFactory(
        name="Jaffle warehouse",
        slug="jaffle-warehouse",
        host=jaffle_db["host"],
        port=jaffle_db["port"],
        database=jaffle_db["dbname"],
        username=jaffle_db["user"],
        include_schemas=[SCHEMA],
    )


class ArtifactsDir:
    """A writable copy of jaffle_shop's target/ directory at ``path``."""

    def __init__(self, path: Path):
        self.path = path

    def edit(self, name: str, change) -> None:
        """Rewrite artifact ``name`` through ``change(data)``, which edits the parsed JSON in place."""
        file = self.path / name
        data = json.loads(file.read_text())
        change(data)
        file.write_text(json.dumps(data))

    def write(self, name: str, text: str) -> None:
        (self.path / name).write_text(text)


@pytest.fixture
def artifacts_dir(tmp_path) -> ArtifactsDir:
    target = tmp_path / "target"
    shutil.copytree(JAFFLE_TARGET, target)
    for file in target.iterdir():
        file.chmod(0o644)
    return ArtifactsDir(target)


@pytest.fixture
def dbt_platform(db, jaffle_warehouse, artifacts_dir):
    """The dbt platform reading ``artifacts_dir``, building ``jaffle_warehouse`` (the manifest
    calls the database ``jaffle_shop``)."""
    return PlatformFactory(
        name="Jaffle dbt",
        slug="jaffle-dbt",
        kind=PlatformKind.DBT,
        host="",
        port=None,
        database="jaffle_shop",
        username="",
        warehouse=jaffle_warehouse,
        dbt_artifacts_path=str(artifacts_dir.path),
    )
