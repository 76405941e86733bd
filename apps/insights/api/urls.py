from django.urls import path

from . import views

urlpatterns = [
    path("kpis/values/", views.KpiValuesView.as_view(), name="kpi-values"),
    path("kpis/charts/<slug:key>/", views.KpiChartView.as_view(), name="kpi-chart"),
]
