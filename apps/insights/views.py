"""The KPI dashboard pages (thin: forms, selectors, templates). Who sees what: ``permissions``."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.exceptions import ApplicationError

from . import charts, selectors, services
from .forms import DashboardFilterForm, KpiTargetForm
from .kpis import KPIS
from .permissions import kpi_target_can_set


def _period(request):
    form = DashboardFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None
    data = form.cleaned_data if request.GET else {}
    period = selectors.kpi_period_for(
        user=request.user,
        range_=data.get("range") or "90",
        start=data.get("start"),
        end=data.get("end"),
        domain_id=data.get("domain"),
    )
    return form, period


@login_required
def dashboard(request):
    """``/insights/``: KPI tiles with their change against the previous period, then every chart."""
    form, period = _period(request)
    if period is None:
        return render(
            request,
            "insights/dashboard.html",
            {"form": form, "domains": selectors.kpi_domains(user=request.user)},
            status=400,
        )
    source = (form.cleaned_data.get("source") if request.GET else "") or "snapshot"
    shown = selectors.kpi_dashboard(period=period, source=source)
    built = shown["charts"]
    return render(
        request,
        "insights/dashboard.html",
        {
            "form": form,
            "period": period,
            "tiles": shown["tiles"],
            "charts": built,
            "charts_json": [c.as_dict() for c in built],
            "TIME_ZONE": settings.TIME_ZONE,
            "domains": selectors.kpi_domains(user=request.user),
            "query": request.GET.urlencode(),
            "can_set_targets": kpi_target_can_set(request.user),
            "target_form": KpiTargetForm(),
        },
    )


@login_required
def chart_csv(request, key: str):
    """One chart's rows as CSV (same period/domain query string as the dashboard)."""
    form, period = _period(request)
    if period is None:
        return HttpResponse("; ".join(str(e) for e in form.errors.values()), status=400, content_type="text/plain")
    chart = charts.chart_get(key, period)
    if chart is None:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}-{period.start}-{period.end}.csv"'
    writer = csv.writer(response)
    writer.writerow(chart.columns)
    writer.writerows(chart.rows)
    return response


@login_required
def drill(request, name: str):
    """The list behind a tile or a chart point, e.g. the requests past SLA."""
    form, period = _period(request)
    if period is None:
        return HttpResponse("Bad filter.", status=400, content_type="text/plain")
    if name not in selectors.DRILL_LISTS:
        raise Http404
    columns, rows = selectors.kpi_drill_list(
        name=name, period=period, point=form.cleaned_data.get("point", "") if request.GET else ""
    )
    return render(
        request,
        "insights/drill.html",
        {
            "title": selectors.DRILL_LISTS[name],
            "columns": columns,
            "rows": rows,
            "period": period,
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_POST
def target_create(request):
    """A steward sets a KPI target."""
    if not kpi_target_can_set(request.user):
        raise Http404
    form = KpiTargetForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Target not saved: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("insights:dashboard")
    data = form.cleaned_data
    domain = None
    if data.get("domain"):
        from apps.catalog.models import Domain

        domain = Domain.objects.filter(pk=data["domain"]).first()
    try:
        services.kpi_target_set(
            actor=request.user,
            kpi=data["kpi"],
            value=data["value"],
            direction=data["direction"],
            start=data["start"],
            end=data["end"],
            domain=domain,
        )
    except (ApplicationError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Target set for {KPIS[data['kpi']].label}.")
    return redirect("insights:dashboard")


@login_required
@require_POST
def request_product(request):
    """Unmet demand, one click: ask the governance team for a new data product for a search."""
    query = (request.POST.get("query") or "").strip()[:200]
    if not query:
        messages.error(request, "Say what data you are looking for.")
        return redirect("catalog:marketplace")
    services.data_product_demand_record(actor=request.user, query=query)
    messages.success(request, f"The governance team was asked for a data product about “{query}”.")
    return (
        redirect(request.POST.get("next") or "catalog:marketplace")
        if url_is_safe(request)
        else redirect("catalog:marketplace")
    )


def url_is_safe(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    return url_has_allowed_host_and_scheme(request.POST.get("next") or "", allowed_hosts={request.get_host()})


class LoginView(auth_views.LoginView):
    """The login page; with no ``next`` each persona lands on their page
    (:func:`mesh_portal.navigation.landing_url`: executives on the insights dashboard)."""

    def form_valid(self, form):
        from .permissions import kpi_can_view_any

        response = super().form_valid(form)
        self.request.session["insights_nav"] = kpi_can_view_any(self.request.user)
        return response

    def get_default_redirect_url(self):
        # One rule for every persona's landing page (mesh_portal.navigation), straight after login.
        from mesh_portal.navigation import landing_url

        return landing_url(self.request.user)
