"""Encryption of platform passwords at rest (Fernet, from ``cryptography``).

The key is ``settings.PLATFORM_CREDENTIALS_KEY`` or, when unset, derived from ``SECRET_KEY``.
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from apps.core.exceptions import ApplicationError


def _fernet() -> Fernet:
    key = settings.PLATFORM_CREDENTIALS_KEY
    if not key:
        digest = hashlib.sha256(("mesh-portal-platform-credentials:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(secret: str) -> str:
    """Encrypt ``secret``; returns a Fernet token (ASCII)."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a token from :func:`encrypt`.

    Raises ApplicationError when the key changed since it was stored (the secret must be re-entered).
    """
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ApplicationError(
            "The stored platform password cannot be decrypted (was the credentials key changed?). "
            "Enter the password again."
        ) from exc
