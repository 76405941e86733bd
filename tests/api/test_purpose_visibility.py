"""Issue 11: a stated purpose is shown to the product's owners, stewards and the requester only
(any signed-in user used to read it on /people/<user>/ and on the product's consumers tab)."""

import pytest

from apps.access.models import Grant
from apps.access.permissions import may_see_purpose


@pytest.fixture
def active(world):
    Grant.objects.filter(pk=world.grant.pk).update(status="active")
    return world


@pytest.mark.parametrize(
    "who,sees",
    [
        ("unrelated", False),
        ("approver", False),
        ("consumer", True),
        ("owner", True),
        ("steward", True),
        ("admin", True),
    ],
)
def test_who_may_see_a_purpose(active, who, sees):
    assert may_see_purpose(getattr(active, who), active.approved) is sees


@pytest.mark.parametrize("who,sees", [("unrelated", False), ("consumer", True), ("owner", True), ("steward", True)])
def test_the_consumers_tab_and_the_person_page_show_the_purpose_only_to_them(active, client, who, sees):
    # given the consumer's active grant, asked for with the purpose "Pay"
    client.force_login(getattr(active, who))
    for url in (f"/products/{active.product.slug}/?tab=consumers", f"/people/{active.consumer.username}/"):
        # when the page is shown
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        # then the purpose is there only for the requester, the owners and the stewards
        assert "hr pay" in html  # the grant row is listed
        assert (">Pay<" in html) is sees, (who, url)
        assert ("shown to owners and stewards" in html) is not sees
