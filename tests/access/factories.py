"""Factories for access tests: products of a given classification on the personas' platform."""

from apps.catalog.models import OutputPort
from tests.catalog.factories import DataProductFactory, OutputPortFactory


def port_for(personas, classification: str, **product_fields):
    """An output port on the ``humanresources`` schema of a published product with
    ``classification``, owned by the personas' owner team (unless ``owner_team`` is given).

    One location, one owner: the new port becomes the schema's only approved exposure (the ports
    made before on it step aside, as if their exposure had been rejected), so the request policy
    is the new product's classification, not the strictest of several products.
    """
    product_fields.setdefault("owner_team", personas.team)
    product = DataProductFactory(classification=classification, **product_fields)
    platform = personas.port.platform
    OutputPort.objects.filter(platform=platform, schema="humanresources").update(exposure_status="rejected")
    return OutputPortFactory(data_product=product, platform=platform, schema="humanresources")
