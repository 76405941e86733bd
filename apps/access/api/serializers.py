"""Access API shapes: access requests, decisions, grants, audit events, KPIs."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access.choices import ApprovalStepKind, AutoApprove
from apps.access.models import (
    AccessPolicy,
    AccessRequest,
    ApproverDelegation,
    Grant,
    GrantAttempt,
    GrantDrift,
    Purpose,
)
from apps.accounts.models import Team, User
from apps.accounts.selectors import team_list_for_user
from apps.audit.models import AuditEvent
from apps.catalog.choices import Classification
from apps.catalog.models import OutputPort
from apps.catalog.selectors import output_port_visible


class GrantBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Grant
        fields = ["id", "status", "status_reason", "principal", "role_name", "applied_at", "expires_at"]
        extra_kwargs = {
            "id": {"help_text": "Grant id."},
            "status": {"help_text": "pending, applying, active, revoking, revoked or failed."},
            "applied_at": {"help_text": "When it became active on the platform."},
            "expires_at": {"help_text": "When it will be revoked; null: permanent."},
        }


class _PageRightsListSerializer(serializers.ListSerializer):
    """A page of objects whose right (``can_decide``, ``can_revoke``) is worked out once for the whole page:
    ``rights(user=, objects=)`` (a bulk rule of :mod:`apps.access.permissions`) gives the ids, kept in the
    context under ``context_key`` for the rows' ``get_can_*``."""

    #: Set by each subclass: the context key, and ``rights(user=, objects=) -> set[int]`` (a staticmethod).
    context_key: str
    rights: Callable[..., set[int]]

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        request = self.context.get("request")
        if request is not None:
            self.context[self.context_key] = self.rights(user=request.user, objects=items)
        return super().to_representation(items)


def _decidable(*, user, objects) -> set[int]:
    from apps.access.permissions import decidable_request_ids

    return decidable_request_ids(user=user, requests=objects)


def _revocable(*, user, objects) -> set[int]:
    from apps.access.permissions import revocable_grant_ids

    return revocable_grant_ids(user=user, grants=objects)


class AccessRequestListSerializer(_PageRightsListSerializer):
    context_key = "decidable_request_ids"
    rights = staticmethod(_decidable)


class GrantListSerializer(_PageRightsListSerializer):
    context_key = "revocable_grant_ids"
    rights = staticmethod(_revocable)


