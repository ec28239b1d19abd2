"""Single-row changes of on hand: receipts, adjustments, disposals, transfers."""

from __future__ import annotations

import uuid
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
    _refresh_products,
    _stock_row,
    _take_free_units,
    _write_movement,
)

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
) -> Movement:
    """Put ``quantity`` units into stock (a receipt, or a customer return with ``kind``).

    Refuses a quantity that is not a positive integer and an inactive
    warehouse. Writes the level, one movement, and clears "sold out" when the
    product becomes sellable again.
    """
    _check_quantity(quantity)
    if kind not in (MovementKind.RECEIPT, MovementKind.RETURN):
        raise InvalidOperation(_("receive() takes receipts and returns only."))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + quantity)
        movement = _write_movement(
            stock.pk, kind=kind, quantity=quantity, reason=reason, reference=reference, actor=actor
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
) -> Movement:
    """Correct on hand by a signed ``quantity`` (found, lost, damaged…), with a reason.

    Refuses zero, a missing reason, and a removal of units that are
    allocated or not there.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": quantity})
    if quantity == 0:
        raise InvalidQuantity(ADJUSTMENT_ZERO)
    reason = _check_reason(reason, _("adjustment"))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        if quantity > 0:
            Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + quantity)
        else:
            _take_free_units(stock, -quantity)
        movement = _write_movement(
            stock.pk,
            kind=MovementKind.ADJUSTMENT,
            quantity=quantity,
            reason=reason,
            reference=reference,
            actor=actor,
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
) -> Movement:
    """Take free units out of stock as scrap, donation or a return to the supplier.

    Refuses allocated units, a non-positive quantity and a missing reason.
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
        _take_free_units(stock, quantity)
        movement = _write_movement(
            stock.pk, kind=kind, quantity=-quantity, reason=reason, reference=reference, actor=actor
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
    """Move free units of one SKU from one warehouse to another, as a pair of movements."""
    _check_quantity(quantity)
    if source.pk == destination.pk:
        raise InvalidOperation(SAME_WAREHOUSE)
    batch = uuid.uuid4()
    with transaction.atomic():
        out_row = _stock_row(variant, source)
        in_row = _stock_row(variant, destination)
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
