"""People and teams."""

from __future__ import annotations

from rest_framework import serializers

from apps.accounts.choices import TeamRole
from apps.accounts.models import Team, TeamMembership, User


class UserBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", read_only=True, help_text="Full name.")

    class Meta:
        model = User
        fields = ["username", "name", "title", "email"]
        extra_kwargs = {"username": {"help_text": "Login name."}, "email": {"help_text": "Email address."}}


class MeSerializer(UserBriefSerializer):
    is_steward = serializers.BooleanField(
        read_only=True, help_text="Governance steward (sees every request and the audit trail)."
    )
    teams = serializers.SerializerMethodField(help_text="Your teams and your role in each.")

    class Meta(UserBriefSerializer.Meta):
        fields = [*UserBriefSerializer.Meta.fields, "is_steward", "is_superuser", "teams"]
        extra_kwargs = {**UserBriefSerializer.Meta.extra_kwargs, "is_superuser": {"help_text": "Administrator."}}

    def get_teams(self, obj) -> list[dict[str, str]]:
        return [
            {"team": m.team.slug, "role": m.role}
            for m in TeamMembership.objects.filter(user=obj).select_related("team").order_by("team__name")
        ]


class MembershipSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True, help_text="The member.")

    class Meta:
        model = TeamMembership
        fields = ["user", "role", "created_at"]
        extra_kwargs = {
            "role": {"help_text": "owner (edits products), approver (decides requests) or member (sees drafts)."},
            "created_at": {"help_text": "Member since (ISO 8601)."},
        }


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["slug", "name", "description", "email", "created_at"]
        extra_kwargs = {
            "slug": {"help_text": "Stable identifier."},
            "name": {"help_text": "Display name."},
            "description": {"help_text": "What the team does."},
            "created_at": {"help_text": "ISO 8601."},
        }


class TeamDetailSerializer(TeamSerializer):
    members = serializers.SerializerMethodField(help_text="Members and their roles.")
    can_manage = serializers.SerializerMethodField(help_text="Whether you may change the members.")

    class Meta(TeamSerializer.Meta):
        fields = [*TeamSerializer.Meta.fields, "members", "can_manage"]

    def get_members(self, obj) -> MembershipSerializer(many=True):
        from apps.accounts.selectors import team_memberships

        return MembershipSerializer(team_memberships(team=obj), many=True).data

    def get_can_manage(self, obj) -> bool:
        from apps.accounts.selectors import team_can_manage

        return team_can_manage(user=self.context["request"].user, team=obj)


class MembershipWriteSerializer(serializers.Serializer):
    username = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        help_text="Username of the person to add (or whose role to change).",
    )
    role = serializers.ChoiceField(choices=TeamRole.choices, default=TeamRole.MEMBER, help_text="Role in the team.")


class TokenSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Send as `Authorization: Token <key>`. Shown only now: store it safely.")
    prefix = serializers.CharField(help_text="The key's first 15 characters: how the admin and your profile name it.")
    created = serializers.DateTimeField(help_text="ISO 8601.")
    expiry = serializers.DateTimeField(allow_null=True, help_text="When the token stops working (ISO 8601).")
