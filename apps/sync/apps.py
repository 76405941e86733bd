from django.apps import AppConfig


class SyncConfig(AppConfig):
    """Metadata sync: connectors read platforms, the engine writes the catalog (no models of its own)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.sync"
    label = "sync"