class AccessRequestSerializer(serializers.ModelSerializer):
    data_product = serializers.SlugRelatedField(
        source="output_port.data_product", slug_field="slug", read_only=True, help_text="Slug of the data product."
    )
    output_port_name = serializers.CharField(
        source="output_port.name", read_only=True, help_text="Name of the output port."
    )
    requester = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Username of the consumer."
    )
    on_behalf_of_team = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Team slug, or null: for the requester."
    )
    purpose_category = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="Slug of the declared purpose (see `purposes/`), or null.",
    )
    policy_version = serializers.IntegerField(
        source="policy.version",
        read_only=True,
        allow_null=True,
        help_text="Version of the access policy that decided it.",
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who approved or rejected it."
    )
    grant = serializers.SerializerMethodField(help_text="The grant on the platform, once approved.")
    can_decide = serializers.SerializerMethodField(help_text="Whether you may approve or reject it now.")

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "data_product",
            "output_port",
            "output_port_name",
            "requester",
            "on_behalf_of_team",
            "purpose_category",
            "purpose",
            "justification",
            "columns",
            "extends",
            "policy_version",
            "expires_at",
            "status",
            "submitted_at",
            "decided_at",
            "decided_by",
            "decision_comment",
            "grant",
            "can_decide",
            "created_at",
            "updated_at",
        ]
        list_serializer_class = AccessRequestListSerializer
        extra_kwargs = {
            "id": {"help_text": "Access request id."},
            "output_port": {"help_text": "Id of the output port access is asked for."},
            "purpose": {"help_text": "What the data will be used for."},
            "justification": {"help_text": "Why the requester needs it."},
            "columns": {"help_text": "Column scope as `table.column` names; empty: every column."},
            "extends": {"help_text": "For an extension: id of the active request it prolongs; else null."},
            "status": {
                "help_text": "draft → submitted → pending_approval → approved → provisioning → active → expired | revoked; or rejected, cancelled, failed."
            },
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
        from apps.access.permissions import can_decide

        page_ids = self.context.get(AccessRequestListSerializer.context_key)
        if page_ids is not None:  # a list: worked out once for the page
            return obj.pk in page_ids
        return can_decide(user=self.context["request"].user, access_request=obj)


class AccessRequestCreateSerializer(serializers.Serializer):
    """Ask for access to one output port. The product's owners decide."""

    output_port = serializers.PrimaryKeyRelatedField(
        queryset=OutputPort.objects.none(), help_text="Id of the output port (see a product's `output_ports`)."
    )
    purpose = serializers.CharField(max_length=200, help_text="What you will use the data for (shown to approvers).")
    justification = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="Why you need it."
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When access ends (ISO 8601, in the future); null or absent: permanent.",
    )
    on_behalf_of_team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of a team you belong to; absent: yourself.",
    )
    purpose_category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Purpose.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of the declared purpose (see `purposes/?classification=`); the product's policy may require one "
        "of its allowed purposes.",
    )
    columns = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        default=list,
        max_length=500,
        help_text="Column scope: `table.column` names of the port's tables (see `output-ports/{id}/assets/`); "
        "empty or absent: every column.",
    )
    accept_terms = serializers.BooleanField(
        required=False, default=False, help_text="Must be true when the data product has terms of use."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:  # schema generation
            return
        user = request.user
        self.fields["output_port"].queryset = output_port_visible(user=user).select_related("data_product__owner_team")
        self.fields["on_behalf_of_team"].queryset = team_list_for_user(user=user)
        self.fields["purpose_category"].queryset = Purpose.objects.filter(active=True)

    def validate(self, data):
        if data["output_port"].data_product.terms_of_use and not data.get("accept_terms"):
            raise serializers.ValidationError({"accept_terms": ["Accept the terms of use to request access."]})
        return data


class ExtendSerializer(serializers.Serializer):
    """Ask to prolong active access."""

    expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="The new end (ISO 8601, after the current one); null: permanent, if the policy allows it.",
    )
    justification = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="Why you need it longer."
    )


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="Optional note for the requester."
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, max_length=5000, help_text="Why: required, shown to the requester."
    )


class GrantAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = GrantAttempt
        fields = ["action", "started_at", "duration_ms", "succeeded", "summary", "error"]
        extra_kwargs = {
            "action": {"help_text": "apply or revoke."},
            "started_at": {"help_text": "ISO 8601."},
            "duration_ms": {"help_text": "Milliseconds."},
            "succeeded": {"help_text": "Whether it worked."},
            "summary": {"help_text": "What was run (no secrets)."},
            "error": {"help_text": "Why it failed."},
        }


class GrantSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")
    data_product = serializers.SlugRelatedField(
        source="access_request.output_port.data_product",
        slug_field="slug",
        read_only=True,
        help_text="Slug of the data product.",
    )
    consumer = serializers.SlugRelatedField(
        source="access_request.requester", slug_field="username", read_only=True, help_text="Username of the consumer."
    )
    can_revoke = serializers.SerializerMethodField(help_text="Whether you may revoke it.")
    revocation_failed = serializers.BooleanField(
        read_only=True,
        help_text="The revocation gave up: access MAY STILL EXIST on the platform until an operator "
        "retries it or the reconcile loop removes it.",
    )

    class Meta:
        model = Grant
        fields = [
            "id",
            "access_request",
            "data_product",
            "consumer",
            "platform",
            "principal",
            "role_name",
            "privileges",
            "schema",
            "tables",
            "status",
            "status_reason",
            "starts_at",
            "expires_at",
            "applied_at",
            "revoked_at",
            "revoke_requested_at",
            "revocation_failed",
            "can_revoke",
            "created_at",
        ]
        list_serializer_class = GrantListSerializer
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
        from apps.access.permissions import can_revoke

        page_ids = self.context.get(GrantListSerializer.context_key)
        if page_ids is not None:  # a list: worked out once for the page
            return obj.pk in page_ids
        return can_revoke(user=self.context["request"].user, grant=obj)


