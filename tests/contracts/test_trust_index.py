"""The search index follows a product's trust: resolving its last incident (or a quality run, a
drift check, a publication) reindexes it after commit, so the card and the trust facet move."""

import pytest

from apps.catalog.models import DataContract
from apps.contracts.models import Incident, QualityResult, QualityRun
from apps.contracts.services import incident_transition
from apps.search.indexing import index_products
from apps.search.models import ProductSearchDocument

pytestmark = pytest.mark.django_db


def test_resolving_the_last_incident_makes_the_product_trusted_in_search(hr, django_capture_on_commit_callbacks):
    # given: every rule passed in the latest run, but an incident is still open
    contract = DataContract.objects.create(
        data_product=hr.product, contract_id="urn:x", version="1.0.0", status="active", document={}
    )
    run = QualityRun.objects.create(data_contract=contract, data_product=hr.product, passed=1)
    QualityResult.objects.create(
        run=run,
        data_product=hr.product,
        rule_key="employee:0",
        name="Employees are loaded",
        metric="rowCount",
        status="pass",
    )
    incident = Incident.objects.create(
        data_product=hr.product, rule_key="employee:0", title="Employees are loaded failed"
    )
    index_products(product_ids=[hr.product.pk])
    assert ProductSearchDocument.objects.get(product=hr.product).trust == "issues"
    # when: the owner resolves it (the reindex runs on commit, on the worker: eager in tests)
    with django_capture_on_commit_callbacks(execute=True):
        incident_transition(
            incident_id=incident.pk, product=hr.product, actor=hr.owner, to="resolved", comment="Reloaded"
        )
    # then
    doc = ProductSearchDocument.objects.get(product=hr.product)
    assert doc.trust == "trusted"
    assert doc.trust_card["incident"]["status"] == "resolved" and doc.trust_card["open_incidents"] == 0
