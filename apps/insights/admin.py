from django.contrib import admin

from .models import UsageEvent


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "user", "data_product", "query", "result_count"]
    list_filter = ["kind"]
    search_fields = ["query"]
    readonly_fields = [f.name for f in UsageEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


from . import dashboard_cache  # noqa: E402
from .models import KpiTarget, PlatformCostRate, UseCase  # noqa: E402
from .services import platform_cost_rate_set  # noqa: E402


class InvalidatesDashboard:
    """Admin changes show on the KPI dashboard's next load (``apps.insights.dashboard_cache``)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        dashboard_cache.invalidate_on_commit()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        dashboard_cache.invalidate_on_commit()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        dashboard_cache.invalidate_on_commit()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        dashboard_cache.invalidate_on_commit()


@admin.register(PlatformCostRate)
class PlatformCostRateAdmin(InvalidatesDashboard, admin.ModelAdmin):
    """Platform admins set what storage on their platform costs (audited through the service)."""

    list_display = ["platform", "per_gb_month", "fixed_monthly", "currency"]

    def save_model(self, request, obj, form, change):
        saved = platform_cost_rate_set(
            actor=request.user,
            platform=obj.platform,
            per_gb_month=obj.per_gb_month,
            fixed_monthly=obj.fixed_monthly,
            currency=obj.currency,
        )
        obj.pk = saved.pk


@admin.register(UseCase)
class UseCaseAdmin(InvalidatesDashboard, admin.ModelAdmin):
    list_display = ["name", "consuming_team", "status", "estimated_annual_value", "currency"]
    list_filter = ["status"]
    search_fields = ["name"]
    filter_horizontal = ["data_products"]
    raw_id_fields = ["access_requests"]


@admin.register(KpiTarget)
class KpiTargetAdmin(InvalidatesDashboard, admin.ModelAdmin):
    list_display = ["kpi", "domain", "direction", "value", "start", "end", "created_by"]
    readonly_fields = ["created_by"]

    def has_add_permission(self, request):
        return False  # stewards set targets on the dashboard (kpi_target_set checks and audits)
