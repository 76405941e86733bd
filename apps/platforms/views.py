"""Platform pages: sync history with the run in progress, "Sync now", sync settings.

Who may see or operate a platform is decided in ``selectors`` (``platform_get``); forbidden
answers 404 like missing.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from apps.core.exceptions import ApplicationError
from apps.sync import services as sync_services
from apps.sync.dbt_services import dbt_artifacts_upload

from . import selectors
from .choices import PlatformKind, SyncRunStatus
from .forms import DbtArtifactsForm, PlatformSyncSettingsForm


@login_required
def platform_list(request):
    return render(request, "platforms/list.html", {"rows": selectors.platform_list_rows(user=request.user)})


def _detail_context(request, platform, settings_form=None, requested_at: datetime | None = None) -> dict:
    runs = list(selectors.sync_run_list(platform=platform)[:25])
    can_operate = selectors.platform_can_operate(user=request.user, platform=platform)
    if requested_at is None:  # the runs table polls after "Sync now" until the requested run finished
        requested_at = parse_datetime(request.GET.get("since", "")) if request.GET.get("since") else None
    awaited = requested_at is not None and not any(
        r.started_at >= requested_at and r.status != SyncRunStatus.RUNNING for r in runs
    )
    return {
        "platform": platform,
        "runs": runs,
        "running": awaited or any(r.status == SyncRunStatus.RUNNING for r in runs),
        "since": requested_at.isoformat() if awaited else "",
        "can_operate": can_operate,
        "settings_form": settings_form or (PlatformSyncSettingsForm(instance=platform) if can_operate else None),
        "mappings": platform.exposure_assignments.select_related("domain", "data_product").order_by("schema", "table"),
    }


@login_required
def platform_detail(request, slug: str, dbt_form: DbtArtifactsForm | None = None):
    platform = selectors.platform_get(user=request.user, slug=slug)
    context = _detail_context(request, platform)
    if request.htmx:
        return render(request, "platforms/_runs.html", context)
    if platform.kind == PlatformKind.DBT:
        context.update(selectors.dbt_platform_context(platform=platform), dbt_form=dbt_form or DbtArtifactsForm())
    return render(request, "platforms/detail.html", context, status=400 if dbt_form is not None else 200)


@login_required
@require_POST
def platform_sync_now(request, slug: str):
    platform = selectors.platform_get(user=request.user, slug=slug, operate=True)
    last = selectors.platform_last_run(platform=platform)
    if last is not None and last.status == SyncRunStatus.RUNNING:
        # The task would refuse it anyway (one running run per platform); say so now.
        messages.info(request, f"A sync of {platform.name} is already running.")
        return redirect("platforms:detail", slug=platform.slug)
    requested_at = timezone.now()
    sync_services.platform_sync_request(platform=platform, actor=request.user)
    if request.htmx:  # the runs table answers, and polls until the new run is done
        return render(request, "platforms/_runs.html", _detail_context(request, platform, requested_at=requested_at))
    messages.success(request, f"Sync of {platform.name} started.")
    return redirect("platforms:detail", slug=platform.slug)


@login_required
@require_POST
def platform_dbt_upload(request, slug: str):
    """Upload dbt artifacts (platform operators); a bad file answers 400 with the form's errors."""
    platform = selectors.platform_get(user=request.user, slug=slug, operate=True)
    if platform.kind != PlatformKind.DBT:
        raise Http404("No such dbt platform.")
    form = DbtArtifactsForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            dbt_artifacts_upload(
                platform=platform,
                actor=request.user,
                manifest=form.cleaned_data["manifest"],
                catalog=form.cleaned_data["catalog"],
                run_results=form.cleaned_data["run_results"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"dbt artifacts uploaded; a sync of {platform.name} started.")
            return redirect("platforms:detail", slug=platform.slug)
    return platform_detail(request, slug, dbt_form=form)


@login_required
@require_POST
def platform_settings(request, slug: str):
    platform = selectors.platform_get(user=request.user, slug=slug, operate=True)
    form = PlatformSyncSettingsForm(request.POST, instance=platform)
    if form.is_valid():
        try:
            sync_services.platform_sync_settings_update(
                platform=platform,
                actor=request.user,
                sync_enabled=form.cleaned_data["sync_enabled"],
                sync_interval_minutes=form.cleaned_data["sync_interval_minutes"],
            )
        except ApplicationError as exc:
            for field, errors in (exc.extra or {}).items():
                form.add_error(field if field in form.fields else None, errors)
            if not exc.extra:
                form.add_error(None, exc.message)
        else:
            messages.success(request, "Sync settings saved.")
            return redirect("platforms:detail", slug=platform.slug)
    platform.refresh_from_db()  # the form's failed clean left bad values on the instance
    return render(request, "platforms/detail.html", _detail_context(request, platform, form), status=400)
