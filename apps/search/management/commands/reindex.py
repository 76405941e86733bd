import time

from django.core.management.base import BaseCommand

from apps.search.backends import get_backend
from apps.search.services import search_reindex_all


class Command(BaseCommand):
    help = "Rebuild the search index of every data product from the catalog (PostgreSQL, and Elasticsearch when configured)."

    def handle(self, *args, **options):
        started = time.monotonic()
        written = search_reindex_all()
        self.stdout.write(
            self.style.SUCCESS(
                f"Indexed {written} data products on {get_backend().name} in {time.monotonic() - started:.1f} s."
            )
        )
