"""Lots and expiry dates (F-14): the per-lot side of receiving, removing and allocating.

A SKU with ``Variant.track_lots`` keeps its stock per lot (``LotStock``) as
well as per stock row, and every movement names its lot. The rules:

- a receipt (or a customer return, or a positive adjustment) names the lot
  code; a new code creates the lot with its expiry date, an expiry in the
  past is refused, and a known code must come with no date or the same date;
- removals (adjustments, disposals) name the lot they take from;
- allocation picks first-expired-first-out (expiry ascending, no expiry
  last), then first-in-first-out (first received, then id); expired lots
  (expiry before today) are never allocated and do not count as available;
- lot-tracked SKUs never backorder: they sell what their lots hold.

Every function here runs inside the caller's transaction, after the caller
has locked the stock row: lot rows are only ever locked under their stock
row's lock, so lot locks can never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone

from catalog.models import Variant

from ..exceptions import InsufficientStock, InvalidOperation
from ..models import AllocationLot, Lot, LotStock, Stock
from ._base import (
    INSUFFICIENT_LOT_LINE,
    INSUFFICIENT_STOCK,
    LOT_CODE_REQUIRED,
    LOT_CODE_TOO_LONG,
    LOT_EXPIRED,
    LOT_EXPIRY_CONFLICT,
    LOT_NOT_TRACKED,
    LOT_SWITCH_BACKORDERS,
    LOT_SWITCH_HAS_STOCK,
    LOT_UNKNOWN,
    OVER_RELEASE,
)

LOT_CODE_MAX = Lot._meta.get_field("code").max_length


def _today() -> date:
    return timezone.localdate()


def _check_lot_arguments(
    variant: Variant, tracks_lots: bool, lot_code: str, expiry: date | None
) -> str:
    """The lot code to use (stripped), or refuse arguments that do not fit the SKU."""
    code = (lot_code or "").strip()
    if not tracks_lots:
        if code or expiry is not None:
            raise InvalidOperation(LOT_NOT_TRACKED % {"sku": variant.sku})
        return ""
    if not code:
        raise InvalidOperation(LOT_CODE_REQUIRED % {"sku": variant.sku})
    if len(code) > LOT_CODE_MAX:
        raise InvalidOperation(LOT_CODE_TOO_LONG % {"max": LOT_CODE_MAX, "length": len(code)})
    return code


def _incoming_lot(
    variant: Variant, code: str, expiry: date | None, *, allow_expired: bool = False
) -> Lot:
    """The lot that units come into: found by code, or created with ``expiry``.

    Refuses an expiry in the past, a date that differs from the known lot's,
    and (unless ``allow_expired``, for a correction) a known lot that has expired.
    """
    today = _today()
    if expiry is not None and expiry < today:
        raise InvalidOperation(
            LOT_EXPIRED % {"lot": code, "sku": variant.sku, "expiry": expiry.isoformat()}
        )
    lot, created = Lot.objects.get_or_create(
        variant_id=variant.pk,
        code=code,
        defaults={"expiry": expiry, "received_at": timezone.now()},
    )
    if created:
        return lot
    if expiry is not None and lot.expiry != expiry:
        raise InvalidOperation(
            LOT_EXPIRY_CONFLICT
            % {
                "lot": code,
                "sku": variant.sku,
                "expiry": lot.expiry.isoformat() if lot.expiry else "—",
                "given": expiry.isoformat(),
            }
        )
    if not allow_expired and lot.expiry is not None and lot.expiry < today:
        raise InvalidOperation(
            LOT_EXPIRED % {"lot": code, "sku": variant.sku, "expiry": lot.expiry.isoformat()}
        )
    return lot


def _add_to_lot(stock_id: int, lot: Lot, quantity: int) -> None:
    """Put ``quantity`` units of ``lot`` into a stock row (already locked by the caller)."""
    row, _created = LotStock.objects.get_or_create(stock_id=stock_id, lot=lot)
    LotStock.objects.filter(pk=row.pk).update(on_hand=F("on_hand") + quantity)


def _take_from_lot(stock: Stock, code: str, quantity: int) -> Lot:
    """Take ``quantity`` free (unallocated) units of lot ``code`` out of a locked stock row."""
    row = LotStock.objects.filter(stock_id=stock.pk, lot__code=code).select_related("lot").first()
    if row is None:
        raise InvalidOperation(
            LOT_UNKNOWN % {"sku": stock.variant.sku, "warehouse": stock.warehouse.code, "lot": code}
        )
    updated = LotStock.objects.filter(pk=row.pk, on_hand__gte=F("allocated") + quantity).update(
        on_hand=F("on_hand") - quantity
    )
    if not updated:
        line = {
            "lot": code,
            "sku": stock.variant.sku,
            "warehouse": stock.warehouse.code,
            "requested": quantity,
            "available": max(row.on_hand - row.allocated, 0),
        }
        raise InsufficientStock(
            INSUFFICIENT_STOCK % {"lines": INSUFFICIENT_LOT_LINE % line}, [line]
        )
    return row.lot


# --- allocation ------------------------------------------------------------------


@dataclass(frozen=True)
class LotPick:
    stock_id: int
    lot_stock_id: int
    quantity: int


def _fefo_order() -> str:
    # First expired first out (no expiry last), then first in first out.
    return "CASE WHEN l.expiry IS NULL THEN 1 ELSE 0 END, l.expiry, l.received_at, l.id"


def _lot_table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def lots_available(stock_ids: list[int]) -> dict[int, int]:
    """Free units in lots that have not expired, per stock row (a read, no lock)."""
    rows = (
        LotStock.objects.filter(stock_id__in=stock_ids, on_hand__gt=F("allocated"))
        .exclude(lot__expiry__lt=_today())
        .values("stock_id")
        .annotate(free=Sum(F("on_hand") - F("allocated")))
        .values_list("stock_id", "free")
    )
    return dict(rows)


def pick_lots(wanted: dict[int, int]) -> tuple[list[LotPick], dict[int, int]]:
    """Choose the lots for ``wanted`` (stock id -> units), locking their rows.

    Returns the picks and, for each stock row that cannot be served from lots
    that have not expired, the units those lots have free. One statement
    whatever the number of rows and lots.
    """
    ids = sorted(wanted)
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        "SELECT ls.id, ls.stock_id, ls.on_hand - ls.allocated "  # noqa: S608 - names only
        f"FROM {_lot_table(LotStock)} ls JOIN {_lot_table(Lot)} l ON l.id = ls.lot_id "
        f"WHERE ls.stock_id IN ({marks}) AND ls.on_hand > ls.allocated "
        "AND (l.expiry IS NULL OR l.expiry >= %s) "
        f"ORDER BY ls.stock_id, {_fefo_order()}"
    )
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF ls"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, connection.ops.adapt_datefield_value(_today())])
        rows = cursor.fetchall()
    left = dict(wanted)
    free: dict[int, int] = {}
    picks: list[LotPick] = []
    for lot_stock_id, stock_id, units in rows:
        free[stock_id] = free.get(stock_id, 0) + units
        take = min(units, left[stock_id])
        if take > 0:
            picks.append(LotPick(stock_id, lot_stock_id, take))
            left[stock_id] -= take
    short = {stock_id: free.get(stock_id, 0) for stock_id, units in left.items() if units > 0}
    return picks, short


def reserve_lots(picks: list[LotPick], allocation_ids: dict[int, int]) -> bool:
    """Reserve the picked lot units and record them on their allocations.

    A conditional UPDATE (the units must still be free); returns False if a
    lot no longer had them, and then nothing was reserved.
    """
    if not picks:
        return True
    amount = Case(
        *(When(pk=pick.lot_stock_id, then=Value(pick.quantity)) for pick in picks),
        default=Value(0),
    )
    updated = (
        LotStock.objects.filter(pk__in=[pick.lot_stock_id for pick in picks])
        .filter(on_hand__gte=F("allocated") + amount)
        .update(allocated=F("allocated") + amount)
    )
    if updated != len(picks):
        return False
    AllocationLot.objects.bulk_create(
        AllocationLot(
            allocation_id=allocation_ids[pick.stock_id],
            lot_stock_id=pick.lot_stock_id,
            quantity=pick.quantity,
            allocated_quantity=pick.quantity,
        )
        for pick in picks
    )
    return True


def consume_allocation_lots(
    allocation: Any, quantity: int, *, shipping: bool
) -> list[tuple[int, int]]:
    """Take ``quantity`` units off an allocation's lots: shipped, or given back.

    Shipping takes the earliest-expiring lots first; releasing gives back the
    latest-expiring first, so that what stays reserved is what should go
    first. Lowers the allocation's lots and the lots' allocated (and on hand
    when shipping). Returns (lot id, units) per lot touched, in that order.
    """
    rows = list(
        AllocationLot.objects.filter(allocation_id=allocation.pk, quantity__gt=0)
        .select_for_update(of=("self",))
        .values_list("pk", "lot_stock_id", "lot_stock__lot_id", "quantity")
        .order_by(
            F("lot_stock__lot__expiry").asc(nulls_last=True),
            "lot_stock__lot__received_at",
            "lot_stock__lot_id",
        )
    )
    if not shipping:
        rows.reverse()
    left = quantity
    taken: list[tuple[int, int, int, int]] = []
    for pk, lot_stock_id, lot_id, units in rows:
        take = min(units, left)
        if take > 0:
            taken.append((pk, lot_stock_id, lot_id, take))
            left -= take
    if left:
        # The allocation holds fewer lot units than it says: the invariant is broken.
        raise InvalidOperation(
            OVER_RELEASE
            % {
                "quantity": quantity,
                "reference": allocation.reference,
                "left": quantity - left,
            }
        )

    def amount(position: int) -> Case:
        return Case(
            *(When(pk=row[position], then=Value(row[3])) for row in taken), default=Value(0)
        )

    AllocationLot.objects.filter(pk__in=[row[0] for row in taken]).update(
        quantity=F("quantity") - amount(0)
    )
    changes = {"allocated": F("allocated") - amount(1)}
    if shipping:
        changes["on_hand"] = F("on_hand") - amount(1)
    LotStock.objects.filter(pk__in=[row[1] for row in taken]).update(**changes)
    return [(lot_id, units) for _pk, _ls, lot_id, units in taken]


# --- switching lot tracking --------------------------------------------------------


def variant_track_lots(variant: Variant, *, on: bool, actor: Any) -> bool:
    """Switch lot tracking of a SKU on or off; returns whether it changed.

    Refuses while the SKU has stock (on hand or allocated) in any warehouse:
    units received without a lot cannot be given one after the fact, and
    lot detail cannot be dropped from units that have it. Refuses switching
    on a SKU that allows backorders. Writes the variant (and its history).
    """
    with transaction.atomic():
        locked = Variant.objects.select_for_update().get(pk=variant.pk)
        if locked.track_lots == on:
            variant.track_lots = on
            return False
        if on and locked.allow_backorder:
            raise InvalidOperation(LOT_SWITCH_BACKORDERS % {"sku": locked.sku})
        # The rows are locked too: an operation already holding one finishes first
        # and is seen here; one that comes after reads the new flag under its lock.
        levels = list(
            Stock.objects.filter(variant_id=locked.pk)
            .order_by("pk")
            .select_for_update()
            .values_list("on_hand", "allocated")
        )
        on_hand = sum(level[0] for level in levels)
        allocated = sum(level[1] for level in levels)
        if on_hand or allocated:
            raise InvalidOperation(
                LOT_SWITCH_HAS_STOCK
                % {"sku": locked.sku, "on_hand": on_hand, "allocated": allocated}
            )
        locked.track_lots = on
        locked._history_user = actor if getattr(actor, "pk", None) else None
        locked.save(update_fields=["track_lots"])
    variant.track_lots = on
    return True
