"""Importing contracts: validation against the ODCS JSON Schema, nothing half-saved, the
product changed only where the contract says so, statuses as written, servers checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from apps.catalog.models import DataContract, DataProduct, OutputPort
from apps.contracts.odcs import contract_parse
from apps.contracts.services import data_contract_publish
from apps.core.exceptions import ApplicationError
from tests.contracts.conftest import contract_text

ODCS_DIR = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "odcs" / "examples"
EXAMPLES = sorted(ODCS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_odcs_example_validates(path):
    # given an official ODCS example (v3.0.2 or v3.1.0); when parsed; then it is valid
    parsed = contract_parse(path.read_text())
    assert parsed.document["kind"] == "DataContract"
    assert parsed.model.apiVersion in ("v3.0.2", "v3.1.0")


def test_examples_are_present():
    assert len(EXAMPLES) >= 7


def _errors(text: str) -> dict:
    with pytest.raises(ApplicationError) as excinfo:
        contract_parse(text)
    return excinfo.value.extra


def test_every_schema_error_has_its_json_path_and_reason():
    text = (
        "kind: DataContract\nid: x\nversion: 1.0.0\nschema:\n  - name: t\n    properties:\n"
        "      - {name: a}\n      - {name: b}\n      - {name: c}\n      - {name: d, logicalType: numbr}\n"
    )
    errors = _errors(text)
    assert errors["contract.apiVersion"] == ["This field is required by ODCS."]
    assert errors["contract.status"] == ["This field is required by ODCS."]
    assert errors["contract.schema[0].properties[3].logicalType"][0].startswith("'numbr' is not one of ['string'")


@pytest.mark.parametrize(
    "text,key",
    [
        ("a: [unclosed", "contract"),
        ("- a list\n", "contract"),
        ("a: &anchor [1]\nb: *anchor\n", "contract"),
        (
            "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\nnotAField: 1\n",
            "contract.notAField",
        ),
        ("apiVersion: v9.9.9\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n", "contract.apiVersion"),
        (
            "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n"
            "schema: [{name: t, properties: [{name: a, logicalType: notatype}]}]\n",
            "contract.schema[0].properties[0].logicalType",
        ),
    ],
)
def test_bad_input_is_a_field_error(text, key):
    assert key in _errors(text)


def test_deep_nesting_and_huge_documents_are_refused(settings):
    # the portal's contract limits (apps.core.parsing.contract_limits: INPUT_* settings) apply
    assert "contract" in _errors("a: " + "[" * 100 + "]" * 100)
    settings.INPUT_CONTRACT_MAX_BYTES = 1_000_000
    assert "too large" in _errors("a: '" + "x" * 1_100_000 + "'")["contract"][0]
    assert "contract.contractCreatedTs" not in _errors(
        "contractCreatedTs: 2026-01-01T10:00:00Z\n"
    )  # a string, as in JSON


def test_a_quality_rule_without_name_renders_on_the_contract_tab(hr, client):
    # given the minimal reproduction of the 500: a rule with only metric and operator
    text = contract_text(extra="    quality:\n      - metric: rowCount\n        mustBeGreaterThan: 10\n")
    data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    client.force_login(hr.owner)
    # when the contract tab is shown
    response = client.get("/products/employees/?tab=contract")
    # then it answers 200 with the rule in words
    assert response.status_code == 200
    body = response.content.decode()
    assert "Number of rows" in body and "must be greater than 10" in body


def test_publishing_without_dataproduct_never_renames_or_reclassifies(hr):
    # given a contract without dataProduct nor classification for the existing product
    text = contract_text().replace("dataProduct: Employees\n", "").replace("name: employees\n", "name: emp_v1\n")
    # when published
    result = data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    # then name and classification stay; the changes list says exactly what was written
    product = DataProduct.objects.get(slug="employees")
    assert (product.name, product.classification, product.summary) == ("Employees", "confidential", "Who works here.")
    assert result.changes == ["data_contract.created:1.0.0"]


def test_an_explicit_rename_and_classification_are_listed(hr):
    text = (
        contract_text().replace("dataProduct: Employees", "dataProduct: Staff")
        + "customProperties:\n  - property: classification\n    value: restricted\n"
    )
    result = data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    product = DataProduct.objects.get(slug="employees")
    assert (product.name, product.classification) == ("Staff", "restricted")
    assert {"data_product.updated:name", "data_product.updated:classification"} <= set(result.changes)


@pytest.mark.parametrize("status", ["production", "development", "proposed", "active", "deprecated"])
def test_statuses_are_stored_as_written(hr, status):
    text = contract_text().replace("status: active", f"status: {status}")
    result = data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    assert DataContract.objects.get(pk=result.data_contract.pk).status == status


def test_a_server_on_a_schema_the_platform_lacks_is_refused_and_nothing_is_saved(hr):
    text = contract_text() + (
        "servers:\n  - server: lake\n    type: postgres\n    host: h\n    port: 5432\n"
        "    database: warehouse\n    schema: nosuchschema\n"
        "    customProperties: [{property: platform, value: warehouse}]\n"
    )
    with pytest.raises(ApplicationError) as excinfo:
        data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    assert "contract.servers[0].schema" in excinfo.value.extra
    assert "nosuchschema" in excinfo.value.extra["contract.servers[0].schema"][0]
    assert not DataContract.objects.exists() and not OutputPort.objects.filter(name="lake").exists()


def test_a_server_on_another_database_is_refused(hr):
    text = contract_text() + (
        "servers:\n  - server: warehouse\n    type: postgres\n    host: h\n    port: 5432\n"
        "    database: elsewhere\n    schema: humanresources\n"
    )
    with pytest.raises(ApplicationError) as excinfo:
        data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    assert "contract.servers[0].database" in excinfo.value.extra


def test_a_server_on_a_known_schema_creates_the_port_once(hr):
    text = contract_text() + (
        "servers:\n  - server: hr2\n    type: postgres\n    host: h\n    port: 5432\n"
        "    database: warehouse\n    schema: humanresources\n"
        "    customProperties: [{property: platform, value: warehouse}]\n"
    )
    first = data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    again = data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    assert "output_port.created:hr2" in first.changes and again.changes == []


def test_an_invalid_contract_leaves_the_product_untouched(hr):
    stamp = DataProduct.objects.get(slug="employees").updated_at
    text = (
        contract_text().replace("logicalType: string", "logicalType: numbr")
        + "customProperties:\n  - property: classification\n    value: public\n"
    )
    with pytest.raises(ApplicationError):
        data_contract_publish(actor=hr.owner, contract=text, data_product="employees")
    assert DataProduct.objects.get(slug="employees").updated_at == stamp
    assert not DataContract.objects.exists()


def test_the_same_version_with_other_content_is_refused(hr):
    data_contract_publish(actor=hr.owner, contract=contract_text(), data_product="employees")
    with pytest.raises(ApplicationError) as excinfo:
        data_contract_publish(
            actor=hr.owner, contract=contract_text().replace("varchar(50)", "varchar(80)"), data_product="employees"
        )
    assert "contract.version" in excinfo.value.extra
    # a status change of the same version is a lifecycle step, accepted
    result = data_contract_publish(
        actor=hr.owner,
        contract=contract_text().replace("status: active", "status: deprecated"),
        data_product="employees",
    )
    assert result.changes == ["data_contract.status:active->deprecated"]


def test_owners_import_by_paste_and_upload_and_see_every_error(hr, client):
    client.force_login(hr.owner)
    bad = client.post(
        "/products/employees/contract/import/",
        {"contract": contract_text().replace("logicalType: string", "logicalType: numbr")},
    )
    assert bad.status_code == 400
    assert "schema[0].properties[1].logicalType: &#x27;numbr&#x27; is not one of" in bad.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = client.post(
        "/products/employees/contract/import/", {"file": SimpleUploadedFile("c.yaml", contract_text().encode())}
    )
    assert good.status_code == 302
    assert DataContract.objects.get(data_product=hr.product).source_yaml == contract_text()
    download = client.get(f"/products/employees/contract/{DataContract.objects.get().pk}/download/")
    assert download.content.decode() == contract_text()


def test_strangers_cannot_import(hr, client):
    client.force_login(hr.unrelated)
    assert client.get("/products/employees/contract/import/").status_code == 404
    assert client.post("/products/employees/contract/import/", {"contract": contract_text()}).status_code == 404
    assert not DataContract.objects.exists()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_publishes_and_its_contract_page_reads_without_yaml(hr, client, path):
    # given an ODCS example published for the existing product
    result = data_contract_publish(actor=hr.owner, contract=path.read_text(), data_product="employees")
    assert result.changes and DataProduct.objects.get(slug="employees").name in ("Employees", result.data_product.name)
    client.force_login(hr.owner)
    # when anyone who sees the product opens its contract tab, then it renders
    response = client.get("/products/employees/?tab=contract")
    assert response.status_code == 200
    doc = result.data_contract.document
    body = response.content.decode()
    for obj in doc.get("schema") or []:
        for prop in obj.get("properties") or []:
            assert prop["name"] in body


# -- the pure plan of a publish (no database) --------------------------------------------------


def _publish_plan(**overrides):
    from apps.contracts.services import contract_publish_plan

    args = dict(
        product_state={"name": "Employees"},
        wanted={"name": "Employees"},
        ports=[("pg", {"schema": "hr", "database": ""})],
        port_state={"pg": {"schema": "hr", "database": ""}},
        contract_state=({"v": 1}, "active"),
        version="1.0.0",
        document={"v": 1},
        status="active",
    )
    return contract_publish_plan(**(args | overrides))


def test_publish_plan_unchanged_writes_nothing():
    plan = _publish_plan()
    assert (plan.create_product, plan.product_updates, plan.port_writes, plan.contract_write, plan.changes) == (
        False,
        {},
        [],
        False,
        [],
    )


def test_publish_plan_new_product_creates_ports_and_version():
    plan = _publish_plan(product_state=None, wanted={}, port_state={}, contract_state=None)
    assert plan.create_product and plan.contract_write
    assert [(w.name, w.create) for w in plan.port_writes] == [("pg", True)]
    assert plan.changes == ["data_product.created", "output_port.created:pg", "data_contract.created:1.0.0"]


def test_publish_plan_lists_only_what_differs():
    plan = _publish_plan(
        wanted={"name": "Staff", "description": "x"},
        product_state={"name": "Employees", "description": "x"},
        ports=[("pg", {"schema": "hr2", "database": ""}), ("pg", {"schema": "hr2", "database": ""})],
        contract_state=({"v": 1}, "draft"),
    )
    assert plan.product_updates == {"name": "Staff"}
    assert [(w.name, w.fields, w.create) for w in plan.port_writes] == [("pg", {"schema": "hr2"}, False)]
    assert plan.changes == ["data_product.updated:name", "output_port.updated:pg", "data_contract.status:draft->active"]
    assert plan.contract_write
