"""The demo's jaffle_shop: its database built from the dbt artifacts, the warehouse and dbt
platforms syncing on a schedule, and the "Customer orders" product showing dbt docs, quality
and lineage on the warehouse's tables."""

import psycopg
import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.catalog.models import Asset
from apps.demo import loader
from apps.platforms.models import Platform
from apps.sync.services import platform_sync, platform_sync_due

pytestmark = pytest.mark.django_db


def test_demo_builds_jaffle_shop_and_syncs_it_on_schedule(aw_warehouse, client):
    # when: loaded twice (the second run finds everything in place)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)

    # then: the database has the seeds' rows and the models built from them
    with psycopg.connect(loader.jaffle_shop_conninfo(aw_warehouse["conninfo"])) as conn:
        assert conn.execute("SELECT count(*) FROM analytics.customers").fetchone()[0] == 100
        assert conn.execute("SELECT count(*) FROM analytics.orders").fetchone()[0] == 99
    warehouse = Platform.objects.get(slug=loader.JAFFLE_WAREHOUSE_SLUG)
    dbt = Platform.objects.get(slug=loader.JAFFLE_DBT_SLUG)
    assert dbt.warehouse == warehouse and dbt.sync_interval_minutes == 15 and dbt.sync_enabled
    assert {warehouse.pk, dbt.pk} <= set(platform_sync_due())

    # when: the scheduled syncs run (warehouse, then dbt)
    for platform in (warehouse, dbt):
        run = platform_sync(platform=platform)
        assert run.status == "succeeded", run.error

    # then: one asset per relation, with dbt metadata
    assert Asset.objects.filter(platform=warehouse, dbt_platform=dbt).count() == 8
    assert not Asset.objects.filter(platform=dbt).exists()

    # and ana reads the product page
    client.force_login(User.objects.get(username="ana"))
    url = reverse("catalog:product_detail", args=[loader.JAFFLE_PRODUCT_SLUG])
    page = "".join(client.get(url, {"tab": tab} if tab else {}).content.decode() for tab in ("", "quality", "lineage"))
    assert "Customer orders" in page
    assert "12 of 12 checks passed" in page
    assert "analytics.stg_orders" in page and "analytics.raw_payments" in page
