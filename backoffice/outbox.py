"""The outbox (F-60): every notification and outbound call is first a row.

Business services write ``OutboxMessage`` rows in their own transaction and
ask for delivery after commit (``dispatch_on_commit``). Delivery is at least
once, made effectively once by two things: the claim is a conditional UPDATE
(a second delivery of the same row finds it taken or done and does nothing),
and every request carries the row's idempotency key, which the receiver can
use to drop a repeat after a worker died between sending and recording.

Failures are recorded on the row (attempts, last error, next attempt) and
retried with exponential backoff up to ``max_attempts``, then the row is
marked failed, where staff see it and can resend it. A periodic task
(``redispatch``) picks up rows nobody is working on: pending because the
broker was down at commit, or stuck in "sending" past their lease because a
worker was killed.
"""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import KombuError

from .errors import DomainError
from .models import OutboxMessage, WebhookEndpoint
from .webhooks import DeliveryError
from .webhooks import post as post_webhook

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

NOTHING_TO_RESEND = _("None of the selected messages can be resent: they are being sent now.")
UNKNOWN_RECIPIENT = _("An e-mail needs a recipient address.")
UNKNOWN_ENDPOINT = _("A webhook needs an endpoint.")

# Transient: the receiver or the network may do better next time.
TRANSIENT_ERRORS = (DeliveryError, smtplib.SMTPException, OSError)


def backoff_seconds(attempts: int) -> int:
    """Delay before attempt ``attempts + 1``: base × 2^(attempts − 1), capped.

    The cap stays below the broker's visibility timeout, so a retry is never
    an ETA that Redis would hand to a second worker.
    """
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS))


# --- writing ------------------------------------------------------------------


def enqueue(
    *,
    kind: str,
    event: str,
    idempotency_key: str,
    payload: dict[str, Any] | None = None,
    recipient: str = "",
    endpoint: WebhookEndpoint | None = None,
) -> OutboxMessage:
    """Write one message in the caller's transaction and deliver it after commit.

    A key seen before returns the existing row and sends nothing new (the
    caller's retry, or a job that fired twice). Refuses an e-mail without a
    recipient and a webhook without an endpoint.
    """
    if kind == OutboxMessage.Kind.EMAIL and not recipient.strip():
        raise DomainError(UNKNOWN_RECIPIENT)
    if kind == OutboxMessage.Kind.WEBHOOK and endpoint is None:
        raise DomainError(UNKNOWN_ENDPOINT)
    now = timezone.now()
    message, created = OutboxMessage.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "kind": kind,
            "event": event,
            "recipient": recipient.strip(),
            "endpoint": endpoint,
            "payload": payload or {},
            "max_attempts": settings.OUTBOX_MAX_ATTEMPTS,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    if created:
        after_commit(_send_task, message.pk)
    return message


def row_defaults(now: Any, batch: uuid.UUID) -> dict[str, models.Value]:
    """The columns every set-based ``insert_select`` of outbox rows fills the same way."""
    return {
        "batch": models.Value(batch, output_field=models.UUIDField()),
        "status": models.Value(Status.PENDING.value),
        "attempts": models.Value(0),
        "max_attempts": models.Value(settings.OUTBOX_MAX_ATTEMPTS),
        "last_error": models.Value(""),
        "next_attempt_at": models.Value(now, output_field=models.DateTimeField()),
        "created_at": models.Value(now, output_field=models.DateTimeField()),
    }


def dispatch_on_commit(batch: uuid.UUID) -> None:
    """After commit, hand every pending message of ``batch`` to the workers."""
    after_commit(_send_batch_task, str(batch))


