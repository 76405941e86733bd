"""Your notifications (the inbox and its badge in the UI): list, mark one or all read.
Reads through ``apps.notifications.selectors`` (only your own), writes through
``apps.notifications.services``."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.notifications import selectors, services
from apps.notifications.choices import DeliveryStatus
from apps.notifications.models import Notification, WebhookDelivery

from . import serializers as s


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="`true`: only unread; `false`: only read."
    )

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

    @extend_schema(
        summary="Mark all your notifications read", tags=["me"], request=None, responses=s.MarkReadResultSerializer
    )
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[], pagination_class=None)
    def read_all(self, request):
        return Response({"marked": services.notification_mark_read(user=request.user)})


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, help_text="pending, delivered or failed.")

    class Meta:
        model = WebhookDelivery
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary="List webhook deliveries (operators)", tags=["governance"]),
    retrieve=extend_schema(summary="Get a webhook delivery (operators)", tags=["governance"]),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The outbound webhook delivery log; failed deliveries can be sent again. Superusers and holders
    of ``notifications.change_webhookdelivery`` only (404 for anyone else)."""

    serializer_class = s.WebhookDeliverySerializer
    lookup_value_regex = "[0-9]{1,18}"
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return selectors.webhook_delivery_list(user=self.request.user)

    @extend_schema(
        summary="Redeliver a failed webhook delivery",
        tags=["governance"],
        request=None,
        responses={202: s.WebhookDeliverySerializer},
        description="Same event id, a fresh round of attempts; 400 while it is still pending.",
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk: str):
        delivery = self.get_object()
        delivery = services.webhook_redeliver(delivery_id=delivery.pk, actor=request.user)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
