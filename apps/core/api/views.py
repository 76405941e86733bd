"""Site-wide error views that keep the API's error body for ``/api/`` URLs."""

from django.http import JsonResponse
from django.views import defaults


def page_not_found(request, exception):
    """``handler404``: a URL no route matches. Under ``/api/`` the API's JSON error body, else Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "errors": {}}, status=404)
    return defaults.page_not_found(request, exception)
