"""Stock operations of the warehouse documents: count corrections and transfers in transit.

``warehouse.services`` (stock counts, transfers) calls these; like the rest of
this package, each function changes levels with conditional UPDATEs on rows
taken in primary-key order and writes the movements in the same transaction,
all lines or none. SKUs tracked by lot are refused: their units move per lot.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy

from catalog.models import Variant

from ..exceptions import InvalidOperation, InvalidQuantity
from ..models import Movement, MovementKind, Stock, Warehouse
from ._base import (
    QUANTITY_NOT_POSITIVE,
    SAME_WAREHOUSE,
    _check_quantity,
    _check_warehouse,
    _insufficient,
    _raise_insufficient,
    _refresh_products,
    _stock_row,
    _write_movement,
)

LOT_TRACKED = gettext_lazy(
    "Tracked by lot (their stock is counted and moved per lot, not here): %(skus)s. "
    "Nothing was changed."
)
CORRECTION_ZERO = gettext_lazy("%(reference)s: a count correction must change the quantity.")
CORRECTION_REFUSED = gettext_lazy(
    "The count corrections cannot be applied; nothing was changed: %(lines)s."
)
CORRECTION_REFUSED_LINE = gettext_lazy(
    "%(reference)s %(sku)s at %(warehouse)s: %(quantity)+d would leave %(after)s on hand "
    "with %(allocated)s allocated"
)
DUPLICATE_ROW = gettext_lazy("%(sku)s appears twice: give one line per SKU.")
REFERENCE_MISSING = gettext_lazy("Every line needs a reference (the document line it is for).")
NO_LINES = gettext_lazy("Nothing to move: no lines were given.")
UNKNOWN_STOCK_ROW = gettext_lazy("Stock row %(stock)s does not exist.")


class CorrectionRefused(InvalidOperation):
    """Corrections that would take on hand below zero or below allocated; ``lines`` lists all."""

    def __init__(self, message: str, lines: list[dict]) -> None:
        super().__init__(message)
        self.lines = lines


@dataclass(frozen=True)
class CountCorrection:
    """Add ``quantity`` (counted − expected at the snapshot, signed) to a stock row's level."""

    stock_id: int
    quantity: int
    reference: str
    reason: str = ""


@dataclass(frozen=True)
class TransitLine:
    """Units of one SKU leaving or reaching a warehouse, for one transfer line."""

    variant: Variant
    quantity: int
    reference: str


def _refuse_lot_tracked(variants: Iterable[Variant]) -> None:
    # ``track_lots`` arrives with the lots feature; until then nothing is lot-tracked.
    skus = sorted({v.sku for v in variants if getattr(v, "track_lots", False)})
    if skus:
        raise InvalidOperation(LOT_TRACKED % {"skus": ", ".join(skus[:10])})


def _check_references(references: Iterable[str]) -> None:
    if any(not (reference or "").strip() for reference in references):
        raise InvalidOperation(REFERENCE_MISSING)


def count_correct(
    *,
    corrections: Sequence[CountCorrection],
    actor: Any,
    reason: str = "",
    batch: uuid.UUID | None = None,
) -> dict[str, Movement]:
    """Apply stock-count corrections to the current levels, all or none.

    Each correction adds ``counted − expected at the snapshot`` to on hand as
    it is now, so that movements between the snapshot and now (shipments,
    receipts) are kept: the level becomes counted + those movements. Writes
    one COUNT movement per correction, referenced by the count line.

    Refuses a zero or non-integer correction, a missing reference, a stock
    row given twice, lot-tracked SKUs, and — listing every such line in one
    ``CorrectionRefused`` — any correction that would take on hand below zero,
    or below what is allocated (unless the SKU allows backorders). Rows are
    locked in primary-key order. Returns the movements by reference.
    """
    if not corrections:
        return {}
    _check_references(c.reference for c in corrections)
    for correction in corrections:
        if isinstance(correction.quantity, bool) or not isinstance(correction.quantity, int):
            raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": correction.quantity})
        if correction.quantity == 0:
            raise InvalidQuantity(CORRECTION_ZERO % {"reference": correction.reference})
    by_stock = {c.stock_id: c for c in corrections}
    if len(by_stock) != len(corrections):
        ids = [c.stock_id for c in corrections]
        twice = next(pk for pk in ids if ids.count(pk) > 1)
        sku = Stock.objects.filter(pk=twice).values_list("variant__sku", flat=True).first()
        raise InvalidOperation(DUPLICATE_ROW % {"sku": sku or twice})
    batch = batch or uuid.uuid4()
    with transaction.atomic():
        rows = list(
            Stock.objects.select_for_update(of=("self",))
            .filter(pk__in=by_stock)
            .select_related("variant", "warehouse")
            .order_by("pk")
        )
        if len(rows) != len(by_stock):
            missing = sorted(set(by_stock) - {row.pk for row in rows})
            raise InvalidOperation(UNKNOWN_STOCK_ROW % {"stock": missing[0]})
        _refuse_lot_tracked(row.variant for row in rows)
        refused: list[dict] = []
        movements: dict[str, Movement] = {}
        for row in rows:
            correction = by_stock[row.pk]
            quantity = correction.quantity
            if quantity > 0:
                Stock.objects.filter(pk=row.pk).update(on_hand=F("on_hand") + quantity)
            else:
                updated = (
                    Stock.objects.filter(pk=row.pk, on_hand__gte=-quantity)
                    .filter(Q(backorders_allowed=True) | Q(on_hand__gte=F("allocated") - quantity))
                    .update(on_hand=F("on_hand") + quantity)
                )
                if not updated:
                    now = Stock.objects.filter(pk=row.pk).values("on_hand", "allocated").get()
                    refused.append(
                        {
                            "reference": correction.reference,
                            "sku": row.variant.sku,
                            "warehouse": row.warehouse.code,
                            "quantity": quantity,
                            "after": now["on_hand"] + quantity,
                            "allocated": now["allocated"],
                        }
                    )
                    continue
            movements[correction.reference] = _write_movement(
                row.pk,
                kind=MovementKind.COUNT,
                quantity=quantity,
                reason=correction.reason or reason,
                reference=correction.reference,
                actor=actor,
                batch=batch,
            )
        if refused:
            text = "; ".join(str(CORRECTION_REFUSED_LINE % line) for line in refused)
            raise CorrectionRefused(CORRECTION_REFUSED % {"lines": text}, refused)
        _refresh_products({row.variant.product_id for row in rows}, actor)
    return movements


