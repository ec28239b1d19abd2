"""Scheduled inventory jobs: load, call the service, return a small result."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.contrib.auth import get_user_model

from backoffice.schedules import run_once, today

from . import services


@shared_task(name="inventory.stock_audit", ignore_result=True)
def stock_audit_nightly(period: str | None = None) -> dict | None:
    """Nightly stock audit; once per day whatever beat does."""
    run = run_once(
        job="stock_audit",
        period=period or today(),
        work=lambda: _audit_summary(services.stock_audit()),
    )
    return run.summary if run else None


@shared_task(name="inventory.stock_audit_now", ignore_result=True)
def stock_audit_now(actor_id: int | None = None) -> dict:
    """An audit asked for by staff from the admin (not bound to a period)."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return _audit_summary(services.stock_audit(actor=actor))


def _audit_summary(run) -> dict:
    return {"audit": run.pk, "findings": run.findings_count, "duration_ms": run.duration_ms}


@shared_task(name="inventory.stock_alerts", ignore_result=True)
def stock_alerts_daily(period: str | None = None) -> dict | None:
    """Refresh the stock alerts and e-mail the digest; once per day."""

    key = period or today()

    def work() -> dict:
        refreshed = services.stock_alerts_refresh()
        open_count = services.stock_alerts_digest(day=date.fromisoformat(key))
        return {"opened": refreshed.opened, "resolved": refreshed.resolved, "open": open_count}

    run = run_once(job="stock_alerts", period=key, work=work)
    return run.summary if run else None


@shared_task(name="inventory.stock_alerts_now", ignore_result=True)
def stock_alerts_now(actor_id: int | None = None) -> dict:
    """Refresh the alerts on demand (no digest: that is the daily job's)."""
    refreshed = services.stock_alerts_refresh()
    return {"opened": refreshed.opened, "resolved": refreshed.resolved}
