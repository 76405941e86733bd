from django import forms

from .models import Platform


class PlatformSyncSettingsForm(forms.ModelForm):
    """What a platform's owners set on its page: whether and how often it syncs."""

    class Meta:
        model = Platform
        fields = ["sync_enabled", "sync_interval_minutes"]
        labels = {"sync_enabled": "Scheduled sync", "sync_interval_minutes": "Every (minutes)"}
