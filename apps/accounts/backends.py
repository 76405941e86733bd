"""django-guardian's object permission backend with its answers cached per user.

Every product page asks ``has_perm("catalog.change_dataproduct", product)`` (edit links, contract
and quality actions), and guardian answers each call with two queries (the user's and the groups'
permissions on the object). This backend reads, once per user and model, every object permission
the user holds on that model (directly or through groups: guardian's generic tables, the same rows
``ObjectPermissionChecker.get_perms`` reads) and keeps them in the shared cache under the ``people``
topic of :mod:`apps.core.freshness` (users, teams, memberships, groups, guardian's tables): an
assigned or removed permission, a membership or a deactivated account shows on the very next
request, from any process. A person browsing many products asks nothing more per product.

Superusers, inactive and anonymous users, and objects without a primary key go straight to
guardian (no query is involved for the first two).
"""

from __future__ import annotations

from guardian.backends import ObjectPermissionBackend
from guardian.exceptions import WrongAppError
from guardian.utils import get_content_type


class CachedObjectPermissionBackend(ObjectPermissionBackend):
    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        """``perm`` ("app_label.codename" or "codename") on ``obj``, as guardian answers it;
        raises guardian's ``WrongAppError`` when the app label is not ``obj``'s."""
        if (
            obj is None
            or getattr(obj, "pk", None) is None
            or not user_obj.is_authenticated
            or not user_obj.is_active
            or user_obj.is_superuser
        ):
            return super().has_perm(user_obj, perm, obj)
        from apps.core.freshness import cached_for_user

        content_type = get_content_type(obj)
        codename = perm
        if "." in perm:
            app_label, codename = perm.split(".", 1)
            if app_label not in (obj._meta.app_label, content_type.app_label):
                raise WrongAppError(f"Permission {perm!r} does not belong to {obj._meta.label}.")
        by_object = cached_for_user(
            user_obj,
            f"object_permissions:{content_type.pk}",
            lambda: _object_permissions(user_obj, content_type),
            topics=("people",),
        )
        return codename in by_object.get(str(obj.pk), ())


def _object_permissions(user, content_type) -> dict[str, frozenset[str]]:
    """Object pk (guardian stores it as text) -> codenames ``user`` holds on it, directly or
    through a group. Two queries."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    found: dict[str, set[str]] = {}
    rows = UserObjectPermission.objects.filter(user=user, content_type=content_type).values_list(
        "object_pk", "permission__codename"
    )
    group_rows = GroupObjectPermission.objects.filter(group__user=user, content_type=content_type).values_list(
        "object_pk", "permission__codename"
    )
    for object_pk, codename in [*rows, *group_rows]:
        found.setdefault(object_pk, set()).add(codename)
    return {object_pk: frozenset(codenames) for object_pk, codenames in found.items()}
