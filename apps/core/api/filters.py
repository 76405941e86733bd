"""API filters: ordering with a stable tie-break (pagination never repeats or skips a row) and
ISO 8601 date-time filters that refuse impossible UTC offsets with 400."""

import datetime as _dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField as _IsoDateTimeField
from django_filters.fields import RangeField
from django_filters.widgets import DateRangeWidget
from rest_framework.filters import OrderingFilter


class StableOrderingFilter(OrderingFilter):
    """``?ordering=name`` / ``-created_at``; the primary key always breaks ties (pages are stable)."""

    def get_ordering(self, request, queryset, view):
        ordering = list(
            super().get_ordering(request, queryset, view)
            or queryset.query.order_by
            or queryset.model._meta.ordering
            or []
        )
        if not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering.append("pk")
        return ordering


# --- date-time filters that never reach the database with an impossible value ------------------

#: Real-world UTC offsets run from -12:00 to +14:00; PostgreSQL refuses some larger ones (a 500).
MAX_UTC_OFFSET = _dt.timedelta(hours=14)


class IsoDateTimeField(_IsoDateTimeField):
    """ISO 8601 date-time; refuses a UTC offset beyond ±14:00 with a field error and hands the
    value on in UTC."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError("The UTC offset must be between -14:00 and +14:00.", code="invalid")
        return parsed.astimezone(_dt.UTC)


class IsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((IsoDateTimeField(), IsoDateTimeField()), *args, **kwargs)


class IsoDateTimeFromToRangeFilter(django_filters.RangeFilter):
    """``<name>_after`` / ``<name>_before`` in ISO 8601, with bounded UTC offsets (see :class:`IsoDateTimeField`)."""

    field_class = IsoDateTimeRangeField
