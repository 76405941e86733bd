"""Permission matrix: every view × anonymous, unrelated user, consumer, owner, steward, admin.

Forbidden objects answer 404 like missing ones; anonymous users are sent to the login page.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, Purpose
from apps.notifications.services import notify
from tests.accounts.factories import UserFactory
from tests.catalog.factories import DataProductFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "unrelated", "consumer", "owner", "steward", "admin"]


@pytest.fixture
def world(personas):
    personas.admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    personas.anonymous = None
    personas.request = services.access_request_submit(
        requester=personas.consumer,
        output_port=personas.port,
        purpose="Headcount",
        expires_at=timezone.now() + timedelta(days=30),
    )
    personas.draft = DataProductFactory(slug="draft-product", status="draft", owner_team=personas.team)
    personas.delegation = services.approver_delegation_create(
        delegator=personas.owner,
        delegate=personas.approver,
        starts=timezone.now(),
        ends=timezone.now() + timedelta(days=3),
    )
    [personas.notification] = notify(recipients=[personas.consumer], verb="decided", subject="s", message="m")
    return personas


def client_for(client, world, persona):
    user = getattr(world, persona)
    if user is not None:
        client.force_login(user)
    return client


STEWARDS_ONLY = dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=200, admin=200)
# an empty POST to a steward form is a 400 with field errors, never a 500
STEWARDS_ONLY_POST = dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=400, admin=400)

# view name -> kwargs builder, method, expected status per persona
MATRIX = {
    "marketplace": (
        lambda w: reverse("catalog:marketplace"),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    "product": (
        lambda w: reverse("catalog:product_detail", args=[w.product.slug]),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    "draft_product": (
        lambda w: reverse("catalog:product_detail", args=[w.draft.slug]),
        "get",
        dict(anonymous=302, unrelated=404, consumer=404, owner=200, steward=200, admin=200),
    ),
    "request_form": (
        lambda w: reverse("access:request_create", args=[w.product.slug]),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    "draft_request_form": (
        lambda w: reverse("access:request_create", args=[w.draft.slug]),
        "get",
        dict(anonymous=302, unrelated=404, consumer=404, owner=200, steward=200, admin=200),
    ),
    "request_detail": (
        lambda w: reverse("access:request_detail", args=[w.request.pk]),
        "get",
        dict(anonymous=302, unrelated=404, consumer=200, owner=200, steward=200, admin=200),
    ),
    "missing_request": (
        lambda w: reverse("access:request_detail", args=[999999]),
        "get",
        dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=404, admin=404),
    ),
    "inbox": (
        lambda w: reverse("access:inbox"),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    "mine": (
        lambda w: reverse("access:mine"),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    # Someone who may see the request but has no right to decide it gets 403 (issue 12), not a message.
    "reject": (
        lambda w: reverse("access:reject", args=[w.request.pk]),
        "post",
        dict(anonymous=302, unrelated=404, consumer=403, owner=302, steward=403, admin=302),
    ),
    "cancel": (
        lambda w: reverse("access:cancel", args=[w.request.pk]),
        "post",
        dict(anonymous=302, unrelated=404, consumer=302, owner=302, steward=302, admin=302),
    ),
    "retry": (
        lambda w: reverse("access:retry", args=[w.request.pk]),
        "post",
        dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=404, admin=302),
    ),
    "extend": (
        lambda w: reverse("access:extend", args=[w.request.pk]),
        "get",
        dict(anonymous=302, unrelated=404, consumer=200, owner=404, steward=404, admin=404),
    ),
    "delegations": (
        lambda w: reverse("access:delegations"),
        "get",
        dict(anonymous=302, unrelated=404, consumer=404, owner=200, steward=200, admin=200),
    ),
    "delegation_end": (
        lambda w: reverse("access:delegation_end", args=[w.delegation.pk]),
        "post",
        dict(anonymous=302, unrelated=404, consumer=404, owner=302, steward=404, admin=404),
    ),
    "policies": (lambda w: reverse("access:policies"), "get", STEWARDS_ONLY),
    "policy_edit": (lambda w: reverse("access:policy_edit", args=["restricted"]), "get", STEWARDS_ONLY),
    "policy_edit_post": (lambda w: reverse("access:policy_edit", args=["restricted"]), "post", STEWARDS_ONLY_POST),
    "purposes": (lambda w: reverse("access:purposes"), "get", STEWARDS_ONLY),
    "purpose_edit": (
        lambda w: reverse("access:purpose_edit", args=[Purpose.objects.get(slug="audit").pk]),
        "get",
        STEWARDS_ONLY,
    ),
    "audit": (lambda w: reverse("access:audit"), "get", STEWARDS_ONLY),
    "audit_export": (lambda w: reverse("access:audit_export"), "get", STEWARDS_ONLY),
    "notifications": (
        lambda w: reverse("notifications:inbox"),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    "notification_read": (
        lambda w: reverse("notifications:read", args=[w.notification.pk]),
        "post",
        dict(anonymous=302, unrelated=404, consumer=302, owner=404, steward=404, admin=404),
    ),
    "platforms": (
        lambda w: reverse("platforms:list"),
        "get",
        dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200),
    ),
    # Stewards see a platform's sync history; only its team's owners and admins operate it.
    "platform_detail": (
        lambda w: reverse("platforms:detail", args=[w.port.platform.slug]),
        "get",
        dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=200, admin=200),
    ),
    "platform_sync": (
        lambda w: reverse("platforms:sync_now", args=[w.port.platform.slug]),
        "post",
        dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=404, admin=302),
    ),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", list(MATRIX))
def test_permission_matrix(client, world, view, persona, django_capture_on_commit_callbacks):
    url_for, method, expected = MATRIX[view]
    client = client_for(client, world, persona)
    with django_capture_on_commit_callbacks(execute=False):
        response = getattr(client, method)(url_for(world), {"comment": "no"} if method == "post" else None)
    assert response.status_code == expected[persona], f"{view} as {persona}"
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_decisions_are_only_taken_by_approvers(client, world):
    # consumer, steward and admin (superuser, but not an approver... superusers have every perm)
    for persona in ("consumer", "steward"):
        client.force_login(getattr(world, persona))
        client.post(reverse("access:approve", args=[world.request.pk]))
        assert AccessRequest.objects.get(pk=world.request.pk).status == "pending_approval"
    client.force_login(world.owner)
    client.post(reverse("access:reject", args=[world.request.pk]), {"comment": "Use the aggregate"})
    assert AccessRequest.objects.get(pk=world.request.pk).status == "rejected"


def test_inbox_lists_only_what_the_user_decides(client, world):
    client.force_login(world.owner)
    assert world.request in client.get(reverse("access:inbox")).context["requests"]
    client.force_login(world.unrelated)
    assert list(client.get(reverse("access:inbox")).context["requests"]) == []


def test_request_form_shows_field_errors_not_a_500(client, world):
    client.force_login(world.unrelated)
    response = client.post(
        reverse("access:request_create", args=[world.product.slug]),
        {"output_port": world.port.pk, "purpose": "", "duration": "custom", "end_date": "2001-01-01"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "purpose" in form.errors and "accept_terms" in form.errors
    response = client.post(
        reverse("access:request_create", args=[world.product.slug]),
        {
            "output_port": world.port.pk,
            "purpose": "x",
            "duration": "custom",
            "purpose_category": world.analytics.pk,
            "end_date": "2001-01-01",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 400 and "end_date" in response.context["form"].errors
    response = client.post(
        reverse("access:request_create", args=[world.product.slug]),
        {
            "output_port": "not-a-number",
            "purpose": "x",
            "duration": "90",
            "accept_terms": "on",
            "purpose_category": world.analytics.pk,
        },
    )
    assert response.status_code == 400 and "output_port" in response.context["form"].errors


def test_a_duplicate_request_is_refused_on_the_form(client, world):
    client.force_login(world.consumer)
    response = client.post(
        reverse("access:request_create", args=[world.product.slug]),
        {
            "output_port": world.port.pk,
            "purpose": "again",
            "duration": "90",
            "accept_terms": "on",
            "purpose_category": world.analytics.pk,
        },
    )
    assert response.status_code == 400
    assert "already have an open request" in str(response.context["form"].errors["output_port"])


def test_product_page_shows_owners_schema_and_descriptions(client, world):
    client.force_login(world.unrelated)
    response = client.get(reverse("catalog:product_detail", args=[world.product.slug]))
    assert b"HR Data" in response.content and b"Request access" in response.content
