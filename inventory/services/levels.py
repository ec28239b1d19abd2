"""Single-row changes of on hand: receipts, adjustments, disposals, transfers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from catalog.models import Variant

from ..exceptions import InvalidOperation, InvalidQuantity
from ..models import Movement, MovementKind, Stock, Warehouse
from ._base import (
    ADJUSTMENT_ZERO,
    QUANTITY_NOT_POSITIVE,
    SAME_WAREHOUSE,
    UNKNOWN_DISPOSITION,
    _check_quantity,
    _check_reason,
    _lock_row,
    _refresh_products,
    _refuse_lot_tracked,
    _stock_row,
    _take_free_units,
    _write_movement,
)
from .lots import _add_to_lot, _check_lot_arguments, _incoming_lot, _take_from_lot

# --- single-row operations ---------------------------------------------------


def receive(
    *,
    variant: Variant,
    warehouse: Warehouse,
    quantity: int,
    actor: Any,
    reason: str = "",
    reference: str = "",
    kind: str = MovementKind.RECEIPT,
    lot_code: str = "",
    expiry: date | None = None,
) -> Movement:
    """Put ``quantity`` units into stock (a receipt, or a customer return with ``kind``).

    A lot-tracked SKU needs ``lot_code``: a new code creates the lot with
    ``expiry`` (or none), a known code adds to that lot. Refuses a quantity
    that is not a positive integer, an inactive warehouse, a lot-tracked SKU
    without a lot code, an expiry in the past (or a known lot that has
    expired), a date that differs from the known lot's, and a lot code or
    expiry for a SKU that is not tracked by lot. Writes the level (and the
    lot's), one movement naming the lot, and clears "sold out" when the
    product becomes sellable again.
    """
    _check_quantity(quantity)
    if kind not in (MovementKind.RECEIPT, MovementKind.RETURN):
        raise InvalidOperation(_("receive() takes receipts and returns only."))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        tracks_lots = _lock_row(stock.pk)
        code = _check_lot_arguments(variant, tracks_lots, lot_code, expiry)
        lot = _incoming_lot(variant, code, expiry) if tracks_lots else None
        Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + quantity)
        if lot is not None:
            _add_to_lot(stock.pk, lot, quantity)
        movement = _write_movement(
            stock.pk,
            kind=kind,
            quantity=quantity,
            reason=reason,
            reference=reference,
            actor=actor,
            lot_id=lot.pk if lot else None,
        )
        _refresh_products([variant.product_id], actor)
    return movement


def adjust(
    *,
    variant: Variant,
    warehouse: Warehouse,
    quantity: int,
    reason: str,
    actor: Any,
    reference: str = "",
    lot_code: str = "",
    expiry: date | None = None,
) -> Movement:
    """Correct on hand by a signed ``quantity`` (found, lost, damaged…), with a reason.

    A lot-tracked SKU needs ``lot_code``: units found go into that lot (a new
    code creates it with ``expiry``; a known lot may have expired, this is a
    correction), units lost come out of it. Refuses zero, a missing reason, a
    removal of units that are allocated or not there, and lot arguments that
    do not fit the SKU (as ``receive``).
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": quantity})
    if quantity == 0:
        raise InvalidQuantity(ADJUSTMENT_ZERO)
    reason = _check_reason(reason, _("adjustment"))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        tracks_lots = _lock_row(stock.pk)
        code = _check_lot_arguments(
            variant, tracks_lots, lot_code, expiry if quantity > 0 else None
        )
        lot = None
        if quantity > 0:
            if tracks_lots:
                lot = _incoming_lot(variant, code, expiry, allow_expired=True)
                _add_to_lot(stock.pk, lot, quantity)
            Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + quantity)
        else:
            if tracks_lots:
                lot = _take_from_lot(stock, code, -quantity)
            _take_free_units(stock, -quantity)
        movement = _write_movement(
            stock.pk,
            kind=MovementKind.ADJUSTMENT,
            quantity=quantity,
            reason=reason,
            reference=reference,
            actor=actor,
            lot_id=lot.pk if lot else None,
        )
        _refresh_products([variant.product_id], actor)
    return movement


def dispose(
    *,
    variant: Variant,
    warehouse: Warehouse,
    quantity: int,
    kind: str,
    reason: str,
    actor: Any,
    reference: str = "",
    lot_code: str = "",
) -> Movement:
    """Take free units out of stock as scrap, donation or a return to the supplier.

    A lot-tracked SKU needs ``lot_code``: the units come out of that lot.
    Refuses allocated units, a non-positive quantity, a missing reason, a
    lot-tracked SKU without a lot code and a lot code for any other SKU.
    """
    _check_quantity(quantity)
    if kind not in (
        MovementKind.DISPOSAL,
        MovementKind.DONATION,
        MovementKind.RETURN_TO_SUPPLIER,
    ):
        raise InvalidOperation(UNKNOWN_DISPOSITION % {"disposition": kind})
    reason = _check_reason(reason, _("disposal"))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        tracks_lots = _lock_row(stock.pk)
        code = _check_lot_arguments(variant, tracks_lots, lot_code, None)
        lot = _take_from_lot(stock, code, quantity) if tracks_lots else None
        _take_free_units(stock, quantity)
        movement = _write_movement(
            stock.pk,
            kind=kind,
            quantity=-quantity,
            reason=reason,
            reference=reference,
            actor=actor,
            lot_id=lot.pk if lot else None,
        )
        _refresh_products([variant.product_id], actor)
    return movement


def transfer(
    *,
    variant: Variant,
    source: Warehouse,
    destination: Warehouse,
    quantity: int,
    actor: Any,
    reason: str = "",
    reference: str = "",
) -> tuple[Movement, Movement]:
    """Move free units of one SKU from one warehouse to another, as a pair of movements.

    Refuses lot-tracked SKUs (not handled yet), two equal warehouses and
    units that are allocated or not there.
    """
    _check_quantity(quantity)
    if source.pk == destination.pk:
        raise InvalidOperation(SAME_WAREHOUSE)
    batch = uuid.uuid4()
    with transaction.atomic():
        out_row = _stock_row(variant, source)
        in_row = _stock_row(variant, destination)
        # Under the lock of the first row: the flag cannot change before COMMIT.
        if _lock_row(min(out_row.pk, in_row.pk)):
            _refuse_lot_tracked([variant.sku], _("a transfer between warehouses"))
        # Lock both rows in primary-key order: two opposite transfers never deadlock.
        for row in sorted((out_row, in_row), key=lambda s: s.pk):
            if row is out_row:
                _take_free_units(out_row, quantity)
            else:
                Stock.objects.filter(pk=in_row.pk).update(on_hand=F("on_hand") + quantity)
        common = {"reason": reason, "reference": reference, "actor": actor, "batch": batch}
        out_move = _write_movement(
            out_row.pk, kind=MovementKind.TRANSFER_OUT, quantity=-quantity, **common
        )
        in_move = _write_movement(
            in_row.pk, kind=MovementKind.TRANSFER_IN, quantity=quantity, **common
        )
        _refresh_products([variant.product_id], actor)
    return out_move, in_move
