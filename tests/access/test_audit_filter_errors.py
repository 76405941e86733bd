"""Issue 11: a bad filter value on the stewards' audit page or CSV export never yields the
unfiltered trail (it used to drop every filter: ``audit.csv?actor=hana&since=2026-13-01``
exported all events of every actor with status 200)."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from tests.access.test_governance_views import submit

pytestmark = pytest.mark.django_db


def test_an_invalid_filter_on_the_csv_export_is_a_400_naming_the_field(client, personas):
    # given some audit events by several actors
    submit(personas)
    assert AuditEvent.objects.exists()
    client.force_login(personas.steward)
    # when the export is asked with a valid actor and an impossible date
    response = client.get(reverse("access:audit_export"), {"actor": "hana", "since": "2026-13-01"})
    # then it is a 400 that says which filter is wrong, and no event is exported
    assert response.status_code == 400
    body = response.content.decode()
    assert "since" in body and "nothing exported" in body


def test_an_invalid_filter_on_the_page_shows_the_error_and_no_rows(client, personas):
    submit(personas)
    client.force_login(personas.steward)
    page = client.get(reverse("access:audit"), {"actor": "hana", "since": "2026-13-01"})
    assert page.status_code == 200
    assert list(page.context["page"]) == []
    assert page.context["form"].errors["since"]
    assert "Enter a valid date" in page.content.decode()


def test_valid_filters_still_narrow_the_export(client, personas):
    submit(personas)
    client.force_login(personas.steward)
    response = client.get(reverse("access:audit_export"), {"actor": "nobody-such", "since": "2026-01-01"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().count("\n") == 1  # the header only
