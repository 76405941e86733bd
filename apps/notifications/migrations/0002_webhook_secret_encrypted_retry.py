"""Webhook secrets are stored encrypted (apps.core.crypto) instead of in clear; deliveries record
when they are tried next (retries with exponential backoff over hours, see WEBHOOK_*)."""
from django.db import migrations, models


def encrypt_secrets(apps, schema_editor):
    from apps.core import crypto

    WebhookEndpoint = apps.get_model("notifications", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.exclude(secret=""):
        endpoint.secret_encrypted = crypto.encrypt(endpoint.secret)
        endpoint.save(update_fields=["secret_encrypted"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint", name="secret_encrypted",
            field=models.TextField(blank=True, editable=False, help_text=(
                "The shared HMAC secret, encrypted (apps.core.crypto: rotating keys); never shown again.")),
        ),
        migrations.RunPython(encrypt_secrets, migrations.RunPython.noop),
        migrations.RemoveField(model_name="webhookendpoint", name="secret"),
        migrations.AddField(
            model_name="webhookdelivery", name="next_attempt_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True, help_text=(
                "When a pending delivery is tried again (exponential backoff); the sweep re-enqueues it if lost.")),
        ),
    ]
