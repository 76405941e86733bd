import re
from functools import lru_cache
from pathlib import Path

from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

from apps.core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    """``{{ product.description|markdown }}``: sanitized HTML (see ``apps.core.markdown``)."""
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 sanitized it


_ICON_DIR = Path(settings.BASE_DIR) / "static" / "vendor" / "lucide"


@lru_cache(maxsize=64)
def _icon_svg(name: str) -> str:
    """The vendored Lucide icon ``name`` as inline SVG, decorative (``aria-hidden``); "" if missing."""
    path = _ICON_DIR / f"{name}.svg"
    if not name.replace("-", "").isalnum() or not path.is_file():
        return ""
    svg = re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.S).strip()
    svg = re.sub(r'\s(width|height)="24"', "", svg)
    svg = re.sub(r'class="[^"]*"', 'class="icon" aria-hidden="true" focusable="false"', svg, count=1)
    return re.sub(r"\s+", " ", svg)


@register.simple_tag(name="icon")
def icon_tag(name: str) -> str:
    """``{% icon "search" %}``: an inline, decorative SVG icon from ``static/vendor/lucide``."""
    return mark_safe(_icon_svg(name))  # noqa: S308 - our own vendored files


@register.filter(name="initials")
def initials_filter(name: str) -> str:
    """``{{ team.name|initials }}``: up to two capital initials ("HR Data Team" -> "HD")."""
    words = [w for w in re.split(r"[\s\-_]+", str(name or "")) if w and w[0].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"
