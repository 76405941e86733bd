from django.core.management.base import BaseCommand

from apps.insights.backfill import usage_events_backfill


class Command(BaseCommand):
    help = "Fill the insights fact table once from existing access requests, steps, grants, audit events and sync runs."

    def handle(self, *args, **options):
        counts = usage_events_backfill()
        total = sum(counts.values())
        self.stdout.write(f"Backfilled {total} events: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
