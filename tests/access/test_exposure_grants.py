"""Governed exposure against the real warehouses (issue 11, Critical): an owner cannot expose
another product's schema or a system schema and have grants follow. Each test connects *as the
consumer* and runs the SELECT the issue's reviewer ran."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access import services
from apps.access.models import AccessRequest, Purpose
from apps.audit.models import AuditEvent
from apps.catalog.models import OutputPort
from apps.platforms.exposure import exposure_assignment_create
from apps.platforms.models import PlatformIdentity
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory

from .conftest import consumer_can_select, mariadb_consumer_can_select

pytestmark = [pytest.mark.django_db, pytest.mark.platform]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def mesh(db, aw_platform, pg_consumer_login):
    """sam's Public *Sales* product with its assigned ``sales`` schema, pete's Restricted
    *Persons* product with ``person``, a consumer ana with a warehouse login, a steward."""
    from django.contrib.auth.models import Group

    from apps.accounts.choices import STEWARDS_GROUP, TeamRole
    from apps.accounts.services import team_membership_set

    services.access_policy_ensure_defaults()
    sam, pete, ana, greta = (UserFactory(username=n) for n in ("sam", "pete", "ana", "greta"))
    greta.groups.add(Group.objects.get_or_create(name=STEWARDS_GROUP)[0])
    sales_team, person_team = TeamFactory(slug="sales-data"), TeamFactory(slug="person-data")
    team_membership_set(team=sales_team, user=sam, role=TeamRole.OWNER)
    team_membership_set(team=person_team, user=pete, role=TeamRole.OWNER)
    sales = DataProductFactory(slug="sales-orders", owner_team=sales_team, classification="public")
    persons = DataProductFactory(slug="persons", owner_team=person_team, classification="restricted")
    for product, schema in ((sales, "sales"), (persons, "person")):
        exposure_assignment_create(
            actor=None, platform=aw_platform, schema=schema, domain=product.domain, data_product=product
        )
    from apps.catalog.services import output_port_create

    sales_port = output_port_create(actor=sam, data_product=sales, name="sales", platform=aw_platform, schema="sales")
    person_port = output_port_create(
        actor=pete, data_product=persons, name="person", platform=aw_platform, schema="person"
    )
    login, password = pg_consumer_login
    PlatformIdentity.objects.create(user=ana, platform=aw_platform, principal=login)
    from types import SimpleNamespace

    return SimpleNamespace(
        sam=sam,
        pete=pete,
        ana=ana,
        greta=greta,
        sales=sales,
        persons=persons,
        sales_port=sales_port,
        person_port=person_port,
        login=login,
        password=password,
        platform=aw_platform,
    )


def request_access(client, port, purpose="Campaign analysis"):
    return client.post("/api/v1/access-requests/", {"output_port": port.pk, "purpose": purpose}, format="json")


def test_an_owner_cannot_expose_another_products_schema(mesh, aw_warehouse, django_capture_on_commit_callbacks):
    # given: the straight path works: ana reads the Public sales schema
    with django_capture_on_commit_callbacks(execute=True):
        assert request_access(client_for(mesh.ana), mesh.sales_port).status_code == 201
    assert consumer_can_select(aw_warehouse, mesh.login, mesh.password, "sales.customer")

    # when: sam adds a port on the Restricted product's schema, and ana asks for it
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(mesh.sam).post(
            f"/api/v1/data-products/{mesh.sales.slug}/output-ports/",
            {"name": "bonus", "platform": mesh.platform.slug, "schema": "person"},
            format="json",
        )
        asked = request_access(client_for(mesh.ana), OutputPort.objects.get(name="bonus"))

    # then: the port exists but awaits an exposure review; no request can target it
    assert response.status_code == 201, response.json()
    assert response.json()["exposure_status"] == "pending_review"
    assert "person" in response.json()["exposure_reason"]
    assert asked.status_code == 400 and "output_port" in asked.json()["errors"]
    assert not AccessRequest.objects.filter(output_port__name="bonus").exists()
    assert not consumer_can_select(aw_warehouse, mesh.login, mesh.password, "person.password")
    event = AuditEvent.objects.get(action="output_port.created", object_id=str(response.json()["id"]))
    assert event.actor == mesh.sam and event.after["exposure_status"] == "pending_review"


@pytest.mark.parametrize("schema", ["pg_catalog", "PG_CATALOG", "information_schema", "pg_toast", "pg_temp_1"])
def test_a_system_schema_is_refused_by_the_api(mesh, schema):
    # when
    response = client_for(mesh.sam).post(
        f"/api/v1/data-products/{mesh.sales.slug}/output-ports/",
        {"name": "sys", "platform": mesh.platform.slug, "schema": schema},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert "schema" in response.json()["errors"]
    assert not OutputPort.objects.filter(name="sys").exists()


def test_the_grant_adapter_refuses_pg_catalog_even_for_an_approved_port(
    mesh, aw_warehouse, django_capture_on_commit_callbacks
):
    # given: a port on pg_catalog that reached the database without the services (defence in depth)
    port = OutputPortFactory(data_product=mesh.sales, name="catalog", platform=mesh.platform, schema="pg_catalog")

    # when: ana asks (Public: approved at once) and the grant is applied
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(requester=mesh.ana, output_port=port, purpose="x")

    # then: the adapter refused; the consumer cannot read the password hashes
    request.refresh_from_db()
    assert request.grant.status == "failed"
    assert "system location" in request.grant.status_reason
    assert not consumer_can_select(aw_warehouse, mesh.login, mesh.password, "pg_catalog.pg_authid")


def test_publish_contract_servers_follow_the_same_rules(mesh, aw_warehouse, django_capture_on_commit_callbacks):
    contract = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: sales-v2\nversion: 2.0.0\nstatus: active\n"
        "dataProduct: Sales\nservers:\n  - server: {name}\n    type: postgres\n    host: h\n    port: 5432\n"
        "    database: " + aw_warehouse["dbname"] + "\n    schema: {schema}\n"
    )
    client = client_for(mesh.sam)

    # when: a server on another product's schema, then one on pg_catalog
    with django_capture_on_commit_callbacks(execute=True):
        person = client.post(
            "/api/v1/data-products/publish-contract/",
            {
                "contract": contract.format(name="bonus", schema="person"),
                "data_product": mesh.sales.slug,
                "platform": mesh.platform.slug,
            },
            format="json",
        )
    system = client.post(
        "/api/v1/data-products/publish-contract/",
        {
            "contract": contract.format(name="sys", schema="pg_catalog").replace("2.0.0", "2.0.1"),
            "data_product": mesh.sales.slug,
            "platform": mesh.platform.slug,
        },
        format="json",
    )

    # then
    assert person.status_code == 200, person.json()
    assert "output_port.created:bonus" in person.json()["changes"]
    assert OutputPort.objects.get(name="bonus").exposure_status == "pending_review"
    assert request_access(client_for(mesh.ana), OutputPort.objects.get(name="bonus")).status_code == 400
    assert system.status_code == 400 and any(k.endswith("schema") for k in system.json()["errors"])
    assert not OutputPort.objects.filter(name="sys").exists()
    assert not consumer_can_select(aw_warehouse, mesh.login, mesh.password, "person.password")


def test_a_mapping_rule_on_a_taken_schema_gives_a_port_awaiting_review(mesh):
    from django.core.exceptions import ValidationError

    from apps.platforms.models import ExposureAssignment
    from apps.sync.services import schema_mapping_apply

    # given: a rule for sales on pg_catalog is refused outright
    with pytest.raises(ValidationError) as excinfo:
        exposure_assignment_create(actor=None, platform=mesh.platform, schema="pg_catalog", domain=mesh.sales.domain)
    assert "schema" in excinfo.value.message_dict
    # when: a rule gives `person` (already exposed by Persons) to the sales product too, table by table
    ExposureAssignment.objects.filter(schema="person").delete()
    exposure_assignment_create(
        actor=None, platform=mesh.platform, schema="person", domain=mesh.sales.domain, data_product=mesh.sales
    )
    created = schema_mapping_apply(platform=mesh.platform)

    # then: sync made the port, but a second owner needs a steward
    assert [(p.schema, p.exposure_status) for p in created] == [("person", "pending_review")]
    assert "already exposed by" in created[0].exposure_reason


def test_a_second_exposure_approved_by_a_steward_takes_the_strictest_classification(
    mesh, aw_warehouse, django_capture_on_commit_callbacks
):
    # given: sam's port on person, approved by the steward
    from apps.catalog.services import output_port_create

    with django_capture_on_commit_callbacks(execute=True):
        port = output_port_create(
            actor=mesh.sam, data_product=mesh.sales, name="bonus", platform=mesh.platform, schema="person"
        )
    response = client_for(mesh.greta).post(
        f"/api/v1/exposure-reviews/{port.pk}/approve/", {"comment": "ok"}, format="json"
    )
    assert response.status_code == 200, response.json()

    # when: ana asks for it through the Public product
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=mesh.ana,
            output_port=port,
            purpose="Audit of contacts",
            expires_at=timezone.now() + timedelta(days=10),
            purpose_category=Purpose.objects.get(slug="audit"),
        )

    # then: Restricted policy (owner, then steward), not Public's automatic approval
    assert request.status == "pending_approval"
    assert request.policy.classification == "restricted"
    assert [s.kind for s in request.steps.order_by("order")] == ["owner", "steward"]
    assert not consumer_can_select(aw_warehouse, mesh.login, mesh.password, "person.password")


# --- MariaDB ------------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["mysql", "MYSQL", "information_schema", "performance_schema", "sys"])
def test_mariadb_system_databases_are_refused_by_the_api(db, mariadb_platform, schema):
    from apps.accounts.choices import TeamRole
    from apps.accounts.services import team_membership_set

    owner = UserFactory()
    product = DataProductFactory(classification="public")
    team_membership_set(team=product.owner_team, user=owner, role=TeamRole.OWNER)
    response = client_for(owner).post(
        f"/api/v1/data-products/{product.slug}/output-ports/",
        {"name": "sys", "platform": mariadb_platform.slug, "schema": schema},
        format="json",
    )
    assert response.status_code == 400 and "schema" in response.json()["errors"]


def test_mariadb_adapter_refuses_the_mysql_database(
    db, mariadb_platform, mariadb_consumer_login, django_capture_on_commit_callbacks
):
    # given: a port on `mysql` that bypassed the services, and a consumer with a login
    services.access_policy_ensure_defaults()
    login, password = mariadb_consumer_login
    consumer = UserFactory()
    PlatformIdentity.objects.create(user=consumer, platform=mariadb_platform, principal=login)
    port = OutputPortFactory(
        data_product=DataProductFactory(classification="public"), platform=mariadb_platform, schema="mysql"
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(requester=consumer, output_port=port, purpose="x")

    # then
    request.refresh_from_db()
    assert request.grant.status == "failed" and "system location" in request.grant.status_reason
    assert not mariadb_consumer_can_select(login, password, "mysql", "global_priv")
