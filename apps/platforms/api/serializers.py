"""Platform API shapes. Credentials (password, its env var name, the service account) are never
part of any of them."""

from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import Team, User
from apps.catalog.models import DataProduct, Domain
from apps.platforms.models import ExposureAssignment, Platform, PlatformIdentity, SyncRun, TeamPlatformIdentity


class PlatformSerializer(serializers.ModelSerializer):
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Slug of the platform team, or null."
    )
    can_operate = serializers.SerializerMethodField(
        help_text="Whether you administer it (see settings, sync runs; sync)."
    )

    class Meta:
        model = Platform
        fields = ["slug", "name", "kind", "description", "owner_team", "can_operate"]
        extra_kwargs = {
            "slug": {"help_text": "Stable identifier."},
            "name": {"help_text": "Display name."},
            "kind": {"help_text": "postgresql, mariadb or dbt."},
            "description": {"help_text": "What it is."},
        }

    def get_can_operate(self, obj) -> bool:
        from apps.platforms.selectors import platform_can_operate

        return platform_can_operate(user=self.context["request"].user, platform=obj)


class SyncRunSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")
    triggered_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username; null: scheduled."
    )
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True, help_text="Seconds; null while running.")

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "platform",
            "triggered_by",
            "status",
            "started_at",
            "finished_at",
            "duration_seconds",
            "created_count",
            "updated_count",
            "unchanged_count",
            "removed_count",
            "error",
        ]
        extra_kwargs = {
            "id": {"help_text": "Run id."},
            "status": {"help_text": "running, succeeded or failed."},
            "started_at": {"help_text": "ISO 8601."},
            "finished_at": {"help_text": "ISO 8601."},
            "created_count": {"help_text": "Assets found for the first time."},
            "updated_count": {"help_text": "Assets that changed."},
            "unchanged_count": {"help_text": "Assets that did not change."},
            "removed_count": {"help_text": "Assets gone from the platform."},
            "error": {"help_text": "Why it failed (no secrets)."},
        }


class PlatformDetailSerializer(PlatformSerializer):
    last_sync_run = serializers.SerializerMethodField(help_text="The most recent sync run, or null.")

    class Meta(PlatformSerializer.Meta):
        fields = [
            *PlatformSerializer.Meta.fields,
            "host",
            "port",
            "database",
            "public_host",
            "include_schemas",
            "sync_enabled",
            "sync_interval_minutes",
            "last_sync_run",
        ]
        extra_kwargs = {
            **PlatformSerializer.Meta.extra_kwargs,
            "port": {"help_text": "TCP port; null: the kind's default."},
            "sync_enabled": {"help_text": "Whether beat syncs it on schedule."},
            "sync_interval_minutes": {"help_text": "Minutes between scheduled syncs."},
        }

    def get_last_sync_run(self, obj) -> SyncRunSerializer(allow_null=True):
        from apps.platforms.selectors import platform_last_run

        run = platform_last_run(platform=obj)
        return SyncRunSerializer(run).data if run else None


class PlatformScheduleSerializer(serializers.Serializer):
    sync_enabled = serializers.BooleanField(required=False, help_text="Whether beat syncs it on schedule.")
    sync_interval_minutes = serializers.IntegerField(
        required=False, min_value=5, max_value=10080, help_text="Minutes between scheduled syncs (5 to 10080)."
    )


class PlatformIdentitySerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="Username of the person.")

    class Meta:
        model = PlatformIdentity
        fields = ["id", "user", "platform", "principal", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "Identity id."},
            "principal": {"help_text": "The login or role name on the platform."},
            "created_at": {"help_text": "ISO 8601."},
        }


class PlatformIdentityWriteSerializer(serializers.Serializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        help_text="Username of the person whose login it is.",
    )
    principal = serializers.CharField(max_length=255, help_text="Their login or role name on the platform.")


class TeamPlatformIdentitySerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the team.")

    class Meta:
        model = TeamPlatformIdentity
        fields = ["id", "team", "platform", "principal", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "Team identity id."},
            "principal": {"help_text": "The team's role (or login) on the platform: the grantee of team grants."},
            "created_at": {"help_text": "ISO 8601."},
        }


class TeamPlatformIdentityWriteSerializer(serializers.Serializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), help_text="Slug of the team.")
    principal = serializers.CharField(max_length=255, help_text="The team's role (or login) on the platform.")


class ExposureAssignmentSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")
    domain = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the domain.")
    data_product = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="Slug of the only product that may expose it, or null.",
    )
    assigned_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    location = serializers.CharField(read_only=True, help_text="`[database.]schema[.table]`.")

    class Meta:
        model = ExposureAssignment
        fields = [
            "id",
            "platform",
            "database",
            "schema",
            "table",
            "location",
            "domain",
            "data_product",
            "assigned_by",
            "created_at",
        ]
        extra_kwargs = {"id": {"help_text": "Assignment id."}, "created_at": {"help_text": "ISO 8601."}}


class ExposureAssignmentWriteSerializer(serializers.Serializer):
    """Assign a location of the platform to a domain (or to one data product of it)."""

    database = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Blank: the platform's database."
    )
    schema = serializers.CharField(max_length=255, help_text="Schema (database on MariaDB).")
    table = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Blank: the whole schema."
    )
    domain = serializers.SlugRelatedField(
        slug_field="slug", queryset=Domain.objects.all(), help_text="Slug of the domain."
    )
    data_product = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=DataProduct.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of a product of the domain: only it may expose the location, and sync keeps a port there.",
    )
