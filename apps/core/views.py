"""Liveness and readiness probes for deployments."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Always 200 ``{"status": "ok"}``."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: database, Redis (``REDIS_URL``) and the Celery broker reachable. 200 when all are,
    else 503 with which failed: ``{"status", "checks": {"database", "redis", "broker"}}``."""
    import redis
    from django.conf import settings

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure
        checks["database"] = f"error: {type(exc).__name__}"

    def ping(url: str) -> str:
        try:
            # Celery spells a Unix socket broker redis+socket://; redis-py wants unix://.
            redis.Redis.from_url(url.replace("redis+socket://", "unix://", 1), socket_timeout=1).ping()
            return "ok"
        except Exception as exc:  # noqa: BLE001
            return f"error: {type(exc).__name__}"

    broker_url = settings.CELERY_BROKER_URL
    redis_url = getattr(settings, "REDIS_URL", "") or broker_url
    checks["redis"] = ping(redis_url)
    checks["broker"] = ping(broker_url)  # usually the same server; a ping costs well under a millisecond
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
