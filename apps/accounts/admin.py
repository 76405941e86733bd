from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import services
from .models import Team, TeamMembership, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Portal", {"fields": ("title",)}),)


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "email"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamMembershipInline]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.team_create(name=obj.name, slug=obj.slug, description=obj.description, email=obj.email)
        obj.pk = created.pk
        obj.members_group_id, obj.approvers_group_id, obj.owners_group_id = (
            created.members_group_id,
            created.approvers_group_id,
            created.owners_group_id,
        )
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        # Memberships go through the service so the team's permission groups follow the role.
        instances = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.team_membership_remove(team=membership.team, user=membership.user)
        for membership in instances:
            services.team_membership_set(team=form.instance, user=membership.user, role=membership.role)


# --- API tokens: the admin shows a token's prefix, owner and dates, never the key or its digest -------

from knox.models import AuthToken  # noqa: E402

if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Users create their tokens on their profile page (the key is shown to them once); admins
    see which exist and may delete (revoke) them."""

    list_display = ["token_key", "user", "created", "expiry"]
    fields = readonly_fields = ["token_key", "user", "created", "expiry"]
    search_fields = ["token_key", "user__username"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
