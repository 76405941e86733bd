from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("teams", views.TeamViewSet, basename="team")
urlpatterns = [
    *router.urls,
    path("me/", views.MeView.as_view(), name="me"),
    path("me/token/", views.TokenView.as_view(), name="me-token"),
]
