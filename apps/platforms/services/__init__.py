"""Writes for platforms (the registry, credentials and logins). Metadata sync is ``apps.sync``."""

from .identities import (
    platform_identity_create,
    platform_identity_delete,
    team_platform_identity_create,
    team_platform_identity_delete,
)

__all__ = [
    "platform_identity_create",
    "platform_identity_delete",
    "team_platform_identity_create",
    "team_platform_identity_delete",
]
