"""Turn highlighted text from a backend into safe HTML."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .types import MARK_START, MARK_STOP


def to_html(text: str | None) -> SafeString:
    """Escape ``text`` and turn the backend's markers into ``<mark>…</mark>``."""
    escaped = escape(text or "")
    return mark_safe(escaped.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))  # noqa: S308 - escaped first


def strip_markers(text: str) -> str:
    """Remove marker characters from catalog text before it is highlighted."""
    return (text or "").replace(MARK_START, "").replace(MARK_STOP, "")
