"""Grant pages: owners revoke with a reason, the product page lists consumers, the platform page
shows drift to its admins, users see their platform logins. Forbidden answers 404."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import GrantDrift
from apps.platforms.models import TeamPlatformIdentity

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=personas.consumer,
            output_port=personas.port,
            purpose="Headcount",
            expires_at=timezone.now() + timedelta(days=9),
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    request.refresh_from_db()
    assert request.grant.status == "active"
    return request


@pytest.mark.parametrize(
    "persona,status",
    [
        ("unrelated", 404),
        ("consumer", 302),
        ("steward", 404),
        ("approver", 302),
        ("owner", 302),
    ],
)
def test_only_owners_approvers_and_the_consumer_may_revoke(
    client, personas, active, persona, status, django_capture_on_commit_callbacks
):
    # given
    client.force_login(getattr(personas, persona))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("access:revoke", args=[active.pk]), {"reason": "Audit finding"})
    # then
    assert response.status_code == status
    active.grant.refresh_from_db()
    assert active.grant.status == ("revoked" if status == 302 else "active")


def test_revoke_without_a_reason_says_why_and_changes_nothing(client, personas, active):
    client.force_login(personas.owner)
    response = client.post(reverse("access:revoke", args=[active.pk]), {"reason": ""}, follow=True)
    assert response.status_code == 200
    assert "A reason is required to revoke." in response.content.decode()
    active.grant.refresh_from_db()
    assert active.grant.status == "active"


def test_the_request_page_offers_revoke_to_the_owner_and_the_consumer_only(client, personas, active):
    for persona, offered in (("owner", True), ("consumer", True), ("steward", False)):
        client.force_login(getattr(personas, persona))
        page = client.get(reverse("access:request_detail", args=[active.pk])).content.decode()
        assert ("Revoke access now" in page or "End my access" in page) is offered, persona
        if persona == "consumer":  # a consumer gives up access; an owner revokes it
            assert "End my access" in page and "Revoke access now" not in page


def test_the_product_page_lists_its_consumers(client, personas, active, django_assert_max_num_queries):
    client.force_login(personas.unrelated)
    response = client.get(reverse("catalog:product_detail", args=[personas.product.slug]), {"tab": "consumers"})
    body = response.content.decode()
    assert 'id="consumers"' in body
    assert personas.consumer.get_full_name() in body
    assert "Nobody has access yet." not in body
    assert "Checked on the platform" in body and " ago</time>" in body


def test_the_platform_page_shows_drift_to_its_admins(client, personas, active, admin_user):
    # given
    GrantDrift.objects.create(
        grant=active.grant,
        platform=personas.port.platform,
        kind="missing",
        summary="Removed outside the portal: SELECT on table humanresources.employee.",
        action="reapplied",
    )
    # when
    client.force_login(admin_user)
    response = client.get(reverse("platforms:detail", args=[personas.port.platform.slug]))
    # then
    body = response.content.decode()
    assert 'id="grant-drifts"' in body and "SELECT on table humanresources.employee" in body
    client.force_login(personas.consumer)
    assert client.get(reverse("platforms:detail", args=[personas.port.platform.slug])).status_code == 404


def test_users_see_their_own_and_their_teams_platform_logins(client, personas):
    TeamPlatformIdentity.objects.create(team=personas.team, platform=personas.port.platform, principal="hr_readers")
    client.force_login(personas.owner)  # a member of the team, with no login of their own
    body = client.get(reverse("access:identities")).content.decode()
    assert "hr_readers" in body and personas.login not in body
    client.force_login(personas.consumer)
    body = client.get(reverse("access:identities")).content.decode()
    assert personas.login in body and "hr_readers" not in body
    client.logout()
    assert client.get(reverse("access:identities")).status_code == 302


def test_grant_admins_may_revoke_any_grant(client, personas, active, django_capture_on_commit_callbacks):
    personas.steward.user_permissions.add(Permission.objects.get(codename="change_grant"))
    client.force_login(personas.steward)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("access:revoke", args=[active.pk]), {"reason": "Leaver"}).status_code == 302
    active.grant.refresh_from_db()
    assert active.grant.status == "revoked"
