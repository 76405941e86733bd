"""Encryption of platform passwords at rest: :mod:`apps.core.crypto` (MultiFernet, rotating keys),
with the platform's own message when a stored password cannot be decrypted."""

from apps.core import crypto as _core
from apps.core.exceptions import ApplicationError


def encrypt(secret: str) -> str:
    """Encrypt ``secret``; returns a Fernet token (ASCII)."""
    return _core.encrypt(secret)


def decrypt(token: str) -> str:
    """Decrypt a token from :func:`encrypt`.

    Raises ApplicationError when no configured key opens it (the secret must be re-entered).
    """
    try:
        return _core.decrypt(token)
    except _core.DecryptionError as exc:
        raise ApplicationError(
            "The stored platform password cannot be decrypted (was the credentials key changed?). "
            "Enter the password again."
        ) from exc
