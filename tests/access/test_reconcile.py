"""Reconciliation is scheduled per platform by beat and leaves revocations in progress alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.access import services
from apps.access.models import Grant, GrantDrift
from apps.access.tasks import platform_reconcile_due_task
from mesh_portal.celery import app

pytestmark = pytest.mark.django_db


def test_beat_reconciles_every_five_minutes_with_a_registered_task():
    entry = app.conf.beat_schedule["access-grants-reconcile"]
    assert entry["schedule"] == 300.0
    assert entry["task"] in app.tasks


def test_the_beat_task_reconciles_each_platform_with_active_grants(stack, django_capture_on_commit_callbacks):
    # given: an active grant whose role was dropped by hand
    p = stack.personas
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=p.consumer, output_port=p.port, purpose="KPI", expires_at=timezone.now() + timedelta(days=90)
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=request.pk, actor=p.owner)
    grant = Grant.objects.get(access_request=request)
    stack.admin(
        f"DROP ROLE {stack.q(grant.role_name)}"
        if stack.kind == "mariadb"
        else f"DROP OWNED BY {stack.q(grant.role_name)}; DROP ROLE {stack.q(grant.role_name)}"
    )
    # when: beat fires (tasks run eagerly in tests)
    platform_reconcile_due_task()
    # then
    assert GrantDrift.objects.get(grant=grant).action == "recreated"
    assert stack.can_select()
    assert grant.attempts.filter(action="reconcile", succeeded=True).exists()


def test_a_grant_being_revoked_is_not_reconciled_back(personas, django_capture_on_commit_callbacks):
    # given: an owner's revocation was committed, its task has not run yet
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=personas.consumer,
            output_port=personas.port,
            purpose="KPI",
            expires_at=timezone.now() + timedelta(days=90),
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    services.grant_revoke_request(grant_id=request.grant.pk, actor=personas.owner, reason="Ends today")
    # when
    drifts = services.platform_reconcile(platform_id=personas.port.platform_id)
    # then: nothing to reconcile (only active grants are), and nothing was re-applied
    assert drifts == [] and Grant.objects.get(pk=request.grant.pk).status == "revoking"


def test_a_consumer_login_dropped_on_the_platform_is_reported_once(stack, django_capture_on_commit_callbacks):
    # given: an active grant, then the consumer's login is dropped outside the portal
    p = stack.personas
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=p.consumer, output_port=p.port, purpose="KPI", expires_at=timezone.now() + timedelta(days=90)
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=request.pk, actor=p.owner)
    if stack.kind == "postgresql":
        stack.admin(f"DROP ROLE {stack.q(p.login)}")
    else:
        stack.admin(f"DROP USER {stack.q(p.login)}@`%`")
    # when: two reconcile runs
    first = services.platform_reconcile(platform_id=p.port.platform_id)
    second = services.platform_reconcile(platform_id=p.port.platform_id)
    # then: one drift that could not be corrected, with the platform's reason; the grant stays active
    assert [d.action for d in first] == ["failed"] and "does not exist" in first[0].error
    assert second == []
    assert Grant.objects.get(access_request=request).status == "active"
