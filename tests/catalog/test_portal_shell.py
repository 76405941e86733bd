"""Issue 16 without a browser: where each persona lands, what the navigation offers, the
marketplace cards' access state, disjunctive facets and "ask for this data"."""

import pytest
from django.urls import reverse

from apps.insights.models import UsageEvent

from .test_pages import world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "persona, landing",
    [
        ("consumer", lambda w: reverse("catalog:marketplace")),
        ("owner", lambda w: reverse("catalog:person_detail", args=[w.owner.username])),
        ("steward", lambda w: reverse("access:policies")),
        ("admin", lambda w: reverse("platforms:list")),
    ],
)
def test_each_persona_lands_on_their_page(client, world, persona, landing):  # noqa: F811
    # given
    client.force_login(getattr(world, persona))
    # when
    response = client.get(reverse("landing"))
    # then
    assert response.status_code == 302 and response["Location"] == landing(world)


def test_navigation_shows_approvals_only_to_approvers(client, world):  # noqa: F811
    client.force_login(world.consumer)
    html = client.get(reverse("catalog:marketplace")).content.decode()
    assert "Approvals" not in html and "Delegate while away" not in html and "Governance" not in html
    client.force_login(world.owner)
    html = client.get(reverse("catalog:marketplace")).content.decode()
    assert "Approvals" in html and "Delegate while away" in html


def test_cards_and_the_product_header_say_you_have_access(client, world):  # noqa: F811
    client.force_login(world.consumer)
    html = client.get(reverse("catalog:marketplace"), {"q": world.pay.name}).content.decode()
    assert "You have access" in html
    page = client.get(reverse("catalog:product_detail", args=[world.pay.slug])).content.decode()
    assert "You have access" in page and ">Request access</a>" not in page.split('<nav class="tabs"')[0]


def test_a_selected_facet_keeps_its_sibling_values(client, world):  # noqa: F811
    client.force_login(world.steward)
    response = client.get(reverse("catalog:marketplace"), {"classification": "public"})
    facet = next(f for f in response.context["page"].facets if f.name == "classification")
    values = {v.key: v for v in facet.values}
    assert values["public"].selected and len(values) > 1, "ticking one value does not hide the others"
    assert all(h.product.classification == "public" for h in response.context["page"].hits)
    assert response.context["chips"][0]["value"] == "Public"


def test_ask_for_this_data_is_recorded_as_unmet_demand(client, world):  # noqa: F811
    client.force_login(world.consumer)
    response = client.post(reverse("catalog:ask_for_data"), {"q": "weather forecasts", "note": "for store planning"})
    assert response.status_code == 302
    event = UsageEvent.objects.get(filters__asked=True)
    assert event.query == "weather forecasts" and event.result_count == 0 and event.user == world.consumer
    assert client.post(reverse("catalog:ask_for_data"), {}).status_code == 302  # nothing said: a message, no event
    assert UsageEvent.objects.filter(filters__asked=True).count() == 1


def test_a_zero_result_search_offers_a_way_out(client, world):  # noqa: F811
    client.force_login(world.consumer)
    html = client.get(reverse("catalog:marketplace"), {"q": "zzqqxx"}).content.decode()
    assert "Ask for this data" in html and "Popular data products" in html
