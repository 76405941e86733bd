"""Admin building blocks shared by the apps (nothing is registered here)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """State changes go through services (approve, reject, revoke, publish, audit_record); the
    admin only shows the rows: no add, change or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
