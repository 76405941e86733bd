from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.accounts"
    verbose_name = "People and teams"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the OpenAPI authentication extension
