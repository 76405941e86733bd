"""A committed revocation always reaches the platform (issue 11, "High: a revocation made while the
broker is down is lost, and the consumer keeps access").

Everything here is real: the warehouse is the local PostgreSQL and we connect *as the consumer*;
the broker is a private ``redis-server`` on a spare port that the test stops and starts (the
shared Redis is never touched); an unreachable platform is a platform row pointing at a closed
port.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from apps.access import services, tasks
from apps.access.models import Grant
from apps.notifications.models import Notification
from mesh_portal.celery import app as celery_app
from tests.faults import PrivateRedis, free_port

from .conftest import consumer_can_select
from .test_grant_postgresql import approve

pytestmark = pytest.mark.django_db


def _drop_broker_connections():
    """Drop pooled connections to the previous broker. ``app.close()`` would also deregister the app, so a
    ``@shared_task`` module imported later (e.g. ``apps.sync.tasks``) would never register on it and
    later tests would fail with ``NotRegistered``: put it back."""
    from celery._state import _register_app

    celery_app.close()
    _register_app(celery_app)


@pytest.fixture
def broker():
    """Celery publishes to a private Redis (not eager) for the duration of the test."""
    redis = PrivateRedis()
    redis.start()
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = redis.url, False
    _drop_broker_connections()
    celery_app.amqp._producer_pool = None
    try:
        yield redis
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        _drop_broker_connections()
        celery_app.amqp._producer_pool = None
        redis.close()


def _age(grant_id: int, seconds: float = 3600) -> None:
    Grant.objects.filter(pk=grant_id).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def test_revocation_while_the_broker_is_down_answers_202_and_converges_after(
    personas, aw_warehouse, client, broker, django_capture_on_commit_callbacks
):
    # given: an active grant (applied before the outage)
    celery_app.conf.task_always_eager = True
    request = approve(personas, django_capture_on_commit_callbacks)
    celery_app.conf.task_always_eager = False
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    # when: the broker goes down and the owner revokes through the API
    broker.stop()
    client.force_login(personas.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/grants/{request.grant.pk}/revoke/", {"reason": "Project over"}, content_type="application/json"
        )
    # then: the revocation is recorded (never a 500), the task could not be published
    assert response.status_code == 202, response.content
    grant = Grant.objects.get(pk=request.grant.pk)
    assert grant.status == "revoking" and grant.revoke_requested_at and grant.revoke_reason == "Project over"
    assert response.json()["status"] == "revoking"
    # and asking again while it is revoking is accepted too (not "cannot be revoked now")
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/api/v1/grants/{grant.pk}/revoke/", {"reason": "again"}, content_type="application/json")
    assert again.status_code == 202
    # when: the broker is back (empty: the message was never published) and beat sweeps
    broker.start()
    celery_app.conf.task_always_eager = True
    _age(grant.pk)
    tasks.grant_sweep_revoking_task()
    # then: revoked on the platform, with the owner's reason
    grant.refresh_from_db()
    request.refresh_from_db()
    assert (grant.status, request.status) == ("revoked", "revoked")
    assert grant.status_reason == "Project over"
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)


def test_approval_while_the_broker_is_down_is_recorded_and_applied_by_the_sweep(
    personas, aw_warehouse, client, broker, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=personas.consumer,
            output_port=personas.port,
            purpose="Headcount report",
            expires_at=timezone.now() + timedelta(days=30),
        )
    broker.stop()
    # when: the owner approves through the API during the outage
    client.force_login(personas.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/access-requests/{request.pk}/approve/", {}, content_type="application/json")
    # then
    assert response.status_code in (200, 202), response.content
    grant = Grant.objects.get(access_request=request)
    assert grant.status == "pending"
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    # when: the broker returns and beat sweeps stuck pending grants
    broker.start()
    celery_app.conf.task_always_eager = True
    _age(grant.pk)
    tasks.grant_sweep_pending_task()
    # then
    grant.refresh_from_db()
    assert grant.status == "active"
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)


def test_the_api_keeps_answering_when_the_throttle_cache_is_down(personas, client):
    # given: the cache the throttles count in is a Redis that is not running
    dead = f"redis://127.0.0.1:{free_port()}/0"
    client.force_login(personas.consumer)
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}}
    ):
        # when
        response = client.get("/api/v1/data-products/")
    # then: throttling fails open (a log line), the call is served
    assert response.status_code == 200


def test_exhausted_retries_end_failed_with_an_alert_and_an_operator_can_retry(
    personas, aw_warehouse, django_capture_on_commit_callbacks, django_user_model
):
    # given: an active grant, then the platform becomes unreachable
    request = approve(personas, django_capture_on_commit_callbacks)
    platform = personas.port.platform
    real_port = platform.port
    platform.port = free_port()
    platform.save()
    mail.outbox.clear()
    # when: the owner revokes, and the task's last allowed retry meets the unreachable platform
    with django_capture_on_commit_callbacks(execute=False):
        services.grant_revoke_request(grant_id=request.grant.pk, actor=personas.owner, reason="Left the team")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.grant_revoke_task.apply(args=(request.grant.pk,), retries=tasks.grant_revoke_task.max_retries)
    # then: failed, loudly, the stewards alerted; the consumer can still read (and we say so)
    grant = Grant.objects.get(pk=request.grant.pk)
    assert grant.status == "failed" and grant.revocation_failed
    assert "Access may still exist" in grant.status_reason
    assert Notification.objects.filter(recipient=personas.steward, verb="grant_failed").exists()
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    # the sweep and a plain revoke task leave a given-up revocation alone (no retry storm)...
    tasks.grant_sweep_revoking_task(older_than_s=0)
    assert Grant.objects.get(pk=grant.pk).status == "failed"
    # when: the platform is reachable again and an operator retries
    platform.port = real_port
    platform.save()
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "x")
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_retry(grant_id=grant.pk, actor=operator)
    # then
    grant.refresh_from_db()
    request.refresh_from_db()
    assert (grant.status, request.status) == ("revoked", "revoked")
    assert grant.status_reason == "Left the team"
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)


def test_reconcile_finishes_stuck_and_failed_revocations(personas, aw_warehouse, django_capture_on_commit_callbacks):
    # given: two grants whose revocation was decided but never reached the platform
    stuck = approve(personas, django_capture_on_commit_callbacks).grant
    Grant.objects.filter(pk=stuck.pk).update(
        status="revoking", revoke_requested_at=timezone.now(), revoke_reason="Contract ended", revoke_expired=True
    )
    _age(stuck.pk)
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    # when: the reconcile loop runs for the platform
    assert personas.port.platform_id in services.platform_ids_to_reconcile()
    services.platform_reconcile(platform_id=personas.port.platform_id)
    # then: the access is gone, recorded as the expiry it was
    stuck.refresh_from_db()
    assert stuck.status == "revoked"
    assert stuck.access_request.status == "expired"
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)


def test_expiry_is_recorded_before_the_task_so_a_lost_task_is_swept(
    personas, aw_warehouse, django_capture_on_commit_callbacks
):
    # given
    grant = approve(personas, django_capture_on_commit_callbacks).grant
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # when: beat's expiry service runs but its revoke task is lost
    assert services.grant_expire_due() == [grant.pk]
    grant.refresh_from_db()
    assert grant.status == "revoking" and grant.revoke_expired
    assert services.grant_expire_due() == []  # not picked twice
    _age(grant.pk)
    tasks.grant_sweep_revoking_task()
    # then
    grant.refresh_from_db()
    assert grant.status == "revoked" and grant.access_request.status == "expired"
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
