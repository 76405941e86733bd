from django import template

from apps.platforms.selectors import who_has_access as who_has_access_selector

register = template.Library()


@register.simple_tag(takes_context=True)
def who_has_access(context, product):
    """``{% who_has_access product as rows %}``: the rows of ``selectors.who_has_access`` for
    the request's user, or ``None`` when they may not see them."""
    return who_has_access_selector(user=context["request"].user, product=product)
