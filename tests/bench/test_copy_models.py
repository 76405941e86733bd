"""The benchmarks' COPY helper takes its column list from the model, so new columns get their defaults."""

import pytest
from django.db import connection

from apps.catalog.models import Asset, Column
from bench._common import copy_models, pct
from tests.platforms.factories import PlatformFactory


@pytest.mark.django_db
def test_copy_models_fills_the_fields_a_row_leaves_out_with_their_model_defaults():
    # given a platform and rows that name only some fields (none of the dbt ones)
    platform = PlatformFactory()
    with connection.cursor() as cursor:
        # when
        written = copy_models(cursor.cursor, Asset, [{"platform_id": platform.pk, "schema": "s", "name": "t"}])
        asset = Asset.objects.get(platform=platform)
        copy_models(
            cursor.cursor,
            Column,
            ({"asset_id": asset.pk, "name": f"c{i}", "ordinal": i, "data_type": "int"} for i in range(1, 4)),
        )
    # then every other field has the model's default
    assert written == 1
    assert asset.kind == "table" and asset.dbt_tags == [] and asset.dbt_meta == {} and asset.first_seen_at
    column = Column.objects.get(asset=asset, ordinal=2)
    assert column.dbt_description == "" and column.nullable is True and column.is_primary_key is False


@pytest.mark.django_db
def test_copy_models_refuses_a_key_that_is_no_field():
    with connection.cursor() as cursor, pytest.raises(ValueError, match="no such fields"):
        copy_models(cursor.cursor, Asset, [{"platform_id": 1, "schema": "s", "name": "t", "colour": "red"}])


def test_pct_is_the_nearest_rank():
    assert pct([5, 1, 3, 2, 4], 50) == 3
    assert pct([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
