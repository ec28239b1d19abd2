"""The stock audit (F-18): the ledger invariant checked for every stock row, in SQL.

Reads only; writes the run and its findings. Each check is one
``INSERT … SELECT`` over the whole table (a grouped sum of the ledger joined
to the levels), never a loop over rows, so it costs a few statements at
100k stock rows and 1M movements as at ten.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from ..models import Allocation, LotStock, Movement, Stock, StockAuditFinding, StockAuditRun

Kind = StockAuditFinding.Kind

# Orders whose allocations should have been shipped or released by now.
CLOSED_ORDER_STATUSES = ("shipped", "delivered", "cancelled")

_FINDING = "INSERT INTO {finding} (run_id, kind, stock_id, allocation_id, expected, actual) "

CHECKS: dict[str, str] = {
    # on hand == the sum of the ledger
    Kind.LEDGER_MISMATCH: """
        SELECT %(run)s, %(kind)s, s.id, NULL, COALESCE(m.total, 0), s.on_hand
        FROM {stock} s
        LEFT JOIN (SELECT stock_id, SUM(quantity) AS total FROM {movement} GROUP BY stock_id) m
          ON m.stock_id = s.id
        WHERE s.on_hand <> COALESCE(m.total, 0)
    """,
    Kind.NEGATIVE: """
        SELECT %(run)s, %(kind)s, s.id, NULL, 0,
               CASE WHEN s.on_hand < s.allocated THEN s.on_hand ELSE s.allocated END
        FROM {stock} s
        WHERE s.on_hand < 0 OR s.allocated < 0
    """,
    Kind.OVER_ALLOCATED: """
        SELECT %(run)s, %(kind)s, s.id, NULL, s.on_hand, s.allocated
        FROM {stock} s
        WHERE s.allocated > s.on_hand AND NOT s.backorders_allowed
    """,
    # allocated == the sum of the open allocation rows
    Kind.ALLOCATION_MISMATCH: """
        SELECT %(run)s, %(kind)s, s.id, NULL, COALESCE(a.total, 0), s.allocated
        FROM {stock} s
        LEFT JOIN (SELECT stock_id, SUM(quantity) AS total FROM {allocation} GROUP BY stock_id) a
          ON a.stock_id = s.id
        WHERE s.allocated <> COALESCE(a.total, 0)
    """,
    # still reserved for an order that is closed, or for longer than STALE_ALLOCATION_DAYS
    Kind.STALE_ALLOCATION: """
        SELECT %(run)s, %(kind)s, a.stock_id, a.id, 0, a.quantity
        FROM {allocation} a
        LEFT JOIN {order_line} ol ON a.reference = 'order-line:' || CAST(ol.id AS VARCHAR(20))
        LEFT JOIN {order} o ON o.id = ol.order_id
        WHERE a.quantity > 0 AND (a.created_at < %(stale_before)s OR o.status IN {closed})
    """,
    # a lot-tracked row: its lots add up to its levels (on hand first, then allocated)
    Kind.LOT_MISMATCH: """
        SELECT %(run)s, %(kind)s, s.id, NULL,
               CASE WHEN s.on_hand <> COALESCE(l.on_hand, 0)
                    THEN COALESCE(l.on_hand, 0) ELSE COALESCE(l.allocated, 0) END,
               CASE WHEN s.on_hand <> COALESCE(l.on_hand, 0) THEN s.on_hand ELSE s.allocated END
        FROM {stock} s
        JOIN {variant} v ON v.id = s.variant_id
        LEFT JOIN (SELECT stock_id, SUM(on_hand) AS on_hand, SUM(allocated) AS allocated
                   FROM {lot_stock} GROUP BY stock_id) l
          ON l.stock_id = s.id
        WHERE v.track_lots
          AND (s.on_hand <> COALESCE(l.on_hand, 0) OR s.allocated <> COALESCE(l.allocated, 0))
    """,
}


def _tables() -> dict[str, str]:
    from catalog.models import Variant
    from orders.models import Order, OrderLine

    quote = connection.ops.quote_name
    return {
        "finding": quote(StockAuditFinding._meta.db_table),
        "stock": quote(Stock._meta.db_table),
        "variant": quote(Variant._meta.db_table),
        "lot_stock": quote(LotStock._meta.db_table),
        "movement": quote(Movement._meta.db_table),
        "allocation": quote(Allocation._meta.db_table),
        "order_line": quote(OrderLine._meta.db_table),
        "order": quote(Order._meta.db_table),
        # constants of ours, not input: written into the statement
        "closed": "(" + ", ".join(f"'{status}'" for status in CLOSED_ORDER_STATUSES) + ")",
    }


def stock_audit(*, actor: Any = None) -> StockAuditRun:
    """Check every stock row against the ledger and the allocations; store what is wrong.

    Finds: on hand that differs from the sum of movements, negative levels,
    allocated above on hand without backorders, allocated that differs from
    the allocation rows, stale allocations (order closed, or older than
    ``STALE_ALLOCATION_DAYS``), and lot-tracked rows whose lots do not add up
    to their on hand or allocated. Writes one run and its findings; changes no
    stock. Staff are told by e-mail (through the outbox) when something is found.
    """
    from backoffice.notifications import EMAIL_STAFF_AUDIT, notify_staff

    started = timezone.now()
    clock = time.perf_counter()
    tables = _tables()
    with transaction.atomic():
        run = StockAuditRun.objects.create(started_at=started, actor=actor)
        params = {
            "run": run.pk,
            "stale_before": started - timedelta(days=settings.STALE_ALLOCATION_DAYS),
        }
        with connection.cursor() as cursor:
            for kind, select in CHECKS.items():
                sql = (_FINDING + select).format(**tables)
                cursor.execute(sql, {**params, "kind": str(kind)})
        by_kind = dict(run.findings.values_list("kind").annotate(n=Count("id")).order_by("kind"))
        run.findings_count = sum(by_kind.values())
        run.stock_rows = Stock.objects.count()
        run.movements = Movement.objects.count()
        run.finished_at = timezone.now()
        run.duration_ms = int((time.perf_counter() - clock) * 1000)
        run.save(
            update_fields=[
                "findings_count",
                "stock_rows",
                "movements",
                "finished_at",
                "duration_ms",
            ]
        )
        if run.findings_count:
            sample = [
                {
                    "sku": finding.stock.variant.sku,
                    "warehouse": finding.stock.warehouse.code,
                    "kind": finding.get_kind_display(),
                    "expected": finding.expected,
                    "actual": finding.actual,
                }
                for finding in run.findings.select_related(
                    "stock__variant", "stock__warehouse"
                ).order_by("kind", "stock_id")[:20]
            ]
            labels = dict(Kind.choices)
            notify_staff(
                event=EMAIL_STAFF_AUDIT,
                key=f"stock-audit-{run.pk}",
                payload={
                    "run": run.pk,
                    "count": run.findings_count,
                    "stock_rows": run.stock_rows,
                    "started_at": started.isoformat(timespec="seconds"),
                    "by_kind": {str(labels[k]): n for k, n in by_kind.items()},
                    "sample": sample,
                },
            )
    return run
