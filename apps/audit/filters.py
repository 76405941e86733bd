"""The one FilterSet of the audit trail: the stewards' page (through ``selectors.audit_event_list``) and
the REST API (``/api/v1/audit-events/``) filter with it."""

from __future__ import annotations

import django_filters
from django import forms

from apps.core.api.filters import IsoDateTimeFromToRangeFilter

from .models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    """Action (an action or its prefix), kind and number of object, actor (username), a date range
    (``since``/``until``, days, inclusive) and an exact time range (``at_after``/``at_before``, ISO 8601).
    An invalid value is a field error (400 in the API, the form's error on the page)."""

    action = django_filters.CharFilter(
        lookup_expr="startswith",
        max_length=64,
        label="What happened (starts with)",
        help_text="An action, e.g. access_request.approved, or a prefix: access_policy",
    )
    object_type = django_filters.CharFilter(
        max_length=64, label="Kind of object", help_text="e.g. access_request, grant, output_port, data_product"
    )
    object_id = django_filters.CharFilter(max_length=64, label="Object number")
    actor = django_filters.CharFilter(
        field_name="actor__username", lookup_expr="iexact", max_length=150, label="Who (username)"
    )
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    at = IsoDateTimeFromToRangeFilter(help_text="`at_after` / `at_before` (ISO 8601).")

    #: Fields the stewards' page shows (the API takes all).
    PAGE_FIELDS = ("action", "object_type", "object_id", "actor", "since", "until")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor", "since", "until", "at"]
