"""What a script author notices in the endpoints added for search, extensions, policies,
purposes, delegations, drift, platform identities, notifications and unmet demand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.access.models import AccessPolicy, AccessRequest
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.audit.models import AuditEvent
from apps.notifications.models import Notification
from apps.platforms.models import PlatformIdentity, TeamPlatformIdentity
from apps.search.indexing import index_products
from tests.accounts.factories import TeamFactory
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def later(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


# --- search -------------------------------------------------------------------------------------


def test_search_groups_matching_columns_under_their_product_with_facets(world):
    # given the catalog is indexed (the worker does this after commit)
    index_products()
    # when a consumer searches for a column name
    body = api_client(world.consumer).get("/api/v1/search/", {"q": "jobtitle"}).json()
    # then the product is a hit with the matching column, and facets count it
    assert body["total"] == 1
    hit = body["results"][0]
    assert hit["data_product"]["slug"] == "employees"
    assert any(m["kind"] == "column" and "jobtitle" in m["label_html"] for m in hit["matches"])
    domain = next(f for f in body["facets"] if f["name"] == "domain")
    assert domain["values"] == [{"key": "human-resources", "label": "Human Resources", "count": 1, "selected": False}]


def test_search_facets_filter_and_drafts_stay_hidden(world):
    index_products()
    consumer, owner = api_client(world.consumer), api_client(world.owner)
    # a facet value that matches nothing empties the results; drafts only for their owners
    assert consumer.get("/api/v1/search/", {"classification": "restricted"}).json()["total"] == 0
    assert "draft-product" not in [
        h["data_product"]["slug"] for h in consumer.get("/api/v1/search/", {"q": "draft"}).json()["results"]
    ]
    assert "draft-product" in [
        h["data_product"]["slug"] for h in owner.get("/api/v1/search/", {"q": "draft"}).json()["results"]
    ]


def test_search_rejects_bad_parameters_with_field_errors(world):
    response = api_client(world.consumer).get("/api/v1/search/", {"sort": "cheapest", "page": "0"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"sort", "page"}


def test_autocomplete_suggests_products_by_name(world):
    index_products()
    body = api_client(world.consumer).get("/api/v1/search/autocomplete/", {"q": "employ"}).json()
    assert "employees" in [s["slug"] for s in body]


# --- access requests: purpose, columns, extension ---------------------------------------------------


def test_request_with_purpose_and_column_scope_is_recorded(world):
    response = api_client(world.unrelated).post(
        "/api/v1/access-requests/",
        {
            "output_port": world.port.pk,
            "purpose": "Attrition model",
            "purpose_category": world.purpose.slug,
            "columns": ["employee.jobtitle"],
            "expires_at": later(30),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["purpose_category"] == world.purpose.slug
    assert body["columns"] == ["employee.jobtitle"]
    assert body["policy_version"] == 1


def test_a_column_the_port_does_not_have_is_a_field_error(world):
    response = api_client(world.unrelated).post(
        "/api/v1/access-requests/",
        {"output_port": world.port.pk, "purpose": "Attrition model", "columns": ["employee.salary"]},
        format="json",
    )
    assert response.status_code == 400
    assert "columns" in response.json()["errors"]
    assert not AccessRequest.objects.filter(requester=world.unrelated).exists()


def test_the_consumer_extends_active_access_through_the_approval_chain(world):
    # given active access (set directly: the API tests run no warehouse)
    AccessRequest.objects.filter(pk=world.approved.pk).update(status="active")
    # when the consumer asks for a later end
    response = api_client(world.consumer).post(
        f"/api/v1/access-requests/{world.approved.pk}/extend/",
        {"expires_at": later(180), "justification": "Project runs longer"},
        format="json",
    )
    # then an extension request waits for the owners, pointing at the original
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["extends"] == world.approved.pk and body["status"] == "pending_approval"
    # and a second one is refused with the reason
    again = api_client(world.consumer).post(
        f"/api/v1/access-requests/{world.approved.pk}/extend/", {"expires_at": later(200)}, format="json"
    )
    assert again.status_code == 400 and "expires_at" in again.json()["errors"]


# --- policies and purposes (stewards) ---------------------------------------------------------------


def test_a_steward_saves_a_new_policy_version_and_the_old_one_is_kept(world):
    steward = api_client(world.steward)
    response = steward.post(
        "/api/v1/policies/",
        {
            "classification": "internal",
            "auto_approve": "never",
            "approval_steps": ["owner", "steward"],
            "allowed_purposes": [world.purpose.slug],
            "change_note": "Steward sign-off",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 2
    current = steward.get("/api/v1/policies/internal/").json()
    assert current["version"] == 2 and current["approval_steps"] == ["owner", "steward"]
    versions = steward.get("/api/v1/policies/", {"classification": "internal"}).json()["results"]
    assert [v["version"] for v in versions] == [2, 1]
    assert AuditEvent.objects.filter(action="access_policy.changed").count() == 1
    # consumers now pick only the allowed purpose for internal products
    purposes = api_client(world.consumer).get("/api/v1/purposes/", {"classification": "internal"}).json()["results"]
    assert [p["slug"] for p in purposes] == [world.purpose.slug]


def test_a_policy_that_never_approves_needs_a_step(world):
    response = api_client(world.steward).post(
        "/api/v1/policies/",
        {"classification": "internal", "auto_approve": "never", "approval_steps": []},
        format="json",
    )
    assert response.status_code == 400
    assert "approval_steps" in response.json()["errors"]
    assert AccessPolicy.objects.filter(classification="internal").count() == 1


def test_retired_purposes_disappear_for_consumers(world):
    response = api_client(world.steward).patch(
        f"/api/v1/purposes/{world.purpose.pk}/", {"active": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["active"] is False
    slugs = [p["slug"] for p in api_client(world.consumer).get("/api/v1/purposes/").json()["results"]]
    assert world.purpose.slug not in slugs
    duplicate = api_client(world.steward).post("/api/v1/purposes/", {"name": world.purpose.name.upper()}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]


# --- delegations ------------------------------------------------------------------------------------


def test_a_delegate_sees_the_delegation_and_only_the_delegator_ends_it(world):
    approver = api_client(world.approver)
    mine = approver.get("/api/v1/delegations/").json()["results"]
    assert [(d["delegator"], d["running"]) for d in mine] == [("owner", True)]
    refused = approver.post(f"/api/v1/delegations/{world.delegation.pk}/end/")
    assert refused.status_code == 403
    ended = api_client(world.owner).post(f"/api/v1/delegations/{world.delegation.pk}/end/")
    assert ended.status_code == 200 and ended.json()["running"] is False


def test_delegating_to_yourself_is_a_field_error(world):
    response = api_client(world.owner).post(
        "/api/v1/delegations/", {"delegate": "owner", "ends": later(3)}, format="json"
    )
    assert response.status_code == 400 and "delegate" in response.json()["errors"]


# --- platforms: drift and identities -----------------------------------------------------------------


def test_operators_read_grant_drift(world):
    body = api_client(world.admin).get(f"/api/v1/platforms/{world.platform.slug}/grant-drifts/").json()
    assert [(d["grant"], d["consumer"], d["kind"], d["action"]) for d in body["results"]] == [
        (world.grant.pk, "consumer", "missing", "reapplied")
    ]


def test_users_can_no_longer_map_their_own_login(world):
    # when the consumer tries to point their grants at another login
    response = api_client(world.consumer).post(
        "/api/v1/me/platform-identities/", {"platform": "warehouse", "principal": "postgres"}, format="json"
    )
    # then it is refused and their mapping is unchanged; they still read it
    assert response.status_code == 405
    assert list(PlatformIdentity.objects.filter(user=world.consumer).values_list("principal", flat=True)) == [
        "consumer_login"
    ]
    mine = api_client(world.consumer).get("/api/v1/me/platform-identities/").json()["results"]
    assert [(i["platform"], i["principal"]) for i in mine] == [("warehouse", "consumer_login")]


def test_an_operator_maps_logins_and_another_users_login_is_refused(world):
    admin = api_client(world.admin)
    url = f"/api/v1/platforms/{world.platform.slug}/identities/"
    taken = admin.post(url, {"user": "unrelated", "principal": "consumer_login"}, format="json")
    assert taken.status_code == 400 and "principal" in taken.json()["errors"]
    created = admin.post(url, {"user": "unrelated", "principal": "unrelated_login"}, format="json")
    assert created.status_code == 201 and created.json()["user"] == "unrelated"
    assert (
        AuditEvent.objects.filter(action="platform_identity.created", actor=world.admin).count() == 2
    )  # + the world's
    deleted = admin.delete(f"{url}{created.json()['id']}/")
    assert deleted.status_code == 204
    assert not PlatformIdentity.objects.filter(user=world.unrelated).exists()


def test_the_platform_teams_owners_operate_it_too(world):
    # given the platform belongs to a platform team the unrelated user owns
    platform_team = TeamFactory(slug="platform-team")
    team_membership_set(team=platform_team, user=world.unrelated, role=TeamRole.OWNER)
    world.platform.owner_team = platform_team
    world.platform.save(update_fields=["owner_team"])
    # when they map a login on it; then it works, while the hr-data owner still may not
    url = f"/api/v1/platforms/{world.platform.slug}/identities/"
    created = api_client(world.unrelated).post(url, {"user": "owner", "principal": "owner_login"}, format="json")
    assert created.status_code == 201, created.content
    assert api_client(world.owner).post(url, {"user": "owner", "principal": "x"}, format="json").status_code == 404


def test_an_operator_maps_a_teams_role(world):
    admin = api_client(world.admin)
    url = f"/api/v1/platforms/{world.platform.slug}/team-identities/"
    twice = admin.post(url, {"team": "hr-data", "principal": "hr_other"}, format="json")
    assert twice.status_code == 400 and "team" in twice.json()["errors"]
    assert [(i["team"], i["principal"]) for i in admin.get(url).json()["results"]] == [("hr-data", "hr_readers")]
    assert admin.delete(f"{url}{world.team_identity.pk}/").status_code == 204
    assert not TeamPlatformIdentity.objects.exists()


# --- notifications and unmet demand ------------------------------------------------------------------


def test_notifications_list_unread_and_mark_read(world):
    consumer = api_client(world.consumer)
    unread = consumer.get("/api/v1/me/notifications/", {"unread": "true"}).json()["results"]
    assert [n["id"] for n in unread] == [world.notification.pk]
    assert consumer.post(f"/api/v1/me/notifications/{world.notification.pk}/read/").json() == {"marked": 1}
    assert consumer.get("/api/v1/me/notifications/", {"unread": "true"}).json()["results"] == []
    assert Notification.objects.get(pk=world.notification.pk).read_at is not None


def test_kpis_show_unmet_demand(world):
    body = api_client(world.steward).get("/api/v1/kpis/").json()
    assert [(d["query"], d["n"]) for d in body["unmet_demand"]] == [("payroll forecast", 1)]
