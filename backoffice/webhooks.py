"""Signed outbound webhooks: how a request is signed, sent and checked.

A request carries the JSON body and three headers:

- ``X-Stockroom-Event``: the event name (``product.delisted``…);
- ``Idempotency-Key``: the outbox message's key, the same on every retry, so
  the receiver can drop a repeat;
- ``X-Stockroom-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
  under the endpoint's secret.

A receiver recomputes the HMAC over the timestamp and the raw body
(``verify_signature`` below does it) and refuses a stale timestamp, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Stockroom-Signature"
EVENT_HEADER = "X-Stockroom-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """The receiver could not be reached or did not answer 2xx; the message is retried."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when ``header`` signs ``body`` under ``secret`` and is not older than ``tolerance``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        received = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, received)


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str


def post(
    *, url: str, secret: str, event: str, idempotency_key: str, body: bytes, timeout: float
) -> WebhookResponse:
    """POST a signed ``body``; raise ``DeliveryError`` unless the answer is 2xx."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Stockroom-Webhooks/1",
            EVENT_HEADER: event,
            IDEMPOTENCY_HEADER: idempotency_key,
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return WebhookResponse(response.status, response.read(2000).decode(errors="replace"))
    except urllib.error.HTTPError as error:
        text = error.read(500).decode(errors="replace")
        raise DeliveryError(f"HTTP {error.code} from {url}: {text}".strip()) from None
    except TimeoutError:
        raise DeliveryError(f"no answer from {url} within {timeout:g} s") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"no answer from {url} within {timeout:g} s") from None
        raise DeliveryError(f"cannot reach {url}: {reason}") from None
    except OSError as error:
        raise DeliveryError(f"cannot reach {url}: {error}") from None
