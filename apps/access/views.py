"""Access request pages. Views parse input and call selectors/services; rules live in services."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.catalog.selectors import data_product_get
from apps.core.exceptions import ApplicationError

from . import selectors, services
from .forms import AccessRequestForm, DecisionForm


@login_required
def access_request_create(request, slug: str):
    product = data_product_get(user=request.user, slug=slug)
    form = AccessRequestForm(request.POST or None, product=product, user=request.user,
                             initial={"output_port": request.GET.get("port")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            access_request = services.access_request_submit(
                requester=request.user, output_port=data["output_port"], purpose=data["purpose"],
                justification=data["justification"], expires_at=data["expires_at"],
                on_behalf_of_team=data["on_behalf_of_team"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, "Your request was sent to the data product's owners.")
            return redirect("access:request_detail", pk=access_request.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "access/request_form.html", {"product": product, "form": form}, status=status)


@login_required
def access_request_detail(request, pk: int):
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    grant = getattr(access_request, "grant", None)
    context = {
        "access_request": access_request,
        "product": access_request.output_port.data_product,
        "grant": grant,
        "attempts": grant.attempts.all()[:10] if grant else [],
        "audit_events": selectors.audit_for_access_request(access_request=access_request),
        "can_decide": selectors.access_request_can_decide(user=request.user, access_request=access_request),
        "decision_form": DecisionForm(),
    }
    if request.htmx and request.GET.get("fragment") == "status":
        return render(request, "access/_request_status.html", context)
    return render(request, "access/request_detail.html", context)


@login_required
def access_request_inbox(request):
    return render(request, "access/inbox.html", {"requests": selectors.access_request_inbox(user=request.user)})


@login_required
def access_request_mine(request):
    return render(request, "access/mine.html", {"requests": selectors.access_request_mine(user=request.user)})


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
    return _decide(request, pk, lambda id_, comment: services.access_request_approve(
        access_request_id=id_, actor=request.user, comment=comment))


@login_required
@require_POST
def access_request_reject(request, pk: int):
    return _decide(request, pk, lambda id_, comment: services.access_request_reject(
        access_request_id=id_, actor=request.user, reason=comment))


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


@login_required
@require_POST
def grant_revoke(request, pk: int):
    """An owner revokes the request's grant with a reason (required; the consumer is told)."""
    access_request = selectors.access_request_get(user=request.user, pk=pk)
    grant = getattr(access_request, "grant", None)
    if not selectors.grant_can_revoke(user=request.user, grant=grant):
        raise Http404("No such grant.")
    try:
        services.grant_revoke_by_owner(grant_id=grant.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except ApplicationError as error:
        for message in [error.message, *(m for ms in error.extra.values() for m in ms if m != error.message)]:
            messages.error(request, message)
        return redirect("access:request_detail", pk=access_request.pk)
    messages.success(request, "Access is being revoked; the consumer is notified.")
    return redirect("access:request_detail", pk=access_request.pk)


@login_required
def my_platform_identities(request):
    """The logins the user (and their teams) have on each platform: the grantees of their grants."""
    return render(request, "access/identities.html", selectors.platform_identities_of(user=request.user))
