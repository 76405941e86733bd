from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.insights.docs import kpi_docs_markdown


class Command(BaseCommand):
    help = "Write docs/kpis.md from the KPI definitions in apps/insights (the one source)."

    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / "docs" / "kpis.md"
        path.write_text(kpi_docs_markdown())
        self.stdout.write(f"Wrote {path}")
