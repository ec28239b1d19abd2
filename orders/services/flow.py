"""The order flow: create / place, review, allocate, pick, pack, ship, deliver, cancel.

Stock moves only through ``inventory.services``. Every status change locks
the order row first; every operation that touches several stock rows takes
them in primary-key order.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from catalog.models import SELLABLE_STATUSES, ListingStatus, Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Allocation, Stock, Warehouse

from ..models import Order, OrderLine, Shipment, ShipmentLine
from ._base import (
    ACTION_ALLOCATED,
    ACTION_CANCELLED,
    ACTION_DELIVERED,
    ACTION_PACKED,
    ACTION_PICKED,
    ACTION_REVIEWED,
    ACTION_SHIPPED,
    ALLOCATABLE,
    CANCELLABLE,
    ORDER_BAD_DISCOUNT,
    ORDER_BAD_PRICE,
    ORDER_BAD_QUANTITY,
    ORDER_EXISTS,
    ORDER_NO_CUSTOMER,
    ORDER_NO_LINES,
    ORDER_UNKNOWN_CHOICE,
    SHIP_NEEDS_CARRIER,
    SHIP_NOTHING,
    SHIP_TOO_MANY,
    SHIP_UNKNOWN_LINE,
    SHIPPABLE,
    UNKNOWN_SKU,
    OrderError,
    locked,
    require,
)

ORDER_PRICE_INVALID = gettext_lazy(
    "Line %(line)s: the %(field)s must be an amount with at most two decimals, "
    "below 10,000,000,000."
)
ORDER_BAD_EMAIL = gettext_lazy("%(email)s is not a valid e-mail address.")
ORDER_FIELD_TOO_LONG = gettext_lazy("%(field)s is too long: at most %(max)s characters.")
ORDER_REFERENCE_EXISTS = gettext_lazy(
    "The %(channel)s channel already sent an order with reference %(reference)s."
)
ORDER_REFERENCE_REQUIRED = gettext_lazy("An order from a channel needs the channel's reference.")

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("10000000000")
NUMBER_PREFIX = {
    Order.Channel.STOREFRONT: "SF",
    Order.Channel.MARKETPLACE: "MP",
    Order.Channel.MANUAL: "MN",
}


@dataclass(frozen=True)
class LineRequest:
    variant: Variant
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Placed:
    """What ``order_place`` did: the order, and whether this call created it."""

    order: Order
    created: bool


# --- helpers -----------------------------------------------------------------------------


def _amount(value: Any, line: int, field: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if (
        amount is None
        or isinstance(value, (bool, float))
        or not amount.is_finite()
        or amount.quantize(CENT) != amount
        or abs(amount) >= MAX_AMOUNT
    ):
        raise OrderError(ORDER_PRICE_INVALID % {"line": line, "field": field})
    return amount


def _checked_lines(lines: Sequence[LineRequest]) -> list[tuple[LineRequest, Decimal, Decimal]]:
    if not lines:
        raise OrderError(ORDER_NO_LINES)
    checked = []
    for index, line in enumerate(lines, start=1):
        quantity = line.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise OrderError(ORDER_BAD_QUANTITY % {"line": index})
        price = _amount(line.unit_price, index, "unit price")
        if price < 0:
            raise OrderError(ORDER_BAD_PRICE % {"line": index})
        discount = _amount(line.discount, index, "discount")
        if discount < 0 or discount > price * quantity:
            raise OrderError(ORDER_BAD_DISCOUNT % {"line": index})
        checked.append((line, price, discount))
    return checked


def _check_fields(**values: str) -> None:
    for name, value in values.items():
        field = Order._meta.get_field(name)
        if field.max_length and len(value) > field.max_length:
            raise OrderError(
                ORDER_FIELD_TOO_LONG % {"field": field.verbose_name, "max": field.max_length}
            )


def _new_number(channel: str) -> str:
    return f"{NUMBER_PREFIX.get(channel, 'SO')}-{timezone.now():%y%m%d}-{secrets.token_hex(4)}"


def _insert(*, number: str, lines: Sequence[LineRequest], **fields: Any) -> Order:
    """Validate and insert the order and its lines; an IntegrityError is left to the caller."""
    checked = _checked_lines(lines)
    customer_name = (fields.get("customer_name") or "").strip()
    if not customer_name:
        raise OrderError(ORDER_NO_CUSTOMER)
    fields["customer_name"] = customer_name
    for name, choices in (("channel", Order.Channel), ("priority", Order.Priority)):
        if fields[name] not in choices.values:
            raise OrderError(ORDER_UNKNOWN_CHOICE % {"field": name, "value": fields[name]})
    email = fields.get("customer_email") or ""
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise OrderError(ORDER_BAD_EMAIL % {"email": email}) from None
    _check_fields(
        number=number, **{k: v for k, v in fields.items() if isinstance(v, str) and k != "channel"}
    )
    subtotal = sum((price * line.quantity for line, price, _d in checked), Decimal("0.00"))
    discounts = sum((discount for _l, _p, discount in checked), Decimal("0.00"))
    with transaction.atomic():
        order = Order.objects.create(
            number=number,
            subtotal=subtotal,
            discount_total=discounts,
            total=subtotal - discounts,
            **fields,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=line.variant,
                quantity=line.quantity,
                unit_price=price,
                discount=discount,
            )
            for line, price, discount in checked
        )
    return order


# --- intake ------------------------------------------------------------------------------


def order_create(
    *,
    number: str,
    customer_name: str,
    lines: Sequence[LineRequest],
    actor: Any,
    channel: str = Order.Channel.MANUAL,
    external_reference: str = "",
    customer_email: str = "",
    customer_phone: str = "",
    shipping_address: str = "",
    shipping_city: str = "",
    shipping_region: str = "",
    shipping_postal_code: str = "",
    shipping_country: str = "",
    priority: str = Order.Priority.NORMAL,
    warehouse: Warehouse | None = None,
) -> Order:
    """Record an order with its lines and totals; reserves nothing.

    Refuses a duplicate number or channel reference, no lines, bad
    quantities, prices or discounts, a missing customer name, an invalid
    e-mail, unknown channel or priority, and over-long fields.
    """
    try:
        return _insert(
            number=number,
            lines=lines,
            channel=channel,
            external_reference=external_reference.strip(),
            customer_name=customer_name,
            customer_email=customer_email,
            customer_phone=customer_phone,
            shipping_address=shipping_address,
            shipping_city=shipping_city,
            shipping_region=shipping_region,
            shipping_postal_code=shipping_postal_code,
            shipping_country=shipping_country,
            priority=priority,
            warehouse=warehouse,
        )
    except IntegrityError:
        if external_reference and _by_reference(channel, external_reference.strip()):
            raise OrderError(
                ORDER_REFERENCE_EXISTS
                % {"channel": Order.Channel(channel).label, "reference": external_reference}
            ) from None
        raise OrderError(ORDER_EXISTS % {"number": number}) from None


def _by_reference(channel: str, reference: str) -> Order | None:
    return Order.objects.filter(channel=channel, external_reference=reference).first()


def resolve_skus(skus: Sequence[str]) -> dict[str, Variant]:
    """The variants of ``skus``; refuses the whole list if any SKU is unknown."""
    found = {v.sku: v for v in Variant.objects.filter(sku__in=set(skus))}
    unknown = sorted({sku for sku in skus if sku not in found})
    if unknown:
        raise OrderError(UNKNOWN_SKU % {"skus": ", ".join(unknown)})
    return found


def order_place(
    *,
    channel: str,
    external_reference: str,
    customer_name: str,
    lines: Sequence[LineRequest],
    warehouse: Warehouse,
    actor: Any,
    **details: Any,
) -> Placed:
    """Create a channel's order and allocate it in ``warehouse``, in one transaction.

    Idempotent on (channel, reference): a repeated call — even a concurrent
    one — returns the existing order and allocates nothing. Refuses what
    ``order_create`` refuses, and ``InsufficientStock`` when any line is
    short, in which case nothing at all is written.
    """
    reference = (external_reference or "").strip()
    if not reference:
        raise OrderError(ORDER_REFERENCE_REQUIRED)
    existing = _by_reference(channel, reference)
    if existing is not None:
        return Placed(existing, False)
    try:
        with transaction.atomic():
            order = _insert(
                number=_new_number(channel),
                lines=lines,
                channel=channel,
                external_reference=reference,
                customer_name=customer_name,
                warehouse=warehouse,
                **{"priority": Order.Priority.NORMAL, **details},
            )
            order_allocate(order=order, warehouse=warehouse, actor=actor)
    except IntegrityError:
        # A concurrent call with the same reference committed first: its order is the answer.
        existing = _by_reference(channel, reference)
        if existing is None:
            raise
        return Placed(existing, False)
    order.refresh_from_db()
    return Placed(order, True)


# --- review --------------------------------------------------------------------------------


def order_review(*, order: Order, actor: Any) -> Order:
    """Check stock and prices; record flags for staff and mark the order reviewed.

    Flags (never refusals): a product not on sale, a line short of available
    stock (in the order's warehouse, or all warehouses), a price different
    from the list price, a net unit price below cost. Refuses orders that are
    already allocated, shipped or cancelled.
    """
    with transaction.atomic():
        order = locked(order)
        require(order, ALLOCATABLE, ACTION_REVIEWED)
        lines = list(order.lines.select_related("variant__product").order_by("pk"))
        stocks = Stock.objects.filter(
            variant__in=[line.variant_id for line in lines], warehouse__is_active=True
        )
        if order.warehouse_id:
            stocks = stocks.filter(warehouse_id=order.warehouse_id)
        available = dict(
            stocks.values("variant")
            .annotate(free=Sum(F("on_hand") - F("allocated")))
            .values_list("variant", "free")
        )
        wanted: dict[int, int] = {}
        for line in lines:
            wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
        flags: list[dict] = []
        for line in lines:
            variant = line.variant
            sku = variant.sku
            status = variant.product.status
            if status not in SELLABLE_STATUSES:
                flags.append(
                    {"code": "not_sellable", "sku": sku, "status": str(ListingStatus(status).label)}
                )
            free = max(available.get(variant.pk, 0), 0)
            if wanted[variant.pk] > free:
                flags.append(
                    {
                        "code": "short",
                        "sku": sku,
                        "requested": wanted[variant.pk],
                        "available": free,
                    }
                )
            if line.unit_price != variant.price:
                flags.append(
                    {
                        "code": "price_differs",
                        "sku": sku,
                        "price": str(line.unit_price),
                        "list_price": str(variant.price),
                    }
                )
            net = (line.unit_price - line.discount / line.quantity).quantize(CENT)
            if variant.cost is not None and net < variant.cost:
                flags.append(
                    {"code": "below_cost", "sku": sku, "price": str(net), "cost": str(variant.cost)}
                )
        order.review_flags = flags
        order.needs_attention = bool(flags)
        order.status = Order.Status.REVIEWED
        order.reviewed_at = timezone.now()
        order.save(update_fields=["review_flags", "needs_attention", "status", "reviewed_at"])
    return order


# --- allocation --------------------------------------------------------------------------


def order_allocate(*, order: Order, warehouse: Warehouse, actor: Any) -> list[Allocation]:
    """Reserve every line of the order in ``warehouse``, all or nothing.

    The order's stock rows are locked first, in primary-key order, and the
    lines are then allocated in that same order, so that two orders listing
    the same SKUs in opposite orders never deadlock — not even on the product
    rows that "sold out" bookkeeping locks after each line. Every short line
    is reported in one ``InsufficientStock``; then nothing is reserved.
    """
    with transaction.atomic():
        order = locked(order)
        require(order, ALLOCATABLE, ACTION_ALLOCATED)
        lines = list(order.lines.select_related("variant").order_by("pk"))
        stock_ids = dict(
            Stock.objects.filter(
                warehouse=warehouse, variant__in=[line.variant_id for line in lines]
            ).values_list("variant_id", "pk")
        )
        # A lock, not a write: the levels are changed by inventory.allocate below.
        list(
            Stock.objects.select_for_update()
            .filter(pk__in=stock_ids.values())
            .order_by("pk")
            .values_list("pk", flat=True)
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


def _move(order: Order, *, source, target: str, action) -> Order:
    with transaction.atomic():
        order = locked(order)
        require(order, source, action)
        order.status = target
        order.save(update_fields=["status"])
    return order


def order_pick(*, order: Order, actor: Any) -> Order:
    """Mark an allocated order picked. Refuses any other status."""
    return _move(
        order, source=Order.Status.ALLOCATED, target=Order.Status.PICKED, action=ACTION_PICKED
    )


def order_pack(*, order: Order, actor: Any) -> Order:
    """Mark a picked order packed. Refuses any other status."""
    return _move(
        order, source=Order.Status.PICKED, target=Order.Status.PACKED, action=ACTION_PACKED
    )


# --- shipping ----------------------------------------------------------------------------


def order_ship(
    *,
    order: Order,
    carrier: str,
    tracking_number: str,
    actor: Any,
    quantities: Mapping[int, int] | None = None,
) -> Shipment:
    """Hand units to a carrier: one shipment, one shipment movement per line shipped.

    ``quantities`` maps order line ids to units (0 skips a line); by default
    everything not yet shipped goes. Consumes the lines' allocations through
    ``inventory.ship``, in stock-row order. The order becomes shipped when every
    line is, partially shipped otherwise. Refuses a missing carrier or tracking
    number, an order not allocated, lines of another order, bad quantities and
    more than is left to ship.
    """
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise OrderError(SHIP_NEEDS_CARRIER)
    with transaction.atomic():
        order = locked(order)
        require(order, SHIPPABLE, ACTION_SHIPPED)
        lines = {line.pk: line for line in order.lines.select_related("variant").order_by("pk")}
        numbers = {pk: index for index, pk in enumerate(lines, start=1)}
        if quantities is None:
            quantities = {pk: line.quantity - line.shipped_quantity for pk, line in lines.items()}
        wanted: dict[int, int] = {}
        for pk, quantity in quantities.items():
            if pk not in lines:
                raise OrderError(SHIP_UNKNOWN_LINE % {"line": pk, "number": order.number})
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                raise OrderError(ORDER_BAD_QUANTITY % {"line": numbers[pk]})
            line = lines[pk]
            left = line.quantity - line.shipped_quantity
            if quantity > left:
                raise OrderError(
                    SHIP_TOO_MANY
                    % {
                        "quantity": quantity,
                        "sku": line.variant.sku,
                        "number": order.number,
                        "left": left,
                    }
                )
            if quantity:
                wanted[pk] = quantity
        if not wanted:
            raise OrderError(SHIP_NOTHING)
        by_reference = {a.reference: a for a in _allocations(order)}
        shipment = Shipment.objects.create(
            order=order, carrier=carrier, tracking_number=tracking_number, actor=actor
        )
        todo = sorted(
            wanted.items(),
            key=lambda item: (
                getattr(by_reference.get(lines[item[0]].reference), "stock_id", 0),
                item[0],
            ),
        )
        for pk, quantity in todo:
            line = lines[pk]
            allocation = by_reference.get(line.reference)
            if allocation is None:  # nothing left reserved: the ledger never ships unreserved
                raise OrderError(
                    SHIP_TOO_MANY
                    % {
                        "quantity": quantity,
                        "sku": line.variant.sku,
                        "number": order.number,
                        "left": 0,
                    }
                )
            inventory.ship(
                allocation=allocation, quantity=quantity, actor=actor, reference=order.number
            )
            OrderLine.objects.filter(pk=pk).update(
                shipped_quantity=F("shipped_quantity") + quantity
            )
        ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, order_line_id=pk, quantity=quantity)
            for pk, quantity in wanted.items()
        )
        done = all(
            lines[pk].shipped_quantity + wanted.get(pk, 0) == lines[pk].quantity for pk in lines
        )
        order.status = Order.Status.SHIPPED if done else Order.Status.PARTIALLY_SHIPPED
        order.save(update_fields=["status"])
    return shipment


def order_deliver(*, order: Order, actor: Any) -> Order:
    """Record that the carrier delivered a fully shipped order. Refuses any other status."""
    with transaction.atomic():
        order = locked(order)
        require(order, Order.Status.SHIPPED, ACTION_DELIVERED)
        order.status = Order.Status.DELIVERED
        order.delivered_at = timezone.now()
        order.save(update_fields=["status", "delivered_at"])
    return order


def order_cancel(*, order: Order, actor: Any) -> int:
    """Cancel what is left of an order, releasing exactly what it still has allocated.

    Returns the number of units released. An order that shipped nothing
    becomes cancelled. A partially shipped order keeps its shipped units
    (they stay shipped, and can be delivered and returned): only the
    unshipped remainder is released, the order becomes shipped — nothing
    more will go — and ``cancelled_at`` records when the rest was cancelled.
    Writes no movement: releasing a reservation leaves on hand as it is.
    Refuses an order that is fully shipped, delivered or already cancelled.
    """
    with transaction.atomic():
        order = locked(order)
        require(order, (*CANCELLABLE, Order.Status.PARTIALLY_SHIPPED), ACTION_CANCELLED)
        released = 0
        for allocation in _allocations(order):
            released += inventory.release(allocation=allocation, actor=actor)
        if order.status == Order.Status.PARTIALLY_SHIPPED:
            order.status = Order.Status.SHIPPED
        else:
            order.status = Order.Status.CANCELLED
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
    return released
