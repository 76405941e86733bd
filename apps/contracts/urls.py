from django.urls import path

from . import views

app_name = "contracts"
urlpatterns = [
    path("products/<slug:slug>/contract/<int:pk>/download/", views.contract_download, name="download"),
    path("products/<slug:slug>/contract/import/", views.contract_import, name="import"),
    path("products/<slug:slug>/drift/check/", views.drift_check, name="drift_check"),
    path("products/<slug:slug>/drift/<int:pk>/accept/", views.drift_accept, name="drift_accept"),
    path("products/<slug:slug>/incidents/<int:pk>/", views.incident_transition, name="incident_transition"),
]
