import factory
from factory.django import DjangoModelFactory

from apps.catalog import services
from apps.catalog.models import DataProduct, Domain, OutputPort
from tests.accounts.factories import TeamFactory


class DomainFactory(DjangoModelFactory):
    class Meta:
        model = Domain

    name = factory.Sequence(lambda n: f"Domain {n}")
    slug = factory.Sequence(lambda n: f"domain-{n}")


class DataProductFactory(DjangoModelFactory):
    """Created through ``data_product_create`` so the owner team gets its object permissions."""

    class Meta:
        model = DataProduct

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    summary = "A data product for tests."
    domain = factory.SubFactory(DomainFactory)
    owner_team = factory.SubFactory(TeamFactory)
    status = "published"
    classification = "confidential"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.data_product_create(**kwargs)


class OutputPortFactory(DjangoModelFactory):
    """A port as if its exposure had been approved (``output_port_create`` judges real ones)."""

    class Meta:
        model = OutputPort

    data_product = factory.SubFactory(DataProductFactory)
    name = factory.Sequence(lambda n: f"port {n}")
    schema = "humanresources"
    exposure_status = "approved"


class AssetFactory(DjangoModelFactory):
    """A table as metadata sync would record it (no warehouse needed)."""

    class Meta:
        model = "catalog.Asset"

    platform = factory.SubFactory("tests.platforms.factories.PlatformFactory")
    schema = "humanresources"
    name = factory.Sequence(lambda n: f"table_{n}")
    kind = "table"
    description = ""


class ColumnFactory(DjangoModelFactory):
    class Meta:
        model = "catalog.Column"

    asset = factory.SubFactory(AssetFactory)
    name = factory.Sequence(lambda n: f"column_{n}")
    ordinal = factory.Sequence(lambda n: n + 1)
    data_type = "integer"
    description = ""


class DataContractFactory(DjangoModelFactory):
    class Meta:
        model = "catalog.DataContract"

    data_product = factory.SubFactory(DataProductFactory)
    contract_id = factory.Sequence(lambda n: f"urn:datacontract:{n}")
    version = "1.0.0"
    status = "active"
    document = factory.LazyAttribute(
        lambda c: {
            "apiVersion": "v3.0.2",
            "kind": "DataContract",
            "id": c.contract_id,
            "version": c.version,
            "status": c.status,
        }
    )


class QualityCheckFactory(DjangoModelFactory):
    class Meta:
        model = "catalog.QualityCheck"

    asset = factory.SubFactory(AssetFactory)
    source = "dbt"
    unique_id = factory.Sequence(lambda n: f"test.mesh.check_{n}")
    name = "not_null"
    status = "pass"
