from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("domains", views.DomainViewSet, basename="domain")
router.register("data-products", views.DataProductViewSet, basename="data-product")
router.register("output-ports", views.OutputPortViewSet, basename="output-port")
router.register("exposure-reviews", views.ExposureReviewViewSet, basename="exposure-review")
router.register("assets", views.AssetViewSet, basename="asset")
router.register("data-contracts", views.DataContractViewSet, basename="data-contract")
urlpatterns = router.urls
