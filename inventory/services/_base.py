"""Shared pieces of the stock writer: messages, argument checks, the movement writer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from catalog.models import Product, Variant
from catalog.services import listing_refresh_sold_out

from ..exceptions import InsufficientStock, InvalidOperation, InvalidQuantity
from ..models import Movement, MovementKind, Stock, Warehouse

QUANTITY_NOT_POSITIVE = gettext_lazy(
    "Quantity must be a whole number greater than zero; got %(quantity)s."
)
ADJUSTMENT_ZERO = gettext_lazy("An adjustment must change the quantity: zero was given.")
REASON_REQUIRED = gettext_lazy("Give a reason for this %(operation)s.")
REFERENCE_REQUIRED = gettext_lazy("An allocation needs a reference (the order line it is for).")
WAREHOUSE_INACTIVE = gettext_lazy("Warehouse %(warehouse)s is inactive: no stock can move there.")
SAME_WAREHOUSE = gettext_lazy("A transfer needs two different warehouses.")
INSUFFICIENT_STOCK = gettext_lazy("Insufficient stock: %(lines)s.")
INSUFFICIENT_LINE = gettext_lazy(
    "%(sku)s at %(warehouse)s: requested %(requested)s, available %(available)s"
)
NOT_SELLABLE = gettext_lazy("%(sku)s cannot be allocated: its product is %(status)s.")
ALREADY_ALLOCATED = gettext_lazy(
    "%(reference)s already holds an allocation at one of these stock rows; nothing was allocated."
)
OVER_RELEASE = gettext_lazy(
    "Cannot release or ship %(quantity)s for %(reference)s: only %(left)s still allocated."
)
SHIP_BEYOND_ON_HAND = gettext_lazy(
    "Cannot ship %(quantity)s of %(sku)s at %(warehouse)s: only %(on_hand)s on hand."
)
BACKORDERS_IN_USE = gettext_lazy(
    "Backorders cannot be switched off for %(skus)s: more units are allocated than on hand."
)
RESTOCK_DELISTED = gettext_lazy(
    "%(count)s of the selected products are delisted (%(titles)s): relist them before "
    "restocking. Nothing was restocked."
)
RESTOCK_NO_VARIANTS = gettext_lazy("The selected products have no active variants to restock.")
DISPOSE_NOT_DELISTED = gettext_lazy(
    "Only delisted products' remaining stock can be disposed; %(count)s of the selected "
    "products are not delisted (%(titles)s). Nothing was changed."
)
UNKNOWN_DISPOSITION = gettext_lazy("Unknown disposition %(disposition)r.")

# Lots (F-14)
LOT_CODE_REQUIRED = gettext_lazy("%(sku)s is tracked by lot: give the lot code.")
LOT_CODE_TOO_LONG = gettext_lazy("A lot code has at most %(max)s characters; got %(length)s.")
LOT_NOT_TRACKED = gettext_lazy(
    "%(sku)s is not tracked by lot: it takes no lot code or expiry date."
)
LOT_EXPIRED = gettext_lazy(
    "Lot %(lot)s of %(sku)s expires on %(expiry)s, which is past: expired goods cannot be received."
)
LOT_EXPIRY_CONFLICT = gettext_lazy(
    "Lot %(lot)s of %(sku)s expires on %(expiry)s, not %(given)s: check the lot code and the date."
)
LOT_UNKNOWN = gettext_lazy("%(sku)s at %(warehouse)s holds no lot %(lot)s.")
INSUFFICIENT_LOT_LINE = gettext_lazy(
    "lot %(lot)s of %(sku)s at %(warehouse)s: requested %(requested)s, available %(available)s"
)
LOTS_NOT_SUPPORTED = gettext_lazy(
    "%(skus)s are tracked by lot, which %(operation)s does not handle: receive, adjust or "
    "dispose them by lot. Nothing was changed."
)
LOT_SWITCH_HAS_STOCK = gettext_lazy(
    "Lot tracking of %(sku)s can be switched only while it has no stock; it has %(on_hand)s on "
    "hand and %(allocated)s allocated. Nothing was changed."
)
LOT_SWITCH_BACKORDERS = gettext_lazy(
    "%(sku)s allows backorders, which lot-tracked SKUs cannot: stop backorders first."
)
BACKORDERS_LOT_TRACKED = gettext_lazy(
    "Backorders cannot be allowed for %(skus)s: lot-tracked SKUs sell only what their lots hold."
)

# Removal kinds, and what each disposition of a delisted product's stock becomes.
DISPOSITION_KINDS = {
    "return_to_supplier": MovementKind.RETURN_TO_SUPPLIER,
    "donate": MovementKind.DONATION,
    "scrap": MovementKind.DISPOSAL,
    "keep": None,  # kept for relisting: recorded, no movement
}


@dataclass(frozen=True)
class AllocationLine:
    variant: Variant
    warehouse: Warehouse
    quantity: int


@dataclass(frozen=True)
class BulkResult:
    products: int
    stock_rows: int
    units: int


# --- helpers ---------------------------------------------------------------


def _check_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": quantity})
    return quantity


def _check_reason(reason: str, operation: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidOperation(REASON_REQUIRED % {"operation": operation})
    return reason


def _check_warehouse(warehouse: Warehouse) -> None:
    if not warehouse.is_active:
        raise InvalidOperation(WAREHOUSE_INACTIVE % {"warehouse": warehouse.code})


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "pk", None)


def _backorders_allowed(variant: Variant) -> bool:
    # From the database, not from the caller's copy of the variant, which may
    # predate a set_backorders(): a stale copy would give the new row the wrong flag.
    return Variant.objects.filter(pk=variant.pk).values_list("allow_backorder", flat=True).get()


def _stock_row(variant: Variant, warehouse: Warehouse) -> Stock:
    _check_warehouse(warehouse)
    stock, _created = Stock.objects.get_or_create(
        variant=variant,
        warehouse=warehouse,
        defaults={"backorders_allowed": lambda: _backorders_allowed(variant)},
    )
    return stock


def _write_movement(
    stock_id: int,
    *,
    kind: str,
    quantity: int,
    reason: str,
    reference: str,
    actor: Any,
    batch: uuid.UUID | None = None,
    lot_id: int | None = None,
    on_hand: int | None = None,
) -> Movement:
    # The row is locked by our UPDATE, so this is the level our change produced
    # (``on_hand`` when the caller has just read it).
    if on_hand is None:
        on_hand = Stock.objects.filter(pk=stock_id).values_list("on_hand", flat=True).get()
    return Movement.objects.create(
        stock_id=stock_id,
        kind=kind,
        quantity=quantity,
        on_hand_after=on_hand,
        reason=reason[:255],
        reference=reference[:120],
        lot_id=lot_id,
        actor_id=_actor_id(actor),
        batch=batch,
        created_at=timezone.now(),
    )


def _lock_row(stock_id: int) -> bool:
    """Lock one stock row; returns whether its SKU tracks lots, as it is now.

    Read under the row lock: ``variant_track_lots`` locks the same rows before
    it switches, so the answer cannot change before this transaction ends.
    """
    return (
        Stock.objects.select_for_update(of=("self",))
        .filter(pk=stock_id)
        .values_list("variant__track_lots", flat=True)
        .get()
    )


def _refuse_lot_tracked(skus: list[str], operation: str) -> None:
    if skus:
        raise InvalidOperation(
            LOTS_NOT_SUPPORTED % {"skus": ", ".join(skus[:5]), "operation": operation}
        )


def _insufficient(stock_id: int, sku: str, warehouse_code: str, requested: int) -> dict:
    """One line of an InsufficientStock: what was asked and what is free now."""
    current = Stock.objects.filter(pk=stock_id).values("on_hand", "allocated").get()
    return {
        "sku": sku,
        "warehouse": warehouse_code,
        "requested": requested,
        "available": max(current["on_hand"] - current["allocated"], 0),
    }


def _raise_insufficient(lines: list[dict]) -> None:
    text = "; ".join(str(INSUFFICIENT_LINE % line) for line in lines)
    raise InsufficientStock(INSUFFICIENT_STOCK % {"lines": text}, lines)


def _take_free_units(stock: Stock, quantity: int) -> None:
    """Lower on hand by ``quantity`` units that are not allocated, or refuse."""
    updated = Stock.objects.filter(pk=stock.pk, on_hand__gte=F("allocated") + quantity).update(
        on_hand=F("on_hand") - quantity
    )
    if not updated:
        _raise_insufficient(
            [_insufficient(stock.pk, stock.variant.sku, stock.warehouse.code, quantity)]
        )


def _refresh_products(product_ids: Iterable[int], actor: Any) -> None:
    ids = sorted(set(product_ids))
    if ids:
        listing_refresh_sold_out(products=Product.objects.filter(pk__in=ids), actor=actor)
