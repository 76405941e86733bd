"""Teams (with members) and the caller's own account."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import User
from apps.core.api.permissions import require

from . import serializers as s


@extend_schema_view(
    list=extend_schema(summary="List teams", tags=["people"]),
    retrieve=extend_schema(summary="Get a team with its members", tags=["people"]),
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Teams own and consume data products. Everyone signed in sees them; owners manage members."""

    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    ordering_fields = ["name", "slug"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.team_list()

    def get_object(self):
        return selectors.team_get(slug=self.kwargs["slug"])

    def get_serializer_class(self):
        return s.TeamSerializer if self.action == "list" else s.TeamDetailSerializer

    def _detail(self, team, code=status.HTTP_200_OK):
        return Response(s.TeamDetailSerializer(team, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Add a member or change their role (team owners)",
        tags=["people"],
        request=s.MembershipWriteSerializer,
        responses=s.TeamDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def members(self, request, slug: str):
        team = self.get_object()
        require(
            selectors.team_can_manage(user=request.user, team=team), "Only the team's owners can change its members."
        )
        serializer = s.MembershipWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.team_membership_set(
            team=team, user=serializer.validated_data["username"], role=serializer.validated_data["role"]
        )
        return self._detail(team)

    @extend_schema(summary="Remove a member (team owners)", tags=["people"], request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<username>[\w.@+-]+)")
    def remove_member(self, request, slug: str, username: str):
        team = self.get_object()
        require(
            selectors.team_can_manage(user=request.user, team=team), "Only the team's owners can change its members."
        )
        user = User.objects.filter(username=username, memberships__team=team).first()
        if user is None:
            return Response({"message": "No such member.", "errors": {}}, status=status.HTTP_404_NOT_FOUND)
        services.team_membership_remove(team=team, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The signed-in user."""

    @extend_schema(summary="Who am I", tags=["me"], responses=s.MeSerializer)
    def get(self, request):
        return Response(s.MeSerializer(request.user).data)


class TokenView(APIView):
    """Your API token (also on the profile page)."""

    @extend_schema(
        summary="Create (or replace) your API token",
        tags=["me"],
        request=None,
        responses={201: s.TokenSerializer},
        description="Replaces any previous token, which stops working at once.",
    )
    def post(self, request):
        token, key = services.api_token_create(user=request.user)
        body = {"key": key, "prefix": token.token_key, "created": token.created, "expiry": token.expiry}
        return Response(s.TokenSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke your API token", tags=["me"], request=None, responses={204: None})
    def delete(self, request):
        services.api_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
