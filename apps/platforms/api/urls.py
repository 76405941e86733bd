from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("platforms", views.PlatformViewSet, basename="platform")
router.register("me/platform-identities", views.PlatformIdentityViewSet, basename="platform-identity")
urlpatterns = router.urls
