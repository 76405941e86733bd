"""Issue 16: a requester who is the only possible approver of a step (a one-person owner team)
does not wait forever. At submission the step goes to the escalation path (the domain's owner
team, else the governance stewards), it is audited, and the requester is told in plain words on
the submit confirmation and the request page. Real PostgreSQL, the personas of ``conftest``."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.permissions import decision_refusal
from apps.access.selectors import access_request_inbox, approval_escalation_notes
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.audit.models import AuditEvent
from apps.notifications.models import Notification
from tests.accounts.factories import TeamFactory, UserFactory

from .factories import port_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def solo(personas):
    """``sam``, the one person of the team that owns a Confidential product; the product's domain
    is owned by "Domain owners" (``chief`` approves there)."""
    sam = UserFactory(username="sam", first_name="Sam", last_name="Solo")
    team = TeamFactory(name="Solo Team", slug="solo-team")
    team_membership_set(team=team, user=sam, role=TeamRole.OWNER)
    port = port_for(personas, "confidential", name="Payroll", slug="payroll", owner_team=team)
    chief = UserFactory(username="chief")
    domain_owners = TeamFactory(name="Domain owners", slug="domain-owners")
    team_membership_set(team=domain_owners, user=chief, role=TeamRole.OWNER)
    domain = port.data_product.domain
    domain.owner_team = domain_owners
    domain.save()
    personas.sam, personas.solo_team, personas.solo_port, personas.chief = sam, team, port, chief
    return personas


def submit(requester, port, p):
    return services.access_request_submit(
        requester=requester,
        output_port=port,
        purpose="Payroll check",
        purpose_category=p.analytics,
        expires_at=timezone.now() + timedelta(days=30),
    )


def test_the_only_approver_asking_goes_to_the_domain_owner_team(solo, django_capture_on_commit_callbacks):
    # when: sam, the only approver of the owning team, asks for the product
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(solo.sam, solo.solo_port, solo)
    # then: the owner step went to the domain owner team at once, with a reason in plain words
    step = request.steps.get()
    assert request.status == "pending_approval"
    assert step.kind == "named" and step.team == solo.chief.teams.get() and step.escalated_at is not None
    assert "escalated" in step.label and "Domain owners" in step.label
    assert approval_escalation_notes(access_request=request) == [
        "You are the only approver of Solo Team, the team that owns Payroll, so your request goes to "
        f"Domain owners, the owner team of the {solo.solo_port.data_product.domain} domain instead."
    ]
    escalated = AuditEvent.objects.get(
        object_type="access_request", object_id=str(request.pk), action="access_request.escalated"
    )
    assert escalated.actor == solo.sam and "the requester is the only approver of Solo Team" in escalated.message
    assert escalated.before["kind"] == "owner" and escalated.after["kind"] == "named"
    # the domain owner is told and can decide; sam still cannot
    assert Notification.objects.filter(verb="decision_needed", recipient=solo.chief).exists()
    assert list(access_request_inbox(user=solo.chief)) == [request]
    assert decision_refusal(actor=solo.sam, access_request=request)
    assert decision_refusal(actor=solo.chief, access_request=request) is None
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=request.pk, actor=solo.chief, comment="Checked")
    request.refresh_from_db()
    assert request.status in ("provisioning", "active", "failed") and request.decided_by == solo.chief


def test_the_domain_owned_by_the_same_one_person_team_goes_to_the_stewards(solo, django_capture_on_commit_callbacks):
    # given: the one-person team also owns the domain, so the escalation target is the stewards
    domain = solo.solo_port.data_product.domain
    domain.owner_team = solo.solo_team
    domain.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(solo.sam, solo.solo_port, solo)
    step = request.steps.get()
    assert step.kind == "steward" and step.team is None
    assert approval_escalation_notes(access_request=request)[0].endswith(
        "so your request goes to the governance stewards instead."
    )
    assert Notification.objects.filter(verb="decision_needed", recipient=solo.steward).exists()
    services.access_request_approve(access_request_id=request.pk, actor=solo.steward, comment="ok")
    request.refresh_from_db()
    assert request.decided_by == solo.steward


def test_a_team_with_another_approver_keeps_its_own_step(personas):
    # given: the team that owns Employees has an owner and an approver; the owner asks
    request = submit(personas.owner, personas.port, personas)
    step = request.steps.get()
    # then: the approver decides, nothing is escalated
    assert step.kind == "owner" and step.escalated_at is None and step.escalation_reason == ""
    assert approval_escalation_notes(access_request=request) == []
    assert not AuditEvent.objects.filter(object_id=str(request.pk), action="access_request.escalated").exists()


def test_an_escalated_step_is_still_reminded_but_not_escalated_again(solo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(solo.sam, solo.solo_port, solo)
    start = request.steps.get().activated_at
    with django_capture_on_commit_callbacks(execute=True):
        first = services.access_request_remind_due(now=start + timedelta(days=4, hours=1))
        later = services.access_request_remind_due(now=start + timedelta(days=10))
    assert first == {"reminded": 1, "escalated": 0} and later == {"reminded": 0, "escalated": 0}
    assert {n.recipient for n in Notification.objects.filter(verb="reminder")} == {solo.chief}


def test_the_requester_is_told_on_the_confirmation_and_the_request_page(solo, client):
    client.force_login(solo.sam)
    response = client.post(
        reverse("access:request_create", args=["payroll"]),
        {
            "output_port": solo.solo_port.pk,
            "purpose_category": solo.analytics.pk,
            "purpose": "Payroll check",
            "duration": "90",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    flash = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("You are the only approver of Solo Team" in m and "goes to Domain owners" in m for m in flash), flash
    page = client.get(response["Location"]).content.decode()
    assert "You are the only approver of Solo Team, the team that owns Payroll" in page
    # the domain owner sees the escalated step, not the words addressed to the requester
    client.force_login(solo.chief)
    page = client.get(response["Location"]).content.decode()
    assert "An approver of Domain owners (escalated" in page and "You are the only approver" not in page
