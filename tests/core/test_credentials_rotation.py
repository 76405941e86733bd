"""Issue 11: credentials keys rotate (MultiFernet: the first key encrypts, all decrypt) and
``manage.py rotate_credentials`` re-encrypts every stored secret with the first key."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from apps.core import crypto
from apps.platforms.models import Platform
from tests.platforms.factories import PlatformFactory

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.mark.django_db
def test_a_new_first_key_decrypts_old_secrets_and_rotation_moves_them_to_it(settings):
    # given a platform password stored under the old key
    settings.CREDENTIALS_KEYS = [OLD]
    platform = PlatformFactory()
    platform.set_password("s3cret-pw")
    platform.save()
    stored = Platform.objects.get(pk=platform.pk).password_encrypted
    assert Fernet(OLD).decrypt(stored.encode()) == b"s3cret-pw"
    # when a new key is put first, the old one kept after it
    settings.CREDENTIALS_KEYS = [NEW, OLD]
    assert crypto.decrypt(stored) == "s3cret-pw"
    call_command("rotate_credentials")
    # then the stored secret is encrypted with the new key, and the old key can go
    rotated = Platform.objects.get(pk=platform.pk).password_encrypted
    assert rotated != stored and Fernet(NEW).decrypt(rotated.encode()) == b"s3cret-pw"
    settings.CREDENTIALS_KEYS = [NEW]
    assert crypto.decrypt(rotated) == "s3cret-pw"


@pytest.mark.django_db
def test_rotation_reports_secrets_no_key_opens(settings):
    settings.CREDENTIALS_KEYS = [OLD]
    platform = PlatformFactory()
    platform.set_password("pw")
    platform.save()
    settings.CREDENTIALS_KEYS = [NEW]
    with pytest.raises(CommandError, match="no configured key opens"):
        call_command("rotate_credentials")
