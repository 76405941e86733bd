from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.accounts.selectors import team_list_for_user
from apps.core.exceptions import ApplicationError

DURATION_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("180", "180 days"),
    ("custom", "Until a date"),
    ("permanent", "Permanent"),
]


class AccessRequestForm(forms.Form):
    """The "Request access" form on a product page. Validation of rules lives in the service;
    this form only parses input and shows the service's field errors."""

    output_port = forms.ModelChoiceField(queryset=None, empty_label=None)
    purpose = forms.CharField(max_length=200, help_text="What you will use the data for.")
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    on_behalf_of_team = forms.ModelChoiceField(queryset=None, required=False, empty_label="Myself",
                                               label="On behalf of")
    duration = forms.ChoiceField(choices=DURATION_CHOICES, initial="90")
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text="For 'Until a date'.")
    accept_terms = forms.BooleanField(required=False, label="I accept the data product's terms of use")

    def __init__(self, *args, product, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        self.fields["output_port"].queryset = product.output_ports.select_related("platform").order_by("name")
        self.fields["on_behalf_of_team"].queryset = team_list_for_user(user=user)
        if not product.terms_of_use:
            del self.fields["accept_terms"]

    def clean(self):
        data = super().clean()
        if "accept_terms" in self.fields and not data.get("accept_terms"):
            self.add_error("accept_terms", "Accept the terms of use to request access.")
        duration = data.get("duration")
        if duration == "custom":
            end_date = data.get("end_date")
            if not end_date:
                self.add_error("end_date", "Pick the date access should end.")
            else:
                data["expires_at"] = timezone.make_aware(datetime.combine(end_date, time(23, 59, 59)))
        elif duration == "permanent":
            data["expires_at"] = None
        elif duration:
            data["expires_at"] = timezone.now() + timedelta(days=int(duration))
        return data

    def add_application_error(self, error: ApplicationError) -> None:
        """Show a service's ``ApplicationError`` as field errors (``expires_at`` maps to the dates)."""
        if not error.extra:
            self.add_error(None, error.message)
        for field, messages in error.extra.items():
            field = {"expires_at": "end_date" if self.data.get("duration") == "custom" else "duration"}.get(field, field)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class DecisionForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              help_text="Required to reject: the requester sees it.")
