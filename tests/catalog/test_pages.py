"""Marketplace, product tabs, domain/team/person pages: permission matrix and what users see."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.access.models import AccessRequest, Grant
from apps.access.services import access_request_submit
from apps.accounts.services import team_membership_set
from apps.catalog.models import AssetRelation
from apps.search.indexing import index_products
from tests.accounts.factories import UserFactory
from tests.catalog.factories import DataContractFactory, QualityCheckFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "unrelated", "consumer", "owner", "steward", "admin"]
TABS = ["overview", "ports", "schema", "contract", "quality", "lineage", "consumers", "access", "activity"]


@pytest.fixture
def world(catalog):
    """``catalog`` plus a consumer with an active grant on the pay product (rows written directly:
    the grant workflow itself is tested in tests/access) and an admin."""
    consumer = UserFactory(username="consumer")
    port = catalog.pay.output_ports.get()
    request = AccessRequest.objects.create(
        requester=consumer,
        output_port=port,
        purpose="Headcount report",
        status="active",
        submitted_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
    )
    Grant.objects.create(
        access_request=request,
        platform=port.platform,
        principal="consumer_login",
        schema=port.schema,
        status="active",
        applied_at=timezone.now(),
        expires_at=request.expires_at,
    )
    catalog.pay.classification = "confidential"  # the owner decides: the request waits in their inbox
    catalog.pay.save(update_fields=["classification"])
    pending = access_request_submit(
        requester=catalog.unrelated, output_port=port, purpose="Curious", expires_at=timezone.now() + timedelta(days=30)
    )
    index_products()
    return SimpleNamespace(
        **vars(catalog),
        consumer=consumer,
        admin=UserFactory(username="root", is_staff=True, is_superuser=True),
        anonymous=None,
        pending=pending,
    )


ALL = dict(anonymous=302, unrelated=200, consumer=200, owner=200, steward=200, admin=200)
DRAFT = dict(anonymous=302, unrelated=404, consumer=404, owner=200, steward=200, admin=200)
MISSING = dict(anonymous=302, unrelated=404, consumer=404, owner=404, steward=404, admin=404)

MATRIX = {
    "home": (lambda w: reverse("catalog:marketplace"), ALL),
    "search": (lambda w: reverse("catalog:marketplace") + "?q=salary&domain=hr&sort=name", ALL),
    "autocomplete": (lambda w: reverse("catalog:autocomplete") + "?q=cust", ALL),
    **{
        f"product_{tab}": (lambda w, tab=tab: reverse("catalog:product_detail", args=[w.pay.slug]) + f"?tab={tab}", ALL)
        for tab in TABS
    },
    **{
        f"draft_{tab}": (
            lambda w, tab=tab: reverse("catalog:product_detail", args=[w.draft.slug]) + f"?tab={tab}",
            DRAFT,
        )
        for tab in TABS
    },
    "missing_product": (lambda w: reverse("catalog:product_detail", args=["nope"]), MISSING),
    "domain": (lambda w: reverse("catalog:domain_detail", args=[w.hr.slug]), ALL),
    "missing_domain": (lambda w: reverse("catalog:domain_detail", args=["nope"]), MISSING),
    "team": (lambda w: reverse("catalog:team_detail", args=[w.hr_team.slug]), ALL),
    "missing_team": (lambda w: reverse("catalog:team_detail", args=["nope"]), MISSING),
    "person": (lambda w: reverse("catalog:person_detail", args=["owner"]), ALL),
    "missing_person": (lambda w: reverse("catalog:person_detail", args=["nobody"]), MISSING),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", list(MATRIX))
def test_permission_matrix(client, world, view, persona):
    url_for, expected = MATRIX[view]
    user = getattr(world, persona)
    if user is not None:
        client.force_login(user)
    response = client.get(url_for(world))
    assert response.status_code == expected[persona], f"{view} as {persona}"
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_draft_names_never_leak_through_search_or_pages(client, world):
    client.force_login(world.unrelated)
    for url in (
        reverse("catalog:marketplace") + "?q=churn",
        reverse("catalog:autocomplete") + "?q=churn",
        reverse("catalog:domain_detail", args=[world.hr.slug]),
        reverse("catalog:team_detail", args=[world.hr_team.slug]),
        reverse("catalog:person_detail", args=["owner"]),
    ):
        assert b"Customer churn draft" not in client.get(url).content, url


def test_searching_salary_shows_the_product_with_its_matching_column_and_facets(client, world):
    # given
    client.force_login(world.unrelated)
    # when
    response = client.get(reverse("catalog:marketplace"), {"q": "salary"})
    # then
    html = response.content.decode()
    assert "Employees and pay history" in html
    assert "<code>rate</code> — <mark>Salary</mark> hourly rate" in html
    facets = {f.name: {v.key: v.count for v in f.values} for f in response.context["page"].facets}
    assert facets["domain"] == {"hr": 1} and facets["classification"] == {"confidential": 1}
    assert 'name="domain" value="hr"' in html


def test_search_page_queries_do_not_grow_with_the_results(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.unrelated)
    client.get(reverse("catalog:marketplace"), {"q": "customer"})  # warm the per-process caches
    counts = []
    for query in ("vendors", "customer", "sales"):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("catalog:marketplace"), {"q": query, "sort": "popularity"})
        counts.append((len(response.context["page"].hits), len(ctx)))
    assert len({hits for hits, _ in counts}) > 1  # different numbers of results…
    assert len({n for _, n in counts}) == 1, counts  # …same number of queries
    # session, user, perms, vocabulary, search (in a transaction), matches, labels, event, and the
    # layout's badges (approvals inbox with delegations, notifications), the person's access
    # requests (the key of the cached results fragment)
    assert counts[0][1] <= 26


def test_htmx_requests_get_only_the_results(client, world):
    client.force_login(world.unrelated)
    response = client.get(reverse("catalog:marketplace"), {"q": "vendors"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content and b"Vendors" in response.content


def test_home_shows_popular_new_and_domains(client, world):
    client.force_login(world.unrelated)
    html = client.get(reverse("catalog:marketplace")).content.decode()
    assert "Popular" in html and "By domain" in html and "Human Resources" in html


def test_schema_tab_shows_columns_types_keys_and_descriptions(client, world):
    # given: the pay table references the sales customer table
    pay_asset = world.platform.assets.get(schema="humanresources")
    customer_asset = world.platform.assets.get(schema="sales")
    AssetRelation.objects.create(
        source=pay_asset,
        target=customer_asset,
        kind="foreign_key",
        name="fk",
        source_columns=["rate"],
        target_columns=["customerid"],
    )
    client.force_login(world.unrelated)
    # when
    html = client.get(reverse("catalog:product_detail", args=[world.pay.slug]), {"tab": "schema"}).content.decode()
    # then
    assert "humanresources.employeepayhistory" in html and "Salary hourly rate." in html
    assert "FK → sales.customer" in html


def test_lineage_tab_draws_upstream_and_downstream_products(client, world):
    pay_asset = world.platform.assets.get(schema="humanresources")
    AssetRelation.objects.create(
        source=world.platform.assets.get(schema="purchasing"), target=pay_asset, kind="lineage"
    )
    AssetRelation.objects.create(source=pay_asset, target=world.platform.assets.get(schema="sales"), kind="lineage")
    client.force_login(world.unrelated)
    response = client.get(reverse("catalog:product_detail", args=[world.pay.slug]), {"tab": "lineage"})
    lineage = response.context["graph_lineage"]
    assert [n["label"] for n in lineage["upstream"]] == ["Vendors"]
    assert [n["label"] for n in lineage["downstream"]] == ["Sales orders and customers"]
    assert b"<svg" in response.content and b"Vendors</text>" in response.content


def test_contract_and_quality_tabs_render_what_is_known(client, world):
    DataContractFactory(
        data_product=world.pay,
        document={
            "apiVersion": "v3.0.2",
            "kind": "DataContract",
            "id": "pay",
            "version": "2.0.0",
            "status": "active",
            "description": {"purpose": "Pay analytics"},
            "schema": [
                {
                    "name": "employeepayhistory",
                    "properties": [
                        {"name": "rate", "logicalType": "number", "required": True, "description": "Salary hourly rate"}
                    ],
                }
            ],
            "slaProperties": [{"property": "latency", "value": 1, "unit": "d"}],
        },
    )
    QualityCheckFactory(asset=world.platform.assets.get(schema="humanresources"), name="rate_positive", status="fail")
    client.force_login(world.unrelated)
    url = reverse("catalog:product_detail", args=[world.pay.slug])
    contract = client.get(url, {"tab": "contract"}).content.decode()
    assert "Pay analytics" in contract and "Salary hourly rate" in contract and "latency" in contract
    quality = client.get(url, {"tab": "quality"}).content.decode()
    assert "rate_positive" in quality and "Failed" in quality


def test_consumers_tab_lists_active_grants(client, world):
    # Purposes are shown to the product's owners, stewards and the requester only (issue 11).
    client.force_login(world.owner)
    html = client.get(reverse("catalog:product_detail", args=[world.pay.slug]), {"tab": "consumers"}).content.decode()
    assert "Headcount report" in html
    client.force_login(world.unrelated)
    html = client.get(reverse("catalog:product_detail", args=[world.pay.slug]), {"tab": "consumers"}).content.decode()
    assert "Headcount report" not in html


def test_pending_decisions_show_on_a_persons_page_only_to_them_and_stewards(client, world):
    for persona, sees in (("owner", True), ("steward", True), ("unrelated", False), ("consumer", False)):
        client.force_login(getattr(world, persona))
        response = client.get(reverse("catalog:person_detail", args=["owner"]))
        assert (response.context["pending"] is not None) is sees, persona
        if sees:
            assert list(response.context["pending"]) == [world.pending]


def test_team_page_lists_what_the_team_owns_and_consumes(client, world):
    team_membership_set(team=world.sales_team, user=world.consumer)
    AccessRequest.objects.filter(requester=world.consumer).update(on_behalf_of_team=world.sales_team)
    client.force_login(world.unrelated)
    response = client.get(reverse("catalog:team_detail", args=[world.sales_team.slug]))
    assert {p.slug for p in response.context["owns"]} == {"sales-orders", "vendors"}
    assert [g.access_request.output_port.data_product.slug for g in response.context["consumes"]] == ["employees"]


def test_my_access_lists_my_grants_with_status_and_expiry(client, world):
    client.force_login(world.consumer)
    response = client.get(reverse("access:mine"))
    grants = list(response.context["grants"])
    assert [g.access_request.purpose for g in grants] == ["Headcount report"]
    html = response.content.decode()
    assert (
        "Employees and pay history" in html and "Active" in html and grants[0].expires_at.strftime("%Y-%m-%d") in html
    )
    client.force_login(world.unrelated)
    assert list(client.get(reverse("access:mine")).context["grants"]) == []
