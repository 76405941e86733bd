from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.marketplace, name="marketplace"),
    path("search/ask/", views.data_demand_ask, name="ask_for_data"),
    path("search/suggest/", views.autocomplete, name="autocomplete"),
    path("products/<slug:slug>/", views.data_product_detail, name="product_detail"),
    path("domains/<slug:slug>/", views.domain_detail, name="domain_detail"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("people/<str:username>/", views.person_detail, name="person_detail"),
]
