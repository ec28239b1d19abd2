"""Order operations. Stock moves only through inventory.services."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy, pgettext_lazy

from backoffice.errors import DomainError
from catalog.models import Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Allocation, Stock, Warehouse

from .models import Order, OrderLine

ORDER_EXISTS = gettext_lazy("An order numbered %(number)s already exists.")
ORDER_NO_LINES = gettext_lazy("An order needs at least one line.")
ORDER_BAD_QUANTITY = gettext_lazy("Line %(line)s: quantity must be a whole number above zero.")
ORDER_BAD_PRICE = gettext_lazy("Line %(line)s: the unit price cannot be negative.")
ORDER_WRONG_STATUS = gettext_lazy("Order %(number)s is %(status)s: it cannot be %(action)s.")
ACTION_ALLOCATED = pgettext_lazy("order action", "allocated")
ACTION_SHIPPED = pgettext_lazy("order action", "shipped")
ACTION_CANCELLED = pgettext_lazy("order action", "cancelled")


class OrderError(DomainError):
    pass


@dataclass(frozen=True)
class LineRequest:
    variant: Variant
    quantity: int
    unit_price: Decimal


def order_create(
    *,
    number: str,
    customer_name: str,
    lines: Sequence[LineRequest],
    actor: Any,
    channel: str = Order.Channel.MANUAL,
    customer_email: str = "",
    shipping_address: str = "",
    priority: str = Order.Priority.NORMAL,
    warehouse: Warehouse | None = None,
) -> Order:
    """Record an order with its lines. Refuses a duplicate number, no lines, bad quantities."""
    if not lines:
        raise OrderError(ORDER_NO_LINES)
    for index, line in enumerate(lines, start=1):
        if (
            isinstance(line.quantity, bool)
            or not isinstance(line.quantity, int)
            or line.quantity <= 0
        ):
            raise OrderError(ORDER_BAD_QUANTITY % {"line": index})
        if Decimal(line.unit_price) < 0:
            raise OrderError(ORDER_BAD_PRICE % {"line": index})
    try:
        with transaction.atomic():
            order = Order.objects.create(
                number=number,
                channel=channel,
                customer_name=customer_name,
                customer_email=customer_email,
                shipping_address=shipping_address,
                priority=priority,
                warehouse=warehouse,
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    variant=line.variant,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in lines
            )
    except IntegrityError:
        raise OrderError(ORDER_EXISTS % {"number": number}) from None
    return order


def _require(order: Order, status: str, action) -> None:
    if order.status != status:
        raise OrderError(
            ORDER_WRONG_STATUS
            % {"number": order.number, "status": order.get_status_display(), "action": action}
        )


def order_allocate(*, order: Order, warehouse: Warehouse, actor: Any) -> list[Allocation]:
    """Reserve every line of the order in ``warehouse``, all or nothing.

    Lines are taken in the primary-key order of their stock rows, as every
    multi-row stock operation does, so that two orders listing the same SKUs
    in opposite orders never deadlock. Every short line is reported in one
    ``InsufficientStock``.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        _require(order, Order.Status.RECEIVED, ACTION_ALLOCATED)
        lines = list(order.lines.select_related("variant").order_by("pk"))
        stock_ids = dict(
            Stock.objects.filter(
                warehouse=warehouse, variant__in=[line.variant_id for line in lines]
            ).values_list("variant_id", "pk")
        )
        # Rows that do not exist yet come last, in line order.
        lines.sort(key=lambda line: (stock_ids.get(line.variant_id, math.inf), line.pk))
        allocations: list[Allocation] = []
        short: list[dict] = []
        for line in lines:
            try:
                allocations += inventory.allocate(
                    lines=[inventory.AllocationLine(line.variant, warehouse, line.quantity)],
                    reference=line.reference,
                    actor=actor,
                )
            except InsufficientStock as error:
                # That line's savepoint is rolled back; look at the others, then refuse all.
                short += error.lines
        if short:
            text = "; ".join(str(inventory.INSUFFICIENT_LINE % line) for line in short)
            raise InsufficientStock(inventory.INSUFFICIENT_STOCK % {"lines": text}, short)
        order.status = Order.Status.ALLOCATED
        order.warehouse = warehouse
        order.save(update_fields=["status", "warehouse"])
    return allocations


def _allocations(order: Order):
    refs = [line.reference for line in order.lines.all()]
    return Allocation.objects.filter(reference__in=refs, quantity__gt=0).order_by("stock_id")


def order_ship(*, order: Order, actor: Any) -> int:
    """Ship every allocated line; returns the number of units shipped."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        _require(order, Order.Status.ALLOCATED, ACTION_SHIPPED)
        units = 0
        for allocation in _allocations(order):
            units += -inventory.ship(
                allocation=allocation, actor=actor, reference=order.number
            ).quantity
        order.status = Order.Status.SHIPPED
        order.save(update_fields=["status"])
    return units


def order_cancel(*, order: Order, actor: Any) -> int:
    """Cancel an order not yet shipped, releasing exactly what it had allocated."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status not in (Order.Status.RECEIVED, Order.Status.ALLOCATED):
            _require(order, Order.Status.RECEIVED, ACTION_CANCELLED)
        released = 0
        for allocation in _allocations(order):
            released += inventory.release(allocation=allocation, actor=actor)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
    return released
