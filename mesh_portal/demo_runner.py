"""``make demo``: run the whole portal on a laptop with one command.

``python -m mesh_portal.demo_runner`` does, in order:

1. Reads ``.env`` beside ``manage.py`` the way the settings do (real environment variables win;
   an empty value counts as unset).
2. Without ``DATABASE_URL``: starts (or reuses) the embedded PostgreSQL under ``var/pgdata``.
   Without ``DEMO_WAREHOUSE_URL``: makes sure that cluster has a ``warehouse`` database, the demo
   data platform. Without ``REDIS_URL``: starts (or reuses) the bundled Redis on ``var/redis``.
3. Exports ``DATABASE_URL``, ``REDIS_URL``, ``DEMO_WAREHOUSE_URL``, ``STATIC_COLLECTED=1`` and
   ``DJANGO_SETTINGS_MODULE=mesh_portal.settings.local`` to every child process.
4. Runs ``manage.py migrate --noinput`` and ``manage.py demo_load`` (idempotent; prints the demo
   logins, which are printed again once everything is up), after ``manage.py collectstatic``:
   with ``STATIC_COLLECTED=1`` (exported too) WhiteNoise serves the static files content-hashed,
   gzip/brotli-compressed and cached for a year (``mesh_portal/staticfiles.py``).
5. Runs web (``runserver 127.0.0.1:8000 --nostatic``: WhiteNoise, not runserver, serves static
   files), a Celery worker and Celery beat under honcho, their output interleaved with a coloured
   prefix.

Ctrl-C (or SIGTERM/SIGHUP) stops the three processes, then the embedded PostgreSQL and Redis this
runner used. Services given through ``DATABASE_URL``/``REDIS_URL`` are never stopped. Running it
again is safe: migrations and demo data are idempotent and the embedded services are reused; a
second runner while one is serving refuses to start (port 8000 is taken) and touches nothing.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PORT = 8000
URL = f"http://{HOST}:{PORT}"
SETTINGS = "mesh_portal.settings.local"
RULE = "=" * 72


class DemoError(RuntimeError):
    """A step failed; the message says which."""


def _say(message: str = "") -> None:
    print(f"[demo] {message}" if message else "", flush=True)


def _load_dotenv() -> None:
    """Read ``.env`` like ``settings/base.py`` does, so this runner and the settings agree."""
    import environ

    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _manage(*args: str, capture: bool = False) -> list[str]:
    """Run ``manage.py <args>`` with the exported environment; return its stdout lines.

    With ``capture`` stdout is echoed line by line *and* kept; stderr (logging) goes straight
    to the terminal either way.
    """
    cmd = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    _say("$ manage.py " + " ".join(args))
    if not capture:
        rc = subprocess.call(cmd, cwd=BASE_DIR)
        lines: list[str] = []
    else:
        lines = []
        with subprocess.Popen(cmd, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                lines.append(line.rstrip("\n"))
        rc = proc.returncode
    if rc != 0:
        raise DemoError(f"`manage.py {' '.join(args)}` failed (exit code {rc}).")
    return lines


class EmbeddedServices:
    """Which embedded services this run uses, so that exactly those are stopped at the end."""

    def __init__(self) -> None:
        self.postgres = False
        self.redis = False

    def start(self) -> None:
        from mesh_portal import embedded

        if not os.environ.get("DATABASE_URL"):
            self.postgres = True  # set first: a half-started server is still stopped at the end
            _say(f"starting the embedded PostgreSQL ({embedded.PGDATA.relative_to(BASE_DIR)})")
            os.environ["DATABASE_URL"] = embedded.postgres_url(embedded.PORTAL_DB)
        else:
            _say("PostgreSQL: using DATABASE_URL")
        if not os.environ.get("DEMO_WAREHOUSE_URL"):
            self.postgres = True
            _say(f"embedded PostgreSQL: ensuring the {embedded.WAREHOUSE_DB!r} database")
            os.environ["DEMO_WAREHOUSE_URL"] = embedded.postgres_url(embedded.WAREHOUSE_DB)
        else:
            _say("warehouse: using DEMO_WAREHOUSE_URL")
        if not os.environ.get("REDIS_URL"):
            self.redis = True
            _say(f"starting the embedded Redis ({embedded.REDIS_DIR.relative_to(BASE_DIR)})")
            os.environ["REDIS_URL"] = embedded.redis_url()
        else:
            _say("Redis: using REDIS_URL")

    def stop(self) -> None:
        if not (self.postgres or self.redis):
            return
        from mesh_portal import embedded

        names = " and ".join(n for n, used in (("PostgreSQL", self.postgres), ("Redis", self.redis)) if used)
        _say(f"stopping the embedded {names}")
        try:
            if self.postgres and self.redis:
                embedded.stop_all()
            elif self.redis:
                self._stop_redis(embedded)
            else:
                self._stop_postgres(embedded)
        except Exception as exc:  # noqa: BLE001 - report, never mask the original outcome
            _say(f"could not stop the embedded services ({exc}); run `make stop`")
        else:
            _say("stopped")

    # stop_all() stops both; these are its two halves, for a run that used only one of them.
    @staticmethod
    def _stop_redis(embedded) -> None:
        import redis

        if embedded._redis_alive():
            try:
                redis.Redis(unix_socket_path=str(embedded.REDIS_SOCKET)).shutdown(nosave=True)
            except redis.ConnectionError:
                pass  # shutdown closes the connection: that is the success case

    @staticmethod
    def _stop_postgres(embedded) -> None:
        if (embedded.PGDATA / "postmaster.pid").exists():
            from pgserver._commands import pg_ctl

            pg_ctl(["-w", "stop"], pgdata=embedded.PGDATA, user=embedded._pg_server_user())


def _run_processes() -> int:
    """Run web, worker and beat until Ctrl-C or until one of them exits; return an exit code."""
    from honcho.manager import Manager

    py = shlex.quote(sys.executable)
    manage = shlex.quote(str(BASE_DIR / "manage.py"))
    beat_schedule = shlex.quote(str(BASE_DIR / "var" / "celerybeat-schedule"))
    # Unbuffered so each line reaches the terminal when it is written, not when a buffer fills.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    manager = Manager()
    # --nostatic: WhiteNoise (middleware) serves the collected, compressed static files, DEBUG on or off.
    manager.add_process(
        "web", f"{py} {manage} runserver {HOST}:{PORT} --noreload --nostatic", env=env, cwd=str(BASE_DIR)
    )
    manager.add_process(
        "worker", f"{py} -m celery -A mesh_portal worker -l info --concurrency 2", env=env, cwd=str(BASE_DIR)
    )
    manager.add_process(
        "beat", f"{py} -m celery -A mesh_portal beat -l info -s {beat_schedule}", env=env, cwd=str(BASE_DIR)
    )

    requested = []

    def _on_hangup(signum, frame):  # honcho itself handles SIGINT and SIGTERM
        requested.append(signum)
        manager.terminate()

    signal.signal(signal.SIGHUP, _on_hangup)
    manager.loop()
    rc = manager.returncode or 0
    # 130/143: stopped by Ctrl-C/SIGTERM (honcho's codes) — the normal way to end the demo.
    if requested or rc in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        return 0
    _say(f"a process exited on its own (exit code {rc}); the others were stopped")
    return rc or 1


def _raise_on_signal(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    os.chdir(BASE_DIR)
    # Until honcho takes over, SIGTERM/SIGHUP end the run like Ctrl-C, through the finally below.
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    try:
        import honcho.manager  # noqa: F401
    except ImportError:
        _say("honcho is not installed: run `make install` (the `embedded` extra in pyproject.toml must list it).")
        return 1
    if not _port_free(HOST, PORT):
        _say(f"{HOST}:{PORT} is already in use — is the demo already running? Nothing was started.")
        return 1

    from mesh_portal.embedded import EmbeddedServiceError

    _load_dotenv()
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["STATIC_COLLECTED"] = "1"
    services = EmbeddedServices()
    try:
        services.start()
        # First: with STATIC_COLLECTED every {% static %} needs the manifest (hashed + .gz/.br copies).
        _manage("collectstatic", "--noinput", "--verbosity", "0")
        _manage("migrate", "--noinput")
        logins = _manage("demo_load", capture=True)
        _manage("demo_history", capture=True)  # six months of simulated activity, first start only
        print(RULE)
        print(f"  Mesh Portal demo: {URL}")
        for line in logins:
            print(f"  {line}")
        print("  Ctrl-C stops web, worker and beat, then the embedded services.")
        print(RULE, flush=True)
        return _run_processes()
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except (DemoError, EmbeddedServiceError) as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        # Ctrl-C again while stopping must not leave PostgreSQL half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
