from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody can add, edit or delete audit events here (the database refuses it too)."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "message"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "message", "actor__username"]
    readonly_fields = ["chain_seq", "prev_hash", "hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
