"""``manage.py api_token_create <username>``: create (or replace) a user's API token and print its
key once (it is stored only as a digest). Replaces DRF's ``drf_create_token``."""

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.models import User


class Command(BaseCommand):
    help = "Create or replace a user's API token and print the key (shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        token, key = services.api_token_create(user=user)
        expiry = f", valid until {token.expiry:%Y-%m-%d}" if token.expiry else ""
        self.stdout.write(f"API token for {username}{expiry} (shown only now):")
        self.stdout.write(key)
