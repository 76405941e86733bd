"""Forms of the platform pages."""

from __future__ import annotations

from django import forms

from apps.core.parsing import DBT_ARTIFACT_MAX_BYTES as MAX_ARTIFACT_BYTES  # one place for input limits

from .models import Platform


class DbtArtifactsForm(forms.Form):
    """Upload of dbt artifacts (from dbt's ``target/`` directory). Checks size and presence;
    ``dbt_artifacts_upload`` checks that each file is the dbt artifact it claims to be."""

    manifest = forms.FileField(label="manifest.json", help_text="Required. dbt manifest schema v12 (dbt 1.8 or later).")
    catalog = forms.FileField(
        label="catalog.json", required=False, help_text="Optional, from dbt docs generate: column types."
    )
    run_results = forms.FileField(
        label="run_results.json", required=False, help_text="Optional, from dbt build or dbt test: test results."
    )

    def _clean_file(self, name: str) -> bytes:
        upload = self.cleaned_data.get(name)
        if not upload:
            return b""
        if upload.size > MAX_ARTIFACT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_ARTIFACT_BYTES // (1024 * 1024)} MB.")
        return upload.read()

    def clean_manifest(self) -> bytes:
        return self._clean_file("manifest")

    def clean_catalog(self) -> bytes:
        return self._clean_file("catalog")

    def clean_run_results(self) -> bytes:
        return self._clean_file("run_results")


class PlatformSyncSettingsForm(forms.ModelForm):
    """What a platform's owners set on its page: whether and how often it syncs."""

    class Meta:
        model = Platform
        fields = ["sync_enabled", "sync_interval_minutes"]
        labels = {"sync_enabled": "Scheduled sync", "sync_interval_minutes": "Every (minutes)"}
