"""Scheduled warehouse jobs (F-61): load, call the service, return a small result."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from backoffice.schedules import run_once, today

from . import services


@shared_task(name="warehouse.cycle_counts", ignore_result=True)
def cycle_counts_daily(period: str | None = None) -> dict | None:
    """Daily: reclassify the SKUs (ABC) and plan the cycle counts that are due; once per day."""
    key = period or today()
    run = run_once(
        job="cycle_counts",
        period=key,
        work=lambda: services.cycle_counts_run(today=date.fromisoformat(key)),
    )
    return run.summary if run else None
