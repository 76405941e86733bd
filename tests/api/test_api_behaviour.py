"""What a script author notices: the request → approve flow over tokens, publishing from an ODCS
file (idempotent), the one error body, throttling, tokens, the docs page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.throttling import UserRateThrottle

from apps.access.models import AccessRequest
from apps.audit.models import AuditEvent
from apps.catalog.models import DataContract, DataProduct
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db

ODCS_EXAMPLES = sorted((Path(settings.SHARED_DATASETS_DIR) / "odcs" / "examples").glob("*.yaml"))


def test_request_access_then_approve_over_tokens(world, django_capture_on_commit_callbacks):
    # given the unrelated user wants the employees port
    consumer, owner = api_client(world.unrelated), api_client(world.owner)
    # when they request access and the owner approves from the inbox
    created = consumer.post(
        "/api/v1/access-requests/",
        {
            "output_port": world.port.pk,
            "purpose": "Headcount report",
            "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    assert created.json()["status"] == "pending_approval"
    inbox = owner.get("/api/v1/access-requests/", {"scope": "inbox"}).json()["results"]
    assert request_id in [r["id"] for r in inbox]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approved = owner.post(f"/api/v1/access-requests/{request_id}/approve/", {"comment": "ok"}, format="json")
    # then the request is provisioning with a pending grant, and the grant task waits for commit
    assert approved.status_code == 200
    assert approved.json()["status"] == "provisioning"
    assert approved.json()["grant"]["status"] == "pending"
    assert callbacks, "the grant is applied on commit, by the worker"
    mine = consumer.get("/api/v1/access-requests/", {"scope": "mine"}).json()["results"]
    assert [r["id"] for r in mine] == [request_id]


def test_a_decision_on_your_own_request_is_refused_with_the_reason(world):
    response = api_client(world.consumer).post(
        f"/api/v1/access-requests/{world.request.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 403
    assert "Only approvers" in response.json()["message"]
    assert AccessRequest.objects.get(pk=world.request.pk).status == "pending_approval"


def test_reject_needs_a_reason(world):
    response = api_client(world.owner).post(
        f"/api/v1/access-requests/{world.request.pk}/reject/", {"reason": " "}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"reason": ["A reason is required to reject."]}


def test_bad_input_gets_field_errors_not_a_500(world):
    client = api_client(world.unrelated)
    response = client.post(
        "/api/v1/access-requests/", {"output_port": "x", "purpose": "", "expires_at": "yesterday"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert {"output_port", "purpose", "expires_at"} <= set(body["errors"])
    past = client.post(
        "/api/v1/access-requests/",
        {"output_port": world.port.pk, "purpose": "x", "expires_at": "2001-01-01T00:00:00Z"},
        format="json",
    )
    assert past.status_code == 400 and "expires_at" in past.json()["errors"]
    hidden = client.post(
        "/api/v1/access-requests/", {"output_port": world.draft_port.pk, "purpose": "x"}, format="json"
    )
    assert hidden.status_code == 400 and "output_port" in hidden.json()["errors"]


def test_errors_have_one_body(world):
    assert api_client().get("/api/v1/data-products/").json() == {
        "message": "Authentication credentials were not provided.",
        "errors": {},
    }
    assert api_client(world.unrelated).get("/api/v1/data-products/draft-product/").json()["errors"] == {}
    assert api_client(world.unrelated).get("/api/v1/no-such-endpoint/").status_code == 404
    assert api_client(world.unrelated).get("/api/v1/no-such-endpoint/").json()["message"] == "Not found."
    nul = api_client(world.unrelated).get("/api/v1/data-products/", {"owner_team": "a\x00b"})
    assert nul.status_code == 400


def test_throttling_answers_429_with_retry_after(world, monkeypatch):
    # given a rate of 2 requests a minute for signed-in users
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "2/minute"})
    from django.core.cache import cache

    cache.clear()
    client = api_client(world.unrelated)
    # when a third request comes within the minute
    statuses = [client.get("/api/v1/domains/").status_code for _ in range(3)]
    # then it is refused with the error body and a Retry-After
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/domains/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert set(response.json()) == {"message", "errors"}
    cache.clear()


def test_list_ordering_is_stable_and_paginated(world):
    client = api_client(world.owner)
    first = client.get("/api/v1/data-products/", {"ordering": "status", "page_size": 1}).json()
    second = client.get(first["next"]).json()
    assert first["count"] == 2 and first["results"][0]["slug"] != second["results"][0]["slug"]


def test_product_list_runs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = api_client(world.owner)
    with django_assert_max_num_queries(8):
        client.get("/api/v1/data-products/")


def test_owner_creates_publishes_and_deprecates_a_product(world):
    client = api_client(world.owner)
    created = client.post(
        "/api/v1/data-products/",
        {"slug": "pay", "name": "Pay", "domain": "human-resources", "owner_team": "hr-data", "tags": ["pay"]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert api_client(world.unrelated).get("/api/v1/data-products/pay/").status_code == 404
    assert client.post("/api/v1/data-products/pay/publish/").json()["status"] == "published"
    assert api_client(world.unrelated).get("/api/v1/data-products/pay/").status_code == 200
    assert client.post("/api/v1/data-products/pay/deprecate/").json()["status"] == "deprecated"
    again = client.post("/api/v1/data-products/pay/deprecate/")
    assert again.status_code == 400 and "status" in again.json()["errors"]
    actions = list(AuditEvent.objects.filter(object_type="dataproduct").values_list("action", flat=True))
    assert {"data_product.published", "data_product.deprecated"} <= set(actions)


def test_platform_details_never_show_credentials(world):
    body = api_client(world.admin).get(f"/api/v1/platforms/{world.platform.slug}/").json()
    assert not {"username", "password", "password_env_var", "password_encrypted"} & set(body)
    assert "MP_API_TEST_NO_SUCH_VAR" not in str(body)


@pytest.mark.parametrize("path", ODCS_EXAMPLES, ids=lambda p: p.name)
def test_publishing_each_odcs_example_twice_changes_nothing_the_second_time(world, path):
    # given an ODCS example posted from CI as raw YAML
    client = api_client(world.owner)
    url = "/api/v1/data-products/publish-contract/?domain=human-resources&owner_team=hr-data"
    text = path.read_text()
    # when it is published twice
    first = client.generic("POST", url, text, content_type="application/yaml")
    assert first.status_code == 201, first.content
    product = DataProduct.objects.get(slug=first.json()["data_product"]["slug"])
    stamp = product.updated_at
    second = client.generic("POST", url, text, content_type="application/yaml")
    # then the second call is a 200 with no changes, and nothing was written
    assert second.status_code == 200 and second.json()["changes"] == []
    product.refresh_from_db()
    assert product.updated_at == stamp
    assert DataContract.objects.filter(data_product=product).count() == 1
    assert DataContract.objects.get(data_product=product).source_yaml == text


def test_a_contract_with_servers_creates_output_ports_and_updates_in_place(world):
    client = api_client(world.owner)
    contract = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: pay-history\nversion: 1.0.0\nstatus: active\n"
        "name: pay\ndataProduct: Pay history\ndomain: human-resources\nteam: {name: HR Data}\n"
        "description: {purpose: Pay rates per employee over time., usage: Aggregate only.}\n"
        "tags: [pay]\ncustomProperties: [{property: classification, value: restricted}]\n"
        "servers:\n  - server: warehouse\n    type: postgres\n    host: 127.0.0.1\n    port: 5432\n"
        "    database: postgres\n    schema: humanresources\n"
    )
    first = client.post("/api/v1/data-products/publish-contract/", {"contract": contract}, format="json")
    assert first.status_code == 201, first.content
    body = first.json()["data_product"]
    assert body["status"] == "published" and body["classification"] == "restricted"
    assert [p["schema"] for p in body["output_ports"]] == ["humanresources"]
    assert "Aggregate only." in body["terms_of_use"]
    # when version 1.1.0 changes the purpose
    updated = client.post(
        "/api/v1/data-products/publish-contract/",
        {"contract": contract.replace("1.0.0", "1.1.0").replace("over time", "since 2010")},
        format="json",
    )
    assert updated.status_code == 200
    assert "data_contract.created:1.1.0" in updated.json()["changes"]
    assert updated.json()["data_product"]["summary"] == "Pay rates per employee since 2010."
    assert DataContract.objects.filter(data_product__slug="pay-history").count() == 2


@pytest.mark.parametrize(
    "contract,field",
    [
        ("a: [unclosed", "contract"),
        ("- just\n- a list\n", "contract"),
        ("apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: 1\nschema: not-a-list\n", "contract.schema"),
        ("apiVersion: v3.0.2\nkind: DataContract\nname: no id\n", "contract.id"),
    ],
)
def test_a_bad_contract_is_a_field_error_and_writes_nothing(world, contract, field):
    response = api_client(world.owner).post(
        "/api/v1/data-products/publish-contract/",
        {"contract": contract, "domain": "human-resources", "owner_team": "hr-data"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    assert DataProduct.objects.count() == 2


def test_someone_elses_product_cannot_be_overwritten_from_a_file(world):
    contract = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: e\nversion: 9.0.0\nstatus: active\nname: employees\n"
        "dataProduct: Employees\n"
    )
    response = api_client(world.unrelated).post(
        "/api/v1/data-products/publish-contract/", {"contract": contract}, format="json"
    )
    assert response.status_code == 403
    assert not DataContract.objects.exists()


def test_tokens_from_the_command_the_api_and_the_profile_page(world, client, capsys):
    # manage.py api_token_create prints the key once; only its digest and prefix are stored
    call_command("api_token_create", "consumer")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    stored = AuthToken.objects.get(user=world.consumer)
    assert key not in {stored.digest, stored.token_key} and key.startswith(stored.token_key) and stored.expiry
    scripted = api_client()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert scripted.get("/api/v1/me/").json()["username"] == "consumer"
    # the API: POST me/token/ replaces it (the old key stops working)
    created = scripted.post("/api/v1/me/token/")
    assert created.status_code == 201 and created.json()["prefix"] == created.json()["key"][:15]
    assert scripted.get("/api/v1/me/").status_code == 401
    # profile page: create shows the key once, revoke makes it stop working
    client.force_login(world.consumer)
    page = client.post("/accounts/profile/token/", follow=True)
    new_key = page.context["new_token_key"]
    assert new_key and new_key in page.content.decode()
    assert new_key not in client.get("/accounts/profile/").content.decode()
    client.post("/accounts/profile/token/revoke/")
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert scripted.get("/api/v1/me/").status_code == 401


def test_schema_and_swagger_ui_are_served_without_a_cdn(client, world):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/access-requests/" in schema.content
    client.force_login(world.consumer)
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower() and "/static/drf_spectacular_sidecar/" in page


def test_kpis_count_products_grants_and_requests(world):
    body = api_client(world.steward).get("/api/v1/kpis/").json()
    assert body["data_products"] == {"draft": 1, "published": 1}
    assert body["access_requests"] == {"pending_approval": 1, "provisioning": 1}
    assert body["active_grants"] == 0
    assert body["median_approval_lead_time_seconds"] >= 0
