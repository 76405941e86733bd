from django.apps import AppConfig


class CatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from . import selectors  # noqa: F401  (registers the visibility rule of DataProduct: apps.core.visibility)
