from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import freshness

        # Writes to the tables the navigation badges depend on make their cached values stale.
        connection_created.connect(freshness.install, dispatch_uid="core.freshness.install")
