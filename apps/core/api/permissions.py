"""Permission helpers for API views. The rules themselves live in each app's selectors."""

from rest_framework.exceptions import PermissionDenied


def require(allowed: bool, message: str) -> None:
    """Raise 403 with ``message`` unless ``allowed`` (use only on objects the caller may see)."""
    if not allowed:
        raise PermissionDenied(message)
