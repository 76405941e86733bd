"""Done-when on real input: on the AdventureWorks demo a business user types "salary" and finds
"Employees and pay history" through the warehouse's own column comments, sees facets, and the
product page shows owners, schema, lineage (references) and consumers."""

import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.demo import loader
from apps.platforms.models import Platform
from apps.search.models import SearchEntry
from apps.sync.services import platform_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(aw_warehouse, django_capture_on_commit_callbacks):
    loader.demo_load(warehouse_url=aw_warehouse["conninfo"], enqueue_sync=False)
    # the sync schedules the reindex on commit (Celery, eager in tests)
    with django_capture_on_commit_callbacks(execute=True):
        platform_sync(platform=Platform.objects.get(slug="adventureworks-warehouse"))
    return User.objects.get(username="ana")


def test_salary_finds_employees_and_pay_history_through_column_comments(client, demo):
    # given: the warehouse's COMMENT ON COLUMN humanresources.employeepayhistory.rate IS 'Salary hourly rate.'
    assert SearchEntry.objects.filter(label="rate", description="Salary hourly rate.").exists()
    client.force_login(demo)
    # when: typing "salary" (htmx, as the search box does)
    response = client.get(reverse("catalog:marketplace"), {"q": "salary"}, HTTP_HX_REQUEST="true")
    # then
    page = response.context["page"]
    assert page.hits[0].product.slug == "employees-and-pay-history"
    html = response.content.decode()
    assert "<mark>Salary</mark>" in html
    assert "Human Resources" in html and 'name="classification"' in html  # facets
    # and the column comment alone is enough: "hourly" is in no product name, summary or tag
    hourly = client.get(reverse("catalog:marketplace"), {"q": "hourly rate"}).context["page"]
    assert hourly.hits[0].product.slug == "employees-and-pay-history"
    assert any(m.label_html == "<mark>rate</mark>" for m in hourly.hits[0].matches)


def test_typing_custmer_suggests_the_sales_product(client, demo):
    client.force_login(demo)
    response = client.get(reverse("catalog:autocomplete"), {"q": "custmer"}, HTTP_HX_REQUEST="true")
    assert b"/products/sales-orders-and-customers/" in response.content


def test_the_product_page_shows_owners_schema_lineage_and_consumers(client, demo):
    client.force_login(demo)
    url = reverse("catalog:product_detail", args=["employees-and-pay-history"])
    assert b"Hana Hughes" in client.get(url).content
    schema = client.get(url, {"tab": "schema"}).content.decode()
    assert "humanresources.employeepayhistory" in schema and "Salary hourly rate." in schema and "PK" in schema
    lineage = client.get(url, {"tab": "lineage"})
    assert [n["label"] for n in lineage.context["graph_lineage"]["upstream"]] == ["Persons and contacts"]
    assert client.get(url, {"tab": "consumers"}).status_code == 200
