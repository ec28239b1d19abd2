"""At most one run of a scheduled job per period (F-61).

Beat may fire twice (two beat processes by mistake, a restart at the wrong
second, a manual "run now" on top of the schedule): the run key
``(job, period)`` is unique in the database, so the second firing finds it
taken and does nothing. A run that failed can be tried again for its period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ScheduledRun

logger = logging.getLogger(__name__)


def today() -> str:
    """The period key of a daily job: the local date."""
    return timezone.localdate().isoformat()


def run_once(*, job: str, period: str, work: Callable[[], dict[str, Any]]) -> ScheduledRun | None:
    """Run ``work`` unless ``job`` already ran (or is running) for ``period``.

    Returns the run with its summary, or ``None`` when the period was taken.
    A failure is recorded on the run (status failed, error) and re-raised.
    """
    try:
        with transaction.atomic():
            run = ScheduledRun.objects.create(job=job, period=period)
    except IntegrityError:
        retried = ScheduledRun.objects.filter(
            job=job, period=period, status=ScheduledRun.Status.FAILED
        ).update(status=ScheduledRun.Status.RUNNING, error="", started_at=timezone.now())
        if not retried:
            logger.info("%s already ran for %s: skipped", job, period)
            return None
        run = ScheduledRun.objects.get(job=job, period=period)
    try:
        summary = work()
    except Exception as error:
        ScheduledRun.objects.filter(pk=run.pk).update(
            status=ScheduledRun.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    ScheduledRun.objects.filter(pk=run.pk).update(
        status=ScheduledRun.Status.DONE, summary=summary, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run
