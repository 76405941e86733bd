from django.contrib import admin

from .models import AccessRequest, AuditEvent, Grant, GrantAttempt, GrantDrift


class ReadOnlyAdmin(admin.ModelAdmin):
    """State changes go through services (approve, reject, revoke); the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "requester", "output_port", "status", "submitted_at", "decided_by", "expires_at"]
    list_filter = ["status"]
    search_fields = ["requester__username", "purpose"]
    list_select_related = ["requester", "output_port__data_product", "decided_by"]


class GrantAttemptInline(admin.TabularInline):
    model = GrantAttempt
    extra = 0
    readonly_fields = ["action", "started_at", "duration_ms", "succeeded", "summary", "error"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["pk", "role_name", "principal", "platform", "schema", "status", "expires_at"]
    readonly_fields = ["columns"]
    list_filter = ["status", "platform"]
    inlines = [GrantAttemptInline]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only: nobody can add, edit or delete audit events here."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "message"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "message", "actor__username"]


@admin.register(GrantDrift)
class GrantDriftAdmin(ReadOnlyAdmin):
    """What reconciliation found and did; written by ``platform_reconcile`` only."""

    list_display = ["at", "platform", "grant", "kind", "action", "summary"]
    list_filter = ["platform", "kind", "action"]
    list_select_related = ["platform", "grant"]
