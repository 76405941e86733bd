"""Killing the worker mid-apply (SIGKILL of a real ``celery worker`` while the apply waits on a
lock held on the platform) and starting another converges to active, with one role, on each
platform."""

import signal
import time
from datetime import timedelta

from django.utils import timezone

from apps.access import services
from apps.access.models import Grant
from apps.access.tasks import grant_sweep_pending_task


def wait_for(predicate, timeout: float = 90, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_killing_the_worker_mid_apply_converges_to_active_without_duplicate_roles(stack, celery_workers):
    # given: the consumer's request, and the platform-side grant lock held so the apply blocks
    p = stack.personas
    request = services.access_request_submit(
        requester=p.consumer, output_port=p.port, purpose="Attrition", expires_at=timezone.now() + timedelta(days=90)
    )
    first = celery_workers()
    with stack.grant_lock_held():
        services.access_request_approve(access_request_id=request.pk, actor=p.owner)
        wait_for(lambda: Grant.objects.get(access_request=request).status == "applying", what="the apply to start")
        time.sleep(0.3)  # the worker is now inside the adapter, waiting for the lock
        # when: the worker is killed mid-apply
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    grant = Grant.objects.get(access_request=request)
    assert grant.status == "applying" and not stack.can_select()
    # when: a new worker starts and the pending sweep (beat, every minute) runs
    second = celery_workers()
    grant_sweep_pending_task.delay(older_than_s=0)
    wait_for(lambda: Grant.objects.get(pk=grant.pk).status == "active", what="the grant to become active")
    # then
    assert second.poll() is None
    grant.refresh_from_db()
    request.refresh_from_db()
    assert (grant.status, request.status) == ("active", "active")
    assert stack.can_select()
    assert stack.role_count(grant.role_name) == 1
    assert grant.attempts.filter(succeeded=True).count() == 1
