"""The index follows catalog changes on commit, through Celery, and `manage.py reindex`."""

import pytest
from django.core.management import call_command

from apps.catalog import services as catalog_services
from apps.search.models import ProductSearchDocument, SearchEntry, SearchTerm
from tests.accounts.factories import TeamFactory
from tests.catalog.factories import AssetFactory, ColumnFactory, DomainFactory
from tests.platforms.factories import PlatformFactory

pytestmark = pytest.mark.django_db


def test_a_new_product_is_indexed_after_commit_not_before(django_capture_on_commit_callbacks):
    # given
    team, domain = TeamFactory(), DomainFactory()
    # when: created inside a transaction that has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        product = catalog_services.data_product_create(
            name="Fleet telemetry", slug="fleet", domain=domain, owner_team=team, status="published"
        )
        # then: nothing indexed, one callback waiting for the commit
        assert not ProductSearchDocument.objects.filter(product=product).exists()
    assert len(callbacks) == 1
    # when the transaction commits (the task runs eagerly in tests)
    callbacks[0]()
    # then
    assert ProductSearchDocument.objects.get(product=product).name == "Fleet telemetry"


def test_an_output_port_brings_its_tables_and_columns_into_the_index(django_capture_on_commit_callbacks):
    # given
    platform = PlatformFactory()
    asset = AssetFactory(platform=platform, schema="fleet", name="trips", description="One row per trip")
    ColumnFactory(asset=asset, name="odometer_km", description="Distance driven")
    product = catalog_services.data_product_create(
        name="Fleet", slug="fleet", domain=DomainFactory(), owner_team=TeamFactory(), status="published"
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.output_port_create(
            actor=None, data_product=product, name="fleet", platform=platform, schema="fleet"
        )
    # then
    assert set(SearchEntry.objects.filter(product=product).values_list("kind", "label")) == {
        ("asset", "fleet.trips"),
        ("column", "odometer_km"),
    }
    assert SearchTerm.objects.filter(term="odometer").exists()


def test_reindex_rebuilds_everything(capsys):
    # given: an index row that no longer matches the catalog
    product = catalog_services.data_product_create(
        name="Fleet", slug="fleet", domain=DomainFactory(), owner_team=TeamFactory(), status="published"
    )
    call_command("reindex")
    ProductSearchDocument.objects.filter(product=product).update(name="stale")
    # when
    call_command("reindex")
    # then
    assert ProductSearchDocument.objects.get(product=product).name == "Fleet"
    assert "Indexed 1 data products on postgres" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_concurrent_reindexing_of_the_same_product_never_collides():
    """Seen in ``make demo``: two index tasks for one product (sync and contract publish) raised
    ``duplicate key ... search_productdocument_pkey``; runs are now serialised per product."""
    import threading

    from django.db import connection

    from apps.search.indexing import index_products

    product = catalog_services.data_product_create(
        name="Fleet", slug="fleet", domain=DomainFactory(), owner_team=TeamFactory(), status="published"
    )
    errors, barrier = [], threading.Barrier(4)

    def run(ids):
        try:
            barrier.wait()
            for _ in range(10):
                index_products(product_ids=ids)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(ids,)) for ids in ([product.pk], [product.pk], [product.pk], None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert ProductSearchDocument.objects.filter(product=product).count() == 1
