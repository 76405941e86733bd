"""Settings for the test suite: the real local PostgreSQL and Redis, never the embedded ones.

``CELERY_TASK_ALWAYS_EAGER`` runs a task inline *only where a test commits and runs on-commit
callbacks*; the end-to-end test in ``tests/access/test_worker_e2e.py`` runs a real worker.
"""

import secrets

from .base import *  # noqa: F403
from .base import CACHES, env, shared_cache

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
DATABASES = {"default": env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/mesh_portal")}
# Real Redis, its own database number so a test run never touches the demo's queues.
REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/13")
CELERY_BROKER_URL = REDIS_URL
# The badges' cache (apps.core.freshness) on the real Redis, as in production; keys carry the
# database name, so parallel test processes never share entries. Sessions stay in the database.
CACHES["shared"] = shared_cache(REDIS_URL)
# A real worker started by a test or a benchmark sets CELERY_TASK_ALWAYS_EAGER=false: the tasks
# it publishes go through the broker as in production, not inline inside the task publishing them.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Roles are cluster-wide in PostgreSQL and MariaDB: each test process gets its own prefix so
# parallel runs (and leftovers of an aborted run) never collide.
GRANT_ROLE_PREFIX = env("GRANT_ROLE_PREFIX", default=f"mpt_{secrets.token_hex(3)}_")
# Warehouse used by platform tests: the real local PostgreSQL / MariaDB.
TEST_WAREHOUSE_PG_URL = env("TEST_WAREHOUSE_PG_URL", default="postgresql://postgres@127.0.0.1:5432/postgres")
TEST_WAREHOUSE_MARIADB_URL = env("TEST_WAREHOUSE_MARIADB_URL", default="mysql://root@127.0.0.1:3306/test")
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The API's generated tests send thousands of requests a minute; throttling has its own test.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {  # noqa: F405
        "anon": "100000/minute",
        "user": "100000/minute",
        "failed_auth": "100000/minute",
    },
}
# Login lockout stays on (its tests log in wrongly on purpose); tests sign in with force_login,
# which axes does not count.

# The PostgreSQL search backend is the one under test; the Elasticsearch tests build their own.
SEARCH_BACKEND = env("SEARCH_BACKEND", default="postgres")
