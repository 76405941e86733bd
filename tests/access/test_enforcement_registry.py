"""Grant adapters and sync connectors share one registry style: a dict keyed by platform kind in
the package's ``__init__``, the class loaded on first use, bound to the platform."""

import pytest

from apps.access.enforcement import ADAPTERS, PlatformGrantError, get_grant_adapter
from apps.access.enforcement.mariadb import MariaDBGrantAdapter
from apps.access.enforcement.postgresql import PostgresGrantAdapter
from apps.platforms.choices import PlatformKind
from apps.sync.connectors import CONNECTORS, get_connector
from apps.sync.connectors.dbt import DbtConnector
from tests.platforms.factories import PlatformFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "adapter_class"),
    [
        (PlatformKind.POSTGRESQL, PostgresGrantAdapter),
        (PlatformKind.MARIADB, MariaDBGrantAdapter),
    ],
)
def test_each_database_kind_has_its_grant_adapter_bound_to_the_platform(kind, adapter_class):
    # given
    platform = PlatformFactory(kind=kind)

    # when
    adapter = get_grant_adapter(platform)

    # then
    assert type(adapter) is adapter_class and adapter.platform == platform


def test_a_kind_without_adapter_is_refused_readably():
    # given: dbt holds no data, so nothing is granted there
    platform = PlatformFactory(kind=PlatformKind.DBT, host="", port=None)

    # when / then
    with pytest.raises(PlatformGrantError, match="Grants are not supported on dbt platforms yet"):
        get_grant_adapter(platform)
    assert isinstance(get_connector(platform), DbtConnector)


def test_registries_are_keyed_by_platform_kind():
    assert set(ADAPTERS) <= set(PlatformKind.values)
    assert set(CONNECTORS) == set(PlatformKind.values)
