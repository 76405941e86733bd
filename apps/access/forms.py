"""Forms parse input; rules (policy, segregation of duties) live in services and come back as
field errors through :meth:`ServiceErrorsMixin.add_application_error`."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.selectors import team_list_for_user
from apps.core.exceptions import ApplicationError

from .choices import ApprovalStepKind, AutoApprove
from .models import AccessPolicy, Purpose
from .selectors import access_policy_current, port_column_choices, purpose_choices

DURATION_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("180", "180 days"),
    ("custom", "Until a date"),
    ("permanent", "Permanent"),
]


def duration_choices(policy: AccessPolicy | None) -> list[tuple[str, str]]:
    """The durations ``policy`` allows (all without a policy)."""
    choices = []
    for value, label in DURATION_CHOICES:
        if value == "permanent" and policy is not None and not policy.allow_permanent:
            continue
        if (
            value.isdigit()
            and policy is not None
            and policy.max_duration_days
            and int(value) > policy.max_duration_days
        ):
            continue
        choices.append((value, label))
    return choices


class ServiceErrorsMixin:
    #: service field name -> form field name
    error_fields: dict[str, str] = {}

    def add_application_error(self, error: ApplicationError) -> None:
        """Show a service's ``ApplicationError`` as field errors (unknown fields: form errors)."""
        if not error.extra:
            self.add_error(None, error.message)
        for field, messages in error.extra.items():
            field = self.map_error_field(field)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)

    def map_error_field(self, field: str) -> str:
        return self.error_fields.get(field, field)


class DurationMixin:
    def clean_duration_fields(self, data: dict) -> dict:
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

    def map_error_field(self, field: str) -> str:
        if field == "expires_at":
            return "end_date" if self.data.get("duration") == "custom" else "duration"
        return super().map_error_field(field)


class AccessRequestForm(DurationMixin, ServiceErrorsMixin, forms.Form):
    """The "Request access" form on a product page. Choices follow the product's policy
    (purposes, durations); the service checks them again."""

    output_port = forms.ModelChoiceField(queryset=None, empty_label=None)
    purpose_category = forms.ModelChoiceField(
        queryset=None, label="Purpose", empty_label=None, help_text="From the governance team's list."
    )
    purpose = forms.CharField(
        max_length=200,
        label="Purpose in your words",
        help_text="What you will use the data for, e.g. the report or model.",
    )
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    on_behalf_of_team = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Myself", label="On behalf of"
    )
    duration = forms.ChoiceField(choices=DURATION_CHOICES, initial="90")
    end_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="For 'Until a date'."
    )
    columns = forms.MultipleChoiceField(
        required=False,
        label="Column scope",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Optional: only these columns. Leave empty for every column.",
    )
    use_case = forms.CharField(
        max_length=200,
        required=False,
        label="Use case (optional)",
        help_text="What the data is for in the use case register: an existing use case's "
        "name attaches the request to it, a new name records a planned one.",
    )
    accept_terms = forms.BooleanField(required=False, label="I accept the data product's terms of use")

    def __init__(self, *args, product, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        requestable = product.output_ports.filter(exposure_status="approved")  # governed exposure
        ports = list(requestable.select_related("platform").order_by("name"))
        self.fields["output_port"].queryset = requestable.select_related("platform").order_by("name")
        self.fields["on_behalf_of_team"].queryset = team_list_for_user(user=user)
        self.policy = access_policy_current(classification=product.classification)
        purposes = purpose_choices(classification=product.classification)
        self.fields["purpose_category"].queryset = purposes
        if not purposes.exists():  # the governance team has not defined purposes yet
            self.fields["purpose_category"].required = False
        self.fields["duration"].choices = duration_choices(self.policy)
        if self.policy is not None and self.policy.max_duration_days:
            self.fields[
                "duration"
            ].help_text = f"{product.get_classification_display()} data: at most {self.policy.max_duration_days} days."
        self.fields["columns"].choices = port_column_choices(ports=ports)
        if not self.fields["columns"].choices:
            del self.fields["columns"]
        if not product.terms_of_use:
            del self.fields["accept_terms"]

    def clean(self):
        data = super().clean()
        if "accept_terms" in self.fields and not data.get("accept_terms"):
            self.add_error("accept_terms", "Accept the terms of use to request access.")
        return self.clean_duration_fields(data)


class ExtensionForm(DurationMixin, ServiceErrorsMixin, forms.Form):
    """Ask for a later end date of an active access."""

    duration = forms.ChoiceField(choices=DURATION_CHOICES, initial="90", help_text="Counted from today.")
    end_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="For 'Until a date'."
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Why you still need the data."
    )

    def __init__(self, *args, policy: AccessPolicy | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duration"].choices = duration_choices(policy)

    def clean(self):
        return self.clean_duration_fields(super().clean())


class DecisionForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="Required to reject: the requester sees it."
    )


class AccessPolicyForm(ServiceErrorsMixin, forms.Form):
    """A steward's edit of a classification's policy: saving creates a new version."""

    auto_approve = forms.ChoiceField(choices=AutoApprove.choices)
    approval_steps = forms.MultipleChoiceField(
        choices=[(k, label) for k, label in ApprovalStepKind.choices if k != ApprovalStepKind.NAMED],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Owner first, then steward. Data contract approvers replace the owner step.",
    )
    max_duration_days = forms.IntegerField(min_value=1, required=False, help_text="Empty: no maximum.")
    allow_permanent = forms.BooleanField(required=False)
    allowed_purposes = forms.ModelMultipleChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every purpose.",
    )
    sla_business_days = forms.IntegerField(min_value=0, max_value=60, label="SLA (business days)")
    change_note = forms.CharField(
        max_length=300, required=False, help_text="Why the rule changes (kept in the audit log)."
    )

    def clean_approval_steps(self):
        steps = self.cleaned_data["approval_steps"]
        order = [k for k in (ApprovalStepKind.OWNER, ApprovalStepKind.STEWARD) if k in steps]
        return order

    @classmethod
    def initial_for(cls, policy: AccessPolicy | None) -> dict:
        if policy is None:
            return {}
        return {
            "auto_approve": policy.auto_approve,
            "approval_steps": policy.approval_steps,
            "max_duration_days": policy.max_duration_days,
            "allow_permanent": policy.allow_permanent,
            "allowed_purposes": list(policy.allowed_purposes.all()),
            "sla_business_days": policy.sla_business_days,
        }


class PurposeForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    active = forms.BooleanField(required=False, initial=True, help_text="Inactive purposes are no longer offered.")


class DelegationForm(ServiceErrorsMixin, forms.Form):
    delegate = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        help_text="Who decides for you while you are away.",
    )
    starts = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Last day (inclusive).")
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = self.fields["delegate"].queryset.exclude(pk=user.pk)

    def clean(self):
        data = super().clean()
        if data.get("starts"):
            data["starts_at"] = timezone.make_aware(datetime.combine(data["starts"], time(0, 0)))
        if data.get("ends"):
            data["ends_at"] = timezone.make_aware(datetime.combine(data["ends"], time(23, 59, 59)))
        return data
