from django import forms
from django.contrib import admin, messages

from apps.core.exceptions import ApplicationError

from . import services
from .models import Notification, WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "verb", "object_type", "object_id", "read_at"]
    list_filter = ["verb"]
    search_fields = ["recipient__username", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty to keep the current secret.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "secret", "events", "active"]

    def clean_secret(self):
        secret = self.cleaned_data.get("secret")
        if not secret and self.instance.pk and self.instance.secret_encrypted:
            return None  # keep the stored (encrypted) secret
        if not secret:
            raise forms.ValidationError("A secret is required.")
        return secret

    def save(self, commit=True):
        if self.cleaned_data.get("secret"):
            self.instance.secret = self.cleaned_data["secret"]  # stored encrypted (apps.core.crypto)
        return super().save(commit=commit)


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = readonly_fields = ["created_at", "event", "status", "attempts", "status_code", "error", "delivered_at"]
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "active"]
    inlines = [WebhookDeliveryInline]


@admin.action(description="Redeliver the selected failed deliveries")
def redeliver(modeladmin, request, queryset):
    sent, refused = 0, 0
    for delivery_id in queryset.values_list("pk", flat=True):
        try:
            services.webhook_redeliver(delivery_id=delivery_id, actor=request.user)
            sent += 1
        except ApplicationError:
            refused += 1
    if sent:
        modeladmin.message_user(request, f"{sent} delivery(ies) queued again.", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, f"{refused} still pending: left alone.", messages.WARNING)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "endpoint", "event", "status", "attempts", "status_code", "error", "next_attempt_at"]
    list_filter = ["status", "event", "endpoint"]
    actions = [redeliver]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
