"""Scheduled purchasing jobs (F-61): replenishment suggestions and supplier scorecards.

Both e-mail staff a digest through the outbox, at most once per period.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from celery import shared_task

from backoffice.notifications import (
    EMAIL_STAFF_REPLENISHMENT,
    EMAIL_STAFF_SCORECARDS,
    notify_staff,
)
from backoffice.schedules import run_once, today

from . import selectors
from .models import Supplier
from .selectors import percent


def replenishment_notify(*, period: str) -> dict:
    """Tell staff how many SKUs need ordering, per preferred supplier (nothing if none)."""
    suggestions = selectors.replenishment_suggestions()
    if not suggestions:
        return {"suggestions": 0}
    per_supplier = Counter(s.supplier_code or "—" for s in suggestions)
    notify_staff(
        event=EMAIL_STAFF_REPLENISHMENT,
        key=f"replenishment-{period}",
        payload={
            "count": len(suggestions),
            "day": period,
            "by_supplier": dict(per_supplier.most_common()),
            "without_supplier": sum(1 for s in suggestions if s.supplier_id is None),
            "sample": [
                {
                    "sku": s.sku,
                    "warehouse": s.warehouse_code,
                    "quantity": s.quantity,
                    "supplier": s.supplier_code or "—",
                }
                for s in suggestions[:30]
            ],  # fmt: skip
        },
    )
    return {"suggestions": len(suggestions)}


def scorecards_notify(*, period: str, end: date) -> dict:
    """E-mail staff the scorecards of the active suppliers over the 30 days to ``end``."""
    start = end - timedelta(days=29)
    rows = selectors.supplier_scorecards(
        Supplier.objects.filter(is_active=True), start=start, end=end
    ).order_by("code")

    lines = [
        {
            "supplier": f"{s.code} · {s.name}",
            "on_time": percent(s.on_time_rate),
            "fill": percent(s.fill_rate),
            "rejected": percent(s.rejection_rate),
            "price": percent(s.price_variance),
            "returns": percent(s.return_rate),
        }
        for s in rows
    ]
    if not lines:
        return {"suppliers": 0}
    notify_staff(
        event=EMAIL_STAFF_SCORECARDS,
        key=f"scorecards-{period}",
        payload={
            "count": len(lines),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "lines": lines,
        },
    )
    return {"suppliers": len(lines)}


@shared_task(name="suppliers.replenishment", ignore_result=True)
def replenishment_daily(period: str | None = None) -> dict | None:
    """Daily: the replenishment suggestions as a staff digest; once per day."""
    key = period or today()
    run = run_once(job="replenishment", period=key, work=lambda: replenishment_notify(period=key))
    return run.summary if run else None


@shared_task(name="suppliers.scorecards", ignore_result=True)
def scorecards_weekly(period: str | None = None) -> dict | None:
    """Weekly: the suppliers' scorecards over the last 30 days; once per ISO week."""
    end = date.fromisoformat(period) if period else date.fromisoformat(today())
    year, week, _day = end.isocalendar()
    key = f"{year}-W{week:02d}"
    run = run_once(
        job="scorecards", period=key, work=lambda: scorecards_notify(period=key, end=end)
    )
    return run.summary if run else None
