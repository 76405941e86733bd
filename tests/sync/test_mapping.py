"""Mapping rules: a platform's schema mapped to a domain and data product shows its tables,
today's and tomorrow's, on the product."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.catalog.models import OutputPort
from apps.catalog.selectors import output_port_assets
from apps.demo import loader
from apps.demo.warehouse import BUSINESS_SCHEMAS
from apps.platforms.models import ExposureAssignment
from apps.sync.services import platform_sync, schema_mapping_apply
from tests.catalog.factories import DataProductFactory, DomainFactory, OutputPortFactory
from tests.platforms.factories import ExposureAssignmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.platform]


def test_sync_gives_the_mapped_product_a_port_and_new_tables_appear_in_it(make_scratch_schema):
    # given: a mapping rule and no port yet
    s = make_scratch_schema()
    s.sql(f"CREATE TABLE {s.ident}.orders (id int PRIMARY KEY)")
    product = DataProductFactory(name="Orders")
    ExposureAssignmentFactory(platform=s.platform, schema=s.name, data_product=product)

    # when
    platform_sync(platform=s.platform)

    # then
    port = OutputPort.objects.get(data_product=product)
    assert (port.platform, port.schema, port.table, port.name) == (s.platform, s.name, "", f"{s.name} schema")
    assert [a.name for a in output_port_assets(port=port)] == ["orders"]

    # when: a table is created in the schema, and the platform syncs again
    s.sql(f"CREATE TABLE {s.ident}.refunds (id int PRIMARY KEY)")
    platform_sync(platform=s.platform)

    # then: it is in the product, through the same single port
    assert OutputPort.objects.filter(data_product=product).count() == 1
    assert [a.name for a in output_port_assets(port=port)] == ["orders", "refunds"]


def test_existing_port_on_the_schema_is_kept_and_a_taken_name_is_not_reused(make_scratch_schema):
    # given
    s = make_scratch_schema()
    kept = DataProductFactory()
    OutputPortFactory(data_product=kept, platform=s.platform, schema=s.name, name="Curated")
    named = DataProductFactory(domain=kept.domain)
    OutputPortFactory(data_product=named, platform=s.platform, schema="elsewhere", name=f"{s.name} schema")
    ExposureAssignmentFactory(platform=s.platform, schema=s.name, data_product=kept)
    ExposureAssignmentFactory(platform=s.platform, schema=s.name + "x", data_product=named)

    # when
    created = schema_mapping_apply(platform=s.platform)
    again = schema_mapping_apply(platform=s.platform)

    # then
    assert [p.name for p in created] == [f"{s.name}x schema"]
    assert again == []
    assert list(kept.output_ports.values_list("name", flat=True)) == ["Curated"]


def test_mapping_to_a_product_of_another_domain_is_refused():
    # given
    mapping = ExposureAssignmentFactory.build(data_product=DataProductFactory(), domain=DomainFactory())
    mapping.platform.save()
    mapping.platform_id = mapping.platform.pk

    # when / then
    with pytest.raises(ValidationError) as excinfo:
        mapping.full_clean()
    assert "data_product" in excinfo.value.message_dict


def test_demo_maps_the_five_business_schemas(aw_platform):
    # given
    teams = loader._teams()

    # when: the demo's products are made twice
    loader._products(aw_platform, teams)
    products = loader._products(aw_platform, teams)

    # then: five rules, one port per product on its schema
    mappings = ExposureAssignment.objects.filter(platform=aw_platform).select_related("data_product", "domain")
    assert sorted(m.schema for m in mappings) == sorted(BUSINESS_SCHEMAS)
    assert all(m.data_product.domain == m.domain for m in mappings)
    assert sorted(OutputPort.objects.filter(data_product__in=products).values_list("schema", flat=True)) == sorted(
        BUSINESS_SCHEMAS
    )
