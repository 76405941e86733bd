"""One error body for the whole API: ``{"message": str, "errors": {field: [str, ...]}}``.

``ApplicationError`` (a business rule refused) and validation errors answer 400, with field
errors in ``errors`` (nested fields are flattened to dotted names: ``tags.0``);
``PermissionDenied`` 403; text with NUL characters (which PostgreSQL cannot store) 400; a form
body over Django's upload limits (too many fields or files, too big) 400; ``Http404`` 404 (also for objects the caller may not see); throttling
429 with ``Retry-After``. ``errors`` is ``{}`` when there are no field errors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from apps.core.exceptions import ApplicationError

NON_FIELD = "non_field_errors"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → ``{"field": ["message"], "nested.field": [...], "list.0": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list | tuple):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list | tuple):
                for field, messages in flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)).items():
                    out.setdefault(field, []).extend(messages)
            else:
                out.setdefault(prefix or NON_FIELD, []).append(str(value))
    else:
        out.setdefault(prefix or NON_FIELD, []).append(str(detail))
    return out


def _body(message: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"message": message, "errors": errors or {}}


def _first_message(errors: dict[str, list[str]], default: str) -> str:
    if list(errors) == [NON_FIELD] and len(errors[NON_FIELD]) == 1:
        return errors[NON_FIELD][0]
    return default


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: map known errors to the one body; anything else stays a 500 (a bug)."""
    if isinstance(exc, ApplicationError):
        errors = {str(k): [str(m) for m in (v if isinstance(v, list | tuple) else [v])] for k, v in exc.extra.items()}
        set_rollback()
        return Response(_body(exc.message, errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        errors = flatten_errors(as_serializer_error(exc))
        set_rollback()
        return Response(_body(_first_message(errors, "The input has errors."), errors), status=400)
    if isinstance(exc, DataError) and "NUL" in str(exc):
        # psycopg refuses NUL characters client-side (nothing reached the database): a lookup by a
        # slug or a filter value containing one is bad input, whichever field it came in.
        return Response(_body("Text may not contain NUL (0x00) characters."), status=400)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent | RequestDataTooBig):
        # Django's upload limits (DATA_UPLOAD_MAX_NUMBER_FIELDS, ...): bad input, not a bug.
        return Response(_body(f"The request is too large: {exc}"), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) if str(exc) else None)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        body = _body(_first_message(errors, "The input has errors."), errors)
    else:
        body = _body(str(exc.detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)
