"""Metadata sync of a MariaDB platform against the real local MariaDB (databases and users with a
random ``mpt_<hex>_`` prefix, dropped after each test)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.choices import AssetKind
from apps.catalog.models import Asset, AssetPrivilege, AssetRelation, Column
from apps.platforms.choices import SyncRunStatus
from apps.sync.connectors import get_connector
from apps.sync.connectors.mariadb import MariaDBConnector, _database_pattern_matches
from apps.sync.services import platform_sync
from tests.sync.conftest import mariadb_ident

pytestmark = [pytest.mark.django_db, pytest.mark.platform]

CATALOG_TABLES = tuple(m._meta.db_table for m in (Asset, Column, AssetRelation, AssetPrivilege))


def _shop(d) -> None:
    """A small shop: customers, orders (FK, defaults, comments), a partitioned events table, a view."""
    q = d.ident
    d.sql(
        f"CREATE TABLE {q}.customers (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, "
        f"email VARCHAR(200) NOT NULL COMMENT 'Login e-mail', "
        f"tier ENUM('Gold','Silver') NOT NULL DEFAULT 'Silver') COMMENT 'One row per customer'"
    )
    d.sql(
        f"CREATE TABLE {q}.orders (id BIGINT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, "
        f"total DECIMAL(10,2) NOT NULL DEFAULT 0.00 COMMENT 'EUR, tax included', "
        f"placed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, note TEXT NULL, "
        f"CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES {q}.customers (id)) ENGINE=InnoDB"
    )
    d.sql(
        f"CREATE TABLE {q}.events (at DATE NOT NULL, v INT) PARTITION BY RANGE (YEAR(at)) "
        f"(PARTITION p2024 VALUES LESS THAN (2025), PARTITION p2025 VALUES LESS THAN (2026), "
        f"PARTITION pmax VALUES LESS THAN MAXVALUE)"
    )
    d.sql(f"CREATE VIEW {q}.big_orders AS SELECT id, total FROM {q}.orders WHERE total > 100")
    d.sql(f"INSERT INTO {q}.customers (email) VALUES ('a@example.com'), ('b@example.com'), ('c@example.com')")
    d.sql(f"ANALYZE TABLE {q}.customers")


def test_first_sync_reads_tables_views_partitions_columns_and_keys(make_mariadb_database):
    # given
    d = make_mariadb_database("shop")
    _shop(d)

    # when
    run = platform_sync(platform=d.platform)

    # then
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert run.created_count == 4
    assets = {a.name: a for a in Asset.objects.filter(platform=d.platform)}
    assert {n: a.kind for n, a in assets.items()} == {
        "customers": AssetKind.TABLE,
        "orders": AssetKind.TABLE,
        "events": AssetKind.TABLE,
        "big_orders": AssetKind.VIEW,
    }  # the partitioned table is one asset, its three partitions none
    assert {a.schema for a in assets.values()} == {d.name}
    customers, orders = assets["customers"], assets["orders"]
    assert customers.description == "One row per customer"
    assert customers.row_count_estimate == 3
    assert customers.last_analyzed_at is not None  # UPDATE_TIME after the INSERT
    assert assets["big_orders"].description == "" and assets["big_orders"].row_count_estimate is None

    columns = {c.name: c for c in orders.columns.all()}
    assert list(orders.columns.order_by("ordinal").values_list("name", flat=True)) == [
        "id",
        "customer_id",
        "total",
        "placed_at",
        "note",
    ]
    assert columns["id"].is_primary_key and not columns["total"].is_primary_key
    assert columns["customer_id"].data_type == "INT(10) UNSIGNED" and columns["customer_id"].nullable is False
    assert columns["total"].data_type == "DECIMAL(10,2)" and columns["total"].default == "0.00"
    assert columns["total"].description == "EUR, tax included"
    assert columns["placed_at"].default == "current_timestamp()"
    assert columns["note"].nullable is True and columns["note"].default == ""
    tier = customers.columns.get(name="tier")
    assert tier.data_type == "ENUM('Gold','Silver')" and tier.default == "'Silver'"
    assert customers.columns.get(name="id").default == "AUTO_INCREMENT"
    assert customers.columns.get(name="email").description == "Login e-mail"

    relation = AssetRelation.objects.get(source=orders)
    assert (relation.target, relation.name) == (customers, "fk_orders_customer")
    assert (relation.source_columns, relation.target_columns) == (["customer_id"], ["id"])
    assert assets["big_orders"].columns.count() == 2


def test_on_update_current_timestamp_is_kept_in_the_default(make_mariadb_database):
    # given: columns MariaDB updates automatically (ON UPDATE lives in COLUMNS.EXTRA, not COLUMN_DEFAULT)
    d = make_mariadb_database("onupd")
    d.sql(
        f"CREATE TABLE {d.ident}.stock (sku INT PRIMARY KEY, "
        f"changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        f"touched_at DATETIME(3) NULL ON UPDATE CURRENT_TIMESTAMP(3), "
        f"created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )

    # when
    run = platform_sync(platform=d.platform)

    # then
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    defaults = dict(Column.objects.filter(asset__platform=d.platform).values_list("name", "default"))
    assert defaults["changed_at"] == "current_timestamp() ON UPDATE current_timestamp()"
    assert defaults["touched_at"] == "ON UPDATE current_timestamp(3)"
    assert defaults["created_at"] == "current_timestamp()"


def test_resync_without_changes_writes_nothing(make_mariadb_database):
    # given
    d = make_mariadb_database("noop")
    _shop(d)
    platform_sync(platform=d.platform)

    # when
    with CaptureQueriesContext(connection) as ctx:
        run = platform_sync(platform=d.platform)

    # then
    assert (run.created_count, run.updated_count, run.unchanged_count) == (0, 0, 4)
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].split(" ", 1)[0] in {"INSERT", "UPDATE", "DELETE"}
        and any(f'"{t}"' in q["sql"] for t in CATALOG_TABLES)
    ]
    assert writes == []


def test_changes_on_mariadb_update_the_catalog_and_dropped_tables_are_marked_removed(make_mariadb_database):
    # given
    d = make_mariadb_database("chg")
    _shop(d)
    platform_sync(platform=d.platform)

    # when
    d.sql(f"ALTER TABLE {d.ident}.orders ADD COLUMN channel VARCHAR(20) NOT NULL DEFAULT 'web' AFTER total")
    d.sql(f"DROP VIEW {d.ident}.big_orders")
    run = platform_sync(platform=d.platform)

    # then
    assert (run.created_count, run.updated_count, run.unchanged_count, run.removed_count) == (0, 1, 2, 1)
    orders = Asset.objects.get(platform=d.platform, name="orders")
    assert orders.columns.get(name="channel").ordinal == 4
    assert Asset.objects.get(platform=d.platform, name="big_orders").removed_at is not None


def test_unicode_and_mixed_case_names_survive(make_mariadb_database):
    # given
    d = make_mariadb_database("bıgınt")
    d.sql(
        f"CREATE TABLE {d.ident}.`MixedCase` (`Id` INT PRIMARY KEY, `Ünïcode, col` TEXT, `with space` INT) "
        "COMMENT 'Ça marche — 日本語'"
    )
    d.sql(
        f"CREATE TABLE {d.ident}.`Çhild` (`Id` INT, CONSTRAINT `FK Çhild→Mixed` FOREIGN KEY (`Id`) "
        f"REFERENCES {d.ident}.`MixedCase` (`Id`))"
    )
    d.sql(f"CREATE VIEW {d.ident}.`Väy` AS SELECT `Id` FROM {d.ident}.`MixedCase`")

    # when
    run = platform_sync(platform=d.platform)
    again = platform_sync(platform=d.platform)

    # then
    assert "bıgınt" in d.name
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    mixed = Asset.objects.get(platform=d.platform, schema=d.name, name="MixedCase")
    assert mixed.description == "Ça marche — 日本語"
    assert list(mixed.columns.order_by("ordinal").values_list("name", flat=True)) == [
        "Id",
        "Ünïcode, col",
        "with space",
    ]
    relation = AssetRelation.objects.get(source__name="Çhild", source__platform=d.platform)
    assert (relation.target, relation.name, relation.source_columns) == (mixed, "FK Çhild→Mixed", ["Id"])
    assert Asset.objects.get(platform=d.platform, name="Väy").kind == AssetKind.VIEW
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)


def test_foreign_key_across_databases_links_assets(make_mariadb_database):
    # given
    d = make_mariadb_database("sales")
    ref = make_mariadb_database("ref")
    ref.sql(f"CREATE TABLE {ref.ident}.currency (code CHAR(3) PRIMARY KEY)")
    d.sql(
        f"CREATE TABLE {d.ident}.orders (id INT PRIMARY KEY, code CHAR(3), "
        f"FOREIGN KEY (code) REFERENCES {ref.ident}.currency (code))"
    )
    d.platform.include_schemas = [d.name, ref.name]
    d.platform.save()

    # when
    platform_sync(platform=d.platform)

    # then
    relation = AssetRelation.objects.get(source__name="orders", source__platform=d.platform)
    assert (relation.target.schema, relation.target.name) == (ref.name, "currency")


# -- existing privileges ---------------------------------------------------------------------


def test_table_and_database_privileges_are_synced_and_follow_revokes(make_mariadb_database):
    # given: one user may read orders; another holds SELECT on the whole database
    d = make_mariadb_database("priv")
    _shop(d)
    reader, _ = make_mariadb_database.user("reader")
    analyst, _ = make_mariadb_database.user("analyst")
    d.sql(f"GRANT SELECT, INSERT ON {d.ident}.orders TO {mariadb_ident(reader)}@'%' WITH GRANT OPTION")
    d.sql(f"GRANT SELECT ON {d.ident}.* TO {mariadb_ident(analyst)}@'%'")

    # when
    platform_sync(platform=d.platform)

    # then
    def held(name):
        return set(
            AssetPrivilege.objects.filter(asset__platform=d.platform, asset__name=name).values_list(
                "grantee", "privilege", "is_grantable", "via_schema"
            )
        )

    reader_q, analyst_q = f"'{reader}'@'%'", f"'{analyst}'@'%'"
    assert held("orders") == {
        (reader_q, "SELECT", True, False),
        (reader_q, "INSERT", True, False),
        (analyst_q, "SELECT", False, True),
    }
    assert held("customers") == {(analyst_q, "SELECT", False, True)}
    assert held("big_orders") == {(analyst_q, "SELECT", False, True)}

    # when: a revoke on the platform
    orders = Asset.objects.get(platform=d.platform, name="orders")
    d.sql(f"REVOKE INSERT ON {d.ident}.orders FROM {mariadb_ident(reader)}@'%'")
    run = platform_sync(platform=d.platform)

    # then: privileges follow, and the asset itself does not count as changed
    assert (run.updated_count, run.unchanged_count) == (0, 4)
    assert held("orders") == {(reader_q, "SELECT", True, False), (analyst_q, "SELECT", False, True)}
    assert Asset.objects.get(pk=orders.pk).last_changed_at == orders.last_changed_at


def test_database_grant_patterns_match_like_mariadb():
    assert _database_pattern_matches("sales", "sales")
    assert not _database_pattern_matches("sales", "sales2")
    assert _database_pattern_matches("sales%", "sales_eu")
    assert _database_pattern_matches(r"sales\_eu", "sales_eu")
    assert not _database_pattern_matches(r"sales\_eu", "salesXeu")
    assert _database_pattern_matches("sales_eu", "salesXeu")


# -- failures --------------------------------------------------------------------------------


def test_wrong_password_fails_readably_without_the_password(make_mariadb_database):
    # given
    d = make_mariadb_database("auth")
    user, _ = make_mariadb_database.user("auth")
    d.platform.username = user
    d.platform.set_password("Wr0ng-s3cret-pw")
    d.platform.save()

    # when
    run = platform_sync(platform=d.platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error == (
        f"Authentication failed for user '{user}' on {d.platform.host}:{d.platform.port}: "
        "wrong password or unknown user."
    )
    assert "s3cret" not in run.error


def test_unreachable_host_fails_and_leaves_the_catalog_intact(make_mariadb_database):
    # given
    d = make_mariadb_database("down")
    _shop(d)
    platform_sync(platform=d.platform)
    before = dict(Asset.objects.filter(platform=d.platform).values_list("id", "updated_at"))
    d.platform.port = 1
    d.platform.save()

    # when
    run = platform_sync(platform=d.platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error.startswith(f"Cannot connect to {d.platform.host}:1: connection refused")
    assert dict(Asset.objects.filter(platform=d.platform).values_list("id", "updated_at")) == before
    assert not Asset.objects.filter(platform=d.platform, removed_at__isnull=False).exists()


def test_unknown_database_to_connect_to_fails_readably(make_mariadb_database):
    # given
    d = make_mariadb_database("unk")
    d.platform.database = "mpt_no_such_database"
    d.platform.save()

    # when
    run = platform_sync(platform=d.platform)

    # then
    assert run.error == f"Database 'mpt_no_such_database' does not exist on {d.platform.host}:{d.platform.port}."


def test_missing_privileges_fail_instead_of_removing_everything(make_mariadb_database):
    # given: synced once as root; then the platform uses an account without any privilege on it
    d = make_mariadb_database("noperm")
    _shop(d)
    platform_sync(platform=d.platform)
    user, password = make_mariadb_database.user("noperm")
    d.platform.username = user
    d.platform.set_password(password)
    d.platform.save()

    # when
    run = platform_sync(platform=d.platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error.startswith(f"Database '{d.name}' not found on ")
    assert f"or user '{user}' has no privilege on it" in run.error
    assert not Asset.objects.filter(platform=d.platform, removed_at__isnull=False).exists()

    # when: it also tries to connect to that database
    d.platform.database = d.name
    d.platform.save()
    run = platform_sync(platform=d.platform)

    # then
    assert run.error == (
        f"User '{user}' may not use database '{d.name}' on "
        f"{d.platform.host}:{d.platform.port} (missing privileges on it)."
    )


def test_connector_is_registered_and_checks_the_server(make_mariadb_database):
    # given
    d = make_mariadb_database("chk")

    # when
    connector = get_connector(d.platform)

    # then
    assert isinstance(connector, MariaDBConnector)
    assert connector.check().startswith("MariaDB 1")
