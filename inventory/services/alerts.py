"""Stock alerts (F-15): low stock, out of stock, overstock, slow movers, expiring lots.

``stock_alerts_refresh`` opens an alert for every stock row where a condition
starts to hold and resolves the open alerts whose condition no longer holds;
two statements per kind, whatever the number of rows. ``stock_alerts_digest``
e-mails staff what is open (through the outbox, once per day).

An expiring-lot alert is open while a stock row holds units (on hand) of a
lot that expires within ``EXPIRY_ALERT_DAYS`` days, or has expired already:
they are to be sold first, or disposed of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Value
from django.utils import timezone

from backoffice.db import insert_select
from catalog.models import SELLABLE_STATUSES

from ..models import LotStock, Movement, MovementKind, Stock, StockAlert

Kind = StockAlert.Kind


def _conditions(now) -> dict[str, Q]:
    """For each kind, the stock rows it applies to (on ``Stock`` annotated with ``free``)."""
    cutoff = now - timedelta(days=settings.SLOW_MOVER_DAYS)
    shipped_since = Movement.objects.filter(
        stock=OuterRef("pk"), kind=MovementKind.SHIPMENT, created_at__gte=cutoff
    )
    stocked_before = Movement.objects.filter(stock=OuterRef("pk"), created_at__lt=cutoff)
    # A row never stocked and without a reorder point is not "out": it was never "in".
    stocked = Movement.objects.filter(stock=OuterRef("pk"))
    expiring = LotStock.objects.filter(
        stock=OuterRef("pk"),
        on_hand__gt=0,
        lot__expiry__lte=timezone.localdate(now) + timedelta(days=settings.EXPIRY_ALERT_DAYS),
    )
    return {
        Kind.OUT_OF_STOCK: Q(free__lte=0) & (Q(reorder_point__gt=0) | Q(Exists(stocked))),
        Kind.LOW_STOCK: Q(free__gt=0, reorder_point__gt=0, free__lte=F("reorder_point")),
        Kind.OVERSTOCK: Q(max_level__isnull=False, on_hand__gt=F("max_level")),
        Kind.SLOW_MOVER: Q(on_hand__gt=0) & ~Q(Exists(shipped_since)) & Q(Exists(stocked_before)),
        Kind.EXPIRING: Q(Exists(expiring)),
    }


def _watched_stock() -> models.QuerySet:
    """Stock rows that are sold: active SKU of a product on sale, in an active warehouse."""
    return Stock.objects.filter(
        variant__is_active=True,
        variant__product__status__in=SELLABLE_STATUSES,
        warehouse__is_active=True,
    ).annotate(free=F("on_hand") - F("allocated"))


def _threshold(kind: str):
    if kind == Kind.OVERSTOCK:
        return F("max_level")
    if kind == Kind.EXPIRING:  # the days of warning
        return Value(settings.EXPIRY_ALERT_DAYS, output_field=models.IntegerField())
    return F("reorder_point")


@dataclass
class AlertRefresh:
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)


def stock_alerts_refresh() -> AlertRefresh:
    """Open alerts whose condition started to hold; resolve those whose condition cleared.

    Out of stock and low stock exclude each other (low stock means some is
    left). An alert is also resolved when its product stops being sold.
    Writes only ``StockAlert`` rows.
    """
    now = timezone.now()
    result = AlertRefresh()
    stamp = Value(now, output_field=models.DateTimeField())
    with transaction.atomic():
        for kind, condition in _conditions(now).items():
            matching = _watched_stock().filter(condition)
            open_alerts = StockAlert.objects.filter(kind=kind, resolved_at__isnull=True)
            result.resolved[kind] = open_alerts.exclude(stock_id__in=matching.values("pk")).update(
                resolved_at=now
            )
            new = matching.exclude(Exists(open_alerts.filter(stock_id=OuterRef("pk"))))
            result.opened[kind] = insert_select(
                StockAlert,
                {
                    "stock_id": F("pk"),
                    "kind": Value(str(kind)),
                    "on_hand": F("on_hand"),
                    "available": F("free"),
                    "threshold": _threshold(kind),
                    "opened_at": stamp,
                },
                new,
                ignore_conflicts=True,
            )
    return result


def stock_alerts_digest(*, day: date | None = None) -> int:
    """E-mail staff the open alerts (counts per kind and those opened in the last day).

    One digest per day: the outbox key carries the date, so a job that runs
    twice sends once. Returns the number of open alerts.
    """
    from backoffice.notifications import EMAIL_STAFF_ALERTS, notify_staff

    day = day or timezone.localdate()
    open_alerts = StockAlert.objects.filter(resolved_at__isnull=True)
    labels = dict(Kind.choices)
    by_kind = {
        str(labels[kind]): n
        for kind, n in open_alerts.values_list("kind").annotate(n=Count("id")).order_by("kind")
    }
    count = sum(by_kind.values())
    if not count:
        return 0
    since = timezone.now() - timedelta(days=1)
    new = [
        {
            "sku": alert.stock.variant.sku,
            "warehouse": alert.stock.warehouse.code,
            "kind": alert.get_kind_display(),
            "on_hand": alert.stock.on_hand,
            "available": alert.stock.on_hand - alert.stock.allocated,
        }
        for alert in open_alerts.filter(opened_at__gte=since)
        .select_related("stock__variant", "stock__warehouse")
        .order_by("kind", "stock_id")[:50]
    ]
    with transaction.atomic():
        notify_staff(
            event=EMAIL_STAFF_ALERTS,
            key=f"alerts-digest-{day.isoformat()}",
            payload={"count": count, "day": day.isoformat(), "by_kind": by_kind, "new": new},
        )
    return count
