from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdmin

from . import services
from .models import (
    AccessPolicy,
    AccessRequest,
    ApprovalStep,
    ApproverDelegation,
    Grant,
    GrantAttempt,
    GrantDrift,
    Purpose,
)


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "order",
        "label",
        "status",
        "activated_at",
        "reminded_at",
        "escalated_at",
        "decided_by",
        "on_behalf_of",
        "decided_at",
        "comment",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    inlines = [ApprovalStepInline]
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


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    """Purposes are edited through ``purpose_save`` (audited); they are deactivated, never deleted."""

    list_display = ["name", "slug", "active"]
    list_filter = ["active"]
    fields = ["name", "description", "active"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.purpose_save(
            actor=request.user,
            name=obj.name,
            description=obj.description,
            active=obj.active,
            purpose=obj if change else None,
        )
        obj.pk, obj.slug = saved.pk, saved.slug


@admin.register(AccessPolicy)
class AccessPolicyAdmin(ReadOnlyAdmin):
    """Versions are read-only: a change is a new version, made on the stewards' policy page."""

    list_display = [
        "__str__",
        "is_current",
        "auto_approve",
        "approval_steps",
        "max_duration_days",
        "allow_permanent",
        "sla_business_days",
        "created_by",
        "created_at",
        "edit_link",
    ]
    list_filter = ["classification", "is_current"]

    @admin.display(description="Change")
    def edit_link(self, obj):
        return format_html('<a href="{}">New version…</a>', reverse("access:policy_edit", args=[obj.classification]))


@admin.register(ApproverDelegation)
class ApproverDelegationAdmin(ReadOnlyAdmin):
    list_display = ["delegator", "delegate", "starts", "ends", "reason"]


@admin.register(GrantDrift)
class GrantDriftAdmin(ReadOnlyAdmin):
    """What reconciliation found and did; written by ``platform_reconcile`` only."""

    list_display = ["at", "platform", "grant", "kind", "action", "summary"]
    list_filter = ["platform", "kind", "action"]
    list_select_related = ["platform", "grant"]
