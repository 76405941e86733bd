"""Access API shapes: access requests, decisions, grants, audit events, KPIs."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access.models import AccessRequest, AuditEvent, Grant, GrantAttempt
from apps.accounts.models import Team
from apps.accounts.selectors import team_list_for_user
from apps.catalog.models import OutputPort
from apps.catalog.selectors import output_port_visible


class GrantBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Grant
        fields = ["id", "status", "status_reason", "principal", "role_name", "applied_at", "expires_at"]
        extra_kwargs = {"id": {"help_text": "Grant id."}, "status": {"help_text": "pending, applying, active, revoking, revoked or failed."},
                        "applied_at": {"help_text": "When it became active on the platform."},
                        "expires_at": {"help_text": "When it will be revoked; null: permanent."}}


class AccessRequestSerializer(serializers.ModelSerializer):
    data_product = serializers.SlugRelatedField(source="output_port.data_product", slug_field="slug", read_only=True,
                                                help_text="Slug of the data product.")
    output_port_name = serializers.CharField(source="output_port.name", read_only=True, help_text="Name of the output port.")
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="Username of the consumer.")
    on_behalf_of_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True, help_text="Team slug, or null: for the requester.")
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True, help_text="Who approved or rejected it.")
    grant = serializers.SerializerMethodField(help_text="The grant on the platform, once approved.")
    can_decide = serializers.SerializerMethodField(help_text="Whether you may approve or reject it now.")

    class Meta:
        model = AccessRequest
        fields = ["id", "data_product", "output_port", "output_port_name", "requester", "on_behalf_of_team", "purpose",
                  "justification", "columns", "expires_at", "status", "submitted_at", "decided_at", "decided_by",
                  "decision_comment", "grant", "can_decide", "created_at", "updated_at"]
        extra_kwargs = {
            "id": {"help_text": "Access request id."},
            "output_port": {"help_text": "Id of the output port access is asked for."},
            "purpose": {"help_text": "What the data will be used for."},
            "justification": {"help_text": "Why the requester needs it."},
            "status": {"help_text": "draft → submitted → pending_approval → approved → provisioning → active → expired | revoked; or rejected, cancelled, failed."},
            "submitted_at": {"help_text": "ISO 8601."},
            "decided_at": {"help_text": "ISO 8601."},
            "decision_comment": {"help_text": "The approver's comment, or the reason for a rejection."},
            "created_at": {"help_text": "ISO 8601."},
            "updated_at": {"help_text": "ISO 8601."},
        }

    @extend_schema_field(GrantBriefSerializer(allow_null=True))
    def get_grant(self, obj):
        grant = getattr(obj, "grant", None)
        return GrantBriefSerializer(grant).data if grant is not None else None

    def get_can_decide(self, obj) -> bool:
        from apps.access.selectors import access_request_can_decide

        return access_request_can_decide(user=self.context["request"].user, access_request=obj)


class AccessRequestCreateSerializer(serializers.Serializer):
    """Ask for access to one output port. The product's owners decide."""

    output_port = serializers.PrimaryKeyRelatedField(queryset=OutputPort.objects.none(), help_text="Id of the output port (see a product's `output_ports`).")
    purpose = serializers.CharField(max_length=200, help_text="What you will use the data for (shown to approvers).")
    justification = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                          help_text="Why you need it.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="When access ends (ISO 8601, in the future); null or absent: permanent.")
    on_behalf_of_team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none(), required=False, allow_null=True,
                                                     default=None, help_text="Slug of a team you belong to; absent: yourself.")
    accept_terms = serializers.BooleanField(required=False, default=False,
                                            help_text="Must be true when the data product has terms of use.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:  # schema generation
            return
        user = request.user
        self.fields["output_port"].queryset = output_port_visible(user=user).select_related("data_product__owner_team")
        self.fields["on_behalf_of_team"].queryset = team_list_for_user(user=user)

    def validate(self, data):
        if data["output_port"].data_product.terms_of_use and not data.get("accept_terms"):
            raise serializers.ValidationError({"accept_terms": ["Accept the terms of use to request access."]})
        return data


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                    help_text="Optional note for the requester.")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=5000, help_text="Why: required, shown to the requester.")


class GrantAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = GrantAttempt
        fields = ["action", "started_at", "duration_ms", "succeeded", "summary", "error"]
        extra_kwargs = {"action": {"help_text": "apply or revoke."}, "started_at": {"help_text": "ISO 8601."},
                        "duration_ms": {"help_text": "Milliseconds."}, "succeeded": {"help_text": "Whether it worked."},
                        "summary": {"help_text": "What was run (no secrets)."}, "error": {"help_text": "Why it failed."}}


class GrantSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")
    data_product = serializers.SlugRelatedField(source="access_request.output_port.data_product", slug_field="slug",
                                                read_only=True, help_text="Slug of the data product.")
    consumer = serializers.SlugRelatedField(source="access_request.requester", slug_field="username", read_only=True,
                                            help_text="Username of the consumer.")
    can_revoke = serializers.SerializerMethodField(help_text="Whether you may revoke it.")

    class Meta:
        model = Grant
        fields = ["id", "access_request", "data_product", "consumer", "platform", "principal", "role_name", "privileges",
                  "schema", "tables", "status", "status_reason", "starts_at", "expires_at", "applied_at", "revoked_at",
                  "can_revoke", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "Grant id."},
            "access_request": {"help_text": "Id of the access request it enforces."},
            "status": {"help_text": "pending, applying, active, revoking, revoked or failed."},
            "starts_at": {"help_text": "ISO 8601."},
            "expires_at": {"help_text": "ISO 8601; null: permanent."},
            "applied_at": {"help_text": "ISO 8601."},
            "revoked_at": {"help_text": "ISO 8601."},
            "created_at": {"help_text": "ISO 8601."},
        }

    def get_can_revoke(self, obj) -> bool:
        from apps.access.selectors import grant_can_revoke

        return grant_can_revoke(user=self.context["request"].user, grant=obj)


class GrantDetailSerializer(GrantSerializer):
    attempts = serializers.SerializerMethodField(help_text="The last 10 attempts to apply or revoke it, newest first.")

    class Meta(GrantSerializer.Meta):
        fields = [*GrantSerializer.Meta.fields, "attempts"]

    @extend_schema_field(GrantAttemptSerializer(many=True))
    def get_attempts(self, obj):
        return GrantAttemptSerializer(obj.attempts.all()[:10], many=True).data


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                   help_text="Why (recorded in the audit trail).")


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True, help_text="Username; null for the system.")
    label = serializers.CharField(read_only=True, help_text="Readable wording of `action`.")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "label", "object_type", "object_id", "before", "after", "message"]
        extra_kwargs = {
            "id": {"help_text": "Event id."}, "at": {"help_text": "ISO 8601."},
            "action": {"help_text": "e.g. `access_request.approved`, `grant.active`."},
            "object_type": {"help_text": "e.g. `access_request`, `grant`, `dataproduct`."},
            "object_id": {"help_text": "Id of that object."},
            "before": {"help_text": "State before (e.g. status)."}, "after": {"help_text": "State after."},
            "message": {"help_text": "Comment or reason."},
        }


class KpiSerializer(serializers.Serializer):
    data_products = serializers.DictField(child=serializers.IntegerField(), help_text="Data products per status.")
    active_grants = serializers.IntegerField(help_text="Grants active on platforms now.")
    access_requests = serializers.DictField(child=serializers.IntegerField(), help_text="Access requests per status.")
    median_approval_lead_time_seconds = serializers.FloatField(
        allow_null=True, help_text="Median seconds from submission to approval; null before the first approval.")
