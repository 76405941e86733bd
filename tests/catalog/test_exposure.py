"""Governed exposure without a warehouse: the output port services, exposure reviews (service,
API and page, with their permission matrix), exposure assignments, and the Internal
"same domain" rule (issue 11)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access import services as access_services
from apps.access.models import Purpose
from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.audit.models import AuditEvent
from apps.catalog import services
from apps.catalog.models import OutputPort
from apps.core.exceptions import ApplicationError
from apps.notifications.models import Notification
from apps.platforms.exposure import exposure_assignment_create, exposure_evaluate, is_system_location
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory
from tests.platforms.factories import PlatformFactory

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def world(db):
    """A platform run by the data-platform team (operator ``olaf``), sam's Sales product with the
    ``sales`` schema assigned, pete's Persons product with ``person``, steward greta, ``nobody``."""
    access_services.access_policy_ensure_defaults()
    sam, pete, olaf, greta, nobody = (UserFactory(username=n) for n in ("sam", "pete", "olaf", "greta", "nobody"))
    greta.groups.add(Group.objects.get_or_create(name=STEWARDS_GROUP)[0])
    platform_team = TeamFactory(slug="data-platform")
    team_membership_set(team=platform_team, user=olaf, role=TeamRole.OWNER)
    platform = PlatformFactory(slug="wh", owner_team=platform_team)
    sales = DataProductFactory(slug="sales", classification="public")
    persons = DataProductFactory(slug="persons", classification="restricted")
    team_membership_set(team=sales.owner_team, user=sam, role=TeamRole.OWNER)
    team_membership_set(team=persons.owner_team, user=pete, role=TeamRole.OWNER)
    exposure_assignment_create(actor=greta, platform=platform, schema="sales", domain=sales.domain, data_product=sales)
    exposure_assignment_create(actor=olaf, platform=platform, schema="person", domain=persons.domain)
    person_port = services.output_port_create(
        actor=pete, data_product=persons, name="person", platform=platform, schema="person"
    )
    return SimpleNamespace(
        sam=sam,
        pete=pete,
        olaf=olaf,
        greta=greta,
        nobody=nobody,
        platform=platform,
        sales=sales,
        persons=persons,
        person_port=person_port,
    )


def pending_port(world) -> OutputPort:
    return services.output_port_create(
        actor=world.sam, data_product=world.sales, name="bonus", platform=world.platform, schema="person"
    )


# --- system locations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "schema", "system"),
    [
        ("postgresql", "pg_catalog", True),
        ("postgresql", "information_schema", True),
        ("postgresql", "pg_toast", True),
        ("postgresql", "pg_toast_temp_3", True),
        ("postgresql", "pg_temp_12", True),
        ("postgresql", "Pg_Catalog", True),
        ("postgresql", "sales", False),
        ("postgresql", "mysql", False),
        ("mariadb", "mysql", True),
        ("mariadb", "information_schema", True),
        ("mariadb", "performance_schema", True),
        ("mariadb", "sys", True),
        ("mariadb", "SYS", True),
        ("mariadb", "pg_catalog", False),
        ("mariadb", "shop", False),
    ],
)
def test_system_locations(kind, schema, system):
    assert is_system_location(kind, schema) is system


def test_the_platforms_reserved_locations_are_never_exposable(world):
    # given: the service account keeps its own schema and a whole other database
    world.platform.reserved_locations = ["portal_admin", "mesh_portal.*"]
    world.platform.save()
    # when / then
    for schema, database in (("portal_admin", ""), ("public", "mesh_portal")):
        with pytest.raises(ApplicationError) as excinfo:
            services.output_port_create(
                actor=world.sam,
                data_product=world.sales,
                name=f"x{schema}",
                platform=world.platform,
                schema=schema,
                database=database,
            )
        assert "reserved" in excinfo.value.extra["schema"][0]


# --- the output port services ---------------------------------------------------------------------


def test_a_port_on_its_assigned_schema_is_approved_and_audited(world):
    # when
    port = services.output_port_create(
        actor=world.sam, data_product=world.sales, name="orders", platform=world.platform, schema="sales"
    )
    # then
    assert port.exposure_status == "approved" and port.exposure_reason == ""
    event = AuditEvent.objects.get(action="output_port.created", object_id=str(port.pk))
    assert (event.actor, event.after["location"]) == (world.sam, "postgres.sales")


