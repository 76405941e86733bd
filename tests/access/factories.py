"""Factories for access tests: products of a given classification on the personas' platform."""
from tests.catalog.factories import DataProductFactory, OutputPortFactory


def port_for(personas, classification: str, **product_fields):
    """An output port on the ``humanresources`` schema of a published product with
    ``classification``, owned by the personas' owner team (unless ``owner_team`` is given)."""
    product_fields.setdefault("owner_team", personas.team)
    product = DataProductFactory(classification=classification, **product_fields)
    return OutputPortFactory(data_product=product, platform=personas.port.platform, schema="humanresources")
