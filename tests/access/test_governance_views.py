"""Steward pages (policies, purposes, audit log with CSV export), the request form's policy
choices, and permissions following team membership."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessPolicy, Purpose
from apps.access.selectors import access_request_inbox
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_remove, team_membership_set
from apps.audit.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.notifications.test_notifications import Receiver, verify

from .factories import port_for

pytestmark = pytest.mark.django_db


def submit(p, port=None, **kw):
    return services.access_request_submit(
        requester=kw.pop("requester", p.consumer),
        output_port=port or p.port,
        purpose="Headcount",
        purpose_category=p.analytics,
        expires_at=timezone.now() + timedelta(days=30),
        **kw,
    )


def test_a_steward_edits_a_policy_in_the_ui_and_a_new_version_is_kept(client, personas):
    client.force_login(personas.steward)
    response = client.post(
        reverse("access:policy_edit", args=["internal"]),
        {
            "auto_approve": "never",
            "approval_steps": ["owner"],
            "max_duration_days": "60",
            "sla_business_days": "1",
            "allowed_purposes": [personas.analytics.pk],
            "change_note": "No more auto",
        },
    )
    assert response.status_code == 302
    current = AccessPolicy.objects.get(classification="internal", is_current=True)
    assert (current.version, current.auto_approve, current.max_duration_days) == (2, "never", 60)
    assert list(current.allowed_purposes.all()) == [personas.analytics]
    assert AccessPolicy.objects.filter(classification="internal").count() == 2
    page = client.get(reverse("access:policies"))
    assert b"Internal policy v2" in page.content and b"No more auto" in page.content
    # bad input: field errors, status 400, nothing saved
    response = client.post(
        reverse("access:policy_edit", args=["internal"]),
        {"auto_approve": "never", "max_duration_days": "-3", "sla_business_days": "1"},
    )
    assert response.status_code == 400 and "max_duration_days" in response.context["form"].errors
    response = client.post(
        reverse("access:policy_edit", args=["internal"]), {"auto_approve": "never", "sla_business_days": "1"}
    )
    assert response.status_code == 400 and "approval_steps" in response.context["form"].errors
    assert AccessPolicy.objects.filter(classification="internal").count() == 2


def test_a_steward_adds_and_retires_purposes(client, personas):
    client.force_login(personas.steward)
    assert client.post(reverse("access:purposes"), {"name": "Fraud investigation", "active": "on"}).status_code == 302
    fraud = Purpose.objects.get(name="Fraud investigation")
    assert client.post(reverse("access:purposes"), {"name": "fraud investigation"}).status_code == 400
    client.post(reverse("access:purpose_edit", args=[fraud.pk]), {"name": "Fraud investigation", "description": "x"})
    fraud.refresh_from_db()
    assert not fraud.active
    client.force_login(personas.consumer)
    form = client.get(reverse("access:request_create", args=[personas.product.slug])).context["form"]
    assert fraud not in form.fields["purpose_category"].queryset
    assert AuditEvent.objects.filter(action="purpose.changed", object_id=str(fraud.pk)).exists()


def test_the_request_form_offers_what_the_policy_allows(client, personas):
    port = port_for(personas, "restricted")
    client.force_login(personas.consumer)
    form = client.get(reverse("access:request_create", args=[port.data_product.slug])).context["form"]
    assert [v for v, _ in form.fields["duration"].choices] == ["30", "90", "custom"]  # at most 90 days, no permanent
    assert {p.slug for p in form.fields["purpose_category"].queryset} == {"regulatory-reporting", "audit", "operations"}
    # a custom date beyond the maximum comes back as a field error
    response = client.post(
        reverse("access:request_create", args=[port.data_product.slug]),
        {
            "output_port": port.pk,
            "purpose_category": personas.regulatory.pk,
            "purpose": "x",
            "duration": "custom",
            "end_date": (timezone.now() + timedelta(days=200)).date().isoformat(),
            "accept_terms": "on",
        },
    )
    assert response.status_code == 400 and "at most 90 days" in str(response.context["form"].errors["end_date"])


def test_an_active_consumer_is_sent_to_the_extension_form(client, personas, django_capture_on_commit_callbacks):
    port = port_for(personas, "public")
    with django_capture_on_commit_callbacks(execute=True):
        original = submit(personas, port)
    client.force_login(personas.consumer)
    response = client.get(reverse("access:request_create", args=[port.data_product.slug]) + f"?port={port.pk}")
    assert response["Location"] == reverse("access:extend", args=[original.pk])
    response = client.post(
        reverse("access:extend", args=[original.pk]), {"duration": "custom", "end_date": "2001-01-01"}
    )
    assert response.status_code == 400 and "end_date" in response.context["form"].errors
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("access:extend", args=[original.pk]), {"duration": "180", "justification": "More"}
        )
    assert response.status_code == 302
    original.refresh_from_db()
    assert original.expires_at > timezone.now() + timedelta(days=170)


def test_the_audit_log_filters_and_exports_csv(client, personas):
    request = submit(personas)
    services.access_request_reject(access_request_id=request.pk, actor=personas.owner, reason="Use the aggregate")
    client.force_login(personas.steward)
    page = client.get(reverse("access:audit"), {"object_type": "access_request", "object_id": request.pk})
    actions = [e.action for e in page.context["page"]]
    assert actions[:2] == ["access_request.rejected", "access_request.step_rejected"]
    assert "access_request.created" in actions
    response = client.get(reverse("access:audit_export"), {"action": "access_request.rejected"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["actor"], r["action"], r["object_id"]) for r in rows] == [
        ("owner", "access_request.rejected", str(request.pk))
    ]
    assert '"rejected"' in rows[0]["after"] and "Use the aggregate" == rows[0]["message"]


def test_audit_events_cannot_be_changed_or_deleted(personas, admin_client):
    submit(personas)
    event = AuditEvent.objects.first()
    event.message = "tampered"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    # the admin offers no add, change or delete
    assert (
        admin_client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert AuditEvent.objects.get(pk=event.pk).message != "tampered"


def test_joining_and_leaving_the_owner_team_gives_and_takes_the_right_to_decide(personas):
    # given
    request = submit(personas)
    newcomer = UserFactory(username="newcomer")
    assert not newcomer.has_perm("catalog.decide_access_requests", personas.product)
    # when: joins as approver
    team_membership_set(team=personas.team, user=newcomer, role=TeamRole.APPROVER)
    newcomer = type(newcomer).objects.get(pk=newcomer.pk)
    # then
    assert newcomer.has_perm("catalog.decide_access_requests", personas.product)
    assert request in access_request_inbox(user=newcomer)
    # when: leaves
    team_membership_remove(team=personas.team, user=newcomer)
    newcomer = type(newcomer).objects.get(pk=newcomer.pk)
    assert not newcomer.has_perm("catalog.decide_access_requests", personas.product)
    assert request not in access_request_inbox(user=newcomer)


def test_request_and_grant_events_reach_a_signed_webhook(personas, django_capture_on_commit_callbacks):
    from apps.notifications.models import WebhookDelivery, WebhookEndpoint

    with Receiver() as receiver:
        WebhookEndpoint.objects.create(name="ITSM", url=receiver.url, secret="k")
        with django_capture_on_commit_callbacks(execute=True):
            request = submit(personas)
        with django_capture_on_commit_callbacks(execute=True):
            services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    events = [h["X-Mesh-Event"] for h, _ in receiver.requests]
    assert events[:2] == ["access_request.submitted", "access_request.approved"] and "grant.active" in events
    assert all(verify("k", h, body) for h, body in receiver.requests)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def _count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_inbox_and_audit_pages_do_not_grow_queries_with_rows(client, personas):
    # given: one request, then five more
    submit(personas)
    client.force_login(personas.owner)
    inbox_one = _count_queries(client, reverse("access:inbox"))
    client.force_login(personas.steward)
    audit_one = _count_queries(client, reverse("access:audit"))
    for _ in range(5):
        submit(personas, port_for(personas, "confidential"), requester=UserFactory())
    # then: the same number of queries (no N+1)
    client.force_login(personas.owner)
    assert _count_queries(client, reverse("access:inbox")) == inbox_one
    client.force_login(personas.steward)
    assert _count_queries(client, reverse("access:audit")) == audit_one


def test_an_approver_delegates_in_the_ui_and_bad_dates_are_field_errors(client, personas):
    client.force_login(personas.owner)
    today = timezone.localdate()
    response = client.post(
        reverse("access:delegations"),
        {
            "delegate": personas.unrelated.pk,
            "starts": today.isoformat(),
            "ends": (today - timedelta(days=2)).isoformat(),
        },
    )
    assert response.status_code == 400 and "ends" in response.context["form"].errors
    response = client.post(reverse("access:delegations"), {"delegate": "nobody", "starts": "x", "ends": ""})
    assert response.status_code == 400 and {"delegate", "starts", "ends"} <= set(response.context["form"].errors)
    response = client.post(
        reverse("access:delegations"),
        {
            "delegate": personas.unrelated.pk,
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=7)).isoformat(),
            "reason": "Holiday",
        },
    )
    assert response.status_code == 302
    request = submit(personas)
    client.force_login(personas.unrelated)
    inbox = client.get(reverse("access:inbox"))
    assert request in inbox.context["requests"] and b"who delegated to you" in inbox.content
    assert client.get(reverse("access:request_detail", args=[request.pk])).status_code == 200


def test_the_form_offers_the_ports_columns_as_scope(client, personas):
    from apps.access.models import AccessRequest
    from apps.catalog.models import Asset, Column

    asset = Asset.objects.create(platform=personas.port.platform, schema="humanresources", name="employee")
    for i, name in enumerate(["jobtitle", "salary"], start=1):
        Column.objects.create(asset=asset, name=name, ordinal=i, data_type="text")
    client.force_login(personas.consumer)
    url = reverse("access:request_create", args=[personas.product.slug])
    choices = client.get(url).context["form"].fields["columns"].choices
    assert choices == [("humanresources.employee", [("employee.jobtitle", "jobtitle"), ("employee.salary", "salary")])]
    response = client.post(
        url,
        {
            "output_port": personas.port.pk,
            "purpose_category": personas.analytics.pk,
            "purpose": "Org chart",
            "duration": "30",
            "columns": ["employee.jobtitle"],
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    assert AccessRequest.objects.get(requester=personas.consumer).columns == ["employee.jobtitle"]
    response = client.post(
        url,
        {
            "output_port": personas.port.pk,
            "purpose_category": personas.analytics.pk,
            "purpose": "x",
            "duration": "30",
            "columns": ["employee.nope"],
            "accept_terms": "on",
        },
    )
    assert response.status_code == 400 and "columns" in response.context["form"].errors
