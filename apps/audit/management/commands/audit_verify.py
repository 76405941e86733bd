"""``manage.py audit_verify``: check that the audit trail's hash chain is intact.

Exit status 0 and "Audit chain intact: N events; head SEQ HASH" when every event verifies (keep the head
elsewhere: it detects a trail rewritten in full); otherwise each broken link
is listed (position, event id, reason) and the command exits with status 1. See ``docs/security.md``.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's tamper-evident SHA-256 chain."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="List at most this many broken links.")

    def handle(self, *args, limit: int, **options):
        report = audit_chain_verify(limit=limit)
        if report.ok:
            self.stdout.write(f"Audit chain intact: {report.checked} events; head {report.head_seq} {report.head_hash}")
            return
        for b in report.breaks:
            self.stdout.write(f"chain position {b.chain_seq} (event {b.event_id}): {b.reason} does not verify")
        if report.unchained:
            self.stdout.write(
                f"{report.unchained} event(s) carry no chain position (written with the trigger disabled)"
            )
        raise CommandError(f"Audit chain broken: {len(report.breaks)} bad link(s) in {report.checked} events.")
