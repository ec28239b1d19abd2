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
) -> Movement:
    # The row is locked by our UPDATE, so this is the level our change produced.
    on_hand = Stock.objects.filter(pk=stock_id).values_list("on_hand", flat=True).get()
    return Movement.objects.create(
        stock_id=stock_id,
        kind=kind,
        quantity=quantity,
        on_hand_after=on_hand,
        reason=reason[:255],
        reference=reference[:120],
        actor_id=_actor_id(actor),
        batch=batch,
        created_at=timezone.now(),
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
