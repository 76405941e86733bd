import json

from django import template
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

register = template.Library()


@register.filter
def kpi_format(value, unit: str = "count") -> str:
    """A KPI value for people: "no data" for None, % for shares, h for hours, 2 decimals for money."""
    if value is None:
        return "no data"
    if unit == "share":
        return f"{value * 100:.1f} %"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit in ("money", "money_per_month"):
        return f"{value:,.2f}" + (" / month" if unit == "money_per_month" else "")
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


@register.filter
def kpi_change(tile) -> str:
    change = tile["change"]
    if change is None:
        return "no comparison"
    kpi = tile["kpi"]
    if change == 0:
        return "no change vs previous period"
    arrow = "▲" if change > 0 else "▼"
    good = (change > 0) == kpi.higher_is_better
    shown = kpi_format(abs(change), kpi.unit).replace(" / month", "")
    return f"{arrow} {shown} vs previous period ({'better' if good else 'worse'})"


@register.filter
def heat(value, maximum) -> str:
    """The CSS class of a heat-map cell: heat-0 (none) .. heat-5 (the maximum); classes, not inline
    styles, because the Content-Security-Policy allows no inline style."""
    try:
        share = float(value) / float(maximum) if maximum else 0
    except (TypeError, ValueError):
        return "heat-0"
    return f"heat-{0 if share <= 0 else min(5, 1 + int(share * 5))}"


@register.filter
def sparkline_json(series) -> str:
    """A trend line ``[(day, value or None)]`` as the JSON ``insights.js`` draws:
    ``[{"x": "YYYY-MM-DD", "y": number or null}]`` (one filter instead of a template loop per point)."""
    return json.dumps([{"x": day.isoformat(), "y": value} for day, value in series], separators=(",", ":"))


def _cell(value) -> str:
    # What ``{{ value|default_if_none:"no data" }}`` renders (localized, escaped), without a
    # template node per cell: a chart's table has hundreds of cells.
    value = localize(template_localtime("no data" if value is None else value))
    return conditional_escape(value if isinstance(value, str) else str(value))


@register.filter
def table_cells(row) -> str:
    """A chart table row's cells: the first a row header, the others data cells, "no data" for None."""
    if not row:
        return ""
    cells = [format_html('<th scope="row">{}</th>', _cell(row[0]))]
    cells += [format_html("<td>{}</td>", _cell(value)) for value in row[1:]]
    return mark_safe("".join(cells))  # noqa: S308 - every part escaped by format_html


@register.filter
def row_max(rows) -> float:
    values = [v for r in rows for v in r[1:] if isinstance(v, (int, float))]
    return max(values) if values else 0


DOMAIN_TILES = [
    "published_products",
    "active_consumers",
    "ttd_median_hours",
    "backlog",
    "past_sla",
    "cross_domain_share",
    "live_value",
    "monthly_cost",
]


@register.inclusion_tag("insights/_domain_kpis.html", takes_context=True)
def domain_kpis(context, domain):
    """The KPI section of a domain page: a few tiles over the last 90 days, for those who may
    see the domain's KPIs (nothing for anyone else)."""
    from apps.insights import kpis
    from apps.insights.permissions import kpi_can_view

    request = context.get("request")
    if request is None or not kpi_can_view(request.user, domain.pk):
        return {"show": False}
    period = kpis.last_days(90, domain_id=domain.pk)
    values = kpis.kpi_values(period, DOMAIN_TILES)
    return {"show": True, "domain": domain, "tiles": [(kpis.KPIS[k], values[k]) for k in DOMAIN_TILES]}