class GrantDetailSerializer(GrantSerializer):
    attempts = serializers.SerializerMethodField(help_text="The last 10 attempts to apply or revoke it, newest first.")

    class Meta(GrantSerializer.Meta):
        fields = [*GrantSerializer.Meta.fields, "attempts"]

    @extend_schema_field(GrantAttemptSerializer(many=True))
    def get_attempts(self, obj):
        return GrantAttemptSerializer(obj.attempts.all()[:10], many=True).data


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="Why (recorded in the audit trail)."
    )


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username; null for the system."
    )
    label = serializers.CharField(read_only=True, help_text="Readable wording of `action`.")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "label", "object_type", "object_id", "before", "after", "message"]
        extra_kwargs = {
            "id": {"help_text": "Event id."},
            "at": {"help_text": "ISO 8601."},
            "action": {"help_text": "e.g. `access_request.approved`, `grant.active`."},
            "object_type": {"help_text": "e.g. `access_request`, `grant`, `dataproduct`."},
            "object_id": {"help_text": "Id of that object."},
            "before": {"help_text": "State before (e.g. status)."},
            "after": {"help_text": "State after."},
            "message": {"help_text": "Comment or reason."},
        }


class KpiUnmetDemandSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="What people searched for.")
    n = serializers.IntegerField(help_text="How many searches for it found nothing.")
    last_at = serializers.DateTimeField(help_text="The latest such search (ISO 8601).")


class KpiSerializer(serializers.Serializer):
    data_products = serializers.DictField(child=serializers.IntegerField(), help_text="Data products per status.")
    active_grants = serializers.IntegerField(help_text="Grants active on platforms now.")
    access_requests = serializers.DictField(child=serializers.IntegerField(), help_text="Access requests per status.")
    median_approval_lead_time_seconds = serializers.FloatField(
        allow_null=True, help_text="Median seconds from submission to approval; null before the first approval."
    )
    unmet_demand = KpiUnmetDemandSerializer(
        many=True,
        help_text="The 20 most frequent searches that found no data "
        "product over the last 30 days, most frequent first.",
    )


# --- governance: policies, purposes, delegations, drift ------------------------------------------


class PurposeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Purpose
        fields = ["id", "slug", "name", "description", "active"]
        extra_kwargs = {
            "id": {"help_text": "Purpose id."},
            "slug": {"help_text": "Stable identifier (`purpose_category`)."},
            "name": {"help_text": "Readable name."},
            "description": {"help_text": "When it applies."},
            "active": {"help_text": "Retired purposes are inactive (never deleted)."},
        }


class PurposeWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, help_text="Readable name (unique).")
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="When it applies."
    )
    active = serializers.BooleanField(required=False, default=True, help_text="False retires it.")


class AccessPolicySerializer(serializers.ModelSerializer):
    allowed_purposes = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text="Purpose slugs allowed; empty: every active purpose."
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Steward who saved it; null for the default."
    )

    class Meta:
        model = AccessPolicy
        fields = [
            "id",
            "classification",
            "version",
            "is_current",
            "auto_approve",
            "approval_steps",
            "max_duration_days",
            "allow_permanent",
            "allowed_purposes",
            "sla_business_days",
            "change_note",
            "created_by",
            "created_at",
        ]
        extra_kwargs = {
            "id": {"help_text": "Id of this version."},
            "version": {"help_text": "1, 2, ... per classification."},
            "is_current": {"help_text": "Whether new requests use it."},
            "auto_approve": {"help_text": "always, same_domain or never."},
            "approval_steps": {"help_text": "The approval chain in order: owner, steward."},
            "max_duration_days": {"help_text": "Longest access in days; null: no maximum."},
            "allow_permanent": {"help_text": "Whether access without an end date may be asked for."},
            "sla_business_days": {"help_text": "Approvers are reminded after this many business days."},
            "change_note": {"help_text": "Why this version."},
            "created_at": {"help_text": "ISO 8601."},
        }


