"""Contract versions: a breaking change needs a major version (or the domain's policy warns),
an accepted breaking change tells every active consumer (in-app, email, webhook), and the
contract page shows history and the diff between two versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.access.models import AccessRequest, Grant
from apps.contracts.choices import BreakingChangePolicy
from apps.contracts.models import ContractImport, DomainContractPolicy
from apps.contracts.services import data_contract_publish
from apps.core.exceptions import ApplicationError
from apps.notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from tests.accounts.factories import UserFactory
from tests.contracts.conftest import contract_text

NARROWED = contract_text().replace("varchar(50)", "varchar(20)")


@pytest.fixture
def consumer(hr):
    user = UserFactory(username="ana", email="ana@example.com")
    request = AccessRequest.objects.create(
        requester=user,
        output_port=hr.port,
        purpose="Headcount",
        status="active",
        submitted_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
    )
    Grant.objects.create(
        access_request=request,
        platform=hr.platform,
        principal="demo_ana",
        schema="humanresources",
        status="active",
        applied_at=timezone.now(),
        expires_at=request.expires_at,
    )
    return user


def test_a_breaking_change_without_a_major_bump_is_refused(hr):
    data_contract_publish(actor=hr.owner, contract=contract_text(), data_product="employees")
    with pytest.raises(ApplicationError) as excinfo:
        data_contract_publish(actor=hr.owner, contract=NARROWED.replace("1.0.0", "1.1.0"), data_product="employees")
    errors = excinfo.value.extra
    assert errors["contract.version"] == ["Breaking changes need a major version (e.g. 2.0.0)."]
    assert errors["breaking_changes"] == [
        "employee.jobtitle: physical type varchar(50) → varchar(20) (narrowed or changed)."
    ]
    assert hr.product.data_contracts.count() == 1


def test_a_non_breaking_change_is_a_minor_version(hr, consumer):
    data_contract_publish(actor=hr.owner, contract=contract_text(), data_product="employees")
    extra = "      - name: nickname\n        logicalType: string\n"
    result = data_contract_publish(actor=hr.owner, contract=contract_text("1.1.0", extra), data_product="employees")
    assert not result.breaking and [c["kind"] for c in result.diff] == ["property_added"]
    assert not Notification.objects.filter(recipient=consumer).exists()


def test_the_domain_may_warn_instead_of_refusing(hr):
    DomainContractPolicy.objects.create(domain=hr.domain, breaking_changes=BreakingChangePolicy.WARN)
    data_contract_publish(actor=hr.owner, contract=contract_text(), data_product="employees")
    result = data_contract_publish(
        actor=hr.owner, contract=NARROWED.replace("1.0.0", "1.1.0"), data_product="employees"
    )
    assert result.breaking and "without a major version bump" in result.warnings[0]


def test_an_accepted_breaking_change_tells_every_active_consumer(hr, consumer, django_capture_on_commit_callbacks):
    # given a consumer with an active grant and a webhook subscribed to the event
    endpoint = WebhookEndpoint.objects.create(
        name="itsm", url="http://127.0.0.1:9/hook", secret="s", events=["data_contract.breaking_change"]
    )
    data_contract_publish(actor=hr.owner, contract=contract_text(), data_product="employees")
    # when a major version narrows a column
    with django_capture_on_commit_callbacks(execute=True):
        result = data_contract_publish(
            actor=hr.owner, contract=NARROWED.replace("1.0.0", "2.0.0"), data_product="employees"
        )
    # then the consumer is told in-app and by email, and the webhook gets the diff
    assert result.breaking and not result.warnings
    note = Notification.objects.get(recipient=consumer, verb="contract_breaking")
    assert "varchar(50) → varchar(20)" in note.message and "from=" in note.url
    assert any("Breaking change in the data contract of Employees" in m.subject for m in mail.outbox)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event="data_contract.breaking_change")
    assert delivery.payload["version"] == "2.0.0" and delivery.payload["consumers"] == ["ana"]
    assert delivery.payload["diff"][0]["kind"] == "type_changed"
    assert ContractImport.objects.get(data_contract=result.data_contract).breaking


def test_the_contract_page_shows_history_and_any_diff(hr, client):
    first = data_contract_publish(actor=hr.owner, contract=contract_text(), data_product="employees")
    second = data_contract_publish(
        actor=hr.owner, contract=NARROWED.replace("1.0.0", "2.0.0"), data_product="employees"
    )
    client.force_login(hr.unrelated)  # a published product: anyone signed in reads its contract
    page = client.get(f"/products/employees/?tab=contract&from={first.data_contract.pk}&to={second.data_contract.pk}")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Version history" in body and "1.0.0" in body and "2.0.0" in body
    assert "From 1.0.0 to 2.0.0: 1 change, 1 breaking" in body
    # a version id of another product is ignored, not an error
    assert client.get("/products/employees/?tab=contract&from=999999&to=x").status_code == 200


def test_the_api_answers_400_with_paths_and_lists_the_diff(hr):
    from tests.api.conftest import api_client

    client = api_client(hr.owner)
    bad = client.post(
        "/api/v1/data-products/publish-contract/",
        {"contract": contract_text().replace("logicalType: string", "logicalType: numbr"), "data_product": "employees"},
        format="json",
    )
    assert bad.status_code == 400
    assert "contract.schema[0].properties[1].logicalType" in bad.json()["errors"]
    ok = client.post(
        "/api/v1/data-products/publish-contract/",
        {"contract": contract_text(), "data_product": "employees"},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["changes"] == ["data_contract.created:1.0.0"]
    refused = client.post(
        "/api/v1/data-products/publish-contract/",
        {"contract": NARROWED.replace("1.0.0", "1.0.1"), "data_product": "employees"},
        format="json",
    )
    assert refused.status_code == 400 and "breaking_changes" in refused.json()["errors"]
