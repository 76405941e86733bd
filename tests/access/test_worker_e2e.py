"""The straight path through a real Celery worker process and the real Redis broker.

Nothing runs eagerly here: approval commits, the on-commit hook publishes to Redis, a
``celery worker`` subprocess (test settings, the test database) applies the grant on the real
PostgreSQL warehouse, and the consumer's SELECT succeeds.
"""
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.access import services
from apps.access.models import Grant
from mesh_portal.celery import app

from .conftest import consumer_can_select


@pytest.fixture
def celery_worker_process(transactional_db):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # our own test broker database only
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mesh_portal.settings.test",
        "TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "GRANT_ROLE_PREFIX": settings.GRANT_ROLE_PREFIX,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mesh_portal", "worker", "--pool", "solo", "-l", "warning",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
        if worker.returncode not in (0, -15):
            print(output)


def test_approval_becomes_a_real_grant_through_the_worker(personas, aw_warehouse, celery_worker_process):
    # given
    request = services.access_request_submit(
        requester=personas.consumer, output_port=personas.port, purpose="Attrition dashboard",
        expires_at=timezone.now() + timedelta(days=90))
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    # when
    approved_at = time.monotonic()
    services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    # then: within seconds the grant is active and the consumer can read
    deadline = approved_at + 30
    while time.monotonic() < deadline:
        if Grant.objects.get(access_request=request).status == "active":
            break
        assert celery_worker_process.poll() is None, "the worker died"
        time.sleep(0.1)
    grant = Grant.objects.get(access_request=request)
    assert grant.status == "active", grant.status_reason
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    print(f"approval to first successful SELECT: {time.monotonic() - approved_at:.2f} s (includes worker start)")
