"""Object permissions are cached per user (apps.accounts.backends), yet a change shows on the
very next check. Transactional: writes commit as in production, so the cache is used."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm, remove_perm

from apps.accounts.choices import TeamRole
from apps.accounts.models import User
from apps.accounts.services import team_membership_remove, team_membership_set
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _can_change(user_pk, product) -> tuple[bool, int]:
    user = User.objects.get(pk=user_pk)  # a new request: nothing memoised on the user object
    with CaptureQueriesContext(connection) as queries:
        allowed = user.has_perm("catalog.change_dataproduct", product)
    return allowed, len(queries)


def test_a_repeated_check_is_answered_from_the_cache_and_a_membership_change_shows_next(db):
    owner = UserFactory()
    team = TeamFactory()
    product = DataProductFactory(owner_team=team)
    team_membership_set(team=team, user=owner, role=TeamRole.OWNER)
    # given the owner's right computed once
    assert _can_change(owner.pk, product)[0] is True
    # then the next check asks no query
    assert _can_change(owner.pk, product) == (True, 0)
    # when the owner leaves the team, then the very next check says no
    team_membership_remove(team=team, user=owner)
    assert _can_change(owner.pk, product)[0] is False


def test_a_direct_permission_assigned_or_removed_shows_on_the_next_check(db):
    person, product = UserFactory(), DataProductFactory()
    assert _can_change(person.pk, product)[0] is False
    assign_perm("catalog.change_dataproduct", person, product)
    assert _can_change(person.pk, product)[0] is True
    remove_perm("catalog.change_dataproduct", person, product)
    assert _can_change(person.pk, product)[0] is False


def test_a_cached_answer_is_never_another_users_or_another_objects(db):
    owner, other = UserFactory(), UserFactory()
    mine, theirs = DataProductFactory(), DataProductFactory()
    assign_perm("catalog.change_dataproduct", owner, mine)
    assert _can_change(owner.pk, mine)[0] is True
    assert _can_change(other.pk, mine)[0] is False
    assert _can_change(owner.pk, theirs)[0] is False


def test_a_deactivated_account_loses_its_rights_at_once(db):
    person, product = UserFactory(), DataProductFactory()
    assign_perm("catalog.change_dataproduct", person, product)
    assert _can_change(person.pk, product)[0] is True
    User.objects.filter(pk=person.pk).update(is_active=False)
    assert _can_change(person.pk, product)[0] is False


def test_browsing_many_products_asks_nothing_more_per_product(db):
    owner, team = UserFactory(), TeamFactory()
    team_membership_set(team=team, user=owner, role=TeamRole.OWNER)
    mine = [DataProductFactory(owner_team=team) for _ in range(3)]
    theirs = DataProductFactory()
    assert _can_change(owner.pk, mine[0])[0] is True
    assert [_can_change(owner.pk, p) for p in mine[1:]] == [(True, 0), (True, 0)]
    assert _can_change(owner.pk, theirs) == (False, 0)
