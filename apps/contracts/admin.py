"""Admin: the per-domain breaking-change policy is edited here; import records, drift, quality
results and incidents are read-only (they change through the services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import ContractImport, DomainContractPolicy, DriftFinding, Incident, ProductQualitySchedule, QualityRun


@admin.register(DomainContractPolicy)
class DomainContractPolicyAdmin(admin.ModelAdmin):
    list_display = ("domain", "breaking_changes")


@admin.register(ProductQualitySchedule)
class ProductQualityScheduleAdmin(admin.ModelAdmin):
    """A product's default quality schedule (cron); rules and contracts may set their own."""

    list_display = ("data_product", "schedule", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request, obj, form, change):
        from .services import quality_schedule_set

        quality_schedule_set(product=obj.data_product, actor=request.user, schedule=obj.schedule)


@admin.register(ContractImport)
class ContractImportAdmin(ReadOnlyAdmin):
    list_display = ("data_contract", "source", "breaking", "actor", "created_at")
    list_filter = ("source", "breaking")


@admin.register(DriftFinding)
class DriftFindingAdmin(ReadOnlyAdmin):
    list_display = ("data_product", "kind", "object_name", "property_name", "status", "last_seen_at")
    list_filter = ("kind", "status")


@admin.register(QualityRun)
class QualityRunAdmin(ReadOnlyAdmin):
    list_display = ("data_product", "data_contract", "started_at", "passed", "failed", "errors")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("data_product", "title", "status", "opened_at", "acknowledged_by", "resolved_by")
    list_filter = ("status",)
