"""Platform pages: who may see and operate them, the run in progress, sync settings; and the
"who has access today" section of the product page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.catalog.models import Asset, AssetPrivilege
from apps.platforms.choices import SyncPhase, SyncRunStatus
from apps.platforms.models import Platform
from tests.access.conftest import aw_platform, personas  # noqa: F401  (fixtures: a product with a real warehouse port)
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory
from tests.platforms.factories import PlatformFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "unrelated", "team_member", "team_owner", "steward", "staff"]


@pytest.fixture
def world():
    team = TeamFactory(name="Data Platform")
    w = SimpleNamespace(anonymous=None, platform=PlatformFactory(slug="wh", name="Warehouse", owner_team=team))
    w.unrelated, w.team_member, w.team_owner, w.steward, w.staff = (
        UserFactory(username=n) for n in ("unrelated", "team_member", "team_owner", "steward", "staff")
    )
    team_membership_set(team=team, user=w.team_member, role=TeamRole.MEMBER)
    team_membership_set(team=team, user=w.team_owner, role=TeamRole.OWNER)
    Group.objects.get_or_create(name=STEWARDS_GROUP)[0].user_set.add(w.steward)
    w.staff.is_staff = True
    w.staff.save()
    w.staff.user_permissions.add(Permission.objects.get(codename="change_platform"))
    return w


# view -> (url, method, expected status per persona)
MATRIX = {
    "list": (
        lambda w: reverse("platforms:list"),
        "get",
        dict(anonymous=302, unrelated=200, team_member=200, team_owner=200, steward=200, staff=200),
    ),
    "detail": (
        lambda w: reverse("platforms:detail", args=["wh"]),
        "get",
        dict(anonymous=302, unrelated=404, team_member=200, team_owner=200, steward=200, staff=200),
    ),
    "missing": (
        lambda w: reverse("platforms:detail", args=["nope"]),
        "get",
        dict(anonymous=302, unrelated=404, team_member=404, team_owner=404, steward=404, staff=404),
    ),
    "sync_now": (
        lambda w: reverse("platforms:sync_now", args=["wh"]),
        "post",
        dict(anonymous=302, unrelated=404, team_member=404, team_owner=302, steward=404, staff=302),
    ),
    "settings": (
        lambda w: reverse("platforms:settings", args=["wh"]),
        "post",
        dict(anonymous=302, unrelated=404, team_member=404, team_owner=302, steward=404, staff=302),
    ),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", list(MATRIX))
def test_permission_matrix(client, world, view, persona, django_capture_on_commit_callbacks):
    # given
    url_for, method, expected = MATRIX[view]
    if getattr(world, persona) is not None:
        client.force_login(getattr(world, persona))

    # when
    with django_capture_on_commit_callbacks(execute=False):
        data = {"sync_enabled": "on", "sync_interval_minutes": "30"} if method == "post" else None
        response = getattr(client, method)(url_for(world), data)

    # then
    assert response.status_code == expected[persona], f"{view} as {persona}"


def test_sync_now_enqueues_only_after_commit(client, world, django_capture_on_commit_callbacks, monkeypatch):
    # given
    from apps.sync.tasks import platform_sync_task

    enqueued = []
    # Celery's publish is replaced to see *when* it happens (the broker is not what is under test).
    monkeypatch.setattr(
        platform_sync_task, "apply_async", lambda args=(), kwargs=None, **_: enqueued.append(tuple(args))
    )
    client.force_login(world.team_owner)

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("platforms:sync_now", args=["wh"]))
        assert enqueued == []
    for callback in callbacks:
        callback()

    # then
    assert enqueued == [(world.platform.pk, world.team_owner.pk)]


def test_run_in_progress_shows_phase_and_counts_and_polls(client, world):
    # given
    SyncRunFactory(platform=world.platform, status=SyncRunStatus.FAILED, error="Cannot connect to h:1: refused.")
    SyncRunFactory(
        platform=world.platform,
        status=SyncRunStatus.RUNNING,
        phase=SyncPhase.READING,
        progress_done=2,
        progress_total=5,
        triggered_by=world.team_owner,
    )
    client.force_login(world.steward)

    # when
    page = client.get(reverse("platforms:detail", args=["wh"]))
    partial = client.get(reverse("platforms:detail", args=["wh"]), headers={"HX-Request": "true"})

    # then
    html = page.content.decode()
    assert "Sync in progress" in html and "Reading the platform: 2 / 5" in html
    assert 'value="2" max="5"' in html
    assert "Cannot connect to h:1: refused." in html
    assert 'hx-trigger="every 2s"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    # A steward looks but does not operate.
    assert "Sync now" not in html and "Sync settings" not in html


def test_finished_runs_stop_polling(client, world):
    # given
    SyncRunFactory(platform=world.platform, status=SyncRunStatus.SUCCEEDED, phase=SyncPhase.DONE)
    client.force_login(world.team_owner)

    # when
    html = client.get(reverse("platforms:detail", args=["wh"])).content.decode()

    # then
    assert 'hx-trigger="every 2s"' not in html and "Sync in progress" not in html
    assert "Sync now" in html and "Sync settings" in html


def test_owner_sets_the_sync_interval(client, world):
    # given
    client.force_login(world.team_owner)

    # when
    response = client.post(reverse("platforms:settings", args=["wh"]), {"sync_interval_minutes": "15"})

    # then
    assert response.status_code == 302
    platform = Platform.objects.get(pk=world.platform.pk)
    assert (platform.sync_interval_minutes, platform.sync_enabled) == (15, False)


@pytest.mark.parametrize("value", ["2", "-1", "abc", "", "999999"])
def test_bad_interval_is_a_field_error_and_changes_nothing(client, world, value):
    # given
    client.force_login(world.team_owner)

    # when
    response = client.post(
        reverse("platforms:settings", args=["wh"]), {"sync_enabled": "on", "sync_interval_minutes": value}
    )

    # then
    assert response.status_code == 400
    assert "sync_interval_minutes" in response.context["settings_form"].errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert Platform.objects.get(pk=world.platform.pk).sync_interval_minutes == 60


def test_platform_page_queries_do_not_grow_with_runs(client, world, django_assert_max_num_queries):
    # given
    for _ in range(20):
        SyncRunFactory(platform=world.platform, triggered_by=world.team_owner)
    client.force_login(world.team_owner)

    # when / then
    # the page, the layout's role-aware navigation and badges (approvals inbox with delegations and
    # when they next start or end, notifications); the point is that it does not grow with the
    # number of runs.
    with django_assert_max_num_queries(22):
        assert client.get(reverse("platforms:detail", args=["wh"])).status_code == 200


# -- who has access today ----------------------------------------------------------------------


@pytest.fixture
def product_with_privileges(world):
    product = DataProductFactory(name="Orders", slug="orders")
    OutputPortFactory(data_product=product, platform=world.platform, schema="sales")
    orders = Asset.objects.create(platform=world.platform, schema="sales", name="orders")
    lines = Asset.objects.create(platform=world.platform, schema="sales", name="lines")
    other = Asset.objects.create(platform=world.platform, schema="hr", name="salary")
    gone = Asset.objects.create(platform=world.platform, schema="sales", name="old", removed_at="2025-01-01T00:00Z")
    for asset, grantee, privilege in [
        (orders, "reporting", "SELECT"),
        (lines, "reporting", "SELECT"),
        (orders, "etl", "INSERT"),
        (other, "hr_only", "SELECT"),
        (gone, "ghost", "SELECT"),
    ]:
        AssetPrivilege.objects.create(asset=asset, grantee=grantee, privilege=privilege)
    owner = UserFactory(username="product_owner")
    team_membership_set(team=product.owner_team, user=owner, role=TeamRole.OWNER)
    return SimpleNamespace(product=product, owner=owner)


def test_product_team_sees_who_has_access_on_its_assets(client, world, product_with_privileges):
    # given
    client.force_login(product_with_privileges.owner)

    # when
    html = client.get(reverse("catalog:product_detail", args=["orders"]), {"tab": "consumers"}).content.decode()

    # then: the schema's live assets only
    assert "Who has access today" in html
    assert "<code>reporting</code>" in html and "<code>sales.lines</code>, <code>sales.orders</code>" in html
    assert "<code>etl</code>" in html
    assert "hr_only" not in html and "ghost" not in html


def test_business_users_do_not_see_the_platform_principals(client, world, product_with_privileges):
    # given
    client.force_login(world.unrelated)

    # when
    html = client.get(reverse("catalog:product_detail", args=["orders"]), {"tab": "consumers"}).content.decode()

    # then
    assert "Who has access today" not in html and "reporting" not in html


def test_a_portal_grant_shows_as_who_has_access_after_the_next_sync(
    client,
    personas,
    django_capture_on_commit_callbacks,  # noqa: F811  (fixture)
):
    # given: an access request approved and applied for real on the warehouse
    from datetime import timedelta

    from django.utils import timezone

    from apps.access import services as access_services
    from apps.sync.services import platform_sync

    with django_capture_on_commit_callbacks(execute=True):
        request = access_services.access_request_submit(
            requester=personas.consumer,
            output_port=personas.port,
            purpose="Headcount",
            expires_at=timezone.now() + timedelta(days=30),
        )
    with django_capture_on_commit_callbacks(execute=True):
        access_services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    grant = request.grant.__class__.objects.get(access_request=request)
    assert grant.status == "active"

    # when
    platform_sync(platform=personas.port.platform)
    client.force_login(personas.owner)
    html = client.get(
        reverse("catalog:product_detail", args=[personas.product.slug]), {"tab": "consumers"}
    ).content.decode()

    # then
    assert f"<code>{grant.role_name}</code>" in html
    assert f"portal grant #{grant.pk} to <code>{personas.login}</code> (Active)" in html
    access_services.grant_revoke(grant_id=grant.pk, reason="test done")


def test_sync_now_while_a_run_is_in_progress_enqueues_nothing(client, world, django_capture_on_commit_callbacks):
    # given
    SyncRunFactory(platform=world.platform, status=SyncRunStatus.RUNNING)
    client.force_login(world.team_owner)

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("platforms:sync_now", args=["wh"]), follow=True)

    # then
    assert callbacks == []
    assert "A sync of Warehouse is already running." in response.content.decode()
