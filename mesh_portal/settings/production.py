"""Production settings: secure by default, refuses to start misconfigured.

Required: ``SECRET_KEY`` (50+ random characters, not a public one), ``PLATFORM_CREDENTIALS_KEYS``
(Fernet keys), ``DATABASE_URL``, ``REDIS_URL``, ``ALLOWED_HOSTS``.
"""

from django.core.exceptions import ImproperlyConfigured

from apps.core.crypto import valid_fernet_key as _valid_fernet_key

from .base import *  # noqa: F403
from .base import CACHES, env, shared_cache

if DEBUG:  # noqa: F405
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG or set DEBUG=False).")
if not SECRET_KEY:  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY is required in production; see .env.example.")
# Keys published in this repository (docker-compose.yml, the test settings) or too weak to sign
# sessions: refused, like Django's own security.W009 but fatal.
_PUBLIC_SECRET_KEYS = {
    "local-compose-only-insecure-secret-key-0123456789abcdefghijklmn",
    "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
}
if (
    len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY in _PUBLIC_SECRET_KEYS  # noqa: F405
    or SECRET_KEY.startswith("django-insecure")
    or "insecure" in SECRET_KEY.lower()
):  # noqa: F405
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak or public: use 50+ random characters, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
if not CREDENTIALS_KEYS:  # noqa: F405
    raise ImproperlyConfigured(
        "PLATFORM_CREDENTIALS_KEYS is required in production (stored platform passwords and webhook secrets "
        "are never encrypted with a key derived from SECRET_KEY): generate one with "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
    )
_bad_keys = [i for i, key in enumerate(CREDENTIALS_KEYS, 1) if not _valid_fernet_key(key)]  # noqa: F405
if _bad_keys:
    raise ImproperlyConfigured(
        f"PLATFORM_CREDENTIALS_KEYS: key {_bad_keys[0]} is not a Fernet key (32 url-safe base64 bytes)."
    )

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CACHES["shared"] = shared_cache(REDIS_URL)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "shared"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "mesh_portal.staticfiles.CompressedManifestStorage"},
}
