from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("me/notifications", views.NotificationViewSet, basename="notification")
urlpatterns = router.urls