def _checked_lines(lines: Sequence[TransitLine]) -> None:
    if not lines:
        raise InvalidOperation(NO_LINES)
    _check_references(line.reference for line in lines)
    seen: set[int] = set()
    for line in lines:
        _check_quantity(line.quantity)
        if line.variant.pk in seen:
            raise InvalidOperation(DUPLICATE_ROW % {"sku": line.variant.sku})
        seen.add(line.variant.pk)


def _fresh_variants(lines: Sequence[TransitLine]) -> dict[int, Variant]:
    # From the database: a caller's copy may predate the SKU becoming lot-tracked.
    return Variant.objects.in_bulk([line.variant.pk for line in lines])


def transfer_dispatch(
    *,
    lines: Sequence[TransitLine],
    source: Warehouse,
    destination: Warehouse,
    actor: Any,
    reason: str = "",
    batch: uuid.UUID | None = None,
) -> dict[str, Movement]:
    """Take free units out of ``source`` for a transfer: TRANSFER_OUT movements, all or none.

    The units are then in transit: available neither at the source (they left
    its on hand) nor at the destination (``transfer_receive`` puts them there).
    Refuses the same warehouse at both ends, an inactive warehouse, a
    non-positive quantity, a SKU twice, lot-tracked SKUs, and — listing every
    short line in one ``InsufficientStock`` — units that are allocated or not
    there. Returns the movements by line reference.
    """
    _checked_lines(lines)
    if source.pk == destination.pk:
        raise InvalidOperation(SAME_WAREHOUSE)
    _check_warehouse(source)
    _check_warehouse(destination)
    batch = batch or uuid.uuid4()
    with transaction.atomic():
        variants = _fresh_variants(lines)
        _refuse_lot_tracked(variants.values())
        rows = sorted(
            ((_stock_row(variants[line.variant.pk], source), line) for line in lines),
            key=lambda pair: pair[0].pk,
        )
        short: list[dict] = []
        movements: dict[str, Movement] = {}
        for stock, line in rows:
            updated = Stock.objects.filter(
                pk=stock.pk, on_hand__gte=F("allocated") + line.quantity
            ).update(on_hand=F("on_hand") - line.quantity)
            if not updated:
                short.append(_insufficient(stock.pk, line.variant.sku, source.code, line.quantity))
                continue
            movements[line.reference] = _write_movement(
                stock.pk,
                kind=MovementKind.TRANSFER_OUT,
                quantity=-line.quantity,
                reason=reason,
                reference=line.reference,
                actor=actor,
                batch=batch,
            )
        if short:
            _raise_insufficient(short)
        _refresh_products({v.product_id for v in variants.values()}, actor)
    return movements


def transfer_receive(
    *,
    lines: Sequence[TransitLine],
    destination: Warehouse,
    actor: Any,
    reason: str = "",
    batch: uuid.UUID | None = None,
) -> dict[str, Movement]:
    """Put units that arrived from a transfer into ``destination``: TRANSFER_IN movements.

    Refuses an inactive warehouse, a non-positive quantity, a SKU twice and
    lot-tracked SKUs. Rows in primary-key order; returns the movements by
    line reference.
    """
    _checked_lines(lines)
    _check_warehouse(destination)
    batch = batch or uuid.uuid4()
    with transaction.atomic():
        variants = _fresh_variants(lines)
        _refuse_lot_tracked(variants.values())
        rows = sorted(
            ((_stock_row(variants[line.variant.pk], destination), line) for line in lines),
            key=lambda pair: pair[0].pk,
        )
        movements: dict[str, Movement] = {}
        for stock, line in rows:
            Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + line.quantity)
            movements[line.reference] = _write_movement(
                stock.pk,
                kind=MovementKind.TRANSFER_IN,
                quantity=line.quantity,
                reason=reason,
                reference=line.reference,
                actor=actor,
                batch=batch,
            )
        _refresh_products({v.product_id for v in variants.values()}, actor)
    return movements
