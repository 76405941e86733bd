"""Issue 16, phones: every table of the logged-in pages sits in its own sideways-scrolling box
that is a named, keyboard-focusable region (``<div class="table-wrap" role="region"
aria-label="…" tabindex="0">``), so a 390 px screen never scrolls the page sideways and the
box's hidden columns stay reachable by keyboard. (The browser journeys measure the overflow.)"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from apps.access import services
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


class TableParents(HTMLParser):
    """Collects, for each ``<table>``, the attributes of the element that directly contains it."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.parents: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.parents.append(self.stack[-1][1] if self.stack else {})
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def table_parents(html: str) -> list[dict]:
    parser = TableParents()
    parser.feed(html)
    return parser.parents


def test_every_table_on_the_logged_in_pages_scrolls_in_a_named_focusable_region(personas, client):
    # given: a pending request (the owner's inbox and home have a row) and an admin
    request = services.access_request_submit(
        requester=personas.consumer,
        output_port=personas.port,
        purpose="Headcount",
        purpose_category=personas.analytics,
        expires_at=timezone.now() + timedelta(days=30),
    )
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    platform = personas.port.platform.slug
    pages = {
        personas.consumer: [
            "/access/requests/",
            f"/access/requests/{request.pk}/",
            "/access/identities/",
            "/products/employees/",
            "/products/employees/?tab=consumers",
        ],
        personas.owner: ["/access/inbox/", "/people/owner/", "/teams/hr-data/", "/access/delegations/"],
        personas.steward: [
            "/access/governance/policies/",
            "/access/governance/audit/",
            "/access/governance/purposes/",
            "/governance/exposure-reviews/",
        ],
        admin: ["/platforms/", f"/platforms/{platform}/"],
    }
    tables = 0
    for user, paths in pages.items():
        client.force_login(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            for parent in table_parents(response.content.decode()):
                tables += 1
                assert "table-wrap" in parent.get("class", "").split(), (path, parent)
                assert parent.get("role") == "region" and parent.get("tabindex") == "0", (path, parent)
                assert parent.get("aria-label", "").strip(), (path, parent)
    assert tables >= 10, "the pages show their tables"
