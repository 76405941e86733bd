"""Metadata sync (``platform_sync``) against the real AdventureWorks warehouse on the local PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import sql

from apps.catalog.choices import AssetKind, AssetRelationKind
from apps.catalog.models import Asset, AssetPrivilege, AssetRelation, Column
from apps.core.exceptions import ApplicationError
from apps.platforms.choices import PlatformKind, SyncRunStatus
from apps.platforms.selectors import platform_last_run, sync_run_list
from apps.sync.connectors import CONNECTORS, DiscoveredAsset, DiscoveredColumn, DiscoveredForeignKey
from apps.sync.services import SYNC_RUN_STALE_AFTER, platform_sync, platform_sync_due
from apps.sync.tasks import platform_sync_due_task, platform_sync_task
from tests.platforms.factories import PlatformFactory, SyncRunFactory

pytestmark = [pytest.mark.django_db, pytest.mark.platform]

CATALOG_TABLES = tuple(m._meta.db_table for m in (Asset, Column, AssetRelation, AssetPrivilege))
AW_TABLES, AW_VIEWS, AW_MATVIEWS, AW_COLUMNS, AW_FOREIGN_KEYS = 68, 19, 2, 720, 90
AW_ASSETS = AW_TABLES + AW_VIEWS + AW_MATVIEWS


def _asset(platform, qualified_name: str) -> Asset:
    schema, name = qualified_name.split(".")
    return Asset.objects.get(platform=platform, schema=schema, name=name)


def _catalog_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        and any(f'"{table}"' in q["sql"] for table in CATALOG_TABLES)
    ]


# -- AdventureWorks ----------------------------------------------------------------------------


def test_first_sync_creates_adventureworks_catalog(aw_platform, django_user_model):
    # given
    admin = django_user_model.objects.create(username="platform-admin")

    # when
    run = platform_sync(platform=aw_platform, actor=admin)

    # then
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.created_count, run.updated_count, run.unchanged_count, run.removed_count) == (AW_ASSETS, 0, 0, 0)
    assert run.triggered_by == admin and run.finished_at >= run.started_at
    assets = Asset.objects.filter(platform=aw_platform)
    assert assets.filter(kind=AssetKind.TABLE).count() == AW_TABLES
    assert assets.filter(kind=AssetKind.VIEW).count() == AW_VIEWS
    assert assets.filter(kind=AssetKind.MATERIALIZED_VIEW).count() == AW_MATVIEWS
    assert set(assets.values_list("schema", flat=True)) == {
        "humanresources",
        "person",
        "production",
        "purchasing",
        "sales",
    }
    assert Column.objects.filter(asset__platform=aw_platform).count() == AW_COLUMNS
    assert AssetRelation.objects.filter(source__platform=aw_platform).count() == AW_FOREIGN_KEYS

    pay = _asset(aw_platform, "humanresources.employeepayhistory")
    assert pay.description == "Employee pay history."
    assert len(pay.fingerprint) == 64 and pay.removed_at is None and pay.last_changed_at is not None
    columns = {c.name: c for c in pay.columns.all()}
    assert list(pay.columns.order_by("ordinal").values_list("name", flat=True)) == [
        "businessentityid",
        "ratechangedate",
        "rate",
        "payfrequency",
        "modifieddate",
    ]
    assert columns["rate"].description == "Salary hourly rate."
    assert columns["rate"].data_type == "NUMERIC" and columns["rate"].nullable is False
    assert columns["modifieddate"].default == "now()"
    assert {n for n, c in columns.items() if c.is_primary_key} == {"businessentityid", "ratechangedate"}

    employee_to_person = AssetRelation.objects.get(
        source=_asset(aw_platform, "humanresources.employee"),
        target=_asset(aw_platform, "person.person"),
    )
    assert employee_to_person.kind == AssetRelationKind.FOREIGN_KEY
    assert employee_to_person.name == "FK_Employee_Person_BusinessEntityID"
    assert employee_to_person.source_columns == ["businessentityid"]
    assert employee_to_person.target_columns == ["businessentityid"]

    # Views and materialized views have columns too; the table-only 'hr'.. short schemas are not synced.
    vemployee = _asset(aw_platform, "humanresources.vemployee")
    assert vemployee.kind == AssetKind.VIEW and vemployee.row_count_estimate is None
    assert vemployee.columns.count() > 10
    assert _asset(aw_platform, "person.vstateprovincecountryregion").kind == AssetKind.MATERIALIZED_VIEW
    # A type SQLAlchemy does not know still gets the server's spelling.
    assert _asset(aw_platform, "humanresources.jobcandidate").columns.get(name="resume").data_type == "xml"


def test_resync_without_changes_writes_nothing_to_the_catalog(aw_platform):
    # given
    platform_sync(platform=aw_platform)
    before = dict(Asset.objects.filter(platform=aw_platform).values_list("id", "updated_at"))
    column_ids = set(Column.objects.filter(asset__platform=aw_platform).values_list("id", flat=True))

    # when
    with CaptureQueriesContext(connection) as ctx:
        run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.created_count, run.updated_count, run.unchanged_count, run.removed_count) == (0, 0, AW_ASSETS, 0)
    assert _catalog_writes(ctx.captured_queries) == []
    # No query per asset: a constant few, including the mapping rules. Progress writes are left
    # out: there is one per second of reading, so their number depends on the machine's load.
    progress_writes = [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "platforms_syncrun" SET "phase"')]
    assert 1 <= len(progress_writes)
    assert len(ctx.captured_queries) - len(progress_writes) <= 14  # 13 + the run's insights fact event
    assert dict(Asset.objects.filter(platform=aw_platform).values_list("id", "updated_at")) == before
    assert set(Column.objects.filter(asset__platform=aw_platform).values_list("id", flat=True)) == column_ids
    assert sync_run_list(platform=aw_platform).count() == 2
    assert platform_last_run(platform=aw_platform) == run


def test_sync_of_every_schema_when_none_are_listed(aw_platform):
    # given
    aw_platform.include_schemas = []
    aw_platform.save()

    # when
    run = platform_sync(platform=aw_platform)

    # then: the short-name view schemas come along; system schemas do not
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    schemas = set(Asset.objects.filter(platform=aw_platform).values_list("schema", flat=True))
    assert {"humanresources", "sales", "hr", "pe", "pr", "pu", "sa"} <= schemas
    assert not schemas & {"pg_catalog", "information_schema"}


# -- changes on the platform ---------------------------------------------------------------


def test_new_table_column_and_comments_are_created_and_updated(make_scratch_schema):
    # given
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.orders (id int PRIMARY KEY, total numeric(10, 2))")
    s.sql(f"CREATE TABLE {s.ident}.notes (id int PRIMARY KEY)")
    first = platform_sync(platform=s.platform)
    orders = Asset.objects.get(platform=s.platform, name="orders")
    id_column = orders.columns.get(name="id")
    notes_before = Asset.objects.get(platform=s.platform, name="notes").updated_at

    # when
    s.sql(f"CREATE TABLE {s.ident}.customers (id int PRIMARY KEY, name text)")
    s.sql(f"ALTER TABLE {s.ident}.orders ADD COLUMN customer_id int REFERENCES {s.ident}.customers (id)")
    s.sql(f"COMMENT ON TABLE {s.ident}.orders IS 'One row per order.'")
    s.sql(f"COMMENT ON COLUMN {s.ident}.orders.total IS 'Total in EUR, tax included.'")
    run = platform_sync(platform=s.platform)

    # then
    assert first.created_count == 2
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.created_count, run.updated_count, run.unchanged_count, run.removed_count) == (1, 1, 1, 0)
    orders.refresh_from_db()
    assert orders.description == "One row per order."
    assert orders.last_changed_at >= run.started_at
    assert list(orders.columns.order_by("ordinal").values_list("name", "ordinal")) == [
        ("id", 1),
        ("total", 2),
        ("customer_id", 3),
    ]
    assert orders.columns.get(name="total").description == "Total in EUR, tax included."
    assert orders.columns.get(name="id").pk == id_column.pk  # surviving columns keep their id
    relation = AssetRelation.objects.get(source=orders)
    assert relation.target.name == "customers" and relation.source_columns == ["customer_id"]
    assert Asset.objects.get(platform=s.platform, name="notes").updated_at == notes_before


def test_dropped_column_and_changed_type_update_the_asset(make_scratch_schema):
    # given
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.t (a int, b text, c text)")
    platform_sync(platform=s.platform)

    # when
    s.sql(f"ALTER TABLE {s.ident}.t DROP COLUMN b, ALTER COLUMN c TYPE varchar(20), ALTER COLUMN a SET NOT NULL")
    run = platform_sync(platform=s.platform)

    # then
    assert run.updated_count == 1
    columns = Asset.objects.get(platform=s.platform, name="t").columns.order_by("ordinal")
    assert [(c.name, c.ordinal, c.data_type, c.nullable) for c in columns] == [
        ("a", 1, "INTEGER", False),
        ("c", 2, "VARCHAR(20)", True),
    ]


def test_dropped_table_is_marked_removed_and_restored_when_it_returns(make_scratch_schema):
    # given
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.keep (id int PRIMARY KEY)")
    s.sql(f"CREATE TABLE {s.ident}.flaky (id int PRIMARY KEY, keep_id int REFERENCES {s.ident}.keep (id))")
    platform_sync(platform=s.platform)
    flaky = Asset.objects.get(platform=s.platform, name="flaky")

    # when: dropped
    s.sql(f"DROP TABLE {s.ident}.flaky")
    dropped = platform_sync(platform=s.platform)

    # then: the row stays, marked removed, and is not removed twice
    assert (dropped.updated_count, dropped.unchanged_count, dropped.removed_count) == (0, 1, 1)
    flaky.refresh_from_db()
    assert flaky.removed_at is not None
    assert flaky.columns.count() == 2
    assert platform_sync(platform=s.platform).removed_count == 0

    # when: created again, same definition
    s.sql(f"CREATE TABLE {s.ident}.flaky (id int PRIMARY KEY, keep_id int REFERENCES {s.ident}.keep (id))")
    restored = platform_sync(platform=s.platform)

    # then: same row, restored
    assert (restored.created_count, restored.updated_count, restored.removed_count) == (0, 1, 0)
    flaky_again = Asset.objects.get(platform=s.platform, name="flaky")
    assert flaky_again.pk == flaky.pk and flaky_again.removed_at is None
    assert AssetRelation.objects.filter(source=flaky_again, target__name="keep").count() == 1


def test_foreign_key_to_a_newly_synced_schema_is_linked_without_changing_the_referencing_asset(
    make_scratch_schema,
):
    # given: orders references a table in a schema the platform does not sync yet
    s = make_scratch_schema()
    ref = make_scratch_schema("mpt_ref")
    ref.sql(f"CREATE TABLE {ref.ident}.currency (code char(3) PRIMARY KEY)")
    s.sql(f"CREATE TABLE {s.ident}.orders (id int, code char(3) REFERENCES {ref.ident}.currency (code))")
    platform_sync(platform=s.platform)
    assert not AssetRelation.objects.filter(source__platform=s.platform).exists()

    # when
    s.platform.include_schemas = [s.name, ref.name]
    s.platform.save()
    run = platform_sync(platform=s.platform)

    # then
    assert (run.created_count, run.updated_count, run.unchanged_count) == (1, 0, 1)
    relation = AssetRelation.objects.get(source__name="orders", source__platform=s.platform)
    assert (relation.target.schema, relation.target.name) == (ref.name, "currency")


def test_mixed_case_and_unicode_names_survive_a_sync(make_scratch_schema):
    # given
    s = make_scratch_schema("bıgınt")
    s.sql(f'CREATE TABLE {s.ident}."MixedCase" ("Id" int PRIMARY KEY, "Ünïcode, col" text, "with space" int)')
    s.sql(
        f'CREATE TABLE {s.ident}."Çhild" ("Id" int, CONSTRAINT "FK Çhild→Mixed" FOREIGN KEY ("Id") '
        f'REFERENCES {s.ident}."MixedCase" ("Id"))'
    )
    s.sql(f"COMMENT ON TABLE {s.ident}.\"MixedCase\" IS 'Ça marche — 日本語'")
    s.sql(f'CREATE VIEW {s.ident}."Väy" AS SELECT "Id" FROM {s.ident}."MixedCase"')

    # when
    run = platform_sync(platform=s.platform)
    again = platform_sync(platform=s.platform)

    # then
    assert s.name.startswith("bıgınt_")
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    mixed = Asset.objects.get(platform=s.platform, schema=s.name, name="MixedCase")
    assert mixed.description == "Ça marche — 日本語"
    names = list(mixed.columns.order_by("ordinal").values_list("name", flat=True))
    assert names == ["Id", "Ünïcode, col", "with space"]
    assert mixed.columns.get(name="Id").is_primary_key
    relation = AssetRelation.objects.get(source__name="Çhild", source__platform=s.platform)
    assert (relation.target, relation.name, relation.source_columns) == (mixed, "FK Çhild→Mixed", ["Id"])
    assert Asset.objects.get(platform=s.platform, name="Väy").kind == AssetKind.VIEW
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)


def test_new_row_estimate_is_stored_without_counting_as_a_change(make_scratch_schema):
    # given
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.t (id int)")
    platform_sync(platform=s.platform)
    asset = Asset.objects.get(platform=s.platform, name="t")

    # when
    s.sql(f"INSERT INTO {s.ident}.t SELECT generate_series(1, 500)")
    s.sql(f"ANALYZE {s.ident}.t")
    run = platform_sync(platform=s.platform)

    # then
    assert (run.updated_count, run.unchanged_count) == (0, 1)
    refreshed = Asset.objects.get(pk=asset.pk)
    assert refreshed.row_count_estimate == 500
    assert (refreshed.updated_at, refreshed.last_changed_at) == (asset.updated_at, asset.last_changed_at)


def test_partitions_are_not_assets_but_their_parent_is(make_scratch_schema):
    # given
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.events (at date NOT NULL, v int) PARTITION BY RANGE (at)")
    s.sql(
        f"CREATE TABLE {s.ident}.events_2025 PARTITION OF {s.ident}.events "
        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
    )

    # when
    platform_sync(platform=s.platform)

    # then
    assert list(Asset.objects.filter(platform=s.platform).values_list("name", "kind")) == [("events", AssetKind.TABLE)]


def test_foreign_keys_declared_on_partitions_belong_to_the_parent(make_scratch_schema):
    # given: a partitioned table whose foreign keys are declared on its partitions only (two
    # partitions with the same key, one with a key of its own), and one key on the parent itself
    s = make_scratch_schema()
    q = s.ident
    s.sql(f"CREATE TABLE {q}.customers (id int PRIMARY KEY)")
    s.sql(f"CREATE TABLE {q}.stores (id int PRIMARY KEY)")
    s.sql(f"CREATE TABLE {q}.products (id int PRIMARY KEY)")
    s.sql(
        f"CREATE TABLE {q}.sales (at date NOT NULL, customer_id int, store_id int, product_id int, "
        f"CONSTRAINT sales_product_fk FOREIGN KEY (product_id) REFERENCES {q}.products (id)) PARTITION BY RANGE (at)"
    )
    s.sql(f"CREATE TABLE {q}.sales_2024 PARTITION OF {q}.sales FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    s.sql(f"CREATE TABLE {q}.sales_2025 PARTITION OF {q}.sales FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    s.sql(
        f"ALTER TABLE {q}.sales_2024 ADD CONSTRAINT sales_2024_customer_fk "
        f"FOREIGN KEY (customer_id) REFERENCES {q}.customers (id)"
    )
    s.sql(
        f"ALTER TABLE {q}.sales_2025 ADD CONSTRAINT sales_2025_customer_fk "
        f"FOREIGN KEY (customer_id) REFERENCES {q}.customers (id)"
    )
    s.sql(
        f"ALTER TABLE {q}.sales_2025 ADD CONSTRAINT sales_2025_store_fk "
        f"FOREIGN KEY (store_id) REFERENCES {q}.stores (id)"
    )

    # when
    run = platform_sync(platform=s.platform)

    # then: the parent asset carries each key once; partitions are still not assets
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert set(Asset.objects.filter(platform=s.platform).values_list("name", flat=True)) == {
        "customers",
        "stores",
        "products",
        "sales",
    }
    relations = AssetRelation.objects.filter(source__platform=s.platform, kind=AssetRelationKind.FOREIGN_KEY)
    assert sorted(relations.values_list("source__name", "name", "target__name", "source_columns")) == [
        ("sales", "sales_2024_customer_fk", "customers", ["customer_id"]),
        ("sales", "sales_2025_store_fk", "stores", ["store_id"]),
        ("sales", "sales_product_fk", "products", ["product_id"]),
    ]
    # and: a re-sync finds nothing changed
    again = platform_sync(platform=s.platform)
    assert (again.updated_count, again.unchanged_count) == (0, 4)


# -- failures --------------------------------------------------------------------------------


def test_unreachable_platform_fails_readably_and_leaves_the_catalog_alone(aw_platform):
    # given
    platform_sync(platform=aw_platform)
    before = dict(Asset.objects.filter(platform=aw_platform).values_list("id", "updated_at"))
    aw_platform.port = 1  # nothing listens there
    aw_platform.save()

    # when
    run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.FAILED and run.finished_at is not None
    assert run.error.startswith(f"Cannot connect to {aw_platform.host}:1: connection refused")
    assert dict(Asset.objects.filter(platform=aw_platform).values_list("id", "updated_at")) == before
    assert not Asset.objects.filter(platform=aw_platform, removed_at__isnull=False).exists()
    assert platform_last_run(platform=aw_platform) == run


def test_missing_database_fails_readably_without_the_password(aw_platform):
    # given: local PostgreSQL trusts every login, so a configuration error is a wrong database
    aw_platform.database = "no_such_database_mpt"
    aw_platform.set_password("s3cret-Pa55word")
    aw_platform.save()

    # when
    run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error == f"Database 'no_such_database_mpt' does not exist on {aw_platform.host}:{aw_platform.port}."
    assert "s3cret" not in run.error


def test_unknown_user_fails_readably(aw_platform):
    # given
    aw_platform.username = "no_such_role_mpt"
    aw_platform.save()

    # when
    run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error.startswith("Authentication failed for user 'no_such_role_mpt' on ")


def test_missing_schema_fails_instead_of_removing_everything(aw_platform):
    # given
    platform_sync(platform=aw_platform)
    aw_platform.include_schemas = ["humanresources", "humanressources"]
    aw_platform.save()

    # when
    run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert "Schema 'humanressources' not found" in run.error
    assert not Asset.objects.filter(platform=aw_platform, removed_at__isnull=False).exists()


def test_unexpected_error_rolls_back_and_is_recorded(aw_platform, monkeypatch):
    # given: writing the catalog fails halfway
    from apps.sync import engine

    def broken_rebuild(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine, "_foreign_keys_rebuild", broken_rebuild)

    # when
    run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error == "Unexpected error: RuntimeError: disk on fire"
    assert not Asset.objects.filter(platform=aw_platform).exists()


def test_time_limit_marks_the_run_failed(aw_platform, monkeypatch):
    # given: the worker's soft time limit fires while the platform is being read
    from celery.exceptions import SoftTimeLimitExceeded

    from apps.sync import services

    class SlowConnector:
        def discover(self):
            raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "get_connector", lambda platform: SlowConnector())

    # when
    run = platform_sync(platform=aw_platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error == "The sync took longer than 30 minutes and was stopped."


def test_platform_kind_without_connector_fails_readably(monkeypatch):
    # given: every kind has a connector now, so take one away
    monkeypatch.delitem(CONNECTORS, PlatformKind.DBT)
    platform = PlatformFactory(kind=PlatformKind.DBT)

    # when
    run = platform_sync(platform=platform)

    # then
    assert run.status == SyncRunStatus.FAILED
    assert run.error == "Metadata sync is not available for dbt platforms yet."


def test_second_concurrent_run_is_refused(aw_platform):
    # given
    running = SyncRunFactory(platform=aw_platform, status=SyncRunStatus.RUNNING)

    # when / then
    with pytest.raises(ApplicationError, match="A sync of AdventureWorks is already running"):
        platform_sync(platform=aw_platform)
    assert sync_run_list(platform=aw_platform).get() == running
    assert not Asset.objects.filter(platform=aw_platform).exists()


def test_abandoned_run_does_not_block_syncs_forever(make_scratch_schema):
    # given
    s = make_scratch_schema()
    abandoned = SyncRunFactory(
        platform=s.platform,
        status=SyncRunStatus.RUNNING,
        started_at=timezone.now() - SYNC_RUN_STALE_AFTER * 2,
    )

    # when
    run = platform_sync(platform=s.platform)

    # then
    abandoned.refresh_from_db()
    assert abandoned.status == SyncRunStatus.FAILED and abandoned.error.startswith("Abandoned")
    assert run.status == SyncRunStatus.SUCCEEDED


# -- scheduling and tasks ----------------------------------------------------------------------


def test_platform_sync_due_picks_never_run_and_overdue_platforms():
    # given
    now = timezone.now()
    never = PlatformFactory()
    overdue = PlatformFactory(sync_interval_minutes=30)
    SyncRunFactory(platform=overdue, started_at=now - timedelta(minutes=31))
    recent = PlatformFactory(sync_interval_minutes=30)
    SyncRunFactory(platform=recent, started_at=now - timedelta(minutes=29))
    SyncRunFactory(platform=recent, started_at=now - timedelta(days=2))
    running = PlatformFactory(sync_interval_minutes=1)
    SyncRunFactory(platform=running, status=SyncRunStatus.RUNNING, started_at=now - timedelta(minutes=10))
    stuck = PlatformFactory()
    SyncRunFactory(platform=stuck, status=SyncRunStatus.RUNNING, started_at=now - SYNC_RUN_STALE_AFTER * 2)
    PlatformFactory(sync_enabled=False)

    # when
    due = platform_sync_due()

    # then
    assert due == sorted([never.pk, overdue.pk, stuck.pk])


def test_sync_task_runs_the_sync_and_skips_when_one_is_running(make_scratch_schema, django_user_model):
    # given
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.t (id int)")
    admin = django_user_model.objects.create(username="admin")

    # when
    platform_sync_task(s.platform.pk, actor_id=admin.pk)
    SyncRunFactory(platform=s.platform, status=SyncRunStatus.RUNNING)
    platform_sync_task(s.platform.pk)  # logs and returns
    platform_sync_task(10**9)  # platform gone

    # then
    runs = list(sync_run_list(platform=s.platform))
    assert [r.status for r in runs] == [SyncRunStatus.RUNNING, SyncRunStatus.SUCCEEDED]
    assert runs[1].triggered_by == admin and runs[1].created_count == 1


def test_sync_due_task_enqueues_a_sync_per_due_platform(monkeypatch):
    # given
    due = PlatformFactory()
    PlatformFactory(sync_enabled=False)  # not due: scheduled sync off
    enqueued = []
    monkeypatch.setattr(platform_sync_task, "apply_async", lambda args=(), kwargs=None, **_: enqueued.append(args[0]))

    # when
    platform_sync_due_task()

    # then
    assert enqueued == [due.pk]


# -- fingerprint -------------------------------------------------------------------------------


def test_fingerprint_ignores_row_estimate_and_foreign_key_order_but_not_metadata():
    # given
    column = DiscoveredColumn(name="id", ordinal=1, data_type="INTEGER", nullable=False, is_primary_key=True)
    fk_a = DiscoveredForeignKey("a", ("x",), "s", "t", ("id",))
    fk_b = DiscoveredForeignKey("b", ("y",), "s", "u", ("id",))
    asset = DiscoveredAsset("s", "t", AssetKind.TABLE, "", (column,), (fk_a, fk_b), row_count_estimate=10)

    # when
    same = DiscoveredAsset("s", "t", AssetKind.TABLE, "", (column,), (fk_b, fk_a), row_count_estimate=99)
    commented = DiscoveredAsset("s", "t", AssetKind.TABLE, "A comment", (column,), (fk_a, fk_b))

    # then
    assert asset.fingerprint() == same.fingerprint()
    assert asset.fingerprint() != commented.fingerprint()
    assert len(asset.fingerprint()) == 64


# -- statistics, defaults and existing privileges ------------------------------------------------


def test_last_analyzed_time_and_defaults_are_read(make_scratch_schema):
    # given
    s = make_scratch_schema()
    s.sql(
        f"CREATE TABLE {s.ident}.t (id int GENERATED ALWAYS AS IDENTITY, n serial, "
        f"status text NOT NULL DEFAULT 'new', at timestamptz DEFAULT now(), plain int)"
    )
    platform_sync(platform=s.platform)
    asset = Asset.objects.get(platform=s.platform, name="t")
    assert asset.last_analyzed_at is None  # never analyzed

    # when
    s.sql(f"ANALYZE {s.ident}.t")
    run = platform_sync(platform=s.platform)

    # then: a statistic, not a change
    assert (run.updated_count, run.unchanged_count) == (0, 1)
    asset.refresh_from_db()
    assert asset.last_analyzed_at is not None and asset.last_analyzed_at <= timezone.now()
    defaults = dict(asset.columns.values_list("name", "default"))
    assert defaults["id"] == "GENERATED ALWAYS AS IDENTITY"
    assert defaults["n"].startswith("nextval(")
    assert defaults["status"] == "'new'::text" and defaults["at"] == "now()" and defaults["plain"] == ""


def test_existing_privileges_are_synced_without_the_owner_and_follow_revokes(
    pg_consumer_login,
    make_scratch_schema,  # in this order: the login outlives the schema that grants to it
):
    # given: a login may read and insert into orders; everyone may read the view
    s = make_scratch_schema()
    login, _ = pg_consumer_login
    s.sql(f"CREATE TABLE {s.ident}.orders (id int PRIMARY KEY)")
    s.sql(f"CREATE TABLE {s.ident}.quiet (id int)")
    s.sql(f"CREATE VIEW {s.ident}.v AS SELECT id FROM {s.ident}.orders")
    s.sql(
        sql.SQL("GRANT SELECT, INSERT ON {}.orders TO {} WITH GRANT OPTION").format(
            sql.Identifier(s.name), sql.Identifier(login)
        )
    )
    s.sql(sql.SQL("GRANT SELECT ON {}.v TO PUBLIC").format(sql.Identifier(s.name)))

    # when
    platform_sync(platform=s.platform)

    # then: the owner (postgres) is left out
    def held(name):
        return set(
            AssetPrivilege.objects.filter(asset__platform=s.platform, asset__name=name).values_list(
                "grantee", "privilege", "is_grantable"
            )
        )

    assert held("orders") == {(login, "SELECT", True), (login, "INSERT", True)}
    assert held("v") == {("PUBLIC", "SELECT", False)}
    assert held("quiet") == set()

    # when: a revoke
    before = Asset.objects.get(platform=s.platform, name="orders")
    s.sql(sql.SQL("REVOKE INSERT ON {}.orders FROM {}").format(sql.Identifier(s.name), sql.Identifier(login)))
    with CaptureQueriesContext(connection) as ctx:
        run = platform_sync(platform=s.platform)

    # then: only the privileges moved
    assert (run.updated_count, run.unchanged_count) == (0, 3)
    assert held("orders") == {(login, "SELECT", True)}
    after = Asset.objects.get(pk=before.pk)
    assert (after.updated_at, after.last_changed_at) == (before.updated_at, before.last_changed_at)
    assert not any('"catalog_column"' in q for q in _catalog_writes(ctx.captured_queries))


def test_partitioned_table_privileges_belong_to_the_parent(pg_consumer_login, make_scratch_schema):
    # given
    s = make_scratch_schema()
    login, _ = pg_consumer_login
    s.sql(f"CREATE TABLE {s.ident}.events (at date NOT NULL) PARTITION BY RANGE (at)")
    s.sql(
        f"CREATE TABLE {s.ident}.events_2025 PARTITION OF {s.ident}.events "
        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
    )
    s.sql(
        sql.SQL("GRANT SELECT ON {}.events, {}.events_2025 TO {}").format(
            sql.Identifier(s.name), sql.Identifier(s.name), sql.Identifier(login)
        )
    )

    # when
    platform_sync(platform=s.platform)

    # then
    assert list(AssetPrivilege.objects.filter(asset__platform=s.platform).values_list("asset__name", "grantee")) == [
        ("events", login)
    ]


# -- progress ----------------------------------------------------------------------------------


def test_run_in_progress_shows_its_phase_and_counts(aw_platform, monkeypatch):
    # given: the real PostgreSQL connector, observed: each time it reports progress the test reads
    # the run row, as the platform page would from another process
    from apps.platforms.models import SyncRun
    from apps.sync import services
    from apps.sync.connectors.postgresql import PostgreSQLConnector

    seen = []

    class ObservedConnector(PostgreSQLConnector):
        def report_progress(self, done, total):
            super().report_progress(done, total)
            run = SyncRun.objects.get(platform=aw_platform, status=SyncRunStatus.RUNNING)
            seen.append((run.phase, run.progress_done, run.progress_total))

    monkeypatch.setattr(services, "get_connector", lambda platform: ObservedConnector(platform))

    # when
    run = platform_sync(platform=aw_platform)

    # then: the first report was written at once (later ones are throttled to one a second)
    assert seen[0] == ("reading", 0, 5)
    assert all(phase == "reading" and total == 5 for phase, _, total in seen)
    run.refresh_from_db()
    assert (run.phase, run.progress_done, run.progress_total) == ("done", AW_ASSETS, AW_ASSETS)
    assert run.progress_percent == 100
