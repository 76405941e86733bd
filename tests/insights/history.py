"""A known history at fixed times, built through the real services (grants on a simulated
platform, see apps.insights.simulate), for the KPI tests. All times are Europe/Berlin (UTC+1 in
January 2026); the expected values are worked out by hand in the tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth.models import Group

from apps.access import services as access
from apps.access.models import Grant, Purpose
from apps.accounts.choices import EXECUTIVES_GROUP, STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.catalog.services import domain_create, output_port_create
from apps.insights.services import usage_event_record_view
from apps.insights.simulate import simulated_platform_grants
from apps.platforms.exposure import exposure_assignment_create
from apps.platforms.models import PlatformIdentity, TeamPlatformIdentity
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory
from tests.platforms.factories import PlatformFactory

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def travel(moment):
    return time_machine.travel(moment, tick=False)


def build_history() -> SimpleNamespace:
    h = SimpleNamespace()
    with travel(at(1, 9)):
        access.access_policy_ensure_defaults()
        h.hr_team, h.sales_team, h.marketing = (
            TeamFactory(name=n, slug=n.lower()) for n in ("HR", "Sales", "Marketing")
        )
        h.hr = domain_create(name="Human Resources", slug="hr", owner_team=h.hr_team)
        h.sales = domain_create(name="Sales", slug="sales", owner_team=h.sales_team)
        h.hana, h.hank, h.ana, h.sam, h.eric, h.greta = (
            UserFactory(username=n) for n in ("hana", "hank", "ana", "sam", "eric", "greta")
        )
        team_membership_set(team=h.hr_team, user=h.hana, role=TeamRole.OWNER)
        team_membership_set(team=h.hr_team, user=h.hank, role=TeamRole.MEMBER)
        team_membership_set(team=h.sales_team, user=h.sam, role=TeamRole.OWNER)
        team_membership_set(team=h.marketing, user=h.ana, role=TeamRole.MEMBER)
        h.eric.groups.add(Group.objects.get_or_create(name=EXECUTIVES_GROUP)[0])
        h.greta.groups.add(Group.objects.get_or_create(name=STEWARDS_GROUP)[0])
        h.platform = PlatformFactory()
        for user in (h.ana, h.sam, h.hank):
            PlatformIdentity.objects.create(user=user, platform=h.platform, principal=f"login_{user.username}")
        TeamPlatformIdentity.objects.create(team=h.sales_team, platform=h.platform, principal="role_sales")
        h.pay = DataProductFactory(
            name="Pay",
            slug="pay",
            domain=h.hr,
            owner_team=h.hr_team,
            classification="confidential",
            description="Pay history.",
        )
        h.open = DataProductFactory(
            name="Open", slug="open", domain=h.hr, owner_team=h.hr_team, classification="public"
        )
        for product, schema in ((h.pay, "pay"), (h.open, "open")):
            exposure_assignment_create(
                actor=None, platform=h.platform, schema=schema, domain=h.hr, data_product=product
            )
        h.pay_port = output_port_create(actor=None, data_product=h.pay, name="pay", platform=h.platform, schema="pay")
        h.open_port = output_port_create(
            actor=None, data_product=h.open, name="open", platform=h.platform, schema="open"
        )
    analytics = Purpose.objects.get(slug="analytics")

    def submit(user, port, moment, team=None):
        with travel(moment):
            return access.access_request_submit(
                requester=user,
                output_port=port,
                purpose="Reporting",
                purpose_category=analytics,
                on_behalf_of_team=team,
                expires_at=moment + timedelta(days=90),
            )

    def approve(request, moment):
        with travel(moment):
            access.access_request_approve(access_request_id=request.pk, actor=h.hana)

    def provision(request, moment):
        with travel(moment), simulated_platform_grants():
            access.grant_apply(grant_id=Grant.objects.get(access_request=request).pk)

    # R1: ana asks for Pay (confidential: the owner team decides) on Monday 5 January.
    h.r1 = submit(h.ana, h.pay_port, at(5, 9))
    approve(h.r1, at(5, 13))
    provision(h.r1, at(5, 13, 30))
    # R3: sam asks for Pay, rejected a day later.
    h.r3 = submit(h.sam, h.pay_port, at(6, 10))
    with travel(at(7, 10)):
        access.access_request_reject(access_request_id=h.r3.pk, actor=h.hana, reason="Not for sales.")
    # E1: ana extends R1 on Thursday; approved two hours later.
    with travel(at(8, 9)):
        h.e1 = access.access_request_extend(
            requester=h.ana, access_request_id=h.r1.pk, expires_at=at(5, 9) + timedelta(days=120)
        )
    approve(h.e1, at(8, 11))
    # R1 revoked on Friday 9 January ...
    with travel(at(9, 12)), simulated_platform_grants():
        access.grant_revoke(grant_id=Grant.objects.get(access_request=h.r1).pk, actor=h.hana, reason="Audit.")
    # R2: sam asks for Open (public: approved at once) for the Sales team on Sunday 23:00;
    # usable Monday 12 January 00:30 in Berlin, which is still Sunday 23:30 in UTC.
    h.r2 = submit(h.sam, h.open_port, at(11, 23), team=h.sales_team)
    provision(h.r2, at(12, 0, 30))
    # ... and granted again: R5 on Tuesday 13 January.
    h.r5 = submit(h.ana, h.pay_port, at(13, 9))
    approve(h.r5, at(13, 19))
    provision(h.r5, at(13, 21))
    # R6: sam asks for Pay again on Wednesday; nobody decides (SLA: 2 business days).
    h.r6 = submit(h.sam, h.pay_port, at(14, 9))
    # R7: hank (HR) asks for Open: approved at once, usable 10 minutes later.
    h.r7 = submit(h.hank, h.open_port, at(14, 12))
    provision(h.r7, at(14, 12, 10))
    with travel(at(15, 10)):
        usage_event_record_view(user=h.eric, data_product=h.open)
    return h
