from django.apps import AppConfig


class AccessConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.access"
    verbose_name = "Access requests and grants"

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the visibility rules of AccessRequest and Grant: apps.core.visibility)
