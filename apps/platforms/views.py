"""Platform pages: sync history and "Sync now"."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .choices import PlatformKind
from .dbt_services import dbt_artifacts_upload
from .forms import DbtArtifactsForm
from .models import SyncRun
from .selectors import dbt_platform_context, platform_can_operate, platform_get_for_operator
from .selectors import platform_list as platform_list_for
from .services import platform_sync_request


@login_required
def platform_list(request):
    rows = [{"platform": p, "can_operate": platform_can_operate(user=request.user, platform=p)}
            for p in platform_list_for(user=request.user)]
    return render(request, "platforms/list.html", {"rows": rows})


@login_required
def platform_detail(request, slug: str, dbt_form: DbtArtifactsForm | None = None):
    platform = platform_get_for_operator(user=request.user, slug=slug)
    runs = SyncRun.objects.filter(platform=platform).select_related("triggered_by").order_by("-started_at")[:25]
    context = {"platform": platform, "runs": runs, "running": any(r.status == "running" for r in runs)}
    if request.htmx:
        return render(request, "platforms/_runs.html", context)
    if platform.kind == PlatformKind.DBT:
        context.update(dbt_platform_context(platform=platform), dbt_form=dbt_form or DbtArtifactsForm())
    return render(request, "platforms/detail.html", context, status=400 if dbt_form is not None else 200)


@login_required
@require_POST
def platform_sync_now(request, slug: str):
    platform = platform_get_for_operator(user=request.user, slug=slug)
    platform_sync_request(platform=platform, actor=request.user)
    messages.success(request, f"Sync of {platform.name} started.")
    return redirect("platforms:detail", slug=platform.slug)


@login_required
@require_POST
def platform_dbt_upload(request, slug: str):
    """Upload dbt artifacts (platform operators); a bad file answers 400 with the form's errors."""
    platform = platform_get_for_operator(user=request.user, slug=slug)
    if platform.kind != PlatformKind.DBT:
        raise Http404("No such dbt platform.")
    form = DbtArtifactsForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            dbt_artifacts_upload(
                platform=platform, actor=request.user, manifest=form.cleaned_data["manifest"],
                catalog=form.cleaned_data["catalog"], run_results=form.cleaned_data["run_results"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"dbt artifacts uploaded; a sync of {platform.name} started.")
            return redirect("platforms:detail", slug=platform.slug)
    return platform_detail(request, slug, dbt_form=form)
