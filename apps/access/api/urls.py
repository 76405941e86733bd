from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("access-requests", views.AccessRequestViewSet, basename="access-request")
router.register("grants", views.GrantViewSet, basename="grant")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register("policies", views.AccessPolicyViewSet, basename="access-policy")
router.register("purposes", views.PurposeViewSet, basename="purpose")
router.register("delegations", views.DelegationViewSet, basename="delegation")
urlpatterns = [*router.urls, path("kpis/", views.KpiView.as_view(), name="kpis")]