def after_commit(publish: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Call ``publish(*args)`` once the transaction commits; a broker outage is only logged.

    The rows are committed and stay pending: the periodic re-dispatch sends
    them when the broker is back, so the request that committed never fails
    (or waits long) because Redis is down.
    """

    def publish_after_commit() -> None:
        try:
            publish(*args, **kwargs)
        except (KombuError, OSError) as error:
            logger.warning("broker unreachable, left for the re-dispatch: %s", error)

    transaction.on_commit(publish_after_commit)


def _send_task(message_id: int) -> None:
    from .tasks import outbox_deliver

    outbox_deliver.delay(message_id)


def _send_batch_task(batch: str) -> None:
    from .tasks import outbox_dispatch_batch

    outbox_dispatch_batch.delay(batch)


# --- delivering -----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did; ``retry_in`` is set when another attempt is due."""

    status: str
    retry_in: int | None = None


SKIPPED = Outcome("skipped")


def _lease(message: OutboxMessage | None = None) -> timedelta:
    timeout = message.endpoint.timeout_seconds if message and message.endpoint_id else 30
    return timedelta(seconds=timeout + settings.OUTBOX_LEASE_MARGIN_SECONDS)


def deliver(message_id: int) -> Outcome:
    """Send one message unless it is delivered, failed, or being sent by someone else.

    The claim is one conditional UPDATE: pending and due, or "sending" with
    an expired lease (its worker died). Records the result on the row.
    """
    now = timezone.now()
    due = Q(status=Status.PENDING, next_attempt_at__lte=now + timedelta(seconds=5)) | Q(
        status=Status.SENDING, lease_until__lt=now
    )
    claimed = OutboxMessage.objects.filter(due, pk=message_id).update(
        status=Status.SENDING, attempts=F("attempts") + 1, lease_until=now + _lease()
    )
    if not claimed:
        return SKIPPED
    message = OutboxMessage.objects.select_related("endpoint").get(pk=message_id)
    if message.endpoint_id:
        # The lease must outlast the endpoint's own timeout.
        OutboxMessage.objects.filter(pk=message.pk).update(lease_until=now + _lease(message))
    try:
        _send(message)
    except TRANSIENT_ERRORS as error:
        return _record_failure(message, str(error) or error.__class__.__name__)
    except Exception as error:  # a bug in rendering: retrying will not help
        logger.exception("outbox message %s cannot be rendered", message.pk)
        OutboxMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.FAILED, lease_until=None, last_error=f"{type(error).__name__}: {error}"
        )
        return Outcome(Status.FAILED)
    OutboxMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.DELIVERED, delivered_at=timezone.now(), lease_until=None, last_error=""
    )
    return Outcome(Status.DELIVERED)


def _record_failure(message: OutboxMessage, error: str) -> Outcome:
    logger.warning("outbox message %s attempt %s failed: %s", message.pk, message.attempts, error)
    if message.attempts >= message.max_attempts:
        OutboxMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.FAILED, lease_until=None, last_error=error[:2000]
        )
        return Outcome(Status.FAILED)
    delay = backoff_seconds(message.attempts)
    OutboxMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.PENDING,
        lease_until=None,
        last_error=error[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    return Outcome(Status.PENDING, retry_in=delay)


def _send(message: OutboxMessage) -> None:
    from .notifications import render_email, render_webhook

    if message.kind == OutboxMessage.Kind.WEBHOOK:
        endpoint = message.endpoint
        body = json.dumps(render_webhook(message), sort_keys=True, default=str).encode()
        post_webhook(
            url=endpoint.url,
            secret=endpoint.secret,
            event=message.event,
            idempotency_key=message.idempotency_key,
            body=body,
            timeout=endpoint.timeout_seconds,
        )
        return
    subject, text = render_email(message)
    email = EmailMessage(
        subject=subject,
        body=text,
        to=[message.recipient],
        headers={
            # Mail systems drop a second message with the same Message-ID.
            "Message-ID": f"<{message.idempotency_key}@stockroom>",
            "X-Stockroom-Event": message.event,
        },
    )
    email.send(fail_silently=False)


# --- re-dispatching and resending ------------------------------------------------


def redispatch(*, limit: int = 500) -> list[int]:
    """Ids of messages nobody is working on, handed to the workers again.

    Pending rows due for longer than the grace period (their task was lost:
    broker down at commit, or a retry that never came) and rows whose lease
    has expired (the worker died mid-send).
    """
    now = timezone.now()
    grace = timedelta(seconds=settings.OUTBOX_REDISPATCH_GRACE_SECONDS)
    stuck = Q(status=Status.PENDING, next_attempt_at__lte=now - grace) | Q(
        status=Status.SENDING, lease_until__lt=now
    )
    ids = list(
        OutboxMessage.objects.filter(stuck)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in ids:
        _send_task(message_id)
    return ids


def resend(*, messages: models.QuerySet, actor: Any) -> int:
    """Send the selected messages again (failed, delivered or pending) from attempt one.

    Messages being sent right now are skipped; if that leaves none, refuses.
    Returns how many were queued.
    """
    batch = uuid.uuid4()
    with transaction.atomic():
        count = (
            OutboxMessage.objects.filter(pk__in=messages.values("pk"))
            .exclude(status=Status.SENDING)
            .update(
                status=Status.PENDING,
                attempts=0,
                next_attempt_at=timezone.now(),
                lease_until=None,
                batch=batch,
            )
        )
        if not count:
            raise DomainError(NOTHING_TO_RESEND)
        logger.info("outbox: %s message(s) resent by %s", count, getattr(actor, "pk", None))
        dispatch_on_commit(batch)
    return count


def pending_ids(batch: str) -> list[int]:
    """Ids of a batch's messages still to send, in order."""
    return list(
        OutboxMessage.objects.filter(batch=batch, status=Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
