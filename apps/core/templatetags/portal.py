from django import template
from django.utils.safestring import mark_safe

from apps.core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    """``{{ product.description|markdown }}``: sanitized HTML (see ``apps.core.markdown``)."""
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 sanitized it
