"""django-filter FilterSets used by selectors (HackSoft style: the selector applies them)."""
from __future__ import annotations

import django_filters
from django import forms

from .models import AuditEvent

OBJECT_TYPES = [
    ("access_request", "Access request"), ("grant", "Grant"), ("access_policy", "Access policy"),
    ("purpose", "Purpose"), ("delegation", "Delegation"),
]


class AuditEventFilter(django_filters.FilterSet):
    """Filters of the stewards' audit log: action (prefix), object, actor, date range."""

    action = django_filters.CharFilter(lookup_expr="startswith",
                                       help_text="e.g. access_request.approved, or a prefix: access_policy")
    object_type = django_filters.ChoiceFilter(choices=OBJECT_TYPES, empty_label="Any")
    object_id = django_filters.CharFilter(label="Object id")
    actor = django_filters.CharFilter(field_name="actor__username", lookup_expr="iexact", help_text="Username")
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte",
                                      widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor", "since", "until"]
