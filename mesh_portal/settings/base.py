"""Settings shared by every environment.

Everything that differs between deployments comes from environment variables, documented in
``.env.example``. ``local``, ``test`` and ``production`` each define ``DATABASES`` and the broker.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A .env file beside manage.py is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "guardian",
    "django_htmx",
    "rest_framework",
    "knox",  # hashed, expiring API tokens (apps/accounts/authentication.py)
    "axes",  # web login lockout after repeated failures
    "csp",  # Content-Security-Policy header and nonces
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.audit",
    "apps.accounts",
    "apps.catalog",
    "apps.contracts",
    "apps.platforms",
    "apps.sync",
    "apps.access",
    "apps.notifications",
    "apps.search",
    "apps.insights",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # 400 for a NUL (%00) in the path or the query string: never a DataError 500.
    "apps.core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy (nonces for inline scripts/styles), then Permissions-Policy.
    "csp.middleware.CSPMiddleware",
    "apps.core.middleware.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: answers the lockout page to a locked-out login (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mesh_portal.urls"
WSGI_APPLICATION = "mesh_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.access.context_processors.inbox",
                "apps.notifications.context_processors.unread",
                "mesh_portal.navigation.navigation",
                "apps.insights.context_processors.insights_nav",
                "csp.context_processors.nonce",  # {{ CSP_NONCE }} for the rare inline <script>/<style>
            ],
            # {% url %} with memoised reversing (apps/core/templatetags/cached_url.py).
            "builtins": ["apps.core.templatetags.cached_url"],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username/address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # guardian's object permissions, cached per user until people or permissions change.
    "apps.accounts.backends.CachedObjectPermissionBackend",
]
# guardian.W001 looks for guardian's own backend by its dotted path; ours above is a subclass of it.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Browser security headers ------------------------------------------------------------------
# Strict Content-Security-Policy: scripts, styles, images, fonts and XHR from our own origin only
# (assets are vendored under static/); an inline <script> or <style> needs nonce="{{ CSP_NONCE }}";
# inline event handlers (onclick=...), style="..." attributes and javascript: URLs are refused.
# Pico CSS draws its icons from data: URIs, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
# Permissions-Policy: the portal uses none of these browser features (apps/core/middleware.py).
PERMISSIONS_POLICY = env(
    "PERMISSIONS_POLICY",
    default="accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()",
)

# --- Login lockout (django-axes) ------------------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked
# out for AXES_COOLOFF_MINUTES (a 429 page saying so); a successful login resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The address is REMOTE_ADDR: behind a reverse proxy that is the proxy's, so the lockout is then
# per username (see docs/security.md, "Hardening").

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"  # each persona lands on their page (mesh_portal.navigation)
LOGOUT_REDIRECT_URL = "login"

# django-guardian: no anonymous user row; forbidden objects answer 404 in our selectors.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="mesh-portal@localhost")

# --- REST API (/api/v1/, apps/*/api/) ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First so that anonymous calls get 401 with "WWW-Authenticate: Token".
        # Scripts: "Authorization: Token <key>", hashed and expiring (knox), throttled on failure.
        "apps.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser (CSRF enforced)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON within the limits of apps/core/parsing.py (size, depth, number size): 400, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "apps.core.api.filters.StableOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttling.FailOpenAnonRateThrottle",
        "apps.core.api.throttling.FailOpenUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="30/minute"),
        "user": env("API_THROTTLE_USER", default="1200/minute"),
        # Failed token authentications per client address (apps/accounts/authentication.py).
        "failed_auth": env("API_THROTTLE_FAILED_AUTH", default="20/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (django-rest-knox): stored as SHA-512 digests, shown once, valid API_TOKEN_TTL_DAYS.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mesh Portal API",
    "DESCRIPTION": (
        "Everything the portal does, for scripts and tools: find data products, request and decide "
        "access, publish data products and data contracts from CI. Authenticate with a session "
        "(browser) or `Authorization: Token <key>` (create a token on your profile page). Errors "
        'always have the body `{"message": "...", "errors": {"field": ["..."]}}`; objects you may '
        "not see answer 404 like missing ones."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # vendored Swagger UI assets: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AccessRequestStatusEnum": "apps.access.choices.AccessRequestStatus",
        "GrantStatusEnum": "apps.access.choices.GrantStatus",
        "DataProductStatusEnum": "apps.catalog.choices.DataProductStatus",
        "SyncRunStatusEnum": "apps.platforms.choices.SyncRunStatus",
        "AssetKindEnum": "apps.catalog.choices.AssetKind",
        "PlatformKindEnum": "apps.platforms.choices.PlatformKind",
    },
}
# Throttling counts requests in this cache; point it at Redis (redis://...) when several web
# processes serve the API so that the limits hold across them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}


def shared_cache(redis_url: str) -> dict:
    """``CACHES["shared"]``: the Redis every web and worker process shares. It holds the cached
    navigation badges (``apps.core.freshness``, invalidated by writes from any process) and, in
    ``local``/``production``, the sessions (``cached_db``: read from Redis, written through to the
    database). Keys are prefixed ``mp:``, apart from Celery's."""
    # Kombu (Celery) spells a Unix socket ``redis+socket:///path``; redis-py, under Django's cache,
    # ``unix:///path`` (the embedded Redis of ``make demo`` listens on a socket only).
    if redis_url.startswith("redis+socket://"):
        redis_url = "unix://" + redis_url.removeprefix("redis+socket://")
    # Fails open (apps.core.cache): a Redis outage is a cache miss, never a 500.
    return {
        "BACKEND": "apps.core.cache.FailOpenRedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": "mp",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
    }


