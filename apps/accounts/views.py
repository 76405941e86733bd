"""The profile page: who you are, your teams, your platform logins, and your API token."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.platforms.selectors import platform_identity_list

from . import selectors, services


@login_required
def profile(request):
    token = selectors.api_token_for(user=request.user)
    context = {
        "token": token,
        "new_token_key": request.session.pop("new_api_token", None),
        "memberships": request.user.memberships.select_related("team").order_by("team__name"),
        "identities": platform_identity_list(user=request.user),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def token_create(request):
    _, key = services.api_token_create(user=request.user)
    # Shown once, on the next page load, then forgotten.
    request.session["new_api_token"] = key
    messages.success(request, "New API token created. Copy it now: it is shown only once.")
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke(request):
    if services.api_token_revoke(user=request.user):
        messages.success(request, "API token revoked: scripts using it are refused from now on.")
    return redirect("accounts:profile")
