"""The one error type business rules raise (HackSoft styleguide's ``ApplicationError``)."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule refused an action.

    ``message`` is shown to the user as is; ``extra`` carries field errors
    (``{"field": ["message", ...]}``) or context for the API's error body.
    """

    def __init__(self, message: str, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
