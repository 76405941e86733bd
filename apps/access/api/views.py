"""Access endpoints: access requests (create, list mine / inbox, decide, cancel, extend), grants
(list, revoke, retry), access policies and purposes (stewards), approver delegations, the audit
trail (stewards) and KPIs. Reads go through ``apps.access.selectors``,
every change through ``apps.access.services`` (the same rules as the UI)."""

from __future__ import annotations

import django_filters
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import permissions, selectors, services
from apps.access.choices import AccessRequestStatus, GrantStatus
from apps.access.models import AccessPolicy, AccessRequest, ApproverDelegation, Grant, Purpose
from apps.audit import selectors as audit_selectors
from apps.audit.filters import AuditEventFilter
from apps.audit.models import AuditEvent
from apps.catalog.choices import Classification
from apps.core.api.permissions import require
from apps.insights.permissions import kpi_can_view
from apps.insights.selectors import zero_result_searches

from . import serializers as s

ID = "[0-9]{1,18}"


class AccessRequestFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        method="_noop",
        choices=[("mine", "mine"), ("inbox", "inbox"), ("all", "all")],
        empty_label=None,
        help_text="`mine`: your requests; `inbox`: waiting for your decision; `all` (default): every request you may see.",
    )
    status = django_filters.ChoiceFilter(choices=AccessRequestStatus.choices, help_text="Request status.")
    data_product = django_filters.CharFilter(
        field_name="output_port__data_product__slug", max_length=100, help_text="Data product slug."
    )
    output_port = django_filters.NumberFilter(
        field_name="output_port_id", min_value=1, max_value=2**62, help_text="Output port id."
    )

    class Meta:
        model = AccessRequest
        fields = ["scope", "status", "data_product", "output_port"]

    def _noop(self, queryset, name, value):
        return queryset  # chosen in get_queryset


REQUEST_EXAMPLE = OpenApiExample(
    "Request access",
    request_only=True,
    value={
        "output_port": 42,
        "purpose_category": "reporting",
        "purpose": "Quarterly headcount report",
        "justification": "HR analytics team",
        "expires_at": "2030-06-30T23:59:59Z",
        "columns": ["employee.businessentityid", "employee.jobtitle"],
        "on_behalf_of_team": None,
        "accept_terms": True,
    },
)
APPROVE_EXAMPLE = OpenApiExample("Approve", request_only=True, value={"comment": "OK for the headcount report."})
EXTEND_EXAMPLE = OpenApiExample(
    "Extend",
    request_only=True,
    value={"expires_at": "2031-06-30T23:59:59Z", "justification": "The project runs a year longer."},
)
REJECT_EXAMPLE = OpenApiExample(
    "Reject", request_only=True, value={"reason": "Use the aggregated headcount product instead."}
)


