from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.marketplace, name="marketplace"),
    path("products/<slug:slug>/", views.data_product_detail, name="product_detail"),
]
