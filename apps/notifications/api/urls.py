from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("me/notifications", views.NotificationViewSet, basename="notification")
router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")
urlpatterns = router.urls
