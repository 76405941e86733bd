"""Who may do what with data contracts: one place the views, API and services ask."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def can_manage_contract(user, product) -> bool:
    """Owners of the product's owner team (``change_dataproduct``) publish contracts, check
    drift, accept findings and handle incidents."""
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("catalog.change_dataproduct", product))


def require_manage_contract(user, product) -> None:
    """Raises ``PermissionDenied`` unless :func:`can_manage_contract`."""
    if not can_manage_contract(user, product):
        raise PermissionDenied("Only owners of the product's owner team can do this.")
