"""``/api/v1/``: every app's API routes, plus the OpenAPI schema and Swagger UI under ``/api/``."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
