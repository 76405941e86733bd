from django.urls import path

from . import exposure_views, views

app_name = "catalog"
urlpatterns = [
    path("", views.marketplace, name="marketplace"),
    path("search/ask/", views.data_demand_ask, name="ask_for_data"),
    path("search/suggest/", views.autocomplete, name="autocomplete"),
    path("governance/exposure-reviews/", exposure_views.exposure_review_list, name="exposure_reviews"),
    path(
        "governance/exposure-reviews/<int:pk>/decide/",
        exposure_views.exposure_review_decide,
        name="exposure_review_decide",
    ),
    path("products/<slug:slug>/", views.data_product_detail, name="product_detail"),
    path("domains/<slug:slug>/", views.domain_detail, name="domain_detail"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("people/<str:username>/", views.person_detail, name="person_detail"),
]
