from django.core.management.base import BaseCommand

from apps.insights.demo_history import demo_history


class Command(BaseCommand):
    help = (
        "Simulate six months of searches, views, requests, decisions, grants, expiries, use cases and syncs "
        "through the real services (once: skipped when access requests exist). See apps/insights/demo_history.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=14)
        parser.add_argument("--days", type=int, default=182)

    def handle(self, *args, **options):
        counts = demo_history(seed=options["seed"], days=options["days"])
        self.stdout.write("Demo history: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
