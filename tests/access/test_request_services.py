"""Access request services: validation, segregation of duties, decisions, audit, on-commit."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, Grant
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_remove, team_membership_set
from apps.audit.models import AuditEvent
from apps.core.exceptions import ApplicationError
from tests.accounts.factories import TeamFactory

pytestmark = pytest.mark.django_db


def submit(p, **overrides):
    kwargs = dict(
        requester=p.consumer,
        output_port=p.port,
        purpose="Headcount report",
        expires_at=timezone.now() + timedelta(days=30),
    )
    kwargs.update(overrides)
    return services.access_request_submit(**kwargs)


def test_submit_puts_the_request_in_the_owners_inbox(personas, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas)
    # then
    assert request.status == "pending_approval"
    from apps.access.selectors import access_request_inbox

    assert list(access_request_inbox(user=personas.owner)) == [request]
    assert list(access_request_inbox(user=personas.consumer)) == []
    assert [
        e.action
        for e in AuditEvent.objects.filter(object_type="access_request", object_id=str(request.pk)).order_by("id")
    ] == ["access_request.created", "access_request.submitted", "access_request.pending_approval"]
    from django.core import mail

    assert {to for m in mail.outbox for to in m.to} == {"owner@example.com", "approver@example.com"}


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"purpose": "  "}, "purpose"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
    ],
)
def test_submit_rejects_bad_input_with_field_errors(personas, overrides, field):
    with pytest.raises(ApplicationError) as exc:
        submit(personas, **overrides)
    assert field in exc.value.extra
    assert not AccessRequest.objects.exists()


def test_submit_on_behalf_of_a_team_requires_membership(personas):
    other = TeamFactory()
    with pytest.raises(ApplicationError) as exc:
        submit(personas, on_behalf_of_team=other)
    assert "on_behalf_of_team" in exc.value.extra


def test_one_open_request_per_consumer_and_port(personas):
    submit(personas)
    with pytest.raises(ApplicationError, match="already have an open request"):
        submit(personas)


def test_draft_products_take_no_requests(personas):
    personas.product.status = "draft"
    personas.product.save()
    with pytest.raises(ApplicationError) as exc:
        submit(personas)
    assert "output_port" in exc.value.extra


def test_nobody_approves_their_own_request(personas):
    # given: the owner asks for their own product
    request = submit(personas, requester=personas.owner)
    # when / then
    with pytest.raises(PermissionDenied, match="your own request"):
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)


def test_nobody_approves_for_a_team_they_belong_to(personas):
    # given: the approver is also in the consumer's team
    consumers = TeamFactory()
    team_membership_set(team=consumers, user=personas.consumer)
    team_membership_set(team=consumers, user=personas.approver)
    request = submit(personas, on_behalf_of_team=consumers)
    # when / then
    with pytest.raises(PermissionDenied, match="team you belong to"):
        services.access_request_approve(access_request_id=request.pk, actor=personas.approver)
    # the owner (not in that team) may
    services.access_request_approve(access_request_id=request.pk, actor=personas.owner)


def test_unrelated_users_and_members_without_the_approver_role_cannot_decide(personas):
    request = submit(personas)
    member = personas.unrelated
    team_membership_set(team=personas.team, user=member, role=TeamRole.MEMBER)
    for actor in (personas.unrelated, personas.steward):
        with pytest.raises(PermissionDenied, match="Only approvers"):
            services.access_request_approve(access_request_id=request.pk, actor=actor)


def test_leaving_the_owner_team_removes_the_right_to_decide(personas):
    request = submit(personas)
    team_membership_remove(team=personas.team, user=personas.approver)
    approver = type(personas.approver).objects.get(pk=personas.approver.pk)  # fresh permission cache
    with pytest.raises(PermissionDenied, match="Only approvers"):
        services.access_request_approve(access_request_id=request.pk, actor=approver)


def test_reject_needs_a_reason_and_records_it(personas):
    request = submit(personas)
    with pytest.raises(ApplicationError) as exc:
        services.access_request_reject(access_request_id=request.pk, actor=personas.owner, reason=" ")
    assert "reason" in exc.value.extra
    services.access_request_reject(
        access_request_id=request.pk, actor=personas.owner, reason="Use the aggregate product"
    )
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_comment) == (
        "rejected",
        personas.owner,
        "Use the aggregate product",
    )


def test_only_the_requester_cancels_and_only_before_the_decision(personas):
    request = submit(personas)
    with pytest.raises(ApplicationError):
        services.access_request_cancel(access_request_id=request.pk, actor=personas.owner)
    services.access_request_cancel(access_request_id=request.pk, actor=personas.consumer)
    with pytest.raises(ApplicationError, match="cannot become"):
        services.access_request_cancel(access_request_id=request.pk, actor=personas.consumer)


def test_approval_enqueues_the_grant_only_on_commit(personas, django_capture_on_commit_callbacks):
    request = submit(personas)
    # when: approved, callbacks captured but not run
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner, comment="ok")
    # then: nothing ran yet; the grant waits in pending
    grant = Grant.objects.get(access_request=request)
    assert grant.status == "pending"
    assert len(callbacks) >= 1
