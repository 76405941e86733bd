from pathlib import Path

from django.conf import settings

from apps.insights.charts import CHART_BUILDERS
from apps.insights.docs import CHART_DEFINITIONS, kpi_docs_markdown


def test_docs_kpis_md_is_generated_from_the_definitions():
    assert (Path(settings.BASE_DIR) / "docs" / "kpis.md").read_text() == kpi_docs_markdown(), "run: manage.py kpi_docs"


def test_every_chart_has_its_definition_in_the_docs():
    assert {key for key, _, _ in CHART_DEFINITIONS} == set(CHART_BUILDERS)
