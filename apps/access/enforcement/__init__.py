"""Grant adapters: enforce access grants on a platform. One module per platform kind, one interface."""
from .base import GrantAdapter, GrantSpec, PlatformGrantError, TransientPlatformError, get_grant_adapter

__all__ = ["GrantAdapter", "GrantSpec", "PlatformGrantError", "TransientPlatformError", "get_grant_adapter"]
