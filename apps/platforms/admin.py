from django import forms
from django.contrib import admin

from .models import DbtArtifactUpload, ExposureAssignment, Platform, PlatformIdentity, SyncRun, TeamPlatformIdentity


class PlatformAdminForm(forms.ModelForm):
    """The password is write-only: never rendered back, blank keeps the stored one."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted; leave blank to keep the current one. Prefer 'password env var'.",
    )
    clear_password = forms.BooleanField(required=False, help_text="Forget the stored password.")

    class Meta:
        model = Platform
        fields = "__all__"  # noqa: DJ007  (every editable field; the encrypted password is not editable)

    def save(self, commit=True):
        platform = super().save(commit=False)
        if self.cleaned_data.get("clear_password"):
            platform.set_password("")
        elif self.cleaned_data.get("password"):
            platform.set_password(self.cleaned_data["password"])
        if commit:
            platform.save()
        return platform


class ExposureAssignmentInline(admin.TabularInline):
    """Read-only: assignments are made through ``exposure_assignment_create`` (platform page,
    API), which refuses system locations and audits them."""

    model = ExposureAssignment
    extra = 0
    can_delete = False
    fields = ["database", "schema", "table", "domain", "data_product", "assigned_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    form = PlatformAdminForm
    list_display = ["name", "kind", "host", "database", "owner_team", "sync_enabled", "sync_interval_minutes"]
    list_editable = ["sync_enabled", "sync_interval_minutes"]
    list_filter = ["kind", "sync_enabled"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["has_stored_password"]
    inlines = [ExposureAssignmentInline]


@admin.register(ExposureAssignment)
class ExposureAssignmentAdmin(admin.ModelAdmin):
    """Exposure assignments (and mapping rules): which domain or product may expose a location.
    Added and removed through the services, so system locations are refused and both are audited;
    an assignment is never edited in place (withdraw it and assign again)."""

    list_display = ["platform", "database", "schema", "table", "domain", "data_product", "assigned_by"]
    list_filter = ["platform", "domain"]
    search_fields = ["schema", "table", "data_product__name", "domain__name"]
    fields = ["platform", "database", "schema", "table", "domain", "data_product"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields, "assigned_by"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        from .exposure import exposure_assignment_create

        if change:
            return
        created = exposure_assignment_create(
            actor=request.user,
            platform=obj.platform,
            database=obj.database,
            schema=obj.schema,
            table=obj.table,
            domain=obj.domain,
            data_product=obj.data_product,
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        from .exposure import exposure_assignment_delete

        exposure_assignment_delete(actor=request.user, assignment=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "platform",
        "status",
        "phase",
        "started_at",
        "finished_at",
        "created_count",
        "updated_count",
        "unchanged_count",
        "removed_count",
    ]
    list_filter = ["platform", "status"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PlatformIdentity)
class PlatformIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "platform", "principal"]
    list_filter = ["platform"]
    search_fields = ["user__username", "principal"]
    autocomplete_fields = ["user"]


@admin.register(DbtArtifactUpload)
class DbtArtifactUploadAdmin(admin.ModelAdmin):
    """Uploads are made on the platform page (validated there); the admin only lists them."""

    list_display = ["platform", "uploaded_at", "uploaded_by", "dbt_version", "generated_at"]
    list_filter = ["platform"]
    exclude = ["manifest_json", "catalog_json", "run_results_json"]
    readonly_fields = ["platform", "uploaded_at", "uploaded_by", "dbt_version", "generated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TeamPlatformIdentity)
class TeamPlatformIdentityAdmin(admin.ModelAdmin):
    list_display = ["team", "platform", "principal"]
    list_filter = ["platform"]
    search_fields = ["team__name", "principal"]
