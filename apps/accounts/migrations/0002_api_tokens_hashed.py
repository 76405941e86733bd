"""API tokens move from ``rest_framework.authtoken`` (keys stored in clear) to django-rest-knox
(SHA-512 digests, expiring): each existing key keeps working, now stored as a digest with its
15-character prefix and an expiry ``API_TOKEN_TTL_DAYS`` ahead; the clear-text rows are deleted."""
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def move_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    ttl = settings.REST_KNOX.get("TOKEN_TTL") or timedelta(days=90)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "key", "user_id", "created" FROM {connection.ops.quote_name(OLD_TABLE)}')
        rows = cursor.fetchall()
        AuthToken.objects.bulk_create([
            AuthToken(digest=hash_token(key), token_key=key[:CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id,
                      created=created, expiry=timezone.now() + ttl)
            for key, user_id, created in rows
        ])
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(OLD_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(move_tokens, migrations.RunPython.noop)]
