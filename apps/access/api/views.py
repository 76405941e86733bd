"""Access endpoints: access requests (create, list mine / inbox, decide, cancel), grants (list,
revoke, retry), the audit trail (stewards) and KPIs. Reads go through ``apps.access.selectors``,
every change through ``apps.access.services`` (the same rules as the UI)."""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import selectors, services
from apps.access.choices import AccessRequestStatus, GrantStatus
from apps.access.models import AccessRequest, AuditEvent, Grant
from apps.core.api.permissions import require

from . import serializers as s

ID = "[0-9]{1,18}"


class AccessRequestFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        method="_noop", choices=[("mine", "mine"), ("inbox", "inbox"), ("all", "all")], empty_label=None,
        help_text="`mine`: your requests; `inbox`: waiting for your decision; `all` (default): every request you may see.",
    )
    status = django_filters.ChoiceFilter(choices=AccessRequestStatus.choices, help_text="Request status.")
    data_product = django_filters.CharFilter(field_name="output_port__data_product__slug", max_length=100,
                                             help_text="Data product slug.")
    output_port = django_filters.NumberFilter(field_name="output_port_id", min_value=1, max_value=2**62, help_text="Output port id.")

    class Meta:
        model = AccessRequest
        fields = ["scope", "status", "data_product", "output_port"]

    def _noop(self, queryset, name, value):
        return queryset  # chosen in get_queryset


REQUEST_EXAMPLE = OpenApiExample(
    "Request access", request_only=True,
    value={"output_port": 42, "purpose": "Quarterly headcount report", "justification": "HR analytics team",
           "expires_at": "2030-06-30T23:59:59Z", "accept_terms": True},
)
APPROVE_EXAMPLE = OpenApiExample("Approve", request_only=True, value={"comment": "OK for the headcount report."})
REJECT_EXAMPLE = OpenApiExample("Reject", request_only=True, value={"reason": "Use the aggregated headcount product instead."})


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
        summary="Request access to an output port", tags=["access"], request=s.AccessRequestCreateSerializer,
        responses={201: s.AccessRequestSerializer}, examples=[REQUEST_EXAMPLE],
        description="Creates and submits the request; it waits for an approver of the product's owner team "
                    "(`status` `pending_approval`). One open request per consumer and output port.",
    )
    def create(self, request):
        serializer = s.AccessRequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        access_request = services.access_request_submit(
            requester=request.user, output_port=data["output_port"], purpose=data["purpose"],
            justification=data["justification"], expires_at=data["expires_at"],
            on_behalf_of_team=data["on_behalf_of_team"],
        )
        return self._detail(access_request.pk, status.HTTP_201_CREATED)

    @extend_schema(summary="Approve an access request", tags=["access"], request=s.ApproveSerializer,
                   responses=s.AccessRequestSerializer, examples=[APPROVE_EXAMPLE],
                   description="Approvers of the product's owner team, never for their own request or their own team's "
                               "(segregation of duties). The grant is applied on the platform by a worker within seconds.")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk: str):
        access_request = self.get_object()
        serializer = s.ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.access_request_approve(access_request_id=access_request.pk, actor=request.user,
                                        comment=serializer.validated_data["comment"])
        return self._detail(access_request.pk)

    @extend_schema(summary="Reject an access request", tags=["access"], request=s.RejectSerializer,
                   responses=s.AccessRequestSerializer, examples=[REJECT_EXAMPLE])
    @action(detail=True, methods=["post"])
    def reject(self, request, pk: str):
        access_request = self.get_object()
        serializer = s.RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.access_request_reject(access_request_id=access_request.pk, actor=request.user,
                                       reason=serializer.validated_data["reason"])
        return self._detail(access_request.pk)

    @extend_schema(summary="Cancel your access request", tags=["access"], request=None, responses=s.AccessRequestSerializer,
                   description="The requester withdraws a request that was not decided yet.")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk: str):
        access_request = self.get_object()
        services.access_request_cancel(access_request_id=access_request.pk, actor=request.user)
        return self._detail(access_request.pk)

    # TODO(policy): ``extend`` (prolong an active grant) once an access_request_extend service exists.


class GrantFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GrantStatus.choices, help_text="Grant status.")
    platform = django_filters.CharFilter(field_name="platform__slug", max_length=80, help_text="Platform slug.")
    data_product = django_filters.CharFilter(field_name="access_request__output_port__data_product__slug", max_length=100,
                                             help_text="Data product slug.")

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
        return Response(s.GrantDetailSerializer(selectors.grant_get(user=self.request.user, pk=pk),
                                                context=self.get_serializer_context()).data, status=code)

    @extend_schema(summary="Revoke a grant", tags=["access"], request=s.RevokeSerializer,
                   responses={202: s.GrantDetailSerializer},
                   description="The consumer, the product's approvers or a platform operator. The revoke runs on "
                               "the worker; the grant becomes `revoked` and the request `revoked`.")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk: str):
        grant = self.get_object()
        require(selectors.grant_revoke_permitted(user=request.user, grant=grant),
                "Only the consumer, the product's approvers or a platform operator can revoke this grant.")
        serializer = s.RevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.grant_revoke_request(grant_id=grant.pk, actor=request.user, reason=serializer.validated_data["reason"])
        return self._detail(grant.pk, status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Retry a failed grant (platform operators)", tags=["access"], request=None,
                   responses={202: s.GrantDetailSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk: str):
        grant = self.get_object()
        require(selectors.grant_can_operate(user=request.user), "Only platform operators can retry grants.")
        services.grant_retry(grant_id=grant.pk, actor=request.user)
        return self._detail(grant.pk, status.HTTP_202_ACCEPTED)


class AuditEventFilter(django_filters.FilterSet):
    object_type = django_filters.CharFilter(max_length=64, help_text="e.g. access_request, grant.")
    object_id = django_filters.CharFilter(max_length=64, help_text="Id of the object.")
    action = django_filters.CharFilter(max_length=64, help_text="Exact action, e.g. access_request.approved.")
    actor = django_filters.CharFilter(field_name="actor__username", max_length=150, help_text="Username.")
    at = django_filters.IsoDateTimeFromToRangeFilter(help_text="`at_after` / `at_before` (ISO 8601).")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "action", "actor", "at"]


@extend_schema_view(
    list=extend_schema(summary="Read the audit trail (stewards)", tags=["governance"]),
    retrieve=extend_schema(summary="Get an audit event (stewards)", tags=["governance"]),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Append-only record of who did what; read-only, for stewards (``access.view_auditevent``)."""

    serializer_class = s.AuditEventSerializer
    lookup_value_regex = ID
    filterset_class = AuditEventFilter
    ordering_fields = ["at"]
    ordering = ["-at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AuditEvent.objects.none()
        require(selectors.audit_can_view(user=self.request.user), "Only stewards can read the audit trail.")
        return selectors.audit_event_list(user=self.request.user)


class KpiView(APIView):
    """Marketplace KPIs for executives, stewards and admins."""

    @extend_schema(summary="Marketplace KPIs", tags=["governance"], responses=s.KpiSerializer)
    def get(self, request):
        require(selectors.kpi_can_view(user=request.user), "Only executives and stewards see the KPIs.")
        return Response(s.KpiSerializer(selectors.kpi_summary()).data)
