from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only: nobody can add, edit or delete audit events here (the database refuses it too)."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "message"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "message", "actor__username"]
    readonly_fields = ["chain_seq", "prev_hash", "hash"]
