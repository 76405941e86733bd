"""Platform endpoints: platforms (operators see settings, sync runs and grant drift, change the
schedule, trigger a sync, map users' and teams' logins) and your own platform identities (read
only). Credentials are never exposed."""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.access.api.serializers import GrantDriftSerializer
from apps.access.selectors import grant_drift_list
from apps.core.api.permissions import require
from apps.platforms import exposure, selectors, services
from apps.platforms.choices import SyncRunStatus
from apps.platforms.models import PlatformIdentity, SyncRun
from apps.sync import services as sync_services

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

    @extend_schema(
        summary="Change a platform's sync schedule (operators)",
        tags=["platforms"],
        request=s.PlatformScheduleSerializer,
        responses=s.PlatformDetailSerializer,
    )
    def partial_update(self, request, slug: str):
        platform = self.get_object()
        serializer = s.PlatformScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        platform = sync_services.platform_sync_settings_update(
            platform=platform, actor=request.user, **serializer.validated_data
        )
        return Response(s.PlatformDetailSerializer(platform, context=self.get_serializer_context()).data)

    @extend_schema(
        methods=["GET"],
        summary="List a platform's sync runs (operators)",
        tags=["platforms"],
        responses=s.SyncRunSerializer(many=True),
        parameters=[OpenApiParameter("status", str, enum=SyncRunStatus.values, description="Run status.")],
    )
    @extend_schema(
        methods=["POST"],
        summary="Sync a platform now (operators)",
        tags=["platforms"],
        request=None,
        responses={202: s.PlatformDetailSerializer},
        description="Enqueues a metadata sync on the worker; the run appears in the sync runs when it starts.",
    )
    @action(detail=True, methods=["get", "post"], url_path="sync-runs", filter_backends=[])
    def sync_runs(self, request, slug: str):
        platform = self.get_object()
        if request.method == "POST":
            sync_services.platform_sync_request(platform=platform, actor=request.user)
            return Response(
                s.PlatformDetailSerializer(platform, context=self.get_serializer_context()).data,
                status=status.HTTP_202_ACCEPTED,
            )
        filterset = SyncRunFilter(request.query_params, queryset=selectors.sync_run_list(platform=platform))
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        runs = filterset.qs
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(s.SyncRunSerializer(page, many=True).data)

    @extend_schema(
        summary="List grant drift found on a platform (operators)",
        tags=["platforms"],
        responses=GrantDriftSerializer(many=True),
        description="Differences reconciliation found between what active grants should give and what "
        "the platform had (changed outside the portal), and what was done about each; newest first.",
    )
    @action(detail=True, methods=["get"], url_path="grant-drifts", filter_backends=[])
    def grant_drifts(self, request, slug: str):
        platform = self.get_object()
        page = self.paginate_queryset(grant_drift_list(platform=platform))
        return self.get_paginated_response(GrantDriftSerializer(page, many=True).data)

    def _identity(self, queryset, pk: str):
        identity = queryset.filter(pk=int(pk)).first()
        if identity is None:
            raise Http404("No such identity.")
        return identity

    @extend_schema(
        methods=["GET"],
        summary="List users' logins on a platform (operators)",
        tags=["platforms"],
        responses=s.PlatformIdentitySerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Map a user's login on a platform (operators)",
        tags=["platforms"],
        request=s.PlatformIdentityWriteSerializer,
        responses={201: s.PlatformIdentitySerializer},
        description="The login becomes the grantee of that user's grants on this platform. Only the "
        "platform's operators map logins, so nobody can point grants at a login that is not theirs.",
    )
    @action(detail=True, methods=["get", "post"], url_path="identities", filter_backends=[])
    def identities(self, request, slug: str):
        platform = self.get_object()
        if request.method == "POST":
            serializer = s.PlatformIdentityWriteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            identity = services.platform_identity_create(
                actor=request.user, platform=platform, **serializer.validated_data
            )
            return Response(s.PlatformIdentitySerializer(identity).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.platform_identity_list_for_platform(platform=platform))
        return self.get_paginated_response(s.PlatformIdentitySerializer(page, many=True).data)

    @extend_schema(
        summary="Delete a user's login mapping (operators)",
        tags=["platforms"],
        request=None,
        responses={204: None},
        description="Grants already applied stay on the platform until revoked or expired.",
    )
    @action(detail=True, methods=["delete"], url_path=r"identities/(?P<identity_id>[0-9]{1,18})")
    def identity_delete(self, request, slug: str, identity_id: str):
        platform = self.get_object()
        identity = self._identity(selectors.platform_identity_list_for_platform(platform=platform), identity_id)
        services.platform_identity_delete(identity=identity, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        summary="List teams' principals on a platform (operators)",
        tags=["platforms"],
        responses=s.TeamPlatformIdentitySerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Map a team's principal on a platform (operators)",
        tags=["platforms"],
        request=s.TeamPlatformIdentityWriteSerializer,
        responses={201: s.TeamPlatformIdentitySerializer},
        description="The principal (a group role on PostgreSQL) becomes the grantee of access requested on "
        "behalf of the team.",
    )
    @action(detail=True, methods=["get", "post"], url_path="team-identities", filter_backends=[])
    def team_identities(self, request, slug: str):
        platform = self.get_object()
        if request.method == "POST":
            serializer = s.TeamPlatformIdentityWriteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            identity = services.team_platform_identity_create(
                actor=request.user, platform=platform, **serializer.validated_data
            )
            return Response(s.TeamPlatformIdentitySerializer(identity).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.team_platform_identity_list(platform=platform))
        return self.get_paginated_response(s.TeamPlatformIdentitySerializer(page, many=True).data)

    @extend_schema(
        summary="Delete a team's principal mapping (operators)", tags=["platforms"], request=None, responses={204: None}
    )
    @action(detail=True, methods=["delete"], url_path=r"team-identities/(?P<identity_id>[0-9]{1,18})")
    def team_identity_delete(self, request, slug: str, identity_id: str):
        platform = self.get_object()
        identity = self._identity(selectors.team_platform_identity_list(platform=platform), identity_id)
        services.team_platform_identity_delete(identity=identity, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        summary="List a platform's exposure assignments",
        tags=["platforms"],
        responses=s.ExposureAssignmentSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Assign a location to a domain or data product (operators, stewards)",
        tags=["platforms"],
        request=s.ExposureAssignmentWriteSerializer,
        responses={201: s.ExposureAssignmentSerializer},
        description="Governed exposure: the domain's products (or the one product named) may expose the "
        "location through output ports without a review; with a product, sync keeps a port "
        "there (a mapping rule). System and reserved locations are refused. Audited.",
    )
    @action(detail=True, methods=["get", "post"], url_path="exposure-assignments", filter_backends=[])
    def exposure_assignments(self, request, slug: str):
        platform = selectors.platform_get(user=request.user, slug=slug)
        if request.method == "POST":
            require(
                exposure.exposure_may_assign(user=request.user, platform=platform),
                "Only the platform's operators and stewards assign its locations.",
            )
            serializer = s.ExposureAssignmentWriteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            assignment = exposure.exposure_assignment_create(
                actor=request.user, platform=platform, **serializer.validated_data
            )
            return Response(s.ExposureAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(exposure.exposure_assignment_list(platform=platform))
        return self.get_paginated_response(s.ExposureAssignmentSerializer(page, many=True).data)

    @extend_schema(
        summary="Withdraw an exposure assignment (operators, stewards)",
        tags=["platforms"],
        request=None,
        responses={204: None},
        description="Ports already approved stay approved; new ports there need a review. Audited.",
    )
    @action(detail=True, methods=["delete"], url_path=r"exposure-assignments/(?P<assignment_id>[0-9]{1,18})")
    def exposure_assignment_delete(self, request, slug: str, assignment_id: str):
        platform = selectors.platform_get(user=request.user, slug=slug)
        assignment = exposure.exposure_assignment_list(platform=platform).filter(pk=int(assignment_id)).first()
        if assignment is None:
            raise Http404("No such assignment.")
        exposure.exposure_assignment_delete(actor=request.user, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List your platform identities", tags=["me"]),
    retrieve=extend_schema(summary="Get one of your platform identities", tags=["me"]),
)
class PlatformIdentityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your logins on platforms: the principal your grants are given to. Read only: the
    platform's operators map them (``platforms/{slug}/identities/``)."""

    serializer_class = s.PlatformIdentitySerializer
    lookup_value_regex = "[0-9]{1,18}"
    ordering_fields = ["created_at"]
    ordering = ["platform__name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PlatformIdentity.objects.none()
        return selectors.platform_identity_list(user=self.request.user)