class AccessPolicyWriteSerializer(serializers.Serializer):
    """A new version of the policy of one classification (the previous one is kept)."""

    classification = serializers.ChoiceField(
        choices=Classification.choices, help_text="Which classification it governs."
    )
    auto_approve = serializers.ChoiceField(choices=AutoApprove.choices, help_text="always, same_domain or never.")
    approval_steps = serializers.ListField(
        child=serializers.ChoiceField(choices=[ApprovalStepKind.OWNER, ApprovalStepKind.STEWARD]),
        max_length=2,
        required=False,
        default=list,
        help_text="The chain in order (each kind once): owner, steward.",
    )
    max_duration_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=36500,
        help_text="Longest access in days; null: no maximum.",
    )
    allow_permanent = serializers.BooleanField(
        required=False, default=False, help_text="Allow access without an end date."
    )
    sla_business_days = serializers.IntegerField(
        required=False, default=2, min_value=0, max_value=365, help_text="Business days before approvers are reminded."
    )
    allowed_purposes = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=Purpose.objects.all(),
        required=False,
        default=list,
        help_text="Purpose slugs allowed; empty: every active purpose.",
    )
    change_note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=300,
        help_text="Why (kept with the version and in the audit trail).",
    )


class DelegationSerializer(serializers.ModelSerializer):
    delegator = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Who handed over their approvals."
    )
    delegate = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Who decides in their place."
    )
    running = serializers.SerializerMethodField(help_text="Whether it is in force now.")

    class Meta:
        model = ApproverDelegation
        fields = ["id", "delegator", "delegate", "starts", "ends", "reason", "running", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "Delegation id."},
            "starts": {"help_text": "ISO 8601."},
            "ends": {"help_text": "ISO 8601."},
            "reason": {"help_text": "e.g. holidays."},
            "created_at": {"help_text": "ISO 8601."},
        }

    def get_running(self, obj) -> bool:
        from django.utils import timezone

        return obj.starts <= timezone.now() < obj.ends


class DelegationCreateSerializer(serializers.Serializer):
    delegate = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        help_text="Username of the colleague who decides in your place.",
    )
    starts = serializers.DateTimeField(
        required=False, default=None, allow_null=True, help_text="ISO 8601; absent or null: now."
    )
    ends = serializers.DateTimeField(help_text="ISO 8601, in the future and after `starts`.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, help_text="e.g. holidays."
    )


class GrantDriftSerializer(serializers.ModelSerializer):
    consumer = serializers.SlugRelatedField(
        source="grant.access_request.requester",
        slug_field="username",
        read_only=True,
        help_text="Username of the consumer whose grant drifted.",
    )
    team = serializers.SlugRelatedField(
        source="grant.access_request.on_behalf_of_team",
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="Team slug when the grant is the team's.",
    )

    class Meta:
        model = GrantDrift
        fields = ["id", "grant", "consumer", "team", "at", "kind", "found", "summary", "action", "error"]
        extra_kwargs = {
            "id": {"help_text": "Drift id."},
            "grant": {"help_text": "Grant id."},
            "at": {"help_text": "When reconciliation found it."},
            "kind": {"help_text": "role_missing, missing, extra or revoked_role."},
            "found": {"help_text": "Privileges as `[kind, [object path], privilege]`."},
            "summary": {"help_text": "What differed, in words."},
            "action": {"help_text": "recreated, reapplied, removed or failed."},
            "error": {"help_text": "Why it could not be corrected."},
        }