def test_a_port_outside_the_assignments_awaits_review_and_stewards_and_operators_are_told(
    world, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        port = pending_port(world)
    # then
    assert port.exposure_status == "pending_review"
    assert "assigned to the" in port.exposure_reason and "already exposed by" in port.exposure_reason
    told = set(
        Notification.objects.filter(object_type="outputport", object_id=str(port.pk)).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"greta", "olaf"}


def test_an_unassigned_schema_awaits_review():
    # given
    product = DataProductFactory()
    platform = PlatformFactory()
    # when
    port = services.output_port_create(actor=None, data_product=product, name="p", platform=platform, schema="x")
    # then
    assert port.exposure_status == "pending_review" and "not assigned" in port.exposure_reason


def test_a_product_assignment_excludes_other_products_of_the_domain(world):
    # given: sales is assigned to the Sales product only
    sibling = DataProductFactory(domain=world.sales.domain, owner_team=world.sales.owner_team)
    # when
    verdict = exposure_evaluate(port=OutputPort(data_product=sibling, platform=world.platform, schema="sales"))
    # then
    assert not verdict.approved and "assigned to the data product" in verdict.reason


def test_only_owners_add_ports(world):
    with pytest.raises(PermissionDenied):
        services.output_port_create(
            actor=world.nobody, data_product=world.sales, name="x", platform=world.platform, schema="sales"
        )


def test_moving_a_port_judges_it_again_and_is_audited(world):
    # given
    port = services.output_port_create(
        actor=world.sam, data_product=world.sales, name="orders", platform=world.platform, schema="sales"
    )
    # when
    moved = services.output_port_update(actor=world.sam, port=port, schema="person")
    # then
    assert moved.exposure_status == "pending_review"
    event = AuditEvent.objects.get(action="output_port.changed", object_id=str(port.pk))
    assert (event.before["location"], event.after["location"]) == ("postgres.sales", "postgres.person")


def test_a_port_with_access_requests_cannot_move_or_be_deleted(world):
    # given: a request on Persons' port
    access_services.access_request_submit(
        requester=UserFactory(),
        output_port=world.person_port,
        purpose="audit",
        purpose_category=Purpose.objects.get(slug="audit"),
        expires_at=timezone.now() + timedelta(days=5),
    )
    # when / then
    with pytest.raises(ApplicationError):
        services.output_port_update(actor=world.pete, port=world.person_port, schema="sales")
    with pytest.raises(ApplicationError):
        services.output_port_delete(actor=world.pete, port=world.person_port)


def test_deleting_a_port_is_audited(world):
    port = services.output_port_create(
        actor=world.sam, data_product=world.sales, name="orders", platform=world.platform, schema="sales"
    )
    services.output_port_delete(actor=world.sam, port=port)
    assert not OutputPort.objects.filter(pk=port.pk).exists()
    assert AuditEvent.objects.get(action="output_port.deleted", object_id=str(port.pk)).actor == world.sam


# --- exposure reviews: API permission matrix ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [
        (None, 403),
        ("nobody", 404),
        ("sam", 404),
        ("pete", 404),
        ("olaf", 200),
        ("greta", 200),
    ],
)
def test_who_may_approve_an_exposure(world, who, code):
    # given
    port = pending_port(world)
    user = getattr(world, who) if who else None
    # when
    response = client_for(user).post(f"/api/v1/exposure-reviews/{port.pk}/approve/", {"comment": "fine"}, format="json")
    # then
    assert response.status_code in ((401, 403) if code == 403 else (code,))
    port.refresh_from_db()
    assert port.exposure_status == ("approved" if code == 200 else "pending_review")
    if code == 200:
        event = AuditEvent.objects.get(action="output_port.exposure_approved", object_id=str(port.pk))
        assert event.actor == user and event.message == "fine"


def test_rejecting_needs_a_comment_and_a_rejected_port_takes_no_request(world):
    # given
    port = pending_port(world)
    client = client_for(world.greta)
    # when
    without = client.post(f"/api/v1/exposure-reviews/{port.pk}/reject/", {}, format="json")
    rejected = client.post(f"/api/v1/exposure-reviews/{port.pk}/reject/", {"comment": "Not yours."}, format="json")
    again = client.post(f"/api/v1/exposure-reviews/{port.pk}/approve/", {}, format="json")
    # then
    assert without.status_code == 400 and "comment" in without.json()["errors"]
    assert rejected.status_code == 200 and rejected.json()["exposure_status"] == "rejected"
    assert again.status_code == 400
    with pytest.raises(ApplicationError) as excinfo:
        access_services.access_request_submit(requester=world.nobody, output_port=port, purpose="x")
    assert "output_port" in excinfo.value.extra


