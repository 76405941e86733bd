"""``manage.py contract_import_repo PATH --as USER [--product SLUG ...]``: publish a contract file
from the repository checkouts under ``CONTRACT_REPOSITORY_ROOT`` (apps.contracts.repository),
as that user, through the one import service. Exit status 1 with the reasons when refused."""

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.contracts.odcs import contract_errors_as_lines
from apps.contracts.services import data_contract_import_from_repository
from apps.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Import a data contract from a file in the repository checkouts (CONTRACT_REPOSITORY_ROOT)."

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="Relative to CONTRACT_REPOSITORY_ROOT, or an absolute path / file:// URL in it."
        )
        parser.add_argument(
            "--as", dest="username", required=True, help="The user who publishes (an owner of the product)."
        )
        parser.add_argument("--product", default="", help="Data product slug (default: from the contract).")
        parser.add_argument("--domain", default="")
        parser.add_argument("--owner-team", default="")
        parser.add_argument("--platform", default="")

    def handle(self, *args, **options):
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {options['username']!r}.")
        try:
            result = data_contract_import_from_repository(
                actor=actor,
                path=options["path"],
                data_product=options["product"],
                domain=options["domain"],
                owner_team=options["owner_team"],
                platform=options["platform"],
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        except ApplicationError as exc:
            raise CommandError("\n".join([exc.message, *contract_errors_as_lines(exc.extra or {})])) from None
        changes = ", ".join(result.changes) or "nothing changed (already published)"
        self.stdout.write(self.style.SUCCESS(f"{result.data_product.slug} {result.data_contract.version}: {changes}"))
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(warning))
