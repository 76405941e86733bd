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
    class Meta:
        model = OutputPort

    data_product = factory.SubFactory(DataProductFactory)
    name = factory.Sequence(lambda n: f"port {n}")
    schema = "humanresources"
