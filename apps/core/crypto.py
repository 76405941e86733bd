"""Encryption of secrets stored in the database (platform passwords, webhook secrets), with key
rotation (``cryptography``'s ``MultiFernet``).

Keys: ``settings.CREDENTIALS_KEYS``, a list of Fernet keys (``Fernet.generate_key()``), from the
``PLATFORM_CREDENTIALS_KEYS`` environment variable (comma-separated; the older single
``PLATFORM_CREDENTIALS_KEY`` is appended). The **first key encrypts**; every key decrypts. To
rotate: put a new key first, keep the old ones after it, run ``manage.py rotate_credentials``
(re-encrypts every stored secret with the first key), then drop the old keys.

Outside production (local, test, demo) an empty list falls back to a key derived from
``SECRET_KEY``; production settings refuse to start without explicit keys.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from apps.core.exceptions import ApplicationError

#: Every encrypted column: (app label, model, field). ``rotate_credentials`` re-encrypts them all.
ENCRYPTED_FIELDS = [
    ("platforms", "Platform", "password_encrypted"),
    ("notifications", "WebhookEndpoint", "secret_encrypted"),
]


class DecryptionError(ApplicationError):
    """A stored secret cannot be decrypted with any configured key."""


def derived_key(secret_key: str) -> str:
    """The development fallback key derived from ``SECRET_KEY`` (never used in production)."""
    digest = hashlib.sha256(("mesh-portal-platform-credentials:" + secret_key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def configured_keys() -> list[str]:
    """The Fernet keys in force, first one encrypting (``CREDENTIALS_KEYS``, else the derived key)."""
    keys = [k for k in getattr(settings, "CREDENTIALS_KEYS", []) if k]
    return keys or [derived_key(settings.SECRET_KEY)]


def _multi() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in configured_keys()])


def encrypt(secret: str) -> str:
    """Encrypt ``secret`` with the first key; returns a Fernet token (ASCII)."""
    return _multi().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a token from :func:`encrypt` with any configured key.

    Raises :class:`DecryptionError` when no key opens it (the key was removed or changed: the
    secret must be entered again).
    """
    try:
        return _multi().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted (was the credentials key changed?). Enter it again."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the first key (``MultiFernet.rotate``); raises :class:`DecryptionError`."""
    try:
        return _multi().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("A stored secret cannot be decrypted with any configured key.") from exc


def valid_fernet_key(key: str) -> bool:
    """Whether ``key`` is a usable Fernet key (32 url-safe base64-encoded bytes)."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True
