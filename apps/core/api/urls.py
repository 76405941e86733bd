"""``/api/v1/``: every app's API routes, plus the OpenAPI schema and Swagger UI under ``/api/``."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

v1 = [
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.access.api.urls")),
    path("", include("apps.platforms.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.search.api.urls")),
    path("", include("apps.notifications.api.urls")),
    path("", include("apps.insights.api.urls")),
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (strict CSP: no inline script);
    # its page keeps one inline <style> and Swagger UI sets style attributes, allowed on this page only.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]
