"""The notification inbox. Users see and mark only their own notifications."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import selectors, services


@login_required
def notification_inbox(request):
    page = Paginator(selectors.notification_list(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
def notification_badge(request):
    """htmx: the unread count in the navigation bar, polled so it changes without a reload."""
    return render(request, "notifications/_badge.html")


@login_required
@require_POST
def notification_read(request, pk: int | None = None):
    """Mark one notification (or all) read; then follow its link when asked (``next``)."""
    if pk is not None:
        get_object_or_404(selectors.notification_list(user=request.user), pk=pk)  # someone else's: 404
    services.notification_mark_read(user=request.user, notification_id=pk)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:inbox")
