"""``manage.py rotate_credentials``: re-encrypt every stored secret with the first credentials key.

Run it after putting a new key first in ``PLATFORM_CREDENTIALS_KEYS`` (old keys after it); then
the old keys can be removed. Secrets no key opens are listed and left as they are (they must be
entered again); the command then exits with status 1.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.core import crypto


class Command(BaseCommand):
    help = "Re-encrypt stored platform passwords and webhook secrets with the first credentials key."

    def handle(self, *args, **options):
        rotated, failed = 0, []
        for app_label, model_name, field in crypto.ENCRYPTED_FIELDS:
            try:
                model = apps.get_model(app_label, model_name)
            except LookupError:
                continue
            if field not in {f.name for f in model._meta.get_fields()}:
                continue
            with transaction.atomic():
                rows = model.objects.select_for_update().exclude(**{field: ""}).only("pk", field)
                for obj in rows.iterator(chunk_size=500):
                    try:
                        token = crypto.rotate(getattr(obj, field))
                    except crypto.DecryptionError:
                        failed.append(f"{app_label}.{model_name} {obj.pk}")
                        continue
                    model.objects.filter(pk=obj.pk).update(**{field: token})
                    rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} secret(s) with the first key.")
        if failed:
            raise CommandError(
                f"{len(failed)} secret(s) no configured key opens (enter them again): {', '.join(failed)}"
            )
