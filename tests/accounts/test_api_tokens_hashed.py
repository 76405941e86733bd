"""Issue 11: API tokens are stored hashed (knox), expire, are shown once, and the admin shows
their prefix only (``/admin/authtoken/tokenproxy/`` used to list every key in clear)."""

import importlib

import pytest
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.accounts import services
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_key_is_not_stored_and_the_admin_shows_its_prefix_only(admin_client):
    # given a user's new token
    user = UserFactory(username="tok")
    token, key = services.api_token_create(user=user)
    # then the database holds a digest and the prefix, never the key, and it expires
    row = AuthToken.objects.get(pk=token.pk)
    assert key not in (row.digest, row.token_key) and row.token_key == key[:15] and row.expiry is not None
    # and the admin lists the prefix, never the key (the digest, knox's primary key, is one-way)
    page = admin_client.get("/admin/knox/authtoken/").content.decode()
    assert row.token_key in page, page
    assert key not in page
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert admin_client.get("/admin/knox/authtoken/add/").status_code == 403


def test_an_expired_token_is_refused():
    from django.utils import timezone

    user = UserFactory()
    token, key = services.api_token_create(user=user)
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timezone.timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").status_code == 401


def test_existing_drf_tokens_are_migrated_to_digests_and_keep_working():
    # given a clear-text DRF token left in the old table
    user = UserFactory(username="legacy")
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE IF NOT EXISTS authtoken_token ("key" varchar(40) PRIMARY KEY, '
            '"created" timestamptz NOT NULL, "user_id" bigint NOT NULL)'
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [key, user.pk])
    # when the migration's step runs
    migration = importlib.import_module("apps.accounts.migrations.0002_api_tokens_hashed")
    from django.apps import apps

    with connection.schema_editor() as editor:
        migration.move_tokens(apps, editor)
    # then the clear-text row is gone and the same key authenticates
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").json()["username"] == "legacy"
