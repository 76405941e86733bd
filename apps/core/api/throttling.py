"""API throttles that fail open when their cache is unreachable.

DRF's throttles count requests in the default cache. When that cache is the Redis that is also
the broker and Redis is down, DRF's throttles raise and every API call answers 500. Throttling is
a protection against abuse, not a security boundary: during a cache outage we let the request
through and log one warning line per request instead.
"""

from __future__ import annotations

import logging

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class FailOpenMixin:
    """``allow_request`` that answers True (and logs) when the throttle's cache raises."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache backend error (redis, memcached, ...)
            logger.warning(
                "Throttle %s fails open: its cache is unavailable (%s: %s).",
                type(self).__name__,
                type(exc).__name__,
                exc,
            )
            return True


class FailOpenAnonRateThrottle(FailOpenMixin, AnonRateThrottle):
    """:class:`rest_framework.throttling.AnonRateThrottle` that fails open (scope ``anon``)."""


class FailOpenUserRateThrottle(FailOpenMixin, UserRateThrottle):
    """:class:`rest_framework.throttling.UserRateThrottle` that fails open (scope ``user``)."""
