from django import forms
from django.contrib import admin

from apps.audit.transitions import transition_refusal

from . import services
from .choices import DATA_PRODUCT_TRANSITIONS
from .models import Asset, AssetRelation, Column, DataProduct, Domain, OutputPort


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "owner_team"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class OutputPortInline(admin.StackedInline):
    """Read-only: ports are added, changed and reviewed through the output port services (API,
    product pages, contracts, mapping rules), which judge and audit their exposure."""

    model = OutputPort
    extra = 0
    can_delete = False
    readonly_fields = [
        "name",
        "platform",
        "port_type",
        "database",
        "schema",
        "table",
        "description",
        "exposure_status",
        "exposure_reason",
        "exposure_decided_by",
        "exposure_decided_at",
        "exposure_comment",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class DataProductAdminForm(forms.ModelForm):
    class Meta:
        model = DataProduct
        fields = "__all__"  # noqa: DJ007  (the admin edits every field; services.data_product_update writes them)

    def clean_status(self):
        """A status change must be a lifecycle move ``DATA_PRODUCT_TRANSITIONS`` allows."""
        to = self.cleaned_data["status"]
        if self.instance.pk is not None and to != self.instance.status:
            refusal = transition_refusal(self.instance, to, table=DATA_PRODUCT_TRANSITIONS, subject=self.instance.name)
            if refusal is not None:
                raise forms.ValidationError(refusal.message)
        return to


@admin.register(DataProduct)
class DataProductAdmin(admin.ModelAdmin):
    form = DataProductAdminForm
    list_display = ["name", "domain", "owner_team", "status", "classification"]
    list_filter = ["status", "classification", "domain"]
    search_fields = ["name", "slug", "summary"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OutputPortInline]

    def save_model(self, request, obj, form, change):
        # Through the services, so the owner team's object permissions follow the product.
        fields = {
            f: form.cleaned_data[f] for f in form.cleaned_data if f not in ("name", "slug", "domain", "owner_team")
        }
        if change:
            services.data_product_update(
                product=obj, actor=request.user, **{f: form.cleaned_data[f] for f in form.changed_data}
            )
        else:
            created = services.data_product_create(
                name=obj.name,
                slug=obj.slug,
                domain=obj.domain,
                owner_team=obj.owner_team,
                actor=request.user,
                **fields,
            )
            obj.pk = created.pk
            obj._state.adding = False


class ColumnInline(admin.TabularInline):
    model = Column
    extra = 0
    can_delete = False
    fields = ["ordinal", "name", "data_type", "nullable", "is_primary_key", "description"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    """Assets come from metadata sync: read-only here."""

    list_display = ["qualified_name", "platform", "kind", "removed_at", "last_changed_at"]
    list_filter = ["platform", "kind", "schema"]
    search_fields = ["name", "schema", "description"]
    readonly_fields = [f.name for f in Asset._meta.fields]
    inlines = [ColumnInline]

    def has_add_permission(self, request):
        return False


@admin.register(AssetRelation)
class AssetRelationAdmin(admin.ModelAdmin):
    list_display = ["source", "target", "kind", "name"]
    list_filter = ["kind"]
    list_select_related = ["source", "target"]
    readonly_fields = ["source", "target", "kind", "name", "source_columns", "target_columns"]

    def has_add_permission(self, request):
        return False


@admin.register(Column)
class ColumnAdmin(admin.ModelAdmin):
    list_display = ["name", "asset", "data_type", "is_primary_key"]
    search_fields = ["name", "description"]
    list_select_related = ["asset"]
    readonly_fields = [f.name for f in Column._meta.fields]

    def has_add_permission(self, request):
        return False
