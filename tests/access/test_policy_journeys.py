"""The three journeys of issue 4 against the real database, plus the policy rules around them:
Public → approved at once; Confidential → the owner approves; Restricted → owner, then a
governance steward, with a reminder and an escalation fired by the beat task."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.access import services, tasks
from apps.access.models import AccessPolicy, AccessRequest, ApprovalStep, Grant
from apps.access.selectors import access_request_inbox, access_request_visible
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.audit.models import AuditEvent
from apps.core.exceptions import ApplicationError
from apps.notifications.models import Notification
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory

from .conftest import consumer_can_select
from .factories import port_for

pytestmark = pytest.mark.django_db


def submit(p, port, **overrides):
    kwargs = dict(
        requester=p.consumer,
        output_port=port,
        purpose="Quarterly report",
        purpose_category=p.analytics,
        expires_at=timezone.now() + timedelta(days=30),
    )
    kwargs.update(overrides)
    return services.access_request_submit(**kwargs)


def actions(request):
    return list(
        AuditEvent.objects.filter(object_type="access_request", object_id=str(request.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_public_product_is_approved_at_once_and_granted(personas, aw_warehouse, django_capture_on_commit_callbacks):
    # given
    port = port_for(personas, "public")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas, port)
    # then: no approval step, the grant is active and the consumer can SELECT
    request.refresh_from_db()
    assert request.status == "active"
    assert request.policy == AccessPolicy.objects.get(classification="public", is_current=True)
    assert not request.steps.exists()
    assert "automatically" in request.approval_source
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    assert actions(request) == [
        "access_request.created",
        "access_request.submitted",
        "access_request.approved",
        "access_request.provisioning",
        "access_request.active",
    ]
    assert Notification.objects.filter(recipient=personas.consumer, verb="grant_active").exists()


def test_confidential_product_waits_for_the_owner(personas, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas, personas.port)
    # then: one owner step, in the inbox of the owner team's approvers, who are notified
    step = request.steps.get()
    assert (request.status, step.kind, step.status) == ("pending_approval", "owner", "pending")
    assert request in access_request_inbox(user=personas.owner)
    assert {n.recipient.username for n in Notification.objects.filter(verb="decision_needed")} == {"owner", "approver"}
    # when
    with django_capture_on_commit_callbacks(execute=False):
        services.access_request_approve(access_request_id=request.pk, actor=personas.approver, comment="ok")
    # then
    request.refresh_from_db()
    step.refresh_from_db()
    assert (request.status, step.status, step.decided_by, step.comment) == (
        "provisioning",
        "approved",
        personas.approver,
        "ok",
    )
    assert "access_request.step_approved" in actions(request)


def test_restricted_needs_owner_then_steward_with_four_eyes(personas, django_capture_on_commit_callbacks):
    # given
    port = port_for(personas, "restricted")
    team_membership_set(team=personas.team, user=personas.steward, role=TeamRole.APPROVER)  # both hats
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas, port, purpose_category=personas.regulatory)
    assert [s.kind for s in request.steps.all()] == ["owner", "steward"]
    # a steward cannot jump the owner step... unless they are also an owner-team approver
    with pytest.raises(PermissionDenied, match="Only approvers"):
        services.access_request_approve(access_request_id=request.pk, actor=UserFactory())
    # when: the steward approves the owner step (as an approver of the team)
    services.access_request_approve(access_request_id=request.pk, actor=personas.steward)
    # then: the same person cannot also approve the steward step (four eyes)
    steward = type(personas.steward).objects.get(pk=personas.steward.pk)
    with pytest.raises(PermissionDenied, match="four eyes"):
        services.access_request_approve(access_request_id=request.pk, actor=steward)
    assert request not in access_request_inbox(user=steward)
    # and the owner cannot decide a steward step
    with pytest.raises(PermissionDenied, match="Only governance stewards"):
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    other_steward = UserFactory(username="steward2")
    other_steward.groups.add(*personas.steward.groups.filter(name__startswith="Governance"))
    assert request in access_request_inbox(user=other_steward)
    with django_capture_on_commit_callbacks(execute=False):
        services.access_request_approve(access_request_id=request.pk, actor=other_steward, comment="regulator asked")
    request.refresh_from_db()
    assert request.status == "provisioning" and request.decided_by == other_steward
    assert [s.status for s in request.steps.all()] == ["approved", "approved"]


def test_reminder_then_escalation_by_the_beat_task(personas, django_capture_on_commit_callbacks):
    # given: a Restricted request left pending; the domain has an owner team
    domain_owners = TeamFactory(name="Domain owners")
    chief = UserFactory(username="chief")
    team_membership_set(team=domain_owners, user=chief, role=TeamRole.OWNER)
    port = port_for(personas, "restricted")
    port.data_product.domain.owner_team = domain_owners
    port.data_product.domain.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas, port, purpose_category=personas.regulatory)
    step = request.steps.get(order=1)
    start = step.activated_at
    mail.outbox.clear()
    # when: beat runs one business day later: nothing yet
    assert services.access_request_remind_due(now=start + timedelta(days=1, hours=1)) == {"reminded": 0, "escalated": 0}
    # when: four calendar days later (≥ 2 business days) the beat task runs
    later = start + timedelta(days=4, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.access_request_remind_due(now=later)
        again = services.access_request_remind_due(now=later)
    # then: the owner team's approvers got one reminder, by email too
    assert counts == {"reminded": 1, "escalated": 0} and again == {"reminded": 0, "escalated": 0}
    reminders = Notification.objects.filter(verb="reminder")
    assert {n.recipient.username for n in reminders} == {"owner", "approver"}
    assert any("Reminder" in m.subject for m in mail.outbox)
    assert "access_request.reminder_sent" in actions(request)
    # when: another SLA period passes
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.access_request_remind_due(now=start + timedelta(days=8, hours=1))
    # then: escalated to the domain owner team, once
    assert counts == {"reminded": 0, "escalated": 1}
    assert Notification.objects.get(verb="escalation").recipient == chief
    assert request in access_request_visible(user=chief)
    assert "access_request.escalated" in actions(request)


def test_the_beat_task_function_runs_the_reminders(personas, monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas, personas.port)
    shifted = timezone.now() + timedelta(days=5)
    monkeypatch.setattr(timezone, "now", lambda: shifted)  # the beat fires five days later
    tasks.access_request_remind_task()
    assert ApprovalStep.objects.get(access_request=request).reminded_at == shifted


def test_internal_is_automatic_inside_the_domain_only(personas, django_capture_on_commit_callbacks):
    # given: an Internal product; the consumer's team owns another product of the same domain
    port = port_for(personas, "internal")
    own_team = TeamFactory(name="Neighbours")
    team_membership_set(team=own_team, user=personas.consumer)
    outsider = UserFactory(username="outsider")
    DataProductFactory(domain=port.data_product.domain, owner_team=own_team)
    with django_capture_on_commit_callbacks(execute=False):
        inside = submit(personas, port)
        outside = submit(personas, port, requester=outsider)
    assert inside.status == "provisioning" and "domain" in inside.approval_source
    assert outside.status == "pending_approval" and outside.steps.get().kind == "owner"


@pytest.mark.parametrize(
    "classification,overrides,field",
    [
        ("restricted", {"expires_at": timezone.now() + timedelta(days=120)}, "expires_at"),
        ("confidential", {"expires_at": None}, "expires_at"),
        ("restricted", {}, "purpose_category"),  # analytics is not allowed for Restricted data
    ],
)
def test_policy_limits_duration_and_purpose(personas, classification, overrides, field):
    port = port_for(personas, classification)
    with pytest.raises(ApplicationError) as exc:
        submit(personas, port, **overrides)
    assert field in exc.value.extra
    assert not AccessRequest.objects.filter(output_port=port).exists()


def test_editing_a_policy_creates_a_version_and_old_requests_keep_theirs(personas):
    # given
    old = submit(personas, personas.port)
    # when
    with pytest.raises(ApplicationError):
        services.access_policy_update(
            actor=personas.owner,
            classification="confidential",
            auto_approve="never",
            approval_steps=["owner"],
            max_duration_days=30,
            allow_permanent=False,
            sla_business_days=1,
        )
    v2 = services.access_policy_update(
        actor=personas.steward,
        classification="confidential",
        auto_approve="never",
        approval_steps=["owner", "steward"],
        max_duration_days=30,
        allow_permanent=False,
        sla_business_days=1,
        change_note="Tighter after audit",
    )
    # then
    versions = AccessPolicy.objects.filter(classification="confidential").order_by("version")
    assert [(p.version, p.is_current) for p in versions] == [(1, False), (2, True)]
    old.refresh_from_db()
    assert old.policy.version == 1 and old.steps.count() == 1
    new = submit(personas, personas.port, requester=personas.unrelated)
    assert new.policy == v2 and [s.kind for s in new.steps.all()] == ["owner", "steward"]
    event = AuditEvent.objects.get(action="access_policy.changed")
    assert (event.actor, event.before["max_duration_days"], event.after["max_duration_days"]) == (
        personas.steward,
        180,
        30,
    )
    # bad input is a field error, nothing saved
    with pytest.raises(ApplicationError) as exc:
        services.access_policy_update(
            actor=personas.steward,
            classification="confidential",
            auto_approve="never",
            approval_steps=[],
            max_duration_days=30,
            allow_permanent=False,
            sla_business_days=1,
        )
    assert "approval_steps" in exc.value.extra
    assert AccessPolicy.objects.filter(classification="confidential").count() == 2


def test_data_contract_approvers_replace_the_owner_step(personas):
    # given: the product's ODCS contract names a first-level approver (ODCS v3.1 roles[])
    from apps.catalog.models import DataContract

    named = UserFactory(username="dpo")
    DataContract.objects.create(
        data_product=personas.product,
        contract_id="hr",
        version="1.0.0",
        status="active",
        document={
            "roles": [{"role": "hr_read", "access": "read", "firstLevelApprovers": "dpo", "secondLevelApprovers": "na"}]
        },
    )
    # when
    request = submit(personas, personas.port)
    # then
    step = request.steps.get()
    assert step.kind == "named" and list(step.named_users.all()) == [named]
    assert "data contract hr v1.0.0" in request.approval_source
    with pytest.raises(PermissionDenied, match="Only approvers"):
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    assert request in access_request_inbox(user=named)
    services.access_request_approve(access_request_id=request.pk, actor=named)


def test_delegation_lets_a_colleague_decide_while_away(personas):
    # given
    request = submit(personas, personas.port)
    colleague = UserFactory(username="colleague")
    assert request not in access_request_inbox(user=colleague)
    delegation = services.approver_delegation_create(
        delegator=personas.owner,
        delegate=colleague,
        starts=timezone.now() - timedelta(hours=1),
        ends=timezone.now() + timedelta(days=7),
    )
    # then: the delegate sees it and decides; the step records for whom
    assert request in access_request_inbox(user=colleague)
    services.access_request_approve(access_request_id=request.pk, actor=colleague, comment="for Owner")
    step = request.steps.get()
    assert (step.decided_by, step.on_behalf_of) == (colleague, personas.owner)
    # and once ended the delegation gives nothing
    services.approver_delegation_end(actor=personas.owner, delegation_id=delegation.pk)
    other = submit(personas, port_for(personas, "confidential"))
    assert other not in access_request_inbox(user=colleague)
    with pytest.raises(PermissionDenied, match="Only approvers"):
        services.access_request_approve(access_request_id=other.pk, actor=colleague)


def test_delegation_input_errors_are_field_errors(personas):
    with pytest.raises(ApplicationError) as exc:
        services.approver_delegation_create(
            delegator=personas.consumer,
            delegate=personas.consumer,
            starts=timezone.now(),
            ends=timezone.now() - timedelta(days=1),
        )
    assert {"delegate", "ends"} <= set(exc.value.extra)


def test_segregation_of_duties_holds_for_delegates(personas):
    # given: the owner delegates to the consumer, who then asks for access
    services.approver_delegation_create(
        delegator=personas.owner,
        delegate=personas.consumer,
        starts=timezone.now() - timedelta(hours=1),
        ends=timezone.now() + timedelta(days=1),
    )
    request = submit(personas, personas.port)
    # then: the consumer cannot approve their own request through the delegation
    with pytest.raises(PermissionDenied, match="your own request"):
        services.access_request_approve(access_request_id=request.pk, actor=personas.consumer)
    assert request not in access_request_inbox(user=personas.consumer)


def test_an_active_consumer_gets_an_extension_not_a_second_request(personas, django_capture_on_commit_callbacks):
    # given: active access
    port = port_for(personas, "public")
    with django_capture_on_commit_callbacks(execute=True):
        original = submit(personas, port)
    original.refresh_from_db()
    assert original.status == "active"
    # when: a second request
    with pytest.raises(ApplicationError, match="extension"):
        submit(personas, port)
    # when: an extension to 60 days
    new_end = timezone.now() + timedelta(days=60)
    with django_capture_on_commit_callbacks(execute=True):
        extension = services.access_request_extend(
            requester=personas.consumer,
            access_request_id=original.pk,
            expires_at=new_end,
            justification="Project extended",
        )
    # then: approved by the Public policy and applied to the active access and its grant
    extension.refresh_from_db()
    original.refresh_from_db()
    assert extension.status == "applied" and extension.extends == original
    assert original.expires_at == new_end and Grant.objects.get(access_request=original).expires_at == new_end
    assert "access_request.extended" in actions(original)
    with pytest.raises(ApplicationError) as exc:
        services.access_request_extend(
            requester=personas.consumer, access_request_id=original.pk, expires_at=timezone.now() + timedelta(days=1)
        )
    assert "expires_at" in exc.value.extra


def test_an_extension_of_confidential_access_goes_to_the_owner(
    personas, aw_warehouse, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        original = submit(personas, personas.port)
        services.access_request_approve(access_request_id=original.pk, actor=personas.owner)
    original.refresh_from_db()
    assert original.status == "active"
    extension = services.access_request_extend(
        requester=personas.consumer, access_request_id=original.pk, expires_at=timezone.now() + timedelta(days=90)
    )
    assert extension.status == "pending_approval" and extension in access_request_inbox(user=personas.owner)
    services.access_request_approve(access_request_id=extension.pk, actor=personas.approver)
    extension.refresh_from_db()
    assert extension.status == "applied"


def test_column_scope_must_name_columns_of_the_port(personas):
    from apps.catalog.models import Asset, Column

    asset = Asset.objects.create(platform=personas.port.platform, schema="humanresources", name="employee")
    Column.objects.create(asset=asset, name="jobtitle", ordinal=1, data_type="text")
    with pytest.raises(ApplicationError) as exc:
        submit(personas, personas.port, columns=["employee.salary"])
    assert "columns" in exc.value.extra
    request = submit(personas, personas.port, columns=["employee.jobtitle"])
    assert request.columns == ["employee.jobtitle"]


def test_grant_expiring_in_seven_days_is_told_once(personas, django_capture_on_commit_callbacks):
    port = port_for(personas, "public")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(personas, port, expires_at=timezone.now() + timedelta(days=5))
    assert services.grant_expiring_notify() == 1
    assert services.grant_expiring_notify() == 0
    assert Notification.objects.get(verb="grant_expiring").recipient == personas.consumer
    tasks.grant_expiring_notify_task()  # the beat entry point runs without error
    assert request.pk


def test_decisions_and_revocation_reach_the_requester(personas, aw_warehouse, django_capture_on_commit_callbacks):
    # given: a rejected request and an active one
    with django_capture_on_commit_callbacks(execute=True):
        rejected = submit(personas, personas.port)
        services.access_request_reject(access_request_id=rejected.pk, actor=personas.owner, reason="Use the aggregate")
    decided = Notification.objects.get(recipient=personas.consumer, verb="decided")
    assert "rejected" in decided.message and "Use the aggregate" in decided.message
    port = port_for(personas, "public")
    with django_capture_on_commit_callbacks(execute=True):
        active = submit(personas, port)
    grant = Grant.objects.get(access_request=active)
    # when: the owner revokes the grant
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant_id=grant.pk, actor=personas.owner, reason="Project over")
    # then
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    revoked = Notification.objects.get(recipient=personas.consumer, verb="grant_revoked")
    assert "revoked" in revoked.message
    assert any("revoked" in m.subject for m in mail.outbox)


def test_unknown_contract_approver_names_fall_back_to_the_policy(personas):
    from apps.catalog.models import DataContract

    DataContract.objects.create(
        data_product=personas.product,
        contract_id="hr",
        version="2.0.0",
        status="active",
        document={"roles": [{"role": "r", "access": "read", "firstLevelApprovers": "Reporting Manager"}]},
    )
    request = submit(personas, personas.port)
    assert request.steps.get().kind == "owner"
    assert "Reporting Manager match no user or team" in request.approval_source