def test_the_review_list_shows_what_each_reviewer_may_decide(world):
    # given
    port = pending_port(world)
    # when
    seen = {
        who: [r["id"] for r in client_for(getattr(world, who)).get("/api/v1/exposure-reviews/").json()["results"]]
        for who in ("greta", "olaf", "sam", "nobody")
    }
    # then
    assert seen == {"greta": [port.pk], "olaf": [port.pk], "sam": [], "nobody": []}


def test_the_steward_page_lists_and_decides_reviews(world, client):
    # given
    port = pending_port(world)
    client.force_login(world.greta)
    # when
    page = client.get("/governance/exposure-reviews/")
    decided = client.post(f"/governance/exposure-reviews/{port.pk}/decide/", {"decision": "approve", "comment": "ok"})
    # then
    assert page.status_code == 200 and f"review-{port.pk}" in page.content.decode()
    assert decided.status_code == 302
    port.refresh_from_db()
    assert port.exposure_status == "approved" and port.exposure_decided_by == world.greta


def test_an_owner_cannot_decide_on_the_page(world, client):
    port = pending_port(world)
    client.force_login(world.sam)
    assert client.post(f"/governance/exposure-reviews/{port.pk}/decide/", {"decision": "approve"}).status_code == 404


# --- assignments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "code"), [("nobody", 404), ("sam", 404), ("olaf", 201), ("greta", 201)])
def test_who_may_assign_a_location(world, who, code):
    response = client_for(getattr(world, who)).post(
        "/api/v1/platforms/wh/exposure-assignments/",
        {"schema": "production", "domain": world.sales.domain.slug},
        format="json",
    )
    assert response.status_code == code
    if code == 201:
        assert AuditEvent.objects.get(
            action="exposure_assignment.created", object_id=str(response.json()["id"])
        ).actor == getattr(world, who)


def test_assigning_a_system_schema_is_refused(world):
    response = client_for(world.greta).post(
        "/api/v1/platforms/wh/exposure-assignments/",
        {"schema": "pg_catalog", "domain": world.sales.domain.slug},
        format="json",
    )
    assert response.status_code == 400 and "schema" in response.json()["errors"]


def test_withdrawing_an_assignment_is_audited(world):
    assignment = world.platform.exposure_assignments.get(schema="person")
    response = client_for(world.olaf).delete(f"/api/v1/platforms/wh/exposure-assignments/{assignment.pk}/")
    assert response.status_code == 204
    assert AuditEvent.objects.filter(action="exposure_assignment.deleted", object_id=str(assignment.pk)).exists()


# --- Internal "same domain" auto-approval (issue 11, Medium) ----------------------------------------


def test_a_draft_product_in_the_domain_does_not_make_a_team_in_the_domain(world):
    # given: an Internal product of the Persons domain; sam's team makes a draft product there
    internal = DataProductFactory(domain=world.persons.domain, classification="internal")
    port = OutputPortFactory(data_product=internal, platform=world.platform, schema="contacts")
    services.data_product_create(
        name="Trojan",
        slug="trojan",
        domain=world.persons.domain,
        owner_team=world.sales.owner_team,
        status="draft",
        actor=world.sam,
    )
    # when
    request = access_services.access_request_submit(requester=world.sam, output_port=port, purpose="x")
    # then: not approved at once; the owner decides
    assert request.status == "pending_approval"


def test_a_published_product_of_the_requesters_team_in_the_domain_counts(world):
    internal = DataProductFactory(domain=world.persons.domain, classification="internal")
    port = OutputPortFactory(data_product=internal, platform=world.platform, schema="contacts")
    request = access_services.access_request_submit(requester=world.pete, output_port=port, purpose="x")
    assert request.status in ("approved", "provisioning", "active")


def test_the_admin_assigns_through_the_service(world, admin_client):
    # when: a system schema, then a real one
    url = "/admin/platforms/exposureassignment/add/"
    data = {
        "platform": world.platform.pk,
        "database": "",
        "table": "",
        "domain": world.sales.domain.pk,
        "data_product": "",
    }
    refused = admin_client.post(url, {**data, "schema": "information_schema"})
    added = admin_client.post(url, {**data, "schema": "marketing"})
    # then
    assert refused.status_code == 200 and b"system location" in refused.content
    assert added.status_code == 302
    assert AuditEvent.objects.filter(action="exposure_assignment.created", after__location="marketing").exists()


def test_a_port_awaiting_review_is_not_offered_for_requests(world, client):
    # given
    port = pending_port(world)
    world.sales.refresh_from_db()
    client.force_login(world.nobody)
    # when
    form = client.get(f"/access/products/{world.sales.slug}/request/?port={port.pk}").content.decode()
    # then
    assert port.name not in form  # the port "bonus" is not offered
