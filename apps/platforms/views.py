"""Platform pages: sync history and "Sync now"."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import SyncRun
from .selectors import platform_can_operate, platform_get_for_operator
from .selectors import platform_list as platform_list_for
from .services import platform_sync_request


@login_required
def platform_list(request):
    rows = [{"platform": p, "can_operate": platform_can_operate(user=request.user, platform=p)}
            for p in platform_list_for(user=request.user)]
    return render(request, "platforms/list.html", {"rows": rows})


@login_required
def platform_detail(request, slug: str):
    platform = platform_get_for_operator(user=request.user, slug=slug)
    runs = SyncRun.objects.filter(platform=platform).select_related("triggered_by").order_by("-started_at")[:25]
    context = {"platform": platform, "runs": runs, "running": any(r.status == "running" for r in runs)}
    if request.htmx:
        return render(request, "platforms/_runs.html", context)
    return render(request, "platforms/detail.html", context)


@login_required
@require_POST
def platform_sync_now(request, slug: str):
    platform = platform_get_for_operator(user=request.user, slug=slug)
    platform_sync_request(platform=platform, actor=request.user)
    messages.success(request, f"Sync of {platform.name} started.")
    return redirect("platforms:detail", slug=platform.slug)
