"""``/api/v1/kpis/...``: the dashboards' numbers as JSON (who sees what: ``apps.insights.permissions``)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import charts, selectors
from ..kpis import KPIS
from . import serializers as s

DEFINITIONS = "\n".join(f"- `{k.key}` ({k.label}): {k.definition}" for k in KPIS.values())
CHART_KEYS = list(charts.CHART_BUILDERS)


def _period(request):
    query = s.KpiQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    return selectors.kpi_period_for(
        user=request.user,
        range_=data.get("range", "90"),
        start=data.get("start"),
        end=data.get("end"),
        domain_id=data.get("domain"),
    )


class KpiValuesView(APIView):
    @extend_schema(
        summary="KPI values with the previous period and targets",
        tags=["insights"],
        parameters=[s.KpiQuerySerializer],
        responses=s.KpiValuesSerializer,
        description="Every KPI over the period, with its value over the period just before, its target "
        "and whether it is on track. Executives and stewards: every domain; a domain's owner "
        "team: its domain; others 404. `null` means no data.\n\n" + DEFINITIONS,
    )
    def get(self, request):
        period = _period(request)
        tiles = selectors.kpi_tiles(period=period)
        return Response(
            s.KpiValuesSerializer(
                {
                    "start": period.start,
                    "end": period.end,
                    "domain": period.domain_id,
                    "time_zone": settings.TIME_ZONE,
                    "kpis": [
                        {
                            **{f: getattr(t["kpi"], f) for f in ("key", "group", "label", "definition", "unit")},
                            "value": t["value"],
                            "previous": t["previous"],
                            "change": t["change"],
                            "target": t["target"].value if t["target"] else None,
                            "target_status": t["status"],
                        }
                        for t in tiles
                    ],
                }
            ).data
        )


class KpiChartView(APIView):
    @extend_schema(
        summary="One KPI chart's rows",
        tags=["insights"],
        parameters=[s.KpiQuerySerializer, OpenApiParameter("key", str, OpenApiParameter.PATH, enum=CHART_KEYS)],
        responses=s.ChartSerializer,
        description="The rows behind one chart of the dashboard (the same as its table and CSV).",
    )
    def get(self, request, key: str):
        period = _period(request)
        chart = charts.chart_get(key, period)
        if chart is None:
            raise Http404
        return Response(s.ChartSerializer(chart.as_dict()).data)
