"""``{% url %}`` memoises reversing (apps/core/templatetags/cached_url.py) without changing what it renders."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from apps.core.templatetags import cached_url


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_the_tag_renders_what_reverse_gives_and_memoises_it():
    cached_url._reverse.cache_clear()
    source = "{% url 'catalog:product_detail' slug %}|{% url 'catalog:product_detail' slug=slug %}"
    expected = reverse("catalog:product_detail", args=["sales-orders"])
    assert render(source, slug="sales-orders") == f"{expected}|{expected}"
    assert render(source, slug="sales-orders") == f"{expected}|{expected}"
    assert cached_url._reverse.cache_info().hits == 2


def test_as_var_escaping_and_errors_behave_like_djangos_tag():
    assert render("{% url 'catalog:marketplace' as home %}[{{ home }}]") == f"[{reverse('catalog:marketplace')}]"
    assert render("{% url 'no:such' as nothing %}[{{ nothing }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'no:such' %}")
    assert "&#x27;" in render("{% url 'catalog:marketplace' %}?q={{ q }}", q="'")


def test_an_object_argument_is_not_memoised():
    class Slug:
        def __str__(self):
            return "sales-orders"

    cached_url._reverse.cache_clear()
    assert render("{% url 'catalog:product_detail' s %}", s=Slug()) == reverse(
        "catalog:product_detail", args=["sales-orders"]
    )
    assert cached_url._reverse.cache_info().currsize == 0


def test_a_changed_urlconf_empties_the_memo():
    render("{% url 'catalog:marketplace' %}")
    assert cached_url._reverse.cache_info().currsize > 0
    with override_settings(ROOT_URLCONF="mesh_portal.urls"):
        assert cached_url._reverse.cache_info().currsize == 0
