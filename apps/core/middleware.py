"""Request checks and response headers that apply to every page and endpoint.

:class:`PermissionsPolicyMiddleware` adds ``Permissions-Policy`` (``settings.PERMISSIONS_POLICY``).

:class:`RejectNulMiddleware` answers 400 to a path or query string containing a NUL character
(``%00``): PostgreSQL cannot store or compare text with NUL, so such a value would otherwise reach a
lookup and end in a ``DataError`` (a 500). The API gets the usual error body
``{"message": ..., "errors": {"<parameter>": [...]}}``; pages get a short plain-text 400.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

NUL = "\x00"
MESSAGE = "Text may not contain NUL (0x00) characters."


def _nul_fields(request) -> list[str]:
    fields = ["path"] if NUL in request.path_info else []
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            fields.append(key.replace(NUL, "\\x00"))
    return fields


class RejectNulMiddleware:
    """400 for a NUL in the URL path or in any query parameter (name or value)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = _nul_fields(request)
        if fields:
            if request.path_info.startswith("/api/"):
                return JsonResponse({"message": MESSAGE, "errors": {f: [MESSAGE] for f in fields}}, status=400)
            return HttpResponseBadRequest(
                f"Bad request: {MESSAGE} ({', '.join(fields)})", content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy: <settings.PERMISSIONS_POLICY>`` to every response that has none."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.value = getattr(settings, "PERMISSIONS_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.value and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.value
        return response
