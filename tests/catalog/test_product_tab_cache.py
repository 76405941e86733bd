"""The overview and schema tabs are rendered once per product and cached for everyone who may
see it (apps.catalog.views.CACHED_TABS), yet a change shows on the very next request and nobody
sees a product they may not see. Transactional: writes commit as in production."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.catalog.models import Column
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _page(client, slug, tab=None) -> tuple[int, str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("catalog:product_detail", args=[slug]), {"tab": tab} if tab else {})
    return response.status_code, response.content.decode(), len(queries)


def test_the_schema_tab_is_cached_and_a_synced_change_shows_next(client, catalog):
    client.force_login(catalog.unrelated)
    status, html, first = _page(client, "employees", "schema")
    assert status == 200 and "Salary hourly rate" in html
    _, again, cached = _page(client, "employees", "schema")
    assert "Salary hourly rate" in again and cached < first
    # when a metadata sync changes a column's description
    Column.objects.filter(name="rate").update(description="Gross hourly wage.")
    # then the very next page shows it
    assert "Gross hourly wage" in _page(client, "employees", "schema")[1]


def test_the_overview_shows_a_new_owner_on_the_next_request(client, catalog):
    client.force_login(catalog.unrelated)
    assert "newcomer" not in _page(client, "employees")[1]
    team_membership_set(team=catalog.hr_team, user=UserFactory(username="newcomer"), role=TeamRole.OWNER)
    assert "newcomer" in _page(client, "employees")[1]


def test_a_drafts_cached_tab_is_never_shown_to_someone_who_may_not_see_it(client, catalog):
    client.force_login(catalog.owner)
    assert _page(client, "churn-draft")[0] == 200
    assert _page(client, "churn-draft", "schema")[0] == 200
    client.force_login(catalog.unrelated)
    assert _page(client, "churn-draft")[0] == 404
    assert _page(client, "churn-draft", "schema")[0] == 404


def test_the_edit_link_stays_per_person_on_a_cached_tab(client, catalog):
    client.force_login(catalog.owner)
    assert ">Edit</a>" in _page(client, "employees")[1]
    client.force_login(catalog.unrelated)
    assert ">Edit</a>" not in _page(client, "employees")[1]
