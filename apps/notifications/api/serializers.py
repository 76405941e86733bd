"""Notification API shapes."""

from __future__ import annotations

from rest_framework import serializers

from apps.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField(help_text="True until you mark it read.")

    class Meta:
        model = Notification
        fields = ["id", "verb", "object_type", "object_id", "message", "url", "created_at", "read_at", "unread"]
        extra_kwargs = {
            "id": {"help_text": "Notification id."},
            "verb": {
                "help_text": "What happened, decision_needed, decided, reminder, escalation, grant_active, grant_expiring, grant_revoked or grant_failed."
            },
            "object_type": {"help_text": "e.g. `access_request`, `grant`."},
            "object_id": {"help_text": "Id of that object."},
            "message": {"help_text": "Readable text."},
            "url": {"help_text": "Portal page about it (path)."},
            "created_at": {"help_text": "ISO 8601."},
            "read_at": {"help_text": "ISO 8601; null: unread."},
        }

    def get_unread(self, obj) -> bool:
        return obj.read_at is None


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications changed to read (0 when already read).")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.CharField(source="endpoint.name", help_text="Name of the endpoint.")

    class Meta:
        from apps.notifications.models import WebhookDelivery

        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "event_id",
            "status",
            "attempts",
            "status_code",
            "error",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields
