"""The straight path through a real Celery worker process and the real Redis broker.

Nothing runs eagerly here: approval commits, the on-commit hook publishes to Redis, a
``celery worker`` subprocess (test settings, the test database) applies the grant on the real
PostgreSQL warehouse, and the consumer's SELECT succeeds.
"""

import time
from datetime import timedelta

from django.utils import timezone

from apps.access import services
from apps.access.models import Grant

from .conftest import consumer_can_select


def test_approval_becomes_a_real_grant_through_the_worker(personas, aw_warehouse, celery_workers):
    # given
    worker = celery_workers()
    request = services.access_request_submit(
        requester=personas.consumer,
        output_port=personas.port,
        purpose="Attrition dashboard",
        expires_at=timezone.now() + timedelta(days=90),
    )
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    # when
    approved_at = time.monotonic()
    services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    # then: within seconds the grant is active and the consumer can read
    deadline = approved_at + 30
    while time.monotonic() < deadline:
        if Grant.objects.get(access_request=request).status == "active":
            break
        assert worker.poll() is None, "the worker died"
        time.sleep(0.1)
    grant = Grant.objects.get(access_request=request)
    assert grant.status == "active", grant.status_reason
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    print(f"approval to first successful SELECT: {time.monotonic() - approved_at:.2f} s (includes worker start)")
