"""Issue 11: webhooks no longer lose events. An endpoint down for longer than the old ~68 s of
retries still gets the event (exponential backoff over hours, configurable), a failed delivery
can be redelivered from the admin and the API, and the shared secret is stored encrypted.
Deliveries go to a real local HTTP server through Celery (eager mode) and the real database."""

import pytest
from django.db import connection

from apps.notifications import services
from apps.notifications.models import WebhookDelivery, WebhookEndpoint
from tests.accounts.factories import UserFactory
from tests.api.conftest import api_client
from tests.notifications.test_notifications import Receiver, verify

pytestmark = pytest.mark.django_db


def run_task_like_a_worker(delivery_id: int, max_runs: int = 50) -> list[float]:
    """Run ``webhook_deliver_task`` as a worker would: each Celery retry runs again as retry n+1
    (eager mode does not follow retries by itself). Returns the countdowns the task asked for."""
    from celery.exceptions import Retry

    from apps.notifications.tasks import webhook_deliver_task

    countdowns = []
    for retries in range(max_runs):
        try:
            webhook_deliver_task.apply(args=[delivery_id], retries=retries)
        except Retry as retry:  # CELERY_TASK_EAGER_PROPAGATES: a retry surfaces as this exception
            countdowns.append(float(retry.when))
        else:
            break
    return countdowns


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def test_the_default_backoff_spans_hours(settings):
    delays = [services.webhook_retry_delay(n) for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]
    assert delays[0] < delays[1] < delays[2]  # exponential at first
    assert max(delays) <= settings.WEBHOOK_RETRY_MAX_SECONDS * 1.1  # capped
    assert sum(delays) > 12 * 3600  # the attempts span more than twelve hours


def test_an_endpoint_down_for_many_attempts_still_gets_the_event(
    receiver, settings, django_capture_on_commit_callbacks
):
    # given an endpoint that fails 9 times (the old task gave up after 7 attempts)
    settings.WEBHOOK_MAX_ATTEMPTS = 12
    receiver.statuses = [503] * 9
    WebhookEndpoint.objects.create(name="ITSM", url=receiver.url, secret="k")
    # when an event is published and the Celery task runs with its retries
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_publish(event="grant.active", payload={"grant": {"id": 1}})
    delivery = WebhookDelivery.objects.get()
    countdowns = run_task_like_a_worker(delivery.pk)
    # then it is delivered on the tenth attempt, after waits that grew exponentially
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("delivered", 10, 200)
    assert len(receiver.requests) == 10
    assert len(countdowns) == 8 and countdowns[0] < countdowns[3] < countdowns[7]


def test_a_failed_delivery_is_redelivered_from_the_api(receiver, settings, django_capture_on_commit_callbacks):
    # given a delivery that exhausted its attempts
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [503] * 3
    WebhookEndpoint.objects.create(name="ITSM", url=receiver.url, secret="k")
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_publish(event="grant.revoked", payload={"grant": {"id": 2}})
    delivery = WebhookDelivery.objects.get()
    run_task_like_a_worker(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    # when someone without the right tries, nothing happens; an admin redelivers it
    assert api_client(UserFactory()).post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/").status_code == 404
    admin = UserFactory(is_superuser=True, is_staff=True)
    listed = api_client(admin).get("/api/v1/webhook-deliveries/?status=failed").json()
    assert [d["id"] for d in listed["results"]] == [delivery.pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(admin).post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    # then it is sent again with the same event id, and delivered
    assert response.status_code == 202
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert {h["X-Mesh-Event-Id"] for h, _ in receiver.requests} == {str(delivery.event_id)}
    # a delivery that is not failed cannot be "redelivered" twice at once
    assert api_client(admin).post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/").status_code == 202


def test_a_failed_delivery_is_redelivered_from_the_admin(receiver, admin_client, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(name="ITSM", url=receiver.url, secret="k")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="grant.active", payload={}, status="failed", attempts=25, error="HTTP 503"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notifications/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
            follow=True,
        )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("delivered", 1, "")


def test_the_webhook_secret_is_stored_encrypted_and_still_signs(receiver, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(name="Jira", url=receiver.url, secret="s3cret-webhook-key")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM notifications_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert stored and "s3cret-webhook-key" not in stored
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_publish(event="grant.active", payload={})
    headers, body = receiver.requests[0]
    assert verify("s3cret-webhook-key", headers, body)


def test_the_admin_keeps_the_secret_when_left_empty(admin_client, receiver):
    endpoint = WebhookEndpoint.objects.create(name="Jira", url=receiver.url, secret="keep-me")
    response = admin_client.post(
        f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/",
        {
            "name": "Jira 2",
            "url": receiver.url,
            "secret": "",
            "events": [],
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    endpoint.refresh_from_db()
    assert endpoint.name == "Jira 2" and endpoint.secret == "keep-me"
    admin_client.post(
        f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/",
        {
            "name": "Jira 2",
            "url": receiver.url,
            "secret": "new-one",
            "events": [],
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    endpoint.refresh_from_db()
    assert endpoint.secret == "new-one"
