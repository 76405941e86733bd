"""API authentication: hashed, expiring tokens (django-rest-knox), throttled on failure.

Scripts send ``Authorization: Token <key>``. The database keeps only a SHA-512 digest of each key
and its first 15 characters (``token_key``, the prefix the admin shows); the key itself is shown
once, when it is created. Keys expire after ``API_TOKEN_TTL_DAYS``.

Failed token authentications are counted per client IP (:class:`FailedAuthenticationThrottle`,
rate ``API_THROTTLE_FAILED_AUTH``, default 20/hour): past the limit every token attempt from that
address answers 429 with ``Retry-After`` until the window passes, so keys cannot be guessed.
"""

from __future__ import annotations

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle


class FailedAuthenticationThrottle(SimpleRateThrottle):
    """Counts failed authentications per client IP (scope ``failed_auth``); :meth:`blocked`
    checks without counting, :meth:`record` counts one failure."""

    scope = "failed_auth"

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _load(self, request) -> bool:
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return True

    def blocked(self, request) -> float | None:
        """Seconds to wait when the failure budget is spent, else ``None``."""
        if not self._load(request):
            return None
        return self.wait() if len(self.history) >= self.num_requests else None

    def record(self, request) -> None:
        if self._load(request):
            self.history.insert(0, self.now)
            self.cache.set(self.key, self.history, self.duration)


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token authentication, refusing (429) clients that failed too often and treating a
    token that is not UTF-8 text as an invalid one (knox would raise ``UnicodeDecodeError``)."""

    def authenticate(self, request):
        throttle = FailedAuthenticationThrottle()
        try:
            wait = throttle.blocked(request) if self._has_token_header(request) else None
        except Exception:  # the cache is down: fail open, the token check still applies
            wait = None
        if wait is not None:
            raise exceptions.Throttled(
                wait=wait, detail="Too many failed authentications from this address; try again later."
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            try:
                throttle.record(request)
            except Exception:  # noqa: BLE001 (a cache outage must not turn a 401 into a 500)
                pass
            raise

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)

    def _has_token_header(self, request) -> bool:
        from rest_framework.authentication import get_authorization_header

        parts = get_authorization_header(request).split()
        return bool(parts) and parts[0].lower() == self.authenticate_header(request).encode().lower()
