"""dbt sync on real input: jaffle_shop built in PostgreSQL, its warehouse synced by the database
connector, then its dbt artifacts (manifest v12, catalog, run results) joined onto the same assets."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.choices import AssetKind, AssetRelationKind, QualityCheckStatus
from apps.catalog.models import Asset, AssetRelation, Column, QualityCheck
from apps.platforms.choices import SyncRunStatus
from apps.sync.services import platform_sync
from tests.sync.dbt_fixtures import *  # noqa: F403

pytestmark = [pytest.mark.django_db, pytest.mark.platform]

CATALOG_TABLES = tuple(m._meta.db_table for m in (Asset, Column, AssetRelation, QualityCheck))
RELATIONS = {
    "raw_customers",
    "raw_orders",
    "raw_payments",
    "stg_customers",
    "stg_orders",
    "stg_payments",
    "customers",
    "orders",
}
LINEAGE = {
    ("raw_customers", "stg_customers"),
    ("raw_orders", "stg_orders"),
    ("raw_payments", "stg_payments"),
    ("stg_customers", "customers"),
    ("stg_orders", "customers"),
    ("stg_payments", "customers"),
    ("stg_orders", "orders"),
    ("stg_payments", "orders"),
}
JAFFLE_TESTS = 20


def _catalog_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        and any(f'"{table}"' in q["sql"] for table in CATALOG_TABLES)
    ]


def _lineage() -> set[tuple[str, str]]:
    edges = AssetRelation.objects.filter(kind=AssetRelationKind.LINEAGE)
    return set(edges.values_list("source__name", "target__name"))


def _synced(platform):
    run = platform_sync(platform=platform)
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    return run


def test_warehouse_and_dbt_join_into_one_asset_per_relation(jaffle_warehouse, dbt_platform):
    # given: the database connector found the eight relations
    _synced(jaffle_warehouse)

    # when
    run = _synced(dbt_platform)

    # then: one asset per relation, all on the warehouse, none duplicated on the dbt platform
    assert (run.created_count, run.updated_count, run.unchanged_count, run.removed_count) == (8, 0, 0, 0)
    assets = {a.name: a for a in Asset.objects.filter(removed_at__isnull=True)}
    assert set(assets) == RELATIONS
    assert {a.platform_id for a in assets.values()} == {jaffle_warehouse.pk}
    customers, orders = assets["customers"], assets["orders"]
    assert customers.dbt_unique_id == "model.jaffle_shop.customers"
    assert (customers.dbt_resource_type, customers.dbt_materialization) == ("model", "table")
    assert assets["stg_orders"].dbt_materialization == "view" and assets["stg_orders"].kind == AssetKind.VIEW
    assert assets["raw_orders"].dbt_resource_type == "seed"
    # the database has no comment, so the dbt description shows
    assert customers.description == ""
    assert customers.display_description.startswith("This table has basic information about a customer")
    # column docs next to the database's types
    order_id = Column.objects.get(asset=orders, name="order_id")
    assert (
        order_id.data_type == "INTEGER" and order_id.display_description == "This is a unique identifier for an order"
    )
    # lineage: seeds -> staging -> marts
    assert _lineage() == LINEAGE
    # tests as quality checks with their results; column tests keep the column
    checks = QualityCheck.objects.filter(removed_at__isnull=True)
    assert checks.count() == JAFFLE_TESTS
    assert set(checks.values_list("status", flat=True)) == {QualityCheckStatus.PASS}
    assert set(checks.filter(asset=orders).values_list("name", "column_name")) >= {
        ("unique", "order_id"),
        ("not_null", "amount"),
        ("accepted_values", "status"),
        ("relationships", "customer_id"),
    }
    assert all(c.last_run_at is not None for c in checks)


def test_resync_of_unchanged_artifacts_writes_nothing(jaffle_warehouse, dbt_platform):
    # given
    _synced(jaffle_warehouse)
    _synced(dbt_platform)

    # when
    with CaptureQueriesContext(connection) as ctx:
        run = _synced(dbt_platform)

    # then
    assert (run.created_count, run.updated_count, run.unchanged_count, run.removed_count) == (0, 0, 8, 0)
    assert _catalog_writes(ctx.captured_queries) == []


def test_database_and_dbt_resyncs_keep_each_others_metadata(jaffle_warehouse, dbt_platform, jaffle_db):
    # given: both synced, then the DBA comments a table
    _synced(jaffle_warehouse)
    _synced(dbt_platform)
    with psycopg.connect(jaffle_db["conninfo"], autocommit=True) as conn:
        conn.execute("COMMENT ON TABLE analytics.orders IS 'Orders, one row each (DBA note)'")
    try:
        # when: the database re-sync rewrites orders (its fingerprint moved)
        run = _synced(jaffle_warehouse)

        # then: the dbt metadata survives and the database comment wins on display
        assert run.updated_count == 1
        orders = Asset.objects.get(platform=jaffle_warehouse, name="orders")
        assert orders.dbt_unique_id == "model.jaffle_shop.orders" and orders.dbt_materialization == "table"
        assert orders.display_description == "Orders, one row each (DBA note)"
        assert Column.objects.get(asset=orders, name="order_id").dbt_description
        # and the dbt re-sync leaves the database's description alone, writing nothing
        with CaptureQueriesContext(connection) as ctx:
            _synced(dbt_platform)
        assert _catalog_writes(ctx.captured_queries) == []
        assert Asset.objects.get(pk=orders.pk).description == "Orders, one row each (DBA note)"
    finally:
        with psycopg.connect(jaffle_db["conninfo"], autocommit=True) as conn:
            conn.execute("COMMENT ON TABLE analytics.orders IS NULL")


def test_nodes_without_warehouse_asset_live_on_the_dbt_platform_until_built(jaffle_warehouse, dbt_platform):
    # given: the warehouse was never synced
    # when
    _synced(dbt_platform)

    # then: the dbt platform holds them, with lineage and checks
    own = Asset.objects.filter(platform=dbt_platform, removed_at__isnull=True)
    assert set(own.values_list("name", flat=True)) == RELATIONS
    assert own.get(name="customers").kind == AssetKind.DBT_MODEL
    assert (
        Column.objects.get(asset__platform=dbt_platform, asset__name="customers", name="customer_id").data_type
        == "integer"
    )
    assert _lineage() == LINEAGE
    assert QualityCheck.objects.filter(asset__platform=dbt_platform).count() == JAFFLE_TESTS

    # when: the warehouse is synced, then dbt again
    _synced(jaffle_warehouse)
    run = _synced(dbt_platform)

    # then: everything moved onto the warehouse assets; the dbt platform's are marked removed
    assert (run.created_count, run.removed_count) == (8, 0)
    assert not Asset.objects.filter(platform=dbt_platform, removed_at__isnull=True).exists()
    assert not Asset.objects.filter(platform=dbt_platform, dbt_platform__isnull=False).exists()
    on_warehouse = Asset.objects.filter(platform=jaffle_warehouse, dbt_platform=dbt_platform)
    assert on_warehouse.count() == 8
    edges = AssetRelation.objects.filter(kind=AssetRelationKind.LINEAGE)
    assert set(edges.values_list("source__platform", flat=True)) == {jaffle_warehouse.pk}
    assert _lineage() == LINEAGE
    active = QualityCheck.objects.filter(removed_at__isnull=True)
    assert active.count() == JAFFLE_TESTS and set(active.values_list("asset__platform", flat=True)) == {
        jaffle_warehouse.pk
    }


def test_names_match_case_insensitively_and_sources_give_lineage(jaffle_warehouse, dbt_platform, artifacts_dir):
    # given: the manifest spells a relation in capitals, and declares a source the warehouse lacks
    def change(manifest):
        manifest["nodes"]["model.jaffle_shop.orders"]["alias"] = "ORDERS"
        manifest["sources"]["source.jaffle_shop.payments_api.events"] = {
            "unique_id": "source.jaffle_shop.payments_api.events",
            "resource_type": "source",
            "name": "events",
            "source_name": "payments_api",
            "database": "jaffle_shop",
            "schema": "raw_api",
            "identifier": "events",
            "description": "Payment events from the payments API",
            "columns": {},
            "tags": ["api"],
            "meta": {"owner": "payments-team"},
            "config": {"enabled": True},
        }
        manifest["nodes"]["model.jaffle_shop.stg_payments"]["depends_on"]["nodes"].append(
            "source.jaffle_shop.payments_api.events"
        )

    artifacts_dir.edit("manifest.json", change)
    _synced(jaffle_warehouse)

    # when
    _synced(dbt_platform)

    # then
    orders = Asset.objects.get(platform=jaffle_warehouse, name="orders")
    assert orders.dbt_unique_id == "model.jaffle_shop.orders"
    assert not Asset.objects.filter(name__iexact="orders", platform=dbt_platform).exists()
    events = Asset.objects.get(platform=dbt_platform, schema="raw_api", name="events")
    assert (
        events.dbt_resource_type == "source" and events.dbt_owner == "payments-team" and events.kind == AssetKind.TABLE
    )
    assert ("events", "stg_payments") in _lineage()


def test_test_results_and_exposures(jaffle_warehouse, dbt_platform, artifacts_dir):
    # given: a failing test, and a dashboard reading orders
    failing = "test.jaffle_shop.not_null_orders_amount.106140f9fd"

    def fail(run_results):
        for result in run_results["results"]:
            if result["unique_id"] == failing:
                result.update(status="fail", failures=3, message="Got 3 results, configured to fail if != 0")

    def expose(manifest):
        manifest["exposures"]["exposure.jaffle_shop.revenue"] = {
            "unique_id": "exposure.jaffle_shop.revenue",
            "name": "revenue",
            "label": "Revenue dashboard",
            "type": "dashboard",
            "url": "https://bi.example.com/revenue",
            "maturity": "high",
            "owner": {"name": "Finance", "email": "finance@example.com"},
            "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
        }

    artifacts_dir.edit("run_results.json", fail)
    artifacts_dir.edit("manifest.json", expose)
    _synced(jaffle_warehouse)

    # when
    _synced(dbt_platform)

    # then
    check = QualityCheck.objects.get(unique_id=failing)
    assert (check.status, check.column_name) == (QualityCheckStatus.FAIL, "amount")
    assert check.message == "3 failing rows: Got 3 results, configured to fail if != 0"
    orders = Asset.objects.get(platform=jaffle_warehouse, name="orders")
    assert [e["label"] for e in orders.dbt_exposures] == ["Revenue dashboard"]
    assert orders.dbt_exposures[0]["owner"] == "Finance"

    # when: the test passes again
    artifacts_dir.edit(
        "run_results.json",
        lambda rr: [
            r.update(status="pass", failures=0, message=None) for r in rr["results"] if r["unique_id"] == failing
        ],
    )
    with CaptureQueriesContext(connection) as ctx:
        run = _synced(dbt_platform)

    # then: only that check is written
    assert QualityCheck.objects.get(unique_id=failing).status == QualityCheckStatus.PASS
    writes = _catalog_writes(ctx.captured_queries)
    assert len(writes) == 1 and writes[0].startswith('UPDATE "catalog_qualitycheck"')
    assert run.unchanged_count == 8


def test_a_model_removed_from_the_project_loses_its_dbt_metadata_only(jaffle_warehouse, dbt_platform, artifacts_dir):
    # given
    _synced(jaffle_warehouse)
    _synced(dbt_platform)

    def drop_stg_payments(manifest):
        del manifest["nodes"]["model.jaffle_shop.stg_payments"]
        for node in manifest["nodes"].values():
            deps = node.get("depends_on", {}).get("nodes", [])
            if "model.jaffle_shop.stg_payments" in deps:
                deps.remove("model.jaffle_shop.stg_payments")
        for uid in [
            u for u, n in manifest["nodes"].items() if n.get("attached_node") == "model.jaffle_shop.stg_payments"
        ]:
            del manifest["nodes"][uid]

    artifacts_dir.edit("manifest.json", drop_stg_payments)

    # when
    run = _synced(dbt_platform)

    # then: the warehouse asset stays; its dbt fields, edges and checks go
    assert run.removed_count == 1
    stg = Asset.objects.get(platform=jaffle_warehouse, name="stg_payments")
    assert stg.removed_at is None and stg.dbt_unique_id == "" and stg.dbt_platform is None
    assert not any("stg_payments" in edge for edge in _lineage())
    assert not QualityCheck.objects.filter(asset=stg, removed_at__isnull=True).exists()
    assert QualityCheck.objects.filter(asset=stg, removed_at__isnull=False).count() == 3


@pytest.mark.parametrize(
    ("artifact", "content", "message"),
    [
        ("manifest.json", '{"metadata": {"dbt_schema_version": ', "manifest.json is not valid JSON"),
        (
            "manifest.json",
            json.dumps({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v7.json"}}),
            "manifest.json has dbt manifest schema v7 (written by dbt 1.3); Mesh Portal reads v12",
        ),
        (
            "manifest.json",
            json.dumps({"name": "my-app", "version": "1.0.0"}),
            "manifest.json is not a dbt manifest: it has no metadata.dbt_schema_version",
        ),
        ("manifest.json", None, "manifest.json not found in"),
        ("run_results.json", "[1, 2", "run_results.json is not valid JSON"),
        (
            "catalog.json",
            json.dumps({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}}),
            "catalog.json is a dbt manifest, not a catalog",
        ),
        (
            "manifest.json",
            json.dumps(
                {
                    "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
                    "nodes": {"model.x.y": {"unique_id": "model.x.y"}},
                }
            ),
            "manifest.json does not have the expected structure at 'nodes.model.x.y.resource_type'",
        ),
    ],
    ids=["malformed", "v7", "not-dbt", "missing", "bad-run-results", "swapped-files", "bad-structure"],
)
def test_bad_artifacts_fail_the_run_and_keep_the_catalog(
    jaffle_warehouse, dbt_platform, artifacts_dir, artifact, content, message
):
    # given: a good sync
    _synced(jaffle_warehouse)
    _synced(dbt_platform)
    before = sorted(Asset.objects.values_list("pk", "dbt_unique_id", "dbt_fingerprint", "removed_at"))
    checks_before = QualityCheck.objects.filter(removed_at__isnull=True).count()
    if content is None:
        (artifacts_dir.path / artifact).unlink()
    else:
        artifacts_dir.write(artifact, content)

    # when
    run = platform_sync(platform=dbt_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert message in run.error
    assert sorted(Asset.objects.values_list("pk", "dbt_unique_id", "dbt_fingerprint", "removed_at")) == before
    assert _lineage() == LINEAGE
    assert QualityCheck.objects.filter(removed_at__isnull=True).count() == checks_before


def test_missing_directory_and_no_artifacts_say_what_to_do(dbt_platform):
    # given
    dbt_platform.dbt_artifacts_path = "/nonexistent/jaffle/target"
    dbt_platform.save()

    # when
    run = platform_sync(platform=dbt_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error == (
        "The dbt artifacts directory '/nonexistent/jaffle/target' does not exist on the sync worker: "
        "check the platform's artifacts directory."
    )

    # when: no directory and nothing uploaded
    dbt_platform.dbt_artifacts_path = ""
    dbt_platform.save()
    run = platform_sync(platform=dbt_platform)

    # then
    assert run.status == SyncRunStatus.FAILED and run.error.startswith("No dbt artifacts yet: upload manifest.json")


def test_ephemeral_model_is_kept_in_lineage_on_the_dbt_platform(jaffle_warehouse, dbt_platform, artifacts_dir):
    # given: orders is built through an ephemeral model (inlined by dbt, never a relation)
    def add_ephemeral(manifest):
        manifest["nodes"]["model.jaffle_shop.int_order_payments"] = {
            "unique_id": "model.jaffle_shop.int_order_payments",
            "resource_type": "model",
            "name": "int_order_payments",
            "database": "jaffle_shop",
            "schema": "analytics",
            "alias": "int_order_payments",
            "description": "Payments per order",
            "config": {"materialized": "ephemeral", "enabled": True},
            "depends_on": {"nodes": ["model.jaffle_shop.stg_payments"]},
            "columns": {},
            "tags": ["intermediate"],
        }
        manifest["nodes"]["model.jaffle_shop.orders"]["depends_on"]["nodes"] = [
            "model.jaffle_shop.stg_orders",
            "model.jaffle_shop.int_order_payments",
        ]

    artifacts_dir.edit("manifest.json", add_ephemeral)
    _synced(jaffle_warehouse)

    # when
    run = _synced(dbt_platform)

    # then: 9 nodes, the ephemeral one on the dbt platform, the chain unbroken
    assert run.created_count == 9
    ephemeral = Asset.objects.get(platform=dbt_platform, name="int_order_payments")
    assert (ephemeral.kind, ephemeral.dbt_materialization, ephemeral.dbt_tags) == (
        AssetKind.DBT_MODEL,
        "ephemeral",
        ["intermediate"],
    )
    edges = _lineage()
    assert {("stg_payments", "int_order_payments"), ("int_order_payments", "orders")} <= edges
    assert ("stg_payments", "orders") not in edges


def test_a_run_without_some_tests_keeps_their_last_result(jaffle_warehouse, dbt_platform, artifacts_dir):
    # given: a failing test synced
    failing = "test.jaffle_shop.unique_orders_order_id.fed79b3a6e"
    artifacts_dir.edit(
        "run_results.json",
        lambda rr: [r.update(status="fail", failures=2) for r in rr["results"] if r["unique_id"] == failing],
    )
    _synced(jaffle_warehouse)
    _synced(dbt_platform)

    # when: the next invocation was `dbt run` (no test results at all)
    artifacts_dir.edit(
        "run_results.json",
        lambda rr: rr.update(results=[r for r in rr["results"] if not r["unique_id"].startswith("test.")]),
    )
    _synced(dbt_platform)

    # then: the failure is still known
    check = QualityCheck.objects.get(unique_id=failing)
    assert (check.status, check.message) == (QualityCheckStatus.FAIL, "2 failing rows")
    assert QualityCheck.objects.filter(status=QualityCheckStatus.PASS).count() == JAFFLE_TESTS - 1


def test_same_schema_and_name_in_two_databases_stay_two_assets_without_a_warehouse(dbt_platform, artifacts_dir):
    # given: no warehouse linked, no database named, and a source raw.analytics.orders that
    # the model analytics.orders (database jaffle_shop) reads
    dbt_platform.warehouse, dbt_platform.database = None, ""
    dbt_platform.save()

    def change(manifest):
        manifest["sources"]["source.jaffle_shop.raw.orders"] = {
            "unique_id": "source.jaffle_shop.raw.orders",
            "resource_type": "source",
            "name": "orders",
            "source_name": "raw",
            "database": "raw",
            "schema": "analytics",
            "identifier": "orders",
            "description": "Orders as the shop exports them",
            "tags": [],
            "meta": {},
            "config": {"enabled": True},
            "columns": {
                "order_ref": {"name": "order_ref", "description": "The shop's order number", "data_type": "text"}
            },
        }
        manifest["nodes"]["model.jaffle_shop.orders"]["depends_on"]["nodes"].append("source.jaffle_shop.raw.orders")

    artifacts_dir.edit("manifest.json", change)

    # when
    _synced(dbt_platform)

    # then: the source and the model are two assets, each with its own metadata, and the edge between them exists
    source = Asset.objects.get(platform=dbt_platform, dbt_unique_id="source.jaffle_shop.raw.orders")
    model = Asset.objects.get(platform=dbt_platform, dbt_unique_id="model.jaffle_shop.orders")
    assert source.pk != model.pk
    assert (source.schema, source.name, source.qualified_name) == ("raw.analytics", "orders", "raw.analytics.orders")
    assert (model.schema, model.name) == ("analytics", "orders")
    assert source.dbt_resource_type == "source" and model.dbt_resource_type == "model"
    assert list(source.columns.values_list("name", flat=True)) == ["order_ref"]
    assert "order_ref" not in model.columns.values_list("name", flat=True)
    edges = set(AssetRelation.objects.filter(kind=AssetRelationKind.LINEAGE).values_list("source_id", "target_id"))
    assert (source.pk, model.pk) in edges
    assert not any(a == b for a, b in edges)
    assert (model.pk, source.pk) not in edges
    # and: the first sync's placeholders keep their keys on a re-sync (nothing moves)
    run = _synced(dbt_platform)
    assert (run.created_count, run.updated_count, run.removed_count) == (0, 0, 0)
