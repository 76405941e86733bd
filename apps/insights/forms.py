from django import forms

from .choices import TargetDirection
from .kpis import KPIS


class DashboardFilterForm(forms.Form):
    """The dashboard's date range and domain (query string)."""

    range = forms.ChoiceField(
        choices=[("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 365 days"), ("custom", "Custom")],
        required=False,
        initial="90",
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    domain = forms.IntegerField(required=False, min_value=1)
    source = forms.ChoiceField(choices=[("snapshot", "snapshot"), ("live", "live")], required=False)
    point = forms.CharField(required=False, max_length=10)

    def clean(self):
        data = super().clean()
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError("A custom range needs a start and an end date.")
            if end < start:
                self.add_error("end", "The end must be on or after the start.")
            elif (end - start).days > 3 * 366:
                self.add_error("start", "At most three years.")
        return data


class KpiTargetForm(forms.Form):
    kpi = forms.ChoiceField(choices=[(k.key, k.label) for k in KPIS.values()])
    value = forms.FloatField()
    direction = forms.ChoiceField(choices=TargetDirection.choices)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    domain = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
