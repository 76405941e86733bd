"""Your notifications (the inbox and its badge in the UI): list, mark one or all read.
Reads through ``apps.notifications.selectors`` (only your own), writes through
``apps.notifications.services``."""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.notifications import selectors, services
from apps.notifications.models import Notification

from . import serializers as s


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull",
                                          help_text="`true`: only unread; `false`: only read.")

    class Meta:
        model = Notification
        fields = ["unread"]


@extend_schema_view(
    list=extend_schema(summary="List your notifications, newest first", tags=["me"]),
    retrieve=extend_schema(summary="Get one of your notifications", tags=["me"]),
)
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your in-app notifications about access requests and grants. Nobody sees anyone else's."""

    serializer_class = s.NotificationSerializer
    lookup_value_regex = "[0-9]{1,18}"
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.notification_list(user=self.request.user)

    @extend_schema(summary="Mark a notification read", tags=["me"], request=None, responses=s.MarkReadResultSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk: str):
        notification = self.get_object()
        return Response({"marked": services.notification_mark_read(user=request.user, notification_id=notification.pk)})

    @extend_schema(summary="Mark all your notifications read", tags=["me"], request=None, responses=s.MarkReadResultSerializer)
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[], pagination_class=None)
    def read_all(self, request):
        return Response({"marked": services.notification_mark_read(user=request.user)})


