from django.urls import path

app_name = "platforms"
urlpatterns: list = []
