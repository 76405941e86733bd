"""Personas and a product on the real AdventureWorks warehouse, for access tests; a headless
Debian Chromium for the browser tests."""
import os
import shutil
from types import SimpleNamespace

import psycopg
from psycopg import sql
import pytest
from django.contrib.auth.models import Group, Permission

from apps.access.models import Purpose
from apps.access.services import access_policy_ensure_defaults
from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.platforms.models import Platform, PlatformIdentity
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory


@pytest.fixture
def aw_platform(db, aw_warehouse):
    return Platform.objects.create(
        slug="aw", name="AdventureWorks", kind="postgresql", host=aw_warehouse["host"], port=aw_warehouse["port"],
        database=aw_warehouse["dbname"], username=aw_warehouse["user"],
    )


@pytest.fixture
def personas(db, aw_platform, pg_consumer_login):
    """owner (owner team), approver, consumer (with a warehouse login), unrelated, steward; a
    Confidential product with a port on the ``humanresources`` schema; the default access
    policies and purposes (``analytics``, ``regulatory``)."""
    access_policy_ensure_defaults()
    owner, approver, consumer, unrelated, steward = (UserFactory(username=n) for n in
                                                      ("owner", "approver", "consumer", "unrelated", "steward"))
    team = TeamFactory(name="HR Data", slug="hr-data")
    team_membership_set(team=team, user=owner, role=TeamRole.OWNER)
    team_membership_set(team=team, user=approver, role=TeamRole.APPROVER)
    stewards, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    stewards.permissions.add(*Permission.objects.filter(codename__in=["view_accessrequest", "view_dataproduct"]))
    steward.groups.add(stewards)
    product = DataProductFactory(name="Employees", slug="employees", owner_team=team, terms_of_use="Be nice.")
    port = OutputPortFactory(data_product=product, name="hr schema", platform=aw_platform, schema="humanresources")
    login, password = pg_consumer_login
    PlatformIdentity.objects.create(user=consumer, platform=aw_platform, principal=login)
    return SimpleNamespace(owner=owner, approver=approver, consumer=consumer, unrelated=unrelated, steward=steward,
                           team=team, product=product, port=port, login=login, password=password,
                           analytics=Purpose.objects.get(slug="analytics"),
                           regulatory=Purpose.objects.get(slug="regulatory-reporting"))


def consumer_can_select(aw_warehouse, login: str, password: str, table: str = "humanresources.employee") -> bool:
    """Connect to the warehouse *as the consumer* and run the SELECT."""
    with psycopg.connect(host=aw_warehouse["host"], port=aw_warehouse["port"], dbname=aw_warehouse["dbname"],
                         user=login, password=password, connect_timeout=5) as conn:
        try:
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split(".")))).fetchone()
            return True
        except psycopg.errors.InsufficientPrivilege:
            return False


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()
