from django.urls import path

from . import views

app_name = "platforms"
urlpatterns = [
    path("", views.platform_list, name="list"),
    path("<slug:slug>/", views.platform_detail, name="detail"),
    path("<slug:slug>/sync/", views.platform_sync_now, name="sync_now"),
    path("<slug:slug>/dbt-artifacts/", views.platform_dbt_upload, name="dbt_upload"),
    path("<slug:slug>/settings/", views.platform_settings, name="settings"),
]
