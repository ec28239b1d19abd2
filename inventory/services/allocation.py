"""Allocations: reserve, release and ship stock for a reference, without overselling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from catalog.models import SELLABLE_STATUSES, ListingStatus, Variant

from ..exceptions import InsufficientStock, InvalidOperation
from ..models import Allocation, Movement, MovementKind, Stock
from ._base import (
    ALREADY_ALLOCATED,
    BACKORDERS_IN_USE,
    NOT_SELLABLE,
    OVER_RELEASE,
    REFERENCE_REQUIRED,
    SHIP_BEYOND_ON_HAND,
    AllocationLine,
    _actor_id,
    _check_quantity,
    _check_warehouse,
    _insufficient,
    _raise_insufficient,
    _refresh_products,
    _stock_row,
    _write_movement,
)

# --- allocations ---------------------------------------------------------------


def allocate(*, lines: Sequence[AllocationLine], reference: str, actor: Any) -> list[Allocation]:
    """Reserve stock for ``reference``, all lines or none.

    Refuses non-positive quantities, products that are not on sale, an
    inactive warehouse, a reference that already holds an allocation on one of
    the rows, and any line without enough available stock — listing every
    short line in one ``InsufficientStock``. Rows are taken in primary-key
    order with a conditional UPDATE, so concurrent allocations neither
    oversell nor deadlock. Backorder SKUs may go beyond on hand.
    """
    reference = (reference or "").strip()
    if not reference:
        raise InvalidOperation(REFERENCE_REQUIRED)
    if not lines:
        raise InvalidOperation(_("Nothing to allocate: no lines were given."))
    wanted: dict[tuple[int, int], int] = {}
    by_key: dict[tuple[int, int], AllocationLine] = {}
    for line in lines:
        _check_quantity(line.quantity)
        _check_warehouse(line.warehouse)
        key = (line.variant.pk, line.warehouse.pk)
        wanted[key] = wanted.get(key, 0) + line.quantity
        by_key[key] = line
    # The status as it is now, not as the caller's copy of the product says.
    statuses = dict(
        Variant.objects.filter(pk__in=[key[0] for key in by_key]).values_list(
            "pk", "product__status"
        )
    )
    for (variant_id, _warehouse_id), line in by_key.items():
        status = statuses[variant_id]
        if status not in SELLABLE_STATUSES:
            raise InvalidOperation(
                NOT_SELLABLE % {"sku": line.variant.sku, "status": ListingStatus(status).label}
            )

    with transaction.atomic():
        stocks = []
        for key, line in by_key.items():
            stocks.append((_stock_row(line.variant, line.warehouse), wanted[key]))
        stocks.sort(key=lambda pair: pair[0].pk)
        short: list[dict] = []
        for stock, quantity in stocks:
            rows = Stock.objects.filter(pk=stock.pk)
            if not stock.backorders_allowed:
                rows = rows.filter(on_hand__gte=F("allocated") + quantity)
            if not rows.update(allocated=F("allocated") + quantity):
                short.append(_insufficient(stock, quantity))
        if short:
            _raise_insufficient(short)
        try:
            with transaction.atomic():
                allocations = Allocation.objects.bulk_create(
                    [
                        Allocation(
                            stock=stock,
                            reference=reference,
                            quantity=quantity,
                            allocated_quantity=quantity,
                            actor_id=_actor_id(actor),
                        )
                        for stock, quantity in stocks
                    ]
                )
        except IntegrityError:
            raise InvalidOperation(ALREADY_ALLOCATED % {"reference": reference}) from None
        exhausted = Stock.objects.filter(
            pk__in=[s.pk for s, _q in stocks], on_hand__lte=F("allocated")
        ).values_list("variant__product_id", flat=True)
        _refresh_products(exhausted, actor)
    return allocations


def _consume_allocation(allocation: Allocation, quantity: int | None) -> int:
    # The caller lowers ``allocation.quantity`` only once the whole operation has
    # succeeded: a refused ship must leave its copy as it was, for a retry.
    quantity = allocation.quantity if quantity is None else quantity
    _check_quantity(quantity)
    updated = Allocation.objects.filter(pk=allocation.pk, quantity__gte=quantity).update(
        quantity=F("quantity") - quantity
    )
    if not updated:
        left = (
            Allocation.objects.filter(pk=allocation.pk).values_list("quantity", flat=True).first()
        )
        raise InvalidOperation(
            OVER_RELEASE
            % {"quantity": quantity, "reference": allocation.reference, "left": left or 0}
        )
    return quantity


def release(*, allocation: Allocation, actor: Any, quantity: int | None = None) -> int:
    """Give back reserved units (all that is left by default); returns how many.

    Refuses more than is still allocated. Writes no movement: on hand is unchanged.
    """
    with transaction.atomic():
        quantity = _consume_allocation(allocation, quantity)
        Stock.objects.filter(pk=allocation.stock_id).update(allocated=F("allocated") - quantity)
        product_id = (
            Stock.objects.filter(pk=allocation.stock_id)
            .values_list("variant__product_id", flat=True)
            .get()
        )
        _refresh_products([product_id], actor)
    allocation.quantity -= quantity
    return quantity


def ship(
    *, allocation: Allocation, actor: Any, quantity: int | None = None, reference: str = ""
) -> Movement:
    """Ship reserved units: on hand and allocated both go down, one shipment movement.

    Refuses more than is still allocated, and more than is on hand (a
    backorder waiting for stock).
    """
    with transaction.atomic():
        quantity = _consume_allocation(allocation, quantity)
        updated = Stock.objects.filter(pk=allocation.stock_id, on_hand__gte=quantity).update(
            on_hand=F("on_hand") - quantity, allocated=F("allocated") - quantity
        )
        if not updated:
            stock = Stock.objects.select_related("variant", "warehouse").get(pk=allocation.stock_id)
            raise InsufficientStock(
                SHIP_BEYOND_ON_HAND
                % {
                    "quantity": quantity,
                    "sku": stock.variant.sku,
                    "warehouse": stock.warehouse.code,
                    "on_hand": stock.on_hand,
                }
            )
        movement = _write_movement(
            allocation.stock_id,
            kind=MovementKind.SHIPMENT,
            quantity=-quantity,
            reason="",
            reference=reference or allocation.reference,
            actor=actor,
        )
    allocation.quantity -= quantity
    return movement


def set_backorders(*, variants: models.QuerySet, allowed: bool, actor: Any) -> int:
    """Allow or stop backorders for SKUs, keeping every stock row's copy in step.

    Refuses to stop backorders while a SKU has more allocated than on hand.
    Returns the number of variants changed.
    """
    with transaction.atomic():
        ids = list(variants.order_by("pk").select_for_update().values_list("pk", flat=True))
        stocks = Stock.objects.filter(variant_id__in=ids)
        if not allowed:
            over = list(
                stocks.filter(allocated__gt=F("on_hand")).values_list("variant__sku", flat=True)[
                    :10
                ]
            )
            if over:
                raise InvalidOperation(BACKORDERS_IN_USE % {"skus": ", ".join(over)})
        changed = Variant.objects.filter(pk__in=ids).exclude(allow_backorder=allowed)
        product_ids = list(changed.values_list("product_id", flat=True).distinct())
        count = changed.update(allow_backorder=allowed)
        stocks.update(backorders_allowed=allowed)
        _refresh_products(product_ids, actor)
    return count
