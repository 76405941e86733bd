"""Template tags for the grant partials included by pages other apps own (product page,
platform page), so each of those pages needs only one ``{% include %}`` line."""

from django import template

from apps.access import permissions, selectors

register = template.Library()


@register.simple_tag
def product_consumers(product):
    """``{% product_consumers product as consumers %}``: the product's active grants."""
    return selectors.grant_active_for_product(product=product)


@register.simple_tag
def platform_grant_drifts(platform, limit: int = 25):
    """``{% platform_grant_drifts platform as drifts %}``: the latest drifts on the platform
    (the platform page is only shown to the platform's admins)."""
    return list(selectors.grant_drift_list(platform=platform)[:limit])


@register.simple_tag
def grant_can_revoke(user, grant):
    """``{% grant_can_revoke user grant as can_revoke %}``."""
    return permissions.can_revoke(user=user, grant=grant)


@register.filter
def purpose_visible_to(access_request, user) -> bool:
    """``{% if r|purpose_visible_to:request.user %}``: see :func:`apps.access.permissions.may_see_purpose`."""
    return permissions.may_see_purpose(user, access_request)
