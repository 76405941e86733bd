"""Pages keep working while the shared Redis is down (issue 11): the badge cache and the cached
sessions fail open. The "down" Redis is a closed port, not the shared server."""

import pytest
from django.test import override_settings
from django.urls import reverse

from mesh_portal.settings.base import shared_cache
from tests.accounts.factories import UserFactory
from tests.faults import free_port

pytestmark = pytest.mark.django_db


def test_pages_and_sessions_work_while_the_shared_redis_is_down(client):
    # given: the shared cache (badges, sessions) points at a Redis that is not running
    dead = shared_cache(f"redis://127.0.0.1:{free_port()}/0")
    user = UserFactory()
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "shared": dead},
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        SESSION_CACHE_ALIAS="shared",
    ):
        # when: a person signs in and browses
        client.force_login(user)
        response = client.get(reverse("catalog:marketplace"))
        again = client.get(reverse("catalog:marketplace"))
    # then: served from the database, never a 500
    assert response.status_code == 200 and again.status_code == 200
    assert again.wsgi_request.user == user


def test_the_demos_socket_redis_url_works_for_the_shared_cache(tmp_path):
    """``make demo``'s embedded Redis listens on a Unix socket, spelt ``redis+socket://`` for Celery;
    the shared cache must reach it too (before the fix ``migrate`` failed: redis-py refused the scheme)."""
    import subprocess
    import time

    from django.utils.module_loading import import_string

    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        config = shared_cache(f"redis+socket://{sock}")
        assert config["LOCATION"] == f"unix://{sock}"
        cache = import_string(config["BACKEND"])(
            config["LOCATION"], {k: v for k, v in config.items() if k not in {"BACKEND", "LOCATION"}}
        )
        cache.set("k", "v")
        assert cache.get("k") == "v"
    finally:
        server.terminate()
        server.wait(timeout=10)
