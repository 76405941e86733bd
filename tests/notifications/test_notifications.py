"""Notifications: the in-app inbox with its badge, email, and signed webhooks delivered to a
real local HTTP server (``http.server`` in a thread), with retries and a delivery log."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse

from apps.notifications import services
from apps.notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP endpoint; answers with the queued status codes (then 200) and records requests."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def verify(secret: str, headers: dict, body: bytes) -> bool:
    expected = hmac.new(secret.encode(), headers["X-Mesh-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Mesh-Signature"], f"sha256={expected}")


def test_a_webhook_is_signed_and_logged(receiver, django_capture_on_commit_callbacks):
    # given
    endpoint = WebhookEndpoint.objects.create(name="Jira", url=receiver.url, secret="s3cret", events=["grant.active"])
    WebhookEndpoint.objects.create(name="Other", url=receiver.url, secret="x", events=["grant.revoked"])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_publish(event="grant.active", payload={"grant": {"id": 7}}, dedupe_key="g7")
        services.webhook_publish(event="grant.active", payload={"grant": {"id": 7}}, dedupe_key="g7")  # once only
    # then: one signed POST with the event id and timestamp
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    delivery = WebhookDelivery.objects.get()
    assert verify("s3cret", headers, body)
    assert headers["X-Mesh-Event"] == "grant.active" and headers["X-Mesh-Event-Id"] == str(delivery.event_id)
    assert json.loads(body) == {"id": str(delivery.event_id), "event": "grant.active", "data": {"grant": {"id": 7}}}
    assert (delivery.endpoint, delivery.status, delivery.status_code, delivery.attempts) == (
        endpoint,
        "delivered",
        200,
        1,
    )
    assert not verify("wrong", headers, body)


def test_a_failing_endpoint_is_retried_then_delivered(receiver):
    # given: the endpoint answers 503 twice, then 200
    receiver.statuses = [503, 503]
    endpoint = WebhookEndpoint.objects.create(name="ServiceNow", url=receiver.url, secret="k")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="access_request.approved", payload={"x": 1})
    # when: the task's attempts (Celery retries on WebhookTransientError with exponential backoff)
    for _ in range(2):
        with pytest.raises(services.WebhookTransientError):
            services.webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.status_code) == ("pending", 503)
    services.webhook_deliver(delivery_id=delivery.pk)
    # then: delivered on the third attempt, same event id each time
    delivery.refresh_from_db()
    assert len(receiver.requests) == 3
    assert {h["X-Mesh-Event-Id"] for h, _ in receiver.requests} == {str(delivery.event_id)}
    assert (delivery.status, delivery.attempts, delivery.status_code, delivery.error) == ("delivered", 3, 200, "")


def test_a_client_error_fails_for_good_and_an_unreachable_one_is_logged(receiver):
    receiver.statuses = [400]
    endpoint = WebhookEndpoint.objects.create(name="Bad", url=receiver.url, secret="k")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="grant.revoked", payload={})
    services.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.status_code, delivery.attempts) == ("failed", 400, 1)
    # unreachable: transient, retried by the task; on the final attempt it fails with the reason
    endpoint.url = "http://127.0.0.1:9/nothing-listens"
    endpoint.save()
    gone = WebhookDelivery.objects.create(endpoint=endpoint, event="grant.revoked", payload={})
    with pytest.raises(services.WebhookTransientError):
        services.webhook_deliver(delivery_id=gone.pk)
    services.webhook_deliver(delivery_id=gone.pk, final_attempt=True)
    gone.refresh_from_db()
    assert gone.status == "failed" and gone.attempts == 2 and "Connection" in gone.error


def test_notify_stores_once_and_emails(client, django_capture_on_commit_callbacks):
    user = UserFactory(username="nina")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = services.notify(
            recipients=[user, user],
            verb="decided",
            subject="S",
            message="Your request was approved",
            url="/access/requests/1/",
            dedupe_key="k1",
        )
        again = services.notify(recipients=[user], verb="decided", subject="S", message="again", dedupe_key="k1")
    assert len(created) == 1 and again == []
    # the e-mail leaves the request: nothing is sent before the commit, a task sends it after
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert mail.outbox[0].to == ["nina@example.com"] and "/access/requests/1/" in mail.outbox[0].body
    assert mail.outbox[0].subject == "[Mesh Portal] S"
    # a second run (task redelivered, sweep) sends nothing more
    assert services.notification_email_send(notification_ids=[created[0].pk]) == 0 and len(mail.outbox) == 1
    # the badge and the inbox show it; marking read clears the badge
    client.force_login(user)
    page = client.get(reverse("notifications:inbox"))
    assert (
        b"Your request was approved" in page.content
        and b'1<span class="visually-hidden"> unread</span>' in page.content
    )
    response = client.post(reverse("notifications:read", args=[created[0].pk]), {"next": "/access/requests/1/"})
    assert response["Location"] == "/access/requests/1/"
    assert Notification.objects.get().read_at is not None
    assert b"unread" not in client.get(reverse("notifications:inbox")).content.split(b"<main")[0]


def test_nobody_reads_or_marks_someone_elses_notifications(client):
    owner, other = UserFactory(), UserFactory()
    [notification] = services.notify(recipients=[owner], verb="decided", subject="S", message="private")
    client.force_login(other)
    assert b"private" not in client.get(reverse("notifications:inbox")).content
    assert client.post(reverse("notifications:read", args=[notification.pk])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_a_copy_whose_task_was_lost_is_sent_by_the_sweep(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from apps.notifications.models import Notification

    user = UserFactory(username="omar")
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down: the task never ran
        (notification,) = services.notify(recipients=[user], verb="decided", subject="Lost", message="m")
    assert services.notification_email_due() == 0  # too young: its own task may still come
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.notification_email_due() == 1
    assert [m.subject for m in mail.outbox] == ["[Mesh Portal] Lost"]
    assert services.notification_email_due() == 0