# Persistent database connections: opening one costs a PostgreSQL backend process per request
# (issue 13's profile). Checked before reuse, so a restarted database costs one error-free retry.
DATABASE_CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)

# --- Celery -----------------------------------------------------------------------------------
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE

# --- Data contracts (apps.contracts) ---
# How often each product's contract quality rules run, and the statement timeout they run under.
CONTRACT_QUALITY_INTERVAL_MINUTES = env.int("CONTRACT_QUALITY_INTERVAL_MINUTES", default=60)
CONTRACT_QUALITY_STATEMENT_TIMEOUT_SECONDS = env.float("CONTRACT_QUALITY_STATEMENT_TIMEOUT_SECONDS", default=30.0)
# PostgreSQL role quality queries SET LOCAL ROLE to (a role with only SELECT); empty: the service account.
CONTRACT_QUALITY_PG_ROLE = env.str("CONTRACT_QUALITY_PG_ROLE", default="")
# Local directory holding the checkouts of the product teams' repositories (kept up to date by the
# operators, e.g. a git pull job): contracts are imported from files under it, never from the
# network and never from outside it (manage.py contract_import_repo). Empty: importing from
# repositories is off.
CONTRACT_REPOSITORY_ROOT = env.str("CONTRACT_REPOSITORY_ROOT", default="")

# --- Elasticsearch (optional search backend; PostgreSQL search is the default) ---------------
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL", default="")
# Index (alias) name of the data product search index on Elasticsearch.
ELASTICSEARCH_INDEX = env("ELASTICSEARCH_INDEX", default="mesh-portal-products")
# "postgres" or "elasticsearch"; empty picks Elasticsearch when ELASTICSEARCH_URL is set.
SEARCH_BACKEND = env("SEARCH_BACKEND", default="")

# --- Mesh Portal ------------------------------------------------------------------------------
# Insights fact table: events older than this many days are pruned daily (0 keeps everything);
# daily KPI snapshots keep their trend lines. KPI weeks start on Monday in TIME_ZONE.
INSIGHTS_RETENTION_DAYS = env.int("INSIGHTS_RETENTION_DAYS", default=730)
# Fernet keys that encrypt secrets stored in the database (platform passwords, webhook secrets):
# PLATFORM_CREDENTIALS_KEYS, comma-separated, the first encrypts and all decrypt (rotate with
# `manage.py rotate_credentials`); the older single PLATFORM_CREDENTIALS_KEY is appended. Empty:
# derived from SECRET_KEY (local and test only; production refuses to start without keys).
PLATFORM_CREDENTIALS_KEY = env("PLATFORM_CREDENTIALS_KEY", default="")
CREDENTIALS_KEYS = [
    *env.list("PLATFORM_CREDENTIALS_KEYS", default=[]),
    *([PLATFORM_CREDENTIALS_KEY] if PLATFORM_CREDENTIALS_KEY else []),
]
# Every role the portal creates on a platform starts with this prefix, so that several portals
# (or test runs) can share one cluster and reconciliation only ever touches its own roles.
GRANT_ROLE_PREFIX = env("GRANT_ROLE_PREFIX", default="mp_grant_")
# Absolute base of links in notification emails, e.g. https://portal.example.com
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# Outbound webhooks (ITSM hand-off): seconds to wait for an endpoint before retrying later.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A failing endpoint is retried with exponential backoff: BASE seconds, doubled each time, capped
# at MAX, for MAX_ATTEMPTS attempts (defaults: 30 s .. 1 h, 25 attempts, about 18 hours); then the
# delivery is failed and can be redelivered from the admin or the API.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=25)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
# A task waiting for its retry time longer than Redis' visibility timeout would be handed to a
# second worker too: keep the timeout above the longest webhook backoff.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(max(3600, WEBHOOK_RETRY_MAX_SECONDS + 600))}
# Where the demo finds the shared datasets (AdventureWorks, jaffle_shop, ODCS).
SHARED_DATASETS_DIR = env.path("SHARED_DATASETS_DIR", default=BASE_DIR.parent / "shared" / "datasets")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
