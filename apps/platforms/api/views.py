"""Platform endpoints: platforms (operators see settings and sync runs, change the schedule,
trigger a sync) and your own platform identities. Credentials are never exposed."""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.platforms import selectors, services
from apps.platforms.choices import SyncRunStatus
from apps.platforms.models import PlatformIdentity, SyncRun

from . import serializers as s

SLUG = "[-a-zA-Z0-9_]+"


class SyncRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SyncRunStatus.choices, help_text="Run status.")

    class Meta:
        model = SyncRun
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary="List platforms", tags=["platforms"]),
    retrieve=extend_schema(summary="Get a platform's settings (operators)", tags=["platforms"]),
)
class PlatformViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data platforms. Everyone signed in sees their names; operators (the platform team, admins)
    see settings and sync runs; for others a platform's details answer 404."""

    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = ["name", "slug"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.platform_list(user=self.request.user)

    def get_object(self):
        return selectors.platform_get_for_operator(user=self.request.user, slug=self.kwargs["slug"])

    def get_serializer_class(self):
        return s.PlatformSerializer if self.action == "list" else s.PlatformDetailSerializer

    @extend_schema(summary="Change a platform's sync schedule (operators)", tags=["platforms"],
                   request=s.PlatformScheduleSerializer, responses=s.PlatformDetailSerializer)
    def partial_update(self, request, slug: str):
        platform = self.get_object()
        serializer = s.PlatformScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        platform = services.platform_sync_settings_update(platform=platform, actor=request.user, **serializer.validated_data)
        return Response(s.PlatformDetailSerializer(platform, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], summary="List a platform's sync runs (operators)", tags=["platforms"],
                   responses=s.SyncRunSerializer(many=True),
                   parameters=[OpenApiParameter("status", str, enum=SyncRunStatus.values, description="Run status.")])
    @extend_schema(methods=["POST"], summary="Sync a platform now (operators)", tags=["platforms"], request=None,
                   responses={202: s.PlatformDetailSerializer},
                   description="Enqueues a metadata sync on the worker; the run appears in the sync runs when it starts.")
    @action(detail=True, methods=["get", "post"], url_path="sync-runs", filter_backends=[])
    def sync_runs(self, request, slug: str):
        platform = self.get_object()
        if request.method == "POST":
            services.platform_sync_request(platform=platform, actor=request.user)
            return Response(s.PlatformDetailSerializer(platform, context=self.get_serializer_context()).data,
                            status=status.HTTP_202_ACCEPTED)
        filterset = SyncRunFilter(request.query_params, queryset=selectors.sync_run_list(platform=platform))
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        runs = filterset.qs
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(s.SyncRunSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="List your platform identities", tags=["me"]),
    retrieve=extend_schema(summary="Get one of your platform identities", tags=["me"]),
    create=extend_schema(summary="Add your login on a platform", tags=["me"]),
    destroy=extend_schema(summary="Delete one of your platform identities", tags=["me"]),
)
class PlatformIdentityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                              mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your logins on platforms: the principal your grants are given to."""

    serializer_class = s.PlatformIdentitySerializer
    lookup_value_regex = "[0-9]{1,18}"
    ordering_fields = ["created_at"]
    ordering = ["platform__name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PlatformIdentity.objects.none()
        return selectors.platform_identity_list(user=self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.platform_identity_create(
            user=self.request.user, platform=data["platform"], principal=data["principal"])

    def perform_destroy(self, instance):
        services.platform_identity_delete(identity=instance, actor=self.request.user)
