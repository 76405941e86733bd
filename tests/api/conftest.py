"""A small world for API tests: the six personas, a published and a draft data product, an
open access request and an approved one (its grant pending: no warehouse needed here), the
default access policies and purposes, a delegation (owner → approver), a drift on the grant,
users' and a team's logins on the platform (mapped by the admin, its operator), a notification
for the consumer, and a search that found nothing (unmet demand)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access import services as access_services
from apps.access.models import GrantDrift, Purpose
from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.catalog.models import Asset, Column
from apps.insights.services import usage_event_record_search
from apps.notifications.services import notify
from apps.platforms import services as platform_services
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, DomainFactory, OutputPortFactory
from tests.platforms.factories import PlatformFactory

PERSONAS = ["anonymous", "unrelated", "consumer", "owner", "steward", "admin"]


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    owner, approver, consumer, unrelated, steward = (
        UserFactory(username=n) for n in ("owner", "approver", "consumer", "unrelated", "steward")
    )
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    team = TeamFactory(name="HR Data", slug="hr-data")
    team_membership_set(team=team, user=owner, role=TeamRole.OWNER)
    team_membership_set(team=team, user=approver, role=TeamRole.APPROVER)
    stewards, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    stewards.permissions.add(
        *Permission.objects.filter(
            codename__in=["view_accessrequest", "view_auditevent", "view_dataproduct", "view_grant"]
        )
    )
    steward.groups.add(stewards)
    domain = DomainFactory(name="Human Resources", slug="human-resources")
    platform = PlatformFactory(name="Warehouse", slug="warehouse", password_env_var="MP_API_TEST_NO_SUCH_VAR")
    product = DataProductFactory(name="Employees", slug="employees", owner_team=team, domain=domain)
    port = OutputPortFactory(data_product=product, name="hr schema", platform=platform, schema="humanresources")
    port2 = OutputPortFactory(
        data_product=product,
        name="hr pay",
        platform=platform,
        schema="humanresources",
        port_type="table",
        table="employeepayhistory",
    )
    draft = DataProductFactory(name="Draft", slug="draft-product", status="draft", owner_team=team, domain=domain)
    draft_port = OutputPortFactory(data_product=draft, name="draft port", platform=platform, schema="draft")
    asset = Asset.objects.create(
        platform=platform, schema="humanresources", name="employee", kind="table", description="Employees"
    )
    Column.objects.create(asset=asset, name="businessentityid", ordinal=1, data_type="integer", is_primary_key=True)
    Column.objects.create(asset=asset, name="jobtitle", ordinal=2, data_type="character varying(50)")
    hidden_asset = Asset.objects.create(platform=platform, schema="draft", name="secret", kind="table")
    with django_capture_on_commit_callbacks(execute=False):
        request = access_services.access_request_submit(
            requester=consumer, output_port=port, purpose="Headcount", expires_at=timezone.now() + timedelta(days=30)
        )
        approved = access_services.access_request_submit(
            requester=consumer, output_port=port2, purpose="Pay", expires_at=timezone.now() + timedelta(days=90)
        )
        access_services.access_request_approve(access_request_id=approved.pk, actor=owner)
    approved.refresh_from_db()
    purpose = Purpose.objects.filter(active=True).order_by("name").first()
    delegation = access_services.approver_delegation_create(
        delegator=owner,
        delegate=approver,
        starts=timezone.now() - timedelta(hours=1),
        ends=timezone.now() + timedelta(days=7),
        reason="Holidays",
    )
    drift = GrantDrift.objects.create(
        grant=approved.grant,
        platform=platform,
        kind="missing",
        action="reapplied",
        found=[["table", ["humanresources", "employeepayhistory"], "SELECT"]],
        summary="SELECT was revoked outside the portal.",
    )
    identity = platform_services.platform_identity_create(
        actor=admin, user=consumer, platform=platform, principal="consumer_login"
    )
    team_identity = platform_services.team_platform_identity_create(
        actor=admin, team=team, platform=platform, principal="hr_readers"
    )
    (notification,) = notify(
        recipients=[consumer],
        verb="decided",
        obj=approved,
        subject="Approved",
        message="Your access request was approved.",
        url=f"/access/requests/{approved.pk}/",
    )
    usage_event_record_search(user=unrelated, query="payroll forecast", filters={}, result_count=0)
    return SimpleNamespace(
        anonymous=None,
        unrelated=unrelated,
        consumer=consumer,
        owner=owner,
        approver=approver,
        steward=steward,
        admin=admin,
        team=team,
        domain=domain,
        platform=platform,
        product=product,
        port=port,
        port2=port2,
        draft=draft,
        draft_port=draft_port,
        asset=asset,
        hidden_asset=hidden_asset,
        request=request,
        approved=approved,
        grant=approved.grant,
        purpose=purpose,
        delegation=delegation,
        drift=drift,
        identity=identity,
        team_identity=team_identity,
        notification=notification,
    )


_KEYS: dict[int, str] = {}


def api_token(user) -> str:
    """The user's API key (knox: created once per user and test, kept here since only its digest is stored)."""
    from knox.models import AuthToken

    key = _KEYS.get(user.pk)
    if key is None or not AuthToken.objects.filter(user=user, token_key=key[:15]).exists():
        _, key = AuthToken.objects.create(user=user)
        _KEYS[user.pk] = key
    return key


def api_client(user=None) -> APIClient:
    """A client authenticated with the user's API token (as scripts do), or anonymous."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client
