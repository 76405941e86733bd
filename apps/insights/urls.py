from django.urls import path

from . import views

app_name = "insights"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("charts/<slug:key>.csv", views.chart_csv, name="chart_csv"),
    path("lists/<slug:name>/", views.drill, name="drill"),
    path("targets/", views.target_create, name="target_create"),
    path("request-product/", views.request_product, name="request_product"),
]
