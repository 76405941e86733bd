"""Deployment guards: production settings refuse bad config; migrations are committed;
``check --deploy`` is clean; probes answer."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "mesh_portal.settings.production",
    "SECRET_KEY": "x7Qm2vLr9pT4sW8yB1nC6dF3gH5jK0zXa_ProductionLikeSecretKey_2026!",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mesh_portal",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "ALLOWED_HOSTS": "portal.example.com",
    "PLATFORM_CREDENTIALS_KEYS": "q2s3Mh1hV4bY6cF8nG0kJ2lP4rT6vX8zA1cE3gI5kM0=",
}


def run_manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "DEBUG"}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "override,message",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"DEBUG": "True"}, "DEBUG must be off"),
        # issue 11: a short key, the compose file's public default, no credentials key, a bad one
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too weak or public"),
        ({"SECRET_KEY": "local-compose-only-insecure-secret-key-0123456789abcdefghijklmn"}, "too weak or public"),
        ({"SECRET_KEY": "a" * 60}, "too weak or public"),
        ({"PLATFORM_CREDENTIALS_KEYS": ""}, "PLATFORM_CREDENTIALS_KEYS is required"),
        ({"PLATFORM_CREDENTIALS_KEYS": "not-a-key"}, "is not a Fernet key"),
    ],
)
def test_production_refuses_to_start_misconfigured(override, message):
    result = run_manage("check", env_overrides={**PROD_ENV, **override})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_migrations_are_committed():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_liveness_and_readiness(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}
