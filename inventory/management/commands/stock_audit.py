"""manage.py stock_audit — run the stock audit now; exit 1 if it finds anything.

For a restore drill or a cron outside Celery: prints the run's figures and
its findings by kind.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from inventory.services import stock_audit


class Command(BaseCommand):
    help = "Check every stock row against the ledger and the allocations (F-18)."

    def handle(self, *args, **options) -> None:
        run = stock_audit()
        self.stdout.write(
            f"stock audit: {run.stock_rows} stock rows, {run.movements} movements, "
            f"{run.findings_count} findings, {run.duration_ms} ms"
        )
        for finding in run.findings.select_related("stock__variant", "stock__warehouse")[:50]:
            self.stdout.write(
                f"  {finding.get_kind_display()}: {finding.stock.variant.sku} @ "
                f"{finding.stock.warehouse.code} expected {finding.expected}, "
                f"stored {finding.actual}"
            )
        if run.findings_count:
            raise CommandError(f"{run.findings_count} finding(s)")
