"""Order services: create, allocate (all or nothing), ship, cancel; stock moves via inventory."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from catalog.models import Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Allocation, Movement, MovementKind, Stock
from inventory.services import INSUFFICIENT_LINE, INSUFFICIENT_STOCK
from orders.models import Order, OrderLine
from orders.services import (
    ORDER_BAD_PRICE,
    ORDER_BAD_QUANTITY,
    ORDER_EXISTS,
    ORDER_NO_LINES,
    ORDER_WRONG_STATUS,
    LineRequest,
    OrderError,
    order_allocate,
    order_cancel,
    order_create,
    order_ship,
)

from ..factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def refused(snapshot, error, message, call):
    """Run ``call``; it must raise ``error`` with ``message`` and change nothing."""
    before = snapshot()
    with pytest.raises(error) as excinfo:
        call()
    assert str(excinfo.value) == str(message)
    assert snapshot() == before
    return excinfo.value


def level(sku: str, warehouse) -> tuple[int, int]:
    return Stock.objects.values_list("on_hand", "allocated").get(
        variant__sku=sku, warehouse=warehouse
    )


@pytest.fixture
def cap(warehouse, admin_user):
    """A second SKU with 3 units at MAIN."""
    variant = VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-1")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=3, actor=admin_user)
    return variant


def create(number, lines, actor=None, **extra):
    return order_create(
        number=number,
        customer_name="Li Lei",
        lines=[
            LineRequest(variant, quantity, Decimal(price)) for variant, quantity, price in lines
        ],
        actor=actor,
        **extra,
    )


@pytest.fixture
def order(stocked_variant, cap, admin_user):
    """SO-1: 4 shirts and 2 caps."""
    return create("SO-1", [(stocked_variant, 4, "19.90"), (cap, 2, "9.50")], admin_user)


# --- order_create ---------------------------------------------------------------------


def test_order_create_records_the_order_and_its_lines(stocked_variant, cap, warehouse, admin_user):
    order = create(
        "SO-9",
        [(stocked_variant, 4, "19.90"), (cap, 1, "0")],
        admin_user,
        channel=Order.Channel.STOREFRONT,
        customer_email="li@example.com",
        warehouse=warehouse,
    )
    order.refresh_from_db()
    assert (order.number, order.status, order.channel) == ("SO-9", "received", "storefront")
    assert (order.customer_email, order.warehouse) == ("li@example.com", warehouse)
    assert list(
        order.lines.order_by("pk").values_list("variant__sku", "quantity", "unit_price")
    ) == [
        ("SHIRT-M", 4, Decimal("19.90")),
        ("CAP-1", 1, Decimal("0.00")),
    ]
    # Recording an order reserves nothing.
    assert Allocation.objects.count() == 0
    assert level("SHIRT-M", warehouse) == (10, 0)


def test_order_create_with_a_number_already_used_is_refused(snapshot, order, stocked_variant):
    refused(
        snapshot,
        OrderError,
        ORDER_EXISTS % {"number": "SO-1"},
        lambda: create("SO-1", [(stocked_variant, 1, "19.90")]),
    )
    assert OrderLine.objects.count() == 2


def test_order_create_without_lines_is_refused(snapshot, stocked_variant):
    refused(snapshot, OrderError, ORDER_NO_LINES, lambda: create("SO-2", []))


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True, None])
def test_order_create_with_a_bad_quantity_is_refused(snapshot, stocked_variant, cap, quantity):
    refused(
        snapshot,
        OrderError,
        ORDER_BAD_QUANTITY % {"line": 2},
        lambda: create("SO-2", [(stocked_variant, 1, "19.90"), (cap, quantity, "9.50")]),
    )


@pytest.mark.parametrize("price", ["-0.01", "-10"])
def test_order_create_with_a_negative_price_is_refused(snapshot, stocked_variant, price):
    refused(
        snapshot,
        OrderError,
        ORDER_BAD_PRICE % {"line": 1},
        lambda: create("SO-2", [(stocked_variant, 1, price)]),
    )


# --- order_allocate --------------------------------------------------------------------


def test_order_allocate_reserves_every_line(order, warehouse, admin_user):
    allocations = order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    assert len(allocations) == 2
    assert level("SHIRT-M", warehouse) == (10, 4)
    assert level("CAP-1", warehouse) == (3, 2)
    lines = {line.reference: line.quantity for line in order.lines.all()}
    assert dict(Allocation.objects.values_list("reference", "quantity")) == lines
    order.refresh_from_db()
    assert (order.status, order.warehouse) == (Order.Status.ALLOCATED, warehouse)
    assert Movement.objects.count() == 2  # the two opening receipts: nothing moved


def test_order_allocate_is_all_or_nothing(snapshot, stocked_variant, cap, warehouse, admin_user):
    # The first line fits; the second asks for 4 caps of 3.
    order = create("SO-3", [(stocked_variant, 4, "19.90"), (cap, 4, "9.50")])
    error = refused(
        snapshot,
        InsufficientStock,
        INSUFFICIENT_STOCK
        % {
            "lines": INSUFFICIENT_LINE
            % {"sku": "CAP-1", "warehouse": "MAIN", "requested": 4, "available": 3}
        },
        lambda: order_allocate(order=order, warehouse=warehouse, actor=admin_user),
    )
    assert [line["sku"] for line in error.lines] == ["CAP-1"]
    assert level("SHIRT-M", warehouse) == (10, 0)
    assert Allocation.objects.count() == 0
    assert Order.objects.get(pk=order.pk).status == Order.Status.RECEIVED


def test_order_allocate_lists_every_short_line(
    snapshot, stocked_variant, cap, warehouse, admin_user
):
    order = create("SO-3", [(stocked_variant, 11, "19.90"), (cap, 4, "9.50")])
    error = refused(
        snapshot,
        InsufficientStock,
        "Insufficient stock: SHIRT-M at MAIN: requested 11, available 10; "
        "CAP-1 at MAIN: requested 4, available 3.",
        lambda: order_allocate(order=order, warehouse=warehouse, actor=admin_user),
    )
    assert [line["sku"] for line in error.lines] == ["SHIRT-M", "CAP-1"]


def test_order_allocate_twice_is_refused(snapshot, order, warehouse, admin_user):
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    refused(
        snapshot,
        OrderError,
        ORDER_WRONG_STATUS % {"number": "SO-1", "status": "Allocated", "action": "allocated"},
        lambda: order_allocate(order=order, warehouse=warehouse, actor=admin_user),
    )


# --- order_cancel ------------------------------------------------------------------------


def test_order_cancel_releases_exactly_what_it_allocated(
    order, stocked_variant, cap, warehouse, admin_user
):
    other = create("SO-2", [(stocked_variant, 3, "19.90")])
    order_allocate(order=other, warehouse=warehouse, actor=admin_user)
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    assert level("SHIRT-M", warehouse) == (10, 7)

    assert order_cancel(order=order, actor=admin_user) == 6
    assert level("SHIRT-M", warehouse) == (10, 3)  # SO-2 keeps its 3
    assert level("CAP-1", warehouse) == (3, 0)
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    mine = Allocation.objects.filter(reference__in=[line.reference for line in order.lines.all()])
    assert set(mine.values_list("quantity", flat=True)) == {0}
    assert Allocation.objects.get(reference=other.lines.get().reference).quantity == 3
    assert Movement.objects.count() == 2


def test_order_cancel_before_allocation_releases_nothing(order, warehouse, admin_user):
    assert order_cancel(order=order, actor=admin_user) == 0
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert level("SHIRT-M", warehouse) == (10, 0)


def test_order_cancel_of_a_shipped_order_is_refused(snapshot, order, warehouse, admin_user):
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    order_ship(order=order, carrier="SF", tracking_number="T1", actor=admin_user)
    refused(
        snapshot,
        OrderError,
        ORDER_WRONG_STATUS % {"number": "SO-1", "status": "Shipped", "action": "cancelled"},
        lambda: order_cancel(order=order, actor=admin_user),
    )


# --- order_ship --------------------------------------------------------------------------


def test_order_ship_writes_a_shipment_movement_per_line(order, warehouse, admin_user):
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    shipment = order_ship(order=order, carrier="SF", tracking_number="T1", actor=admin_user)
    assert sum(shipment.lines.values_list("quantity", flat=True)) == 6
    assert level("SHIRT-M", warehouse) == (6, 0)
    assert level("CAP-1", warehouse) == (1, 0)
    shipments = Movement.objects.filter(kind=MovementKind.SHIPMENT).order_by("stock__variant__sku")
    assert [(m.stock.variant.sku, m.quantity, m.on_hand_after, m.reference) for m in shipments] == [
        ("CAP-1", -2, 1, "SO-1"),
        ("SHIRT-M", -4, 6, "SO-1"),
    ]
    assert {m.actor for m in shipments} == {admin_user}
    assert set(Allocation.objects.values_list("quantity", flat=True)) == {0}
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED
    for stock in Stock.objects.annotate(ledger=Sum("movements__quantity")):
        assert stock.on_hand == stock.ledger


def test_order_ship_before_allocation_is_refused(snapshot, order, admin_user):
    refused(
        snapshot,
        OrderError,
        ORDER_WRONG_STATUS % {"number": "SO-1", "status": "Received", "action": "shipped"},
        lambda: order_ship(order=order, carrier="SF", tracking_number="T1", actor=admin_user),
    )


def test_order_ship_of_a_cancelled_order_is_refused(snapshot, order, warehouse, admin_user):
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    order_cancel(order=order, actor=admin_user)
    refused(
        snapshot,
        OrderError,
        ORDER_WRONG_STATUS % {"number": "SO-1", "status": "Cancelled", "action": "shipped"},
        lambda: order_ship(order=order, carrier="SF", tracking_number="T1", actor=admin_user),
    )


# --- concurrency -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_orders_listing_the_same_skus_in_opposite_orders_do_not_deadlock(warehouse, admin_user):
    first = VariantFactory(product=ProductFactory(title="Left"), sku="LEFT-1")
    second = VariantFactory(product=ProductFactory(title="Right"), sku="RIGHT-1")
    for variant in (first, second):
        inventory.receive(variant=variant, warehouse=warehouse, quantity=8, actor=admin_user)
    count = 12
    orders = [
        create(f"SO-{i}", [(first, 1, "1"), (second, 1, "1")][:: 1 if i % 2 else -1])
        for i in range(count)
    ]
    barrier = threading.Barrier(count, timeout=60)
    results: list = [None] * count

    def target(i: int) -> None:
        try:
            order = Order.objects.get(pk=orders[i].pk)
            Variant.objects.count()  # open this thread's connection before the race
            barrier.wait()
            results[i] = order_allocate(order=order, warehouse=warehouse, actor=admin_user)
        except Exception as error:  # inspected below
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, InsufficientStock) for e in errors), errors
    assert len(errors) == count - 8
    assert dict(Stock.objects.values_list("variant__sku", "allocated")) == {
        "LEFT-1": 8,
        "RIGHT-1": 8,
    }
    assert Order.objects.filter(status=Order.Status.ALLOCATED).count() == 8
