"""Restricted querysets by construction (NetBox's ``RestrictedQuerySet.restrict(user, action)``).

A model whose manager is built from :class:`RestrictedQuerySet` answers ``Model.objects.visible_to(user)``
with the rows ``user`` may see. The rule itself lives with the app's other "who may do what" rules
(``apps.access.permissions``, ``apps.catalog.selectors``) and is registered with
:func:`visibility_rule` when the app is ready, so models never import the modules that know the rules
(no import cycle between models and permissions).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import models

_RULES: dict[str, Callable] = {}


def visibility_rule(model_label: str):
    """Register the decorated ``rule(queryset, user) -> queryset`` for ``model_label`` (``"app.Model"``)."""

    def register(rule: Callable) -> Callable:
        _RULES[model_label] = rule
        return rule

    return register


class RestrictedQuerySet(models.QuerySet):
    def visible_to(self, user) -> RestrictedQuerySet:
        """The rows of this queryset ``user`` may see (the model's registered rule). Raises
        ``ImproperlyConfigured`` when no rule is registered for the model."""
        rule = _RULES.get(self.model._meta.label)
        if rule is None:
            raise ImproperlyConfigured(f"No visibility rule is registered for {self.model._meta.label}.")
        return rule(self, user)
