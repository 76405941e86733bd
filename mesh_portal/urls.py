from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.core import views as core_views
from apps.insights import views as insights_views
from mesh_portal import navigation

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("start/", navigation.landing, name="landing"),
    path("admin/", admin.site.urls),
    path("api/", include("apps.core.api.urls")),
    path("accounts/profile/", include("apps.accounts.urls")),
    path("accounts/login/", insights_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("access/", include("apps.access.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("platforms/", include("apps.platforms.urls")),
    path("insights/", include("apps.insights.urls")),
    path("", include("apps.contracts.urls")),
    path("", include("apps.catalog.urls")),
]

handler404 = "apps.core.api.views.page_not_found"
