"""Scheduled catalog jobs: load, call the service, return a small result."""

from __future__ import annotations

from celery import shared_task

from backoffice.schedules import run_once, today

from . import compliance


@shared_task(name="catalog.compliance_check", ignore_result=True)
def compliance_check_daily(period: str | None = None) -> dict | None:
    """The daily listing compliance check (F-40); once per day whatever beat does."""
    run = run_once(
        job="compliance_check",
        period=period or today(),
        work=lambda: compliance.compliance_check().as_summary(),
    )
    return run.summary if run else None


@shared_task(name="catalog.compliance_check_now", ignore_result=True)
def compliance_check_now(actor_id: int | None = None) -> dict:
    """A check asked for by staff from the admin (not bound to a period)."""
    return compliance.compliance_check().as_summary()
