from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.platforms"
    verbose_name = "Platforms and sync"
