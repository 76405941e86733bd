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


def _short(value) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


@register.simple_tag(name="audit_changes")
def audit_changes_tag(before, after) -> list[dict]:
    """``{% audit_changes event.before event.after as changes %}``: what an audit event changed,
    readable: ``[{"field": "status", "before": "pending", "after": "active"}]`` (values flattened
    to text, "—" for empty); every field of ``after`` when there is no ``before`` (a creation)."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    changes = []
    for key in list(dict.fromkeys([*after, *before])):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        changes.append(
            {
                "field": key.replace("_", " "),
                "before": _short(old) if key in before else None,
                "after": _short(new) if key in after else None,
            }
        )
    return changes


@register.filter(name="audit_action")
def audit_action_filter(action: str) -> str:
    """``access_request.step_approved`` -> "Access request: step approved"."""
    head, _, tail = str(action).partition(".")
    text = head.replace("_", " ").capitalize()
    return f"{text}: {tail.replace('_', ' ')}" if tail else text
