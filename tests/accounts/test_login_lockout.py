"""Issue 11: web login locks out after repeated failures (django-axes), and failed API token
authentications are throttled per address (100 wrong passwords for ``admin`` then the right one,
and any number of wrong tokens, used to be accepted)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_wrong_passwords_lock_the_login_even_for_the_right_password(client, settings):
    # given a user and the configured limit
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(username="admin2")
    user.set_password("the-right-password-42")
    user.save()
    # when three wrong passwords are tried
    for _ in range(3):
        response = _login(client, "admin2", "wrong")
    # then the login is locked with a clear message, and even the right password is refused
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    locked = _login(client, "admin2", "the-right-password-42")
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_signs_in_and_resets_the_count(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(username="ana2")
    user.set_password("pw-ana-2026!")
    user.save()
    _login(client, "ana2", "wrong")
    _login(client, "ana2", "wrong")
    assert _login(client, "ana2", "pw-ana-2026!").status_code == 302
    client.logout()
    _login(client, "ana2", "wrong")
    _login(client, "ana2", "wrong")
    assert _login(client, "ana2", "pw-ana-2026!").status_code == 302


def test_bad_api_tokens_are_throttled_per_address(monkeypatch):
    # given a low failure budget
    from apps.accounts.authentication import FailedAuthenticationThrottle

    monkeypatch.setattr(FailedAuthenticationThrottle, "THROTTLE_RATES", {"failed_auth": "5/hour"})
    cache.clear()
    try:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
        # when five wrong tokens are tried, each is a 401
        assert [client.get("/api/v1/me/").status_code for _ in range(5)] == [401] * 5
        # then the sixth try is a 429 with Retry-After, whatever the token
        throttled = client.get("/api/v1/me/")
        assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
        assert "failed authentications" in throttled.json()["message"]
        # and a non-UTF-8 token is a 401/429, never a 500
        client.credentials(HTTP_AUTHORIZATION=b"Token \xff\xfe".decode("latin-1"))
        assert client.get("/api/v1/me/").status_code in (401, 429)
    finally:
        cache.clear()


def test_a_non_utf8_token_is_a_401():
    cache.clear()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=b"Token \xff\xfe".decode("latin-1"))
    assert client.get("/api/v1/me/").status_code == 401
