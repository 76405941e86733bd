"""Proof on each platform (the real PostgreSQL and MariaDB), connecting *as the consumer*:
denied before approval, allowed after, denied after expiry and after an owner's revocation; a
column scope allows only its columns; reconciliation puts back what was dropped by hand and
takes away what was added by hand."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.access import services
from apps.access.enforcement import get_grant_adapter
from apps.access.models import AccessRequest, Grant, GrantDrift
from apps.audit.models import AuditEvent
from apps.core.exceptions import ApplicationError
from apps.platforms.models import PlatformIdentity, TeamPlatformIdentity

pytestmark = pytest.mark.django_db


def approve(stack, django_capture_on_commit_callbacks, *, columns=(), team=None) -> AccessRequest:
    p = stack.personas
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=p.consumer,
            output_port=p.port,
            purpose="Headcount report",
            expires_at=timezone.now() + timedelta(days=30),
            on_behalf_of_team=team,
        )
    if columns:
        AccessRequest.objects.filter(pk=request.pk).update(columns=list(columns))
    with django_capture_on_commit_callbacks(execute=True):  # runs grant_apply_task (eager caller in tests)
        services.access_request_approve(access_request_id=request.pk, actor=p.owner)
    request.refresh_from_db()
    return request


def test_select_is_denied_before_approval_allowed_after_and_denied_after_expiry(
    stack, django_capture_on_commit_callbacks
):
    # given
    assert not stack.can_select()
    # when
    request = approve(stack, django_capture_on_commit_callbacks)
    # then
    assert (request.status, request.grant.status) == ("active", "active"), request.grant.status_reason
    assert stack.can_select()
    assert stack.can_select(column=stack.denied_column)
    assert not stack.can_select(table=stack.other[1], schema=stack.other[0])
    # when: the end date passes and the expiry sweep runs
    Grant.objects.filter(pk=request.grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for grant_id in services.grant_expire_due():
        services.grant_revoke(grant_id=grant_id, reason="The access period ended.", expired=True)
    # then
    request.refresh_from_db()
    assert (request.status, request.grant.status) == ("expired", "revoked")
    assert not stack.can_select()
    assert stack.role_count(request.grant.role_name) == 0


def test_an_owner_revokes_with_a_reason_and_the_consumer_loses_access(stack, django_capture_on_commit_callbacks):
    # given
    request = approve(stack, django_capture_on_commit_callbacks)
    assert stack.can_select()
    p = stack.personas
    p.consumer.email = "consumer@example.org"
    p.consumer.save()
    # when: no reason → refused, nothing changes
    with pytest.raises(ApplicationError) as error:
        services.grant_revoke_request(grant_id=request.grant.pk, actor=p.owner, reason="  ")
    assert "reason" in error.value.extra
    # when: somebody who does not own the product → refused (no right: PermissionDenied, a 403)
    with pytest.raises(PermissionDenied):
        services.grant_revoke_request(grant_id=request.grant.pk, actor=p.unrelated, reason="no")
    assert stack.can_select()
    # when: the owner revokes with a reason
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke_request(grant_id=request.grant.pk, actor=p.owner, reason="Project ended early")
    # then
    request.refresh_from_db()
    assert (request.status, request.grant.status) == ("revoked", "revoked")
    assert not stack.can_select()
    event = AuditEvent.objects.get(object_type="grant", object_id=str(request.grant.pk), action="grant.revoking")
    assert (event.actor, event.message) == (p.owner, "Project ended early")
    assert any("revoked" in m.subject for m in mail.outbox if m.to == ["consumer@example.org"])


def test_a_column_scoped_grant_allows_only_those_columns(stack, django_capture_on_commit_callbacks):
    # when
    request = approve(stack, django_capture_on_commit_callbacks, columns=stack.scope)
    # then
    assert request.grant.status == "active", request.grant.status_reason
    assert request.grant.columns == stack.scope
    assert stack.can_select(column=stack.allowed_column)
    assert not stack.can_select(column=stack.denied_column)
    inspected = get_grant_adapter(stack.personas.port.platform).inspect(services._spec(request.grant))
    assert inspected.in_sync, (inspected.missing, inspected.extra)


def test_a_grant_dropped_by_hand_is_back_after_one_reconcile_run(stack, django_capture_on_commit_callbacks):
    # given: a platform admin drops the role (and with it the consumer's access)
    request = approve(stack, django_capture_on_commit_callbacks)
    role = request.grant.role_name
    stack.admin(
        f"DROP ROLE {stack.q(role)}"
        if stack.kind == "mariadb"
        else f"DROP OWNED BY {stack.q(role)}; DROP ROLE {stack.q(role)}"
    )
    assert not stack.can_select()
    # when
    drifts = services.platform_reconcile(platform_id=stack.personas.port.platform_id)
    # then
    assert [(d.kind, d.action) for d in drifts] == [("role_missing", "recreated")]
    assert stack.can_select()
    assert stack.role_count(role) == 1
    assert services.platform_reconcile(platform_id=stack.personas.port.platform_id) == []  # in sync now
    request.grant.refresh_from_db()
    assert request.grant.verified_at > drifts[0].at


def test_a_privilege_revoked_by_hand_is_reapplied(stack, django_capture_on_commit_callbacks):
    # given
    request = approve(stack, django_capture_on_commit_callbacks)
    stack.admin(stack.revoke_by_hand(request.grant.role_name))
    assert not stack.can_select()
    # when
    drifts = services.platform_reconcile(platform_id=stack.personas.port.platform_id)
    # then
    assert [(d.kind, d.action) for d in drifts] == [("missing", "reapplied")]
    assert "SELECT" in drifts[0].summary and not drifts[0].error
    assert stack.can_select()
    assert AuditEvent.objects.filter(
        object_type="grant", object_id=str(request.grant.pk), action="grant.drift_missing"
    ).exists()


def test_a_privilege_added_by_hand_to_the_managed_role_is_removed(stack, django_capture_on_commit_callbacks):
    # given: someone gives the portal's role another schema's table, outside the portal
    request = approve(stack, django_capture_on_commit_callbacks)
    for statement in stack.add_by_hand(request.grant.role_name):
        stack.admin(statement)
    assert stack.can_select(table=stack.other[1], schema=stack.other[0])
    # when
    drifts = services.platform_reconcile(platform_id=stack.personas.port.platform_id)
    # then
    assert [(d.kind, d.action) for d in drifts] == [("extra", "removed")]
    assert not stack.can_select(table=stack.other[1], schema=stack.other[0])
    assert stack.can_select()
    assert GrantDrift.objects.filter(grant=request.grant).count() == 1


def test_the_managed_role_granted_to_someone_else_by_hand_is_taken_back(stack, django_capture_on_commit_callbacks):
    # given: a second login receives the portal's role by hand
    request_ = approve(stack, django_capture_on_commit_callbacks)
    other_login = f"{stack.personas.login}_x"
    if stack.kind == "postgresql":
        stack.admin(f"CREATE ROLE {stack.q(other_login)} LOGIN")
        stack.admin(f"GRANT {stack.q(request_.grant.role_name)} TO {stack.q(other_login)}")
    else:
        stack.admin(f"CREATE USER {stack.q(other_login)}@`%` IDENTIFIED BY 'x'")
        stack.admin(f"GRANT {stack.q(request_.grant.role_name)} TO {stack.q(other_login)}@`%`")
    # when
    drifts = services.platform_reconcile(platform_id=stack.personas.port.platform_id)
    # then
    assert [(d.kind, d.action) for d in drifts] == [("extra", "removed")]
    assert other_login in drifts[0].summary
    assert services.platform_reconcile(platform_id=stack.personas.port.platform_id) == []


def test_a_team_request_grants_to_the_team_principal_and_waits_without_one(stack, django_capture_on_commit_callbacks):
    # given: the consumer asks on behalf of their team, which has no principal yet
    p = stack.personas
    from apps.accounts.services import team_membership_set
    from tests.accounts.factories import TeamFactory

    team = TeamFactory(name="Analysts", slug="analysts")
    team_membership_set(team=team, user=p.consumer, role="member")
    PlatformIdentity.objects.filter(user=p.consumer).delete()  # access must come through the team
    # when
    request = approve(stack, django_capture_on_commit_callbacks, team=team)
    # then: it waits with a reason
    assert (request.status, request.grant.status) == ("provisioning", "pending")
    assert "Analysts has no principal" in request.grant.status_reason
    # when: the platform admin maps the team to the consumer's login (a team role works the same)
    TeamPlatformIdentity.objects.create(team=team, platform=p.port.platform, principal=p.login)
    services.grant_apply(grant_id=request.grant.pk)
    # then
    request.refresh_from_db()
    assert (request.status, request.grant.status, request.grant.principal) == ("active", "active", p.login)
    assert stack.can_select()


def test_two_grants_of_one_consumer_are_usable_at_once(stack, django_capture_on_commit_callbacks):
    # given: one grant on the port, and a second product's port on another schema
    from tests.catalog.factories import DataProductFactory, OutputPortFactory

    p = stack.personas
    approve(stack, django_capture_on_commit_callbacks)
    product = DataProductFactory(name="Customers", slug="customers", owner_team=p.team)
    port = OutputPortFactory(
        data_product=product, name="sales", platform=p.port.platform, schema=stack.other[0], table=stack.other[1]
    )
    with django_capture_on_commit_callbacks(execute=True):
        second = services.access_request_submit(
            requester=p.consumer, output_port=port, purpose="Churn", expires_at=timezone.now() + timedelta(days=90)
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=second.pk, actor=p.owner)
    # then: both work in one fresh session (MariaDB: one default role reaches both)
    assert Grant.objects.get(access_request=second).status == "active"
    assert stack.can_select()
    assert stack.can_select(table=stack.other[1], schema=stack.other[0])


def test_a_revoked_grant_recreated_by_hand_is_dropped_again(stack, django_capture_on_commit_callbacks):
    # given: a revoked grant whose role someone recreates by hand, with the old privilege
    request = approve(stack, django_capture_on_commit_callbacks)
    role = request.grant.role_name
    services.grant_revoke(grant_id=request.grant.pk, reason="ended")
    p = stack.personas
    if stack.kind == "postgresql":
        for statement in (
            f"CREATE ROLE {stack.q(role)}",
            f"GRANT USAGE ON SCHEMA {stack.q(p.port.schema)} TO {stack.q(role)}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {stack.q(p.port.schema)} TO {stack.q(role)}",
            f"GRANT {stack.q(role)} TO {stack.q(p.login)}",
        ):
            stack.admin(statement)
    else:
        from apps.access.enforcement.mariadb import MariaDBGrantAdapter, quote_db_pattern

        for statement in (
            f"CREATE ROLE {stack.q(role)}",
            f"GRANT SELECT ON {quote_db_pattern(p.port.schema)}.* TO {stack.q(role)}",
            f"GRANT {stack.q(role)} TO {stack.q(MariaDBGrantAdapter.umbrella_role(p.login, '%'))}",
        ):
            stack.admin(statement)
    assert stack.can_select()
    # when
    drifts = services.platform_reconcile(platform_id=p.port.platform_id)
    # then
    assert [(d.kind, d.action) for d in drifts] == [("revoked_role", "removed")]
    assert not stack.can_select()
    assert stack.role_count(role) == 0
