"""Access request, approval, policy and audit pages. Views parse input and call selectors and
services; rules live in services. Forbidden objects and pages answer 404 like missing ones."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.audit import selectors as audit_selectors
from apps.audit.filters import AuditEventFilter
from apps.audit.models import AuditEvent
from apps.catalog.choices import Classification
from apps.catalog.selectors import data_product_get
from apps.core.exceptions import ApplicationError
from apps.insights.services import use_case_attach

from . import permissions, selectors, services
from .choices import AccessRequestStatus
from .forms import (
    AccessPolicyForm,
    AccessRequestForm,
    DecisionForm,
    DelegationForm,
    ExtensionForm,
    PurposeForm,
)


@login_required
def access_request_create(request, slug: str):
    product = data_product_get(user=request.user, slug=slug)
    port_id = request.GET.get("port")
    if request.method == "GET" and (port_id and port_id.isdigit() or not port_id):
        # without ?port=, a product with a single output port means that port (the header button)
        ports = product.output_ports.filter(pk=int(port_id)) if port_id else product.output_ports.all()[:2]
        port = ports[0] if len(ports) == 1 else None
        active = port and selectors.access_request_active_for_port(user=request.user, output_port=port)
        if active:  # one access per consumer and port: offer an extension instead
            messages.info(request, "You already have access to this output port; you can ask for an extension.")
            return redirect("access:extend", pk=active.pk)
    form = AccessRequestForm(request.POST or None, product=product, user=request.user, initial={"output_port": port_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            access_request = services.access_request_submit(
                requester=request.user,
                output_port=data["output_port"],
                purpose=data["purpose"],
                purpose_category=data.get("purpose_category"),
                justification=data["justification"],
                expires_at=data["expires_at"],
                on_behalf_of_team=data["on_behalf_of_team"],
                columns=data.get("columns") or [],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            use_case_attach(actor=request.user, access_request=access_request, name=data.get("use_case", ""))
            if access_request.status == AccessRequestStatus.PENDING_APPROVAL:
                notes = selectors.approval_escalation_notes(access_request=access_request)
                messages.success(request, " ".join(["Your request was sent to the approvers.", *notes]))
            else:
                messages.success(request, "Approved by policy: your access is being granted.")
            return redirect("access:request_detail", pk=access_request.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "access/request_form.html", {"product": product, "form": form, "policy": form.policy}, status=status
    )


@login_required
def access_request_extend(request, pk: int):
    original = selectors.access_request_get(user=request.user, pk=pk)
    if original.requester_id != request.user.pk:
        raise Http404
    policy = selectors.access_policy_current(classification=original.output_port.data_product.classification)
    form = ExtensionForm(request.POST or None, policy=policy)
    if request.method == "POST" and form.is_valid():
        try:
            extension = services.access_request_extend(
                requester=request.user,
                access_request_id=original.pk,
                expires_at=form.cleaned_data["expires_at"],
                justification=form.cleaned_data["justification"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            if extension.status == AccessRequestStatus.PENDING_APPROVAL:
                notes = selectors.approval_escalation_notes(access_request=extension)
                messages.success(request, " ".join(["Your extension request was sent.", *notes]))
            else:
                messages.success(request, "Extension approved by policy.")
            return redirect("access:request_detail", pk=extension.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "access/extend_form.html",
        {"original": original, "form": form, "product": original.output_port.data_product},
        status=status,
    )


@login_required
def access_request_detail(request, pk: int):
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    grant = getattr(access_request, "grant", None)
    context = {
        "access_request": access_request,
        "product": access_request.output_port.data_product,
        "grant": grant,
        "attempts": grant.attempts.all()[:10] if grant else [],
        "steps": selectors.approval_steps_for(access_request=access_request),
        "audit_events": selectors.audit_for_access_request(access_request=access_request),
        "can_decide": permissions.can_decide(user=request.user, access_request=access_request),
        "can_extend": (
            access_request.requester_id == request.user.pk
            and access_request.status == AccessRequestStatus.ACTIVE
            and access_request.expires_at is not None
            and access_request.extends_id is None
        ),
        "decision_form": DecisionForm(),
    }
    if request.htmx and request.GET.get("fragment") == "status":
        return render(request, "access/_request_status.html", context)
    return render(request, "access/request_detail.html", context)


@login_required
def access_request_inbox(request):
    return render(
        request,
        "access/inbox.html",
        {
            "requests": selectors.access_request_inbox(user=request.user),
            "delegators": permissions.delegators_of(user=request.user),
        },
    )


@login_required
def access_request_mine(request):
    return render(
        request,
        "access/mine.html",
        {
            "requests": selectors.access_request_mine(user=request.user),
            "grants": selectors.grant_mine(user=request.user),
        },
    )


def _decide(request, pk: int, decide):
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        decide(access_request.pk, form.cleaned_data.get("comment", ""))
    except ApplicationError as error:
        for message in [error.message, *(m for ms in error.extra.values() for m in ms if m != error.message)]:
            messages.error(request, message)
    return redirect("access:request_detail", pk=access_request.pk)


@login_required
@require_POST
def access_request_approve(request, pk: int):
    return _decide(
        request,
        pk,
        lambda id_, comment: services.access_request_approve(
            access_request_id=id_, actor=request.user, comment=comment
        ),
    )


@login_required
@require_POST
def access_request_reject(request, pk: int):
    return _decide(
        request,
        pk,
        lambda id_, comment: services.access_request_reject(access_request_id=id_, actor=request.user, reason=comment),
    )


@login_required
@require_POST
def access_request_cancel(request, pk: int):
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    try:
        services.access_request_cancel(access_request_id=access_request.pk, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("access:request_detail", pk=access_request.pk)


@login_required
@require_POST
def grant_retry(request, pk: int):
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    if not request.user.has_perm("access.change_grant"):
        raise Http404
    grant = getattr(access_request, "grant", None)
    if grant is None:
        messages.error(request, "This request has no grant to retry.")
        return redirect("access:request_detail", pk=access_request.pk)
    try:
        services.grant_retry(grant_id=grant.pk, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("access:request_detail", pk=access_request.pk)


# --- delegations (approvers) ------------------------------------------------------------------


@login_required
def delegation_list(request):
    if not permissions.user_is_approver(user=request.user):
        raise Http404
    form = DelegationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.approver_delegation_create(
                delegator=request.user,
                delegate=data["delegate"],
                starts=data["starts_at"],
                ends=data["ends_at"],
                reason=data["reason"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{data['delegate']} decides for you from {data['starts']} to {data['ends']}.")
            return redirect("access:delegations")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "access/delegations.html",
        {"form": form, "delegations": selectors.delegation_list(user=request.user), "now": timezone.now()},
        status=status,
    )


@login_required
@require_POST
def delegation_end(request, pk: int):
    delegation = get_object_or_404(selectors.delegation_list(user=request.user), pk=pk)
    try:
        services.approver_delegation_end(actor=request.user, delegation_id=delegation.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("access:delegations")


# --- governance (stewards) --------------------------------------------------------------------


@login_required
def policy_list(request):
    versions = list(selectors.access_policy_list(user=request.user))
    current = {p.classification: p for p in versions if p.is_current}
    rows = [(value, label, current.get(value)) for value, label in Classification.choices]
    return render(request, "access/policies.html", {"rows": rows, "versions": versions})


@login_required
def policy_edit(request, classification: str):
    selectors.access_policy_list(user=request.user)  # stewards only (404)
    if classification not in Classification.values:
        raise Http404
    current = selectors.access_policy_current(classification=classification)
    form = AccessPolicyForm(request.POST or None, initial=AccessPolicyForm.initial_for(current))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policy = services.access_policy_update(
                actor=request.user,
                classification=classification,
                auto_approve=data["auto_approve"],
                approval_steps=data["approval_steps"],
                max_duration_days=data["max_duration_days"],
                allow_permanent=data["allow_permanent"],
                sla_business_days=data["sla_business_days"],
                allowed_purposes=data["allowed_purposes"],
                change_note=data["change_note"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(
                request, f"Saved as {policy}. Requests already submitted keep the version that decided them."
            )
            return redirect("access:policies")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "access/policy_form.html",
        {"form": form, "current": current, "classification_label": Classification(classification).label},
        status=status,
    )


@login_required
def purpose_list(request):
    purposes = selectors.purpose_list(user=request.user)
    form = PurposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.purpose_save(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, "Purpose added.")
            return redirect("access:purposes")
    status = 400 if request.method == "POST" else 200
    return render(request, "access/purposes.html", {"purposes": purposes, "form": form}, status=status)


@login_required
def purpose_edit(request, pk: int):
    purpose = get_object_or_404(selectors.purpose_list(user=request.user), pk=pk)
    form = PurposeForm(
        request.POST or None,
        initial={"name": purpose.name, "description": purpose.description, "active": purpose.active},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.purpose_save(actor=request.user, purpose=purpose, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, "Purpose saved.")
            return redirect("access:purposes")
    status = 400 if request.method == "POST" else 200
    return render(request, "access/purpose_form.html", {"purpose": purpose, "form": form}, status=status)


def _audit_events(request):
    """(filter form, events); events is ``None`` when a filter value is invalid (the form shows why)."""
    form = AuditEventFilter(request.GET or None).form
    for name in set(form.fields) - set(AuditEventFilter.PAGE_FIELDS):
        form.fields.pop(name)  # the page filters by day; exact times are the API's
    try:
        events = audit_selectors.audit_event_list(user=request.user, filters=request.GET)
    except ValidationError:
        form.is_valid()  # binds the errors to the form's fields
        return form, None
    return form, events


@login_required
def audit_list(request):
    form, events = _audit_events(request)
    if events is None:  # an invalid filter shows its error and no rows, never the unfiltered trail
        events = AuditEvent.objects.none()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "access/audit.html",
        {"form": form, "page": page, "query": query.urlencode(), "chain_head": audit_selectors.audit_chain_head()},
    )


class _Echo:
    def write(self, value):
        return value


@login_required
def audit_export(request):
    """The filtered audit trail as CSV, streamed (never loaded whole into memory)."""
    form, events = _audit_events(request)
    if events is None:
        errors = "; ".join(f"{field}: {' '.join(messages_)}" for field, messages_ in form.errors.items())
        return HttpResponseBadRequest(
            f"Invalid filter, nothing exported. {errors}", content_type="text/plain; charset=utf-8"
        )
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(["at", "actor", "action", "object_type", "object_id", "before", "after", "message"])
        for event in events.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    event.at.isoformat(),
                    event.actor.username if event.actor else "",
                    event.action,
                    event.object_type,
                    event.object_id,
                    json.dumps(event.before, sort_keys=True),
                    json.dumps(event.after, sort_keys=True),
                    event.message,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mesh-portal-audit-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response


@login_required
@require_POST
def grant_revoke(request, pk: int):
    """An owner revokes the request's grant with a reason (required; the consumer is told)."""
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    grant = getattr(access_request, "grant", None)
    if not permissions.can_revoke(user=request.user, grant=grant):
        raise Http404("No such grant.")
    try:
        services.grant_revoke_request(grant_id=grant.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except ApplicationError as error:
        for message in [error.message, *(m for ms in error.extra.values() for m in ms if m != error.message)]:
            messages.error(request, message)
        return redirect("access:request_detail", pk=access_request.pk)
    messages.success(
        request,
        "Revocation recorded: it is applied on the platform within seconds and retried until it succeeds; the consumer is notified.",
    )
    return redirect("access:request_detail", pk=access_request.pk)


@login_required
def my_platform_identities(request):
    """The logins the user (and their teams) have on each platform: the grantees of their grants."""
    return render(request, "access/identities.html", selectors.platform_identities_of(user=request.user))
