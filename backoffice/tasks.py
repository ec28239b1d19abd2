"""Celery tasks of the outbox: load by id, call the service, return a small result."""

from __future__ import annotations

from celery import shared_task

from . import outbox


@shared_task(name="outbox.deliver", ignore_result=True)
def outbox_deliver(message_id: int) -> str:
    """Deliver one outbox message; schedule the next attempt after a transient failure.

    The retry is a new message with a countdown (capped below the broker's
    visibility timeout); the row keeps the attempt count and the error. Run
    in-process (no broker), the retry is left to the periodic re-dispatch so
    that a web request never waits on backoff.
    """
    result = outbox.deliver(message_id)
    if result.retry_in is not None and not outbox_deliver.app.conf.task_always_eager:
        outbox_deliver.apply_async((message_id,), countdown=result.retry_in)
    return result.status


@shared_task(name="outbox.dispatch_batch", ignore_result=True)
def outbox_dispatch_batch(batch: str) -> int:
    """Queue one delivery per pending message of a batch (one business operation)."""
    count = 0
    for message_id in outbox.pending_ids(batch):
        outbox_deliver.delay(message_id)
        count += 1
    return count


@shared_task(name="outbox.redispatch", ignore_result=True)
def outbox_redispatch() -> int:
    """Periodic: hand again to the workers the messages nobody is working on."""
    return len(outbox.redispatch())


@shared_task(name="imports.run", ignore_result=True, acks_late=True)
def import_run_task(run_id: int, phase: str) -> str:
    """Check ("check") or apply ("apply") one import run; a second delivery is a no-op."""
    from .spreadsheets import runs

    if phase == "check":
        return "checked" if runs.import_run_check(run_id) else "skipped"
    return "applied" if runs.import_run_apply(run_id) else "skipped"
