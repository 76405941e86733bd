"""Contract parts other pages embed: ``{% load contracts %}{% platform_contract_drift platform %}``."""

from django import template

register = template.Library()


@register.inclusion_tag("contracts/_platform_drift.html", takes_context=True)
def platform_contract_drift(context, platform):
    from apps.contracts.selectors import drift_findings_for_platform

    return {"findings": drift_findings_for_platform(platform=platform, user=context["request"].user)}
