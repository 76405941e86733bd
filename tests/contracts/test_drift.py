"""Drift against the real AdventureWorks warehouse after a metadata sync: a contract written for
``humanresources`` shows no drift; a drifted copy shows exactly its drift."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from apps.contracts.choices import DriftKind
from apps.contracts.drift import contract_drift_check
from apps.contracts.models import DriftFinding
from apps.contracts.services import data_contract_publish, drift_finding_accept
from apps.core.exceptions import ApplicationError
from apps.sync.services import platform_sync
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, DomainFactory, OutputPortFactory

HR_CONTRACT = Path(__file__).resolve().parents[2] / "apps" / "demo" / "contracts" / "humanresources.odcs.yaml"


@pytest.fixture
def hr_synced(aw_platform):
    from apps.accounts.services import team_membership_set

    platform_sync(platform=aw_platform, actor=None)
    team = TeamFactory(name="HR Data", slug="hr-data")
    owner = UserFactory(username="hana")
    team_membership_set(team=team, user=owner, role="owner")
    product = DataProductFactory(name="Employees", slug="employees", domain=DomainFactory(), owner_team=team)
    OutputPortFactory(data_product=product, name="warehouse", platform=aw_platform, schema="humanresources")
    return product, owner, aw_platform


def _publish(product, owner, document, version="1.0.0"):
    doc = {**document, "version": version}
    return data_contract_publish(actor=owner, contract=yaml.safe_dump(doc, sort_keys=False), data_product=product.slug)


def _found(product):
    return sorted(
        (f.kind, f.object_name, f.property_name)
        for f in DriftFinding.objects.filter(data_product=product, status="open")
    )


def test_the_humanresources_contract_has_no_drift(hr_synced):
    product, owner, _ = hr_synced
    _publish(product, owner, yaml.safe_load(HR_CONTRACT.read_text()))
    open_count = contract_drift_check(product_id=product.pk)
    assert open_count == 0, list(DriftFinding.objects.values_list("message", flat=True))


def test_a_drifted_copy_shows_exactly_its_drift(hr_synced):
    product, owner, platform = hr_synced
    doc = yaml.safe_load(HR_CONTRACT.read_text())
    drifted = copy.deepcopy(doc)
    objects = {o["name"]: o for o in drifted["schema"]}
    props = {p["name"]: p for p in objects["employee"]["properties"]}
    props["jobtitle"]["physicalType"] = "character varying(20)"  # type mismatch
    props["loginid"]["logicalType"] = "integer"
    props["loginid"].pop("physicalType")  # logical type mismatch
    objects["employee"]["properties"].remove(props["gender"])  # extra column on the platform
    objects["employee"]["properties"].append({"name": "badge", "logicalType": "string"})  # missing column
    props["organizationnode"]["required"] = True  # nullable on the platform
    props["nationalidnumber"]["primaryKey"] = True  # not a key on the platform
    drifted["schema"].append({"name": "payroll", "properties": [{"name": "id"}]})  # missing table
    drifted["servers"] = [
        {
            "server": "warehouse",
            "type": "postgres",
            "host": "h",
            "port": 5432,
            "database": platform.database,
            "schema": "humanresources",
            "customProperties": [{"property": "platform", "value": platform.slug}],
        }
    ]
    _publish(product, owner, drifted)
    contract_drift_check(product_id=product.pk)
    assert _found(product) == sorted(
        [
            (DriftKind.TYPE_MISMATCH, "employee", "jobtitle"),
            (DriftKind.TYPE_MISMATCH, "employee", "loginid"),
            (DriftKind.EXTRA_COLUMN, "employee", "gender"),
            (DriftKind.MISSING_COLUMN, "employee", "badge"),
            (DriftKind.NULLABILITY, "employee", "organizationnode"),
            (DriftKind.PRIMARY_KEY, "employee", "nationalidnumber"),
            (DriftKind.MISSING_TABLE, "payroll", ""),
        ]
    )
    # an owner accepts one with a reason; it stays accepted on the next check
    finding = DriftFinding.objects.get(data_product=product, kind=DriftKind.EXTRA_COLUMN)
    with pytest.raises(ApplicationError):
        drift_finding_accept(finding_id=finding.pk, product=product, actor=owner, reason=" ")
    drift_finding_accept(finding_id=finding.pk, product=product, actor=owner, reason="Kept for HR only.")
    assert contract_drift_check(product_id=product.pk) == 6
    assert DriftFinding.objects.get(pk=finding.pk).status == "accepted"
    # fixing the contract resolves the findings
    _publish(product, owner, {**doc, "version": "2.0.0"}, version="2.0.0")
    assert contract_drift_check(product_id=product.pk) == 0


def test_drift_shows_on_the_product_and_platform_pages(hr_synced, client):
    product, owner, platform = hr_synced
    doc = yaml.safe_load(HR_CONTRACT.read_text())
    doc["schema"].append({"name": "payroll", "properties": [{"name": "id"}]})
    _publish(product, owner, doc)
    contract_drift_check(product_id=product.pk)
    client.force_login(owner)
    assert (
        "Table payroll is not on the platform."
        in client.get(f"/products/{product.slug}/?tab=contract").content.decode()
    )
    response = client.post(f"/products/{product.slug}/drift/check/")
    assert response.status_code == 302