@extend_schema_view(
    list=extend_schema(summary="List access requests (mine, inbox or all you may see)", tags=["access"]),
    retrieve=extend_schema(summary="Get an access request", tags=["access"]),
)
class AccessRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Access requests: consumers see theirs, approvers those for their products, stewards all."""

    serializer_class = s.AccessRequestSerializer
    lookup_value_regex = ID
    filterset_class = AccessRequestFilter
    ordering_fields = ["created_at", "submitted_at", "status"]
    ordering = ["-created_at"]

    def get_queryset(self):
        user = self.request.user
        scope = self.request.query_params.get("scope", "all") if self.action == "list" else "all"
        if scope == "mine":
            return selectors.access_request_mine(user=user)
        if scope == "inbox":
            return selectors.access_request_inbox(user=user)
        return selectors.access_request_visible(user=user)

    def get_object(self):
        return selectors.access_request_get(user=self.request.user, pk=int(self.kwargs["pk"]))

    def _detail(self, pk: int, code=status.HTTP_200_OK):
        access_request = selectors.access_request_get(user=self.request.user, pk=pk)
        return Response(self.get_serializer(access_request).data, status=code)

    @extend_schema(
        summary="Request access to an output port",
        tags=["access"],
        request=s.AccessRequestCreateSerializer,
        responses={201: s.AccessRequestSerializer},
        examples=[REQUEST_EXAMPLE],
        description="Creates and submits the request. The current access policy of the product's classification "
        "decides: approved at once, or `pending_approval` with its approval chain (owner team, steward). "
        "`purpose_category`, `expires_at` and `columns` must fit the policy (field errors say why). One "
        "open request per consumer and output port; with active access, use `extend/`.",
    )
    def create(self, request):
        serializer = s.AccessRequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        access_request = services.access_request_submit(
            requester=request.user,
            output_port=data["output_port"],
            purpose=data["purpose"],
            justification=data["justification"],
            expires_at=data["expires_at"],
            on_behalf_of_team=data["on_behalf_of_team"],
            purpose_category=data["purpose_category"],
            columns=data["columns"],
        )
        return self._detail(access_request.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approve an access request",
        tags=["access"],
        request=s.ApproveSerializer,
        responses=s.AccessRequestSerializer,
        examples=[APPROVE_EXAMPLE],
        description="Approvers of the product's owner team, never for their own request or their own team's "
        "(segregation of duties). The grant is applied on the platform by a worker within seconds.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk: str):
        access_request = self.get_object()
        serializer = s.ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.access_request_approve(
            access_request_id=access_request.pk, actor=request.user, comment=serializer.validated_data["comment"]
        )
        return self._detail(access_request.pk)

    @extend_schema(
        summary="Reject an access request",
        tags=["access"],
        request=s.RejectSerializer,
        responses=s.AccessRequestSerializer,
        examples=[REJECT_EXAMPLE],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk: str):
        access_request = self.get_object()
        serializer = s.RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.access_request_reject(
            access_request_id=access_request.pk, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._detail(access_request.pk)

    @extend_schema(
        summary="Cancel your access request",
        tags=["access"],
        request=None,
        responses=s.AccessRequestSerializer,
        description="The requester withdraws a request that was not decided yet.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk: str):
        access_request = self.get_object()
        services.access_request_cancel(access_request_id=access_request.pk, actor=request.user)
        return self._detail(access_request.pk)

    @extend_schema(
        summary="Ask to extend your active access",
        tags=["access"],
        request=s.ExtendSerializer,
        responses={201: s.AccessRequestSerializer},
        examples=[EXTEND_EXAMPLE],
        description="The consumer of an active access asks for a later end date. This creates an "
        "extension request (`extends` set to this request) that goes through the current "
        "policy's approval chain; once approved, the access and its grant get the new end "
        "(the extension ends `applied`). 201 with the extension request.",
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk: str):
        access_request = self.get_object()
        require(access_request.requester_id == request.user.pk, "Only the consumer who holds the access can extend it.")
        serializer = s.ExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extension = services.access_request_extend(
            requester=request.user,
            access_request_id=access_request.pk,
            expires_at=serializer.validated_data["expires_at"],
            justification=serializer.validated_data["justification"],
        )
        return self._detail(extension.pk, status.HTTP_201_CREATED)


class GrantFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GrantStatus.choices, help_text="Grant status.")
    platform = django_filters.CharFilter(field_name="platform__slug", max_length=80, help_text="Platform slug.")
    data_product = django_filters.CharFilter(
        field_name="access_request__output_port__data_product__slug", max_length=100, help_text="Data product slug."
    )

    class Meta:
        model = Grant
        fields = ["status", "platform", "data_product"]


@extend_schema_view(
    list=extend_schema(summary="List grants of the access requests you may see", tags=["access"]),
    retrieve=extend_schema(summary="Get a grant with its last attempts", tags=["access"]),
)
class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID
    filterset_class = GrantFilter
    ordering_fields = ["created_at", "expires_at", "status"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.grant_visible(user=self.request.user)

    def get_object(self):
        return selectors.grant_get(user=self.request.user, pk=int(self.kwargs["pk"]))

    def get_serializer_class(self):
        return s.GrantDetailSerializer if self.action == "retrieve" else s.GrantSerializer

    def _detail(self, pk: int, code=status.HTTP_200_OK):
        return Response(
            s.GrantDetailSerializer(
                selectors.grant_get(user=self.request.user, pk=pk), context=self.get_serializer_context()
            ).data,
            status=code,
        )

    @extend_schema(
        summary="Revoke a grant",
        tags=["access"],
        request=s.RevokeSerializer,
        responses={202: s.GrantDetailSerializer},
        description="The consumer, the product's approvers or a platform operator. The revoke runs on "
        "the worker; the grant becomes `revoked` and the request `revoked`.",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk: str):
        grant = self.get_object()
        require(
            permissions.grant_revoke_permitted(user=request.user, grant=grant),
            "Only the consumer, the product's approvers or a platform operator can revoke this grant.",
        )
        serializer = s.RevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.grant_revoke_request(grant_id=grant.pk, actor=request.user, reason=serializer.validated_data["reason"])
        return self._detail(grant.pk, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Retry a failed grant (platform operators)",
        tags=["access"],
        request=None,
        responses={202: s.GrantDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk: str):
        grant = self.get_object()
        require(permissions.grant_can_operate(user=request.user), "Only platform operators can retry grants.")
        services.grant_retry(grant_id=grant.pk, actor=request.user)
        return self._detail(grant.pk, status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Read the audit trail (stewards)", tags=["governance"]),
    retrieve=extend_schema(summary="Get an audit event (stewards)", tags=["governance"]),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Append-only record of who did what; read-only, for stewards (``audit.view_auditevent``)."""

    serializer_class = s.AuditEventSerializer
    lookup_value_regex = ID
    filterset_class = AuditEventFilter
    ordering_fields = ["at"]
    ordering = ["-at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AuditEvent.objects.none()
        require(audit_selectors.audit_can_view(user=self.request.user), "Only stewards can read the audit trail.")
        return audit_selectors.audit_event_list(user=self.request.user)


class KpiView(APIView):
    """Marketplace KPIs for executives, stewards and admins."""

    @extend_schema(
        summary="Marketplace KPIs",
        tags=["governance"],
        responses=s.KpiSerializer,
        description="Data products and access requests per status, active grants, the median approval "
        "lead time, and unmet demand: the most frequent searches that found nothing.",
    )
    def get(self, request):
        require(kpi_can_view(request.user), "Only executives and stewards see the KPIs.")
        body = {**selectors.kpi_summary(), "unmet_demand": list(zero_result_searches()[:20])}
        return Response(s.KpiSerializer(body).data)


# --- governance: access policies and purposes (stewards), delegations (approvers) --------------


class AccessPolicyFilter(django_filters.FilterSet):
    classification = django_filters.ChoiceFilter(choices=Classification.choices, help_text="Classification.")
    is_current = django_filters.BooleanFilter(help_text="`true`: only the current version of each classification.")

    class Meta:
        model = AccessPolicy
        fields = ["classification", "is_current"]


POLICY_EXAMPLE = OpenApiExample(
    "New Confidential policy",
    request_only=True,
    value={
        "classification": "confidential",
        "auto_approve": "never",
        "approval_steps": ["owner", "steward"],
        "max_duration_days": 180,
        "allow_permanent": False,
        "sla_business_days": 2,
        "allowed_purposes": ["regulatory-reporting"],
        "change_note": "Steward sign-off for confidential data.",
    },
)


@extend_schema_view(
    list=extend_schema(summary="List access policy versions (stewards)", tags=["governance"]),
    retrieve=extend_schema(summary="Get the current access policy of a classification (stewards)", tags=["governance"]),
)
class AccessPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Access policies: one versioned rule per classification that picks the approval chain,
    the longest duration and the allowed purposes. Stewards read and change them."""

    serializer_class = s.AccessPolicySerializer
    lookup_field = "classification"
    lookup_value_regex = "|".join(Classification.values)
    filterset_class = AccessPolicyFilter
    ordering_fields = ["classification", "version", "created_at"]
    ordering = ["classification", "-version"]

    def _require_steward(self):
        require(permissions.is_steward(self.request.user), "Only governance stewards manage access policies.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AccessPolicy.objects.none()
        self._require_steward()
        return selectors.access_policy_list(user=self.request.user)

    def get_object(self):
        self._require_steward()
        policy = selectors.access_policy_current(classification=self.kwargs["classification"])
        if policy is None:
            raise Http404("No such policy.")
        return policy

    @extend_schema(
        summary="Save a new version of a classification's access policy (stewards)",
        tags=["governance"],
        request=s.AccessPolicyWriteSerializer,
        responses={201: s.AccessPolicySerializer},
        examples=[POLICY_EXAMPLE],
        description="The new version becomes current for new requests; earlier versions are kept and "
        "requests keep the version that decided them. Recorded in the audit trail.",
    )
    def create(self, request):
        self._require_steward()
        serializer = s.AccessPolicyWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.access_policy_update(actor=request.user, **serializer.validated_data)
        return Response(s.AccessPolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class PurposeFilter(django_filters.FilterSet):
    classification = django_filters.ChoiceFilter(
        method="_noop",
        choices=Classification.choices,
        help_text="Only the purposes the current policy of this classification allows (what a request may declare).",
    )
    active = django_filters.BooleanFilter(help_text="Active (pickable) or retired.")

    class Meta:
        model = Purpose
        fields = ["classification", "active"]

    def _noop(self, queryset, name, value):
        return queryset  # applied by the purpose_available selector (see get_queryset)


@extend_schema_view(
    list=extend_schema(summary="List purposes to declare in an access request", tags=["governance"]),
    retrieve=extend_schema(summary="Get a purpose", tags=["governance"]),
)
class PurposeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Purposes of use. Everyone signed in lists the active ones (they pick one when requesting
    access); stewards also see retired ones, and add and change them."""

    serializer_class = s.PurposeSerializer
    lookup_value_regex = ID
    filterset_class = PurposeFilter
    ordering_fields = ["name"]
    ordering = ["name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Purpose.objects.none()
        classification = self.request.query_params.get("classification") if self.action == "list" else None
        if classification not in Classification.values:
            classification = None  # the filter reports the bad value as a 400
        return selectors.purpose_available(user=self.request.user, classification=classification)

    @extend_schema(
        summary="Add a purpose (stewards)",
        tags=["governance"],
        request=s.PurposeWriteSerializer,
        responses={201: s.PurposeSerializer},
    )
    def create(self, request):
        require(permissions.is_steward(request.user), "Only governance stewards can edit purposes.")
        serializer = s.PurposeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        purpose = services.purpose_save(actor=request.user, **serializer.validated_data)
        return Response(s.PurposeSerializer(purpose).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change or retire a purpose (stewards)",
        tags=["governance"],
        request=s.PurposeWriteSerializer(partial=True),
        responses=s.PurposeSerializer,
        description="`active: false` retires it: it can no longer be picked; past requests keep it.",
    )
    def partial_update(self, request, pk: str):
        purpose = self.get_object()
        require(permissions.is_steward(request.user), "Only governance stewards can edit purposes.")
        serializer = s.PurposeWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {
            "name": purpose.name,
            "description": purpose.description,
            "active": purpose.active,
            **serializer.validated_data,
        }
        purpose = services.purpose_save(actor=request.user, purpose=purpose, **data)
        return Response(s.PurposeSerializer(purpose).data)


DELEGATION_EXAMPLE = OpenApiExample(
    "Holidays",
    request_only=True,
    value={
        "delegate": "approver",
        "starts": "2030-07-01T00:00:00Z",
        "ends": "2030-07-15T00:00:00Z",
        "reason": "Holidays",
    },
)


@extend_schema_view(
    list=extend_schema(summary="List delegations you gave or received", tags=["access"]),
    retrieve=extend_schema(summary="Get a delegation you gave or received", tags=["access"]),
)
class DelegationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Approver delegations: while away, an approver lets a colleague decide what they may decide
    (segregation of duties still applies). Each person sees the delegations they gave or received."""

    serializer_class = s.DelegationSerializer
    lookup_value_regex = ID
    ordering_fields = ["starts", "ends"]
    ordering = ["-starts"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ApproverDelegation.objects.none()
        return selectors.delegation_list(user=self.request.user)

    @extend_schema(
        summary="Delegate your approvals (approvers)",
        tags=["access"],
        request=s.DelegationCreateSerializer,
        responses={201: s.DelegationSerializer},
        examples=[DELEGATION_EXAMPLE],
    )
    def create(self, request):
        require(
            permissions.user_is_approver(user=request.user),
            "Only approvers (team owners, approvers, stewards) can delegate.",
        )
        serializer = s.DelegationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        delegation = services.approver_delegation_create(
            delegator=request.user,
            delegate=data["delegate"],
            starts=data["starts"] or timezone.now(),
            ends=data["ends"],
            reason=data["reason"],
        )
        return Response(s.DelegationSerializer(delegation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="End a delegation you gave, now", tags=["access"], request=None, responses=s.DelegationSerializer
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk: str):
        delegation = self.get_object()
        require(delegation.delegator_id == request.user.pk, "Only the person who delegated can end the delegation.")
        delegation = services.approver_delegation_end(actor=request.user, delegation_id=delegation.pk)
        return Response(s.DelegationSerializer(delegation).data)
