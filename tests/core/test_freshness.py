"""The navigation badges are cached per user, yet a change shows on the very next request
(apps.core.freshness): transactional tests, so writes commit as they do in production."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.access import services as access_services
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_remove, team_membership_set
from apps.core import freshness
from apps.notifications.services import notification_mark_read, notify
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory
from tests.platforms.factories import PlatformFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _badges(client) -> dict[str, int]:
    html = client.get(reverse("catalog:marketplace")).content.decode()
    return {
        kind: int(n) for n, kind in re.findall(r'(\d+)<span class="visually-hidden"> (waiting|unread)</span>', html)
    }


@pytest.fixture
def world():
    access_services.access_policy_ensure_defaults()
    owner, consumer, unrelated = (UserFactory(username=n) for n in ("owner", "consumer", "unrelated"))
    team = TeamFactory(name="HR Data", slug="hr-data")
    team_membership_set(team=team, user=owner, role=TeamRole.OWNER)
    product = DataProductFactory(name="Employees", slug="employees", owner_team=team, classification="confidential")
    port = OutputPortFactory(data_product=product, platform=PlatformFactory(), schema="hr")
    return owner, consumer, unrelated, team, port


def _submit(consumer, port):
    return access_services.access_request_submit(
        requester=consumer, output_port=port, purpose="reporting", expires_at=timezone.now() + timedelta(days=30)
    )


def test_a_new_request_and_its_decision_show_on_the_next_request(client, world):
    owner, consumer, _, _, port = world
    client.force_login(owner)
    # given the owner's badge computed (and cached) with nothing waiting
    assert _badges(client).get("waiting") is None
    assert _badges(client).get("waiting") is None  # served from the cache
    # when a consumer asks for access
    request = _submit(consumer, port)
    # then the owner's very next page shows it
    assert _badges(client)["waiting"] == 1
    # when the owner rejects it
    access_services.access_request_reject(access_request_id=request.pk, actor=owner, reason="Not for this purpose.")
    # then the badge is gone on the next request
    assert _badges(client).get("waiting") is None


def test_a_cached_badge_is_never_shown_to_another_user(client, world):
    owner, consumer, unrelated, _, port = world
    _submit(consumer, port)
    client.force_login(owner)
    assert _badges(client)["waiting"] == 1
    client.force_login(unrelated)
    assert _badges(client).get("waiting") is None
    client.force_login(consumer)  # nobody decides their own request
    assert _badges(client).get("waiting") is None


def test_losing_the_permission_removes_the_badge_on_the_next_request(client, world):
    owner, consumer, _, team, port = world
    approver = UserFactory(username="approver")
    team_membership_set(team=team, user=approver, role=TeamRole.APPROVER)
    _submit(consumer, port)
    client.force_login(approver)
    assert _badges(client)["waiting"] == 1
    # when the approver leaves the team (guardian permissions through the team's groups)
    team_membership_remove(team=team, user=approver)
    # then
    assert _badges(client).get("waiting") is None


def test_reading_notifications_clears_the_unread_badge_on_the_next_request(client, world):
    owner, *_ = world
    notify(recipients=[owner], verb="test", subject="Hello", message="A notification.")
    client.force_login(owner)
    assert _badges(client)["unread"] == 1
    notification_mark_read(user=owner)  # a queryset update(), not a save()
    assert _badges(client).get("unread") is None


def test_the_version_changes_only_for_writes_to_the_watched_tables(world):
    from django.db import connection

    from apps.insights.models import UsageEvent

    before = {topic: _version(topic) for topic in freshness.TOPICS}
    UsageEvent.objects.create(kind="search", query="x")  # not watched: badges cannot change
    assert {topic: _version(topic) for topic in freshness.TOPICS} == before
    UserFactory(username="someone")  # accounts_user: topic "people" only
    after = {topic: _version(topic) for topic in freshness.TOPICS}
    assert after["people"] > before["people"]
    assert {t: v for t, v in after.items() if t != "people"} == {t: v for t, v in before.items() if t != "people"}
    assert freshness._watch_writes in connection.execute_wrappers


def test_a_cached_value_is_recomputed_only_when_a_topic_it_depends_on_changes(world):
    owner, consumer, *_ = world
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    def read():
        return freshness.cached_for_user(owner, "probe", compute, topics=("people",))

    assert (read(), read()) == (1, 1)
    _submit(consumer, world[4])  # access requests: another topic, the value stays cached
    assert read() == 1
    UserFactory(username="newcomer")  # people: recomputed on the next read
    assert read() == 2


def test_the_products_a_person_may_see_follow_a_permission_change_at_once(client, world):
    from apps.catalog.models import DataProduct

    owner, consumer, _unrelated, team, _port = world
    draft = DataProductFactory(name="Draft thing", slug="draft-thing", owner_team=team, status="draft")
    client.force_login(consumer)
    assert client.get(reverse("catalog:product_detail", args=[draft.slug])).status_code == 404
    team_membership_set(team=team, user=consumer, role=TeamRole.MEMBER)  # guardian group: topic "people"
    assert client.get(reverse("catalog:product_detail", args=[draft.slug])).status_code == 200
    team_membership_remove(team=team, user=consumer)
    assert client.get(reverse("catalog:product_detail", args=[draft.slug])).status_code == 404
    assert DataProduct.objects.visible_to(consumer).filter(pk=draft.pk).count() == 0


def _version(topic):
    from django.db import connection

    return freshness._cache().get(freshness._version_key(connection, topic))


def test_a_delegation_that_starts_or_ends_shows_without_any_write(client, world):
    """Whom a person decides for is cached (apps.access.selectors.inbox_scope) until a delegation
    of theirs starts or ends, which no write announces."""
    import time_machine

    from apps.access.services import approver_delegation_create

    owner, consumer, unrelated, _, port = world
    # the delegate approves for a team of their own too (the navigation shows the inbox to approvers)
    team_membership_set(team=TeamFactory(name="Ops", slug="ops"), user=unrelated, role=TeamRole.APPROVER)
    now = timezone.now()
    approver_delegation_create(
        delegator=owner, delegate=unrelated, starts=now + timedelta(hours=1), ends=now + timedelta(hours=2)
    )
    _submit(consumer, port)
    client.force_login(unrelated)
    # given the delegate's badge cached before the delegation starts
    assert _badges(client).get("waiting") is None
    assert _badges(client).get("waiting") is None
    # when the delegation starts, then the request is in their inbox
    with time_machine.travel(now + timedelta(hours=1, minutes=1)):
        assert _badges(client)["waiting"] == 1
    # and when it has ended, it is gone again
    with time_machine.travel(now + timedelta(hours=3)):
        assert _badges(client).get("waiting") is None


def test_a_login_does_not_make_anyones_cached_figures_stale(client, world):
    owner, consumer, unrelated, _, _ = world
    client.force_login(owner)
    _badges(client)
    version = freshness._cache().get(freshness._version_key(connection, "people"))
    # when someone logs in (Django records their last_login)
    client.force_login(consumer)
    # then the people topic did not move
    assert freshness._cache().get(freshness._version_key(connection, "people")) == version


def test_joining_the_requesting_team_takes_a_request_off_the_badge_at_once(client, world):
    owner, consumer, _, _, port = world
    requesting = TeamFactory(name="Analysts", slug="analysts")
    team_membership_set(team=requesting, user=consumer, role=TeamRole.MEMBER)
    access_services.access_request_submit(
        requester=consumer,
        output_port=port,
        purpose="reporting",
        expires_at=timezone.now() + timedelta(days=30),
        on_behalf_of_team=requesting,
    )
    client.force_login(owner)
    assert _badges(client)["waiting"] == 1
    # when the owner joins the team the request is for (they may no longer decide it)
    team_membership_set(team=requesting, user=owner, role=TeamRole.MEMBER)
    # then their very next page no longer counts it
    assert _badges(client).get("waiting") is None


def test_provisioning_and_expiring_grants_leave_the_badge_cached(world):
    """The worker's writes to requests and grants (approved, provisioning, active, expired) do not
    touch the decisions topic the badge count is cached under."""
    from apps.access.models import AccessRequest

    _, consumer, _, _, port = world
    request = _submit(consumer, port)
    version = freshness._cache().get(freshness._version_key(connection, "decisions"))
    AccessRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
    assert freshness._cache().get(freshness._version_key(connection, "decisions")) == version


def test_the_inbox_count_statement_counts_what_the_inbox_lists(world):
    from apps.access.selectors import access_request_inbox, access_request_inbox_count

    owner, consumer, unrelated, _, port = world
    _submit(consumer, port)
    for person in (owner, consumer, unrelated):
        assert access_request_inbox_count(user=person) == access_request_inbox(user=person).count()
    assert access_request_inbox_count(user=owner) == 1
