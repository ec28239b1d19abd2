"""Who hears about what: the fan-out of listing events into outbox rows, and their text.

F-04 steps 4–6 and F-05: when products are delisted, relisted, sell out or
come back, the catalog services call ``listing_notify`` in their own
transaction. It writes, set-based (a fixed number of statements whatever the
number of products):

- one webhook per event and subscribed endpoint (sales platform, search
  engines, sync tools);
- for a delisting, one e-mail per open order that holds one of the product's
  SKUs, to the order's customer;
- one e-mail per back-in-stock watcher: "no longer available" on delisting,
  "back" when the product is on sale again (which fulfils the watch).

The message text is rendered at delivery from the immutable listing event,
so every retry sends the same thing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Case, F, Value, When
from django.db.models.functions import Cast, Concat, JSONObject
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import ListingEvent, ListingStatus, Product, StockWatch
from orders.models import Order, OrderLine

from . import outbox
from .db import insert_select
from .models import OutboxMessage, WebhookEndpoint, WebhookEvent

OPEN_ORDER_STATUSES = (
    Order.Status.RECEIVED,
    Order.Status.REVIEWED,
    Order.Status.ALLOCATED,
    Order.Status.PICKED,
    Order.Status.PACKED,
    Order.Status.PARTIALLY_SHIPPED,
)

WEBHOOK_EVENT_OF_KIND = {
    ListingEvent.Kind.DELISTED: WebhookEvent.PRODUCT_DELISTED,
    ListingEvent.Kind.RELISTED: WebhookEvent.PRODUCT_RELISTED,
    ListingEvent.Kind.SOLD_OUT: WebhookEvent.PRODUCT_SOLD_OUT,
    ListingEvent.Kind.BACK_IN_STOCK: WebhookEvent.PRODUCT_BACK_IN_STOCK,
}
BACK_KINDS = (ListingEvent.Kind.RELISTED, ListingEvent.Kind.BACK_IN_STOCK)

EMAIL_ORDER_ITEM_DELISTED = "customer.order_item_delisted"
EMAIL_WATCH_DELISTED = "customer.watch_delisted"
EMAIL_WATCH_BACK = "customer.watch_back"
EMAIL_STAFF_AUDIT = "staff.stock_audit"
EMAIL_STAFF_ALERTS = "staff.alerts_digest"
EMAIL_STAFF_LOW_RATINGS = "staff.low_ratings"
EMAIL_STAFF_REPLENISHMENT = "staff.replenishment"
EMAIL_STAFF_SCORECARDS = "staff.scorecards"


def _key(prefix: str, suffix: str) -> Concat:
    return Concat(
        Value(prefix),
        Cast(F("pk"), models.CharField()),
        Value(suffix),
        output_field=models.CharField(),
    )


def listing_notify(*, batch: uuid.UUID) -> int:
    """Write the outbox rows for the listing events of ``batch``; deliver them after commit.

    Call it after the products' statuses are final in the transaction: the
    "back" e-mail goes only to watchers of products that are on sale. Rows
    already written for an event (same idempotency key) are not written
    again. Returns the number of rows written.
    """
    now = timezone.now()
    events = ListingEvent.objects.filter(batch=batch, kind__in=list(WEBHOOK_EVENT_OF_KIND))
    defaults = outbox.row_defaults(now, batch)
    written = 0

    event_name = Case(
        *(When(kind=kind, then=Value(name.value)) for kind, name in WEBHOOK_EVENT_OF_KIND.items()),
        output_field=models.CharField(),
    )
    kinds_of_event = {name.value: kind for kind, name in WEBHOOK_EVENT_OF_KIND.items()}
    for endpoint in WebhookEndpoint.objects.filter(is_active=True).order_by("pk"):
        kinds = [kinds_of_event[name] for name in endpoint.events if name in kinds_of_event]
        if not kinds:
            continue
        written += insert_select(
            OutboxMessage,
            {
                "kind": Value(OutboxMessage.Kind.WEBHOOK.value),
                "event": event_name,
                "endpoint_id": Value(endpoint.pk),
                "recipient": Value(""),
                "payload": JSONObject(listing_event=F("pk")),
                "idempotency_key": _key("listing-", f"-webhook-{endpoint.pk}"),
                **defaults,
            },
            events.filter(kind__in=kinds),
            ignore_conflicts=True,
        )

    # Customers whose open orders hold a SKU of a delisted product: one e-mail per order.
    lines = OrderLine.objects.filter(
        order__status__in=OPEN_ORDER_STATUSES,
        variant__product__listing_events__batch=batch,
        variant__product__listing_events__kind=ListingEvent.Kind.DELISTED,
    ).exclude(order__customer_email="")
    event_pk = F("variant__product__listing_events__pk")
    written += insert_select(
        OutboxMessage,
        {
            "kind": Value(OutboxMessage.Kind.EMAIL.value),
            "event": Value(EMAIL_ORDER_ITEM_DELISTED),
            "endpoint_id": Value(None, output_field=models.BigIntegerField()),
            "recipient": F("order__customer_email"),
            "payload": JSONObject(listing_event=event_pk, order=F("order_id")),
            "idempotency_key": Concat(
                Value("listing-"),
                Cast(event_pk, models.CharField()),
                Value("-order-"),
                Cast(F("order_id"), models.CharField()),
                output_field=models.CharField(),
            ),
            **defaults,
        },
        lines,
        ignore_conflicts=True,
    )

    # Back-in-stock watchers: told of a delisting, and told (once) when it is back.
    for kinds, template, extra in (
        ((ListingEvent.Kind.DELISTED,), EMAIL_WATCH_DELISTED, {}),
        (BACK_KINDS, EMAIL_WATCH_BACK, {"product__status": ListingStatus.ON_SALE}),
    ):
        watches = StockWatch.objects.filter(
            notified_at__isnull=True,
            product__listing_events__batch=batch,
            product__listing_events__kind__in=kinds,
            **extra,
        )
        event_pk = F("product__listing_events__pk")
        count = insert_select(
            OutboxMessage,
            {
                "kind": Value(OutboxMessage.Kind.EMAIL.value),
                "event": Value(template),
                "endpoint_id": Value(None, output_field=models.BigIntegerField()),
                "recipient": F("email"),
                "payload": JSONObject(listing_event=event_pk, watch=F("pk")),
                "idempotency_key": Concat(
                    Value("listing-"),
                    Cast(event_pk, models.CharField()),
                    Value("-watch-"),
                    Cast(F("pk"), models.CharField()),
                    output_field=models.CharField(),
                ),
                **defaults,
            },
            watches,
            ignore_conflicts=True,
        )
        written += count
        if count and template == EMAIL_WATCH_BACK:
            StockWatch.objects.filter(pk__in=watches.values("pk"), notified_at__isnull=True).update(
                notified_at=now
            )

    events.filter(dispatched_at__isnull=True).update(dispatched_at=now)
    if written:
        outbox.dispatch_on_commit(batch)
    return written


# --- staff e-mail ------------------------------------------------------------------


def staff_recipients() -> list[str]:
    """Where staff alerts go: ``STOCKROOM_ALERT_EMAILS``, else active superusers with an e-mail."""
    if settings.STOCKROOM_ALERT_EMAILS:
        return list(settings.STOCKROOM_ALERT_EMAILS)
    users = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def notify_staff(*, event: str, key: str, payload: dict[str, Any]) -> int:
    """Queue one staff e-mail per recipient; ``key`` makes a repeated job send nothing new."""
    recipients = staff_recipients()
    for recipient in recipients:
        outbox.enqueue(
            kind=OutboxMessage.Kind.EMAIL,
            event=event,
            idempotency_key=f"{key}-{recipient}"[:120],
            recipient=recipient,
            payload=payload,
        )
    return len(recipients)


# --- rendering ----------------------------------------------------------------------


def _listing_event(message: OutboxMessage) -> ListingEvent:
    return ListingEvent.objects.select_related("product").get(pk=message.payload["listing_event"])


def render_webhook(message: OutboxMessage) -> dict[str, Any]:
    """The JSON body of a webhook: the same for every attempt of the message."""
    event = _listing_event(message)
    product: Product = event.product
    return {
        "id": message.idempotency_key,
        "event": message.event,
        "occurred_at": event.created_at.isoformat(),
        "data": {
            "product": {"id": product.pk, "handle": product.handle, "title": product.title},
            "skus": sorted(product.variants.values_list("sku", flat=True)),
            "reason": event.reason,
            "note": event.note,
        },
    }


def render_email(message: OutboxMessage) -> tuple[str, str]:
    """Subject and text of an e-mail, from its template and the objects it names."""
    context: dict[str, Any] = {"payload": message.payload, "site": settings.STOCKROOM_SITE_NAME}
    if "listing_event" in message.payload:
        event = _listing_event(message)
        context["event"] = event
        context["product"] = event.product
    if "order" in message.payload:
        context["order"] = Order.objects.get(pk=message.payload["order"])
    subjects = {
        EMAIL_ORDER_ITEM_DELISTED: _("About your order %(number)s"),
        EMAIL_WATCH_DELISTED: _("%(title)s is no longer available"),
        EMAIL_WATCH_BACK: _("%(title)s is back"),
        EMAIL_STAFF_AUDIT: _("Stock audit: %(count)s problem(s) found"),
        EMAIL_STAFF_ALERTS: _("Stock alerts: %(count)s open"),
        EMAIL_STAFF_LOW_RATINGS: _("Low ratings: %(count)s product(s) below the threshold"),
        EMAIL_STAFF_REPLENISHMENT: _("Replenishment: %(count)s SKU(s) to order"),
        EMAIL_STAFF_SCORECARDS: _("Supplier scorecards: %(count)s supplier(s)"),
    }
    values = {
        "number": getattr(context.get("order"), "number", ""),
        "title": getattr(context.get("product"), "title", ""),
        "count": message.payload.get("count", 0),
    }
    subject = str(subjects[message.event]) % values
    body = render_to_string(f"notifications/{message.event}.txt", context)
    return subject, body
