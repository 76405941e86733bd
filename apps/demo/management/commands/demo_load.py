"""``manage.py demo_load``: the demo on real input (AdventureWorks), safe to run again."""

from django.core.management.base import BaseCommand

from apps.demo import loader


class Command(BaseCommand):
    help = "Load the AdventureWorks warehouse, register it, create demo users/teams/products and enqueue a sync."

    def add_arguments(self, parser):
        parser.add_argument(
            "--warehouse-url", help="PostgreSQL URL of the demo warehouse (default: DEMO_WAREHOUSE_URL)."
        )
        parser.add_argument("--no-sync", action="store_true", help="Do not enqueue the first metadata sync.")

    def handle(self, *args, **options):
        result = loader.demo_load(warehouse_url=options.get("warehouse_url"), enqueue_sync=not options["no_sync"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded: warehouse {result.warehouse_label}, {len(result.products)} data products."
            )
        )
        self.stdout.write(loader.logins_table())
