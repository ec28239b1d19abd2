"""Real threads against PostgreSQL: a count applied while orders keep shipping (F-16).

The count's corrections are counted − expected at the snapshot, added to the
level under the row lock, so every shipment before or after the correction
survives: final on hand == counted + the movements after the snapshot.
"""

from __future__ import annotations

import pytest
from django.db.models import Sum

from catalog.models import Variant
from inventory import services as inventory
from inventory.models import Movement, MovementKind, Stock
from orders import services as orders
from orders.models import Order
from warehouse import services
from warehouse.models import StockCount, Transfer

from ..factories import (
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
    stock_count,
    transfer,
)
from ..inventory.test_concurrency import assert_ledger_consistent, is_deadlock, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk")


def allocated_orders(count, lines, warehouse, clerk) -> list[int]:
    """``count`` orders of ``lines`` ((variant, quantity)…), allocated in ``warehouse``."""
    ids = []
    for i in range(count):
        order = OrderFactory(number=f"SO-{i:04d}")
        for variant, quantity in lines:
            OrderLineFactory(order=order, variant=variant, quantity=quantity)
        orders.order_allocate(order=order, warehouse=warehouse, actor=clerk)
        ids.append(order.pk)
    return ids


def test_a_count_applied_while_orders_ship_keeps_every_shipment(warehouse, clerk):
    shirt = VariantFactory(product=ProductFactory(title="Shirt"), sku="SHIRT-1")
    cap = VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-1")
    for variant in (shirt, cap):
        inventory.receive(variant=variant, warehouse=warehouse, quantity=100, actor=clerk)
    order_ids = allocated_orders(24, [(shirt, 2), (cap, 1)], warehouse, clerk)

    count = stock_count(warehouse, actor=clerk)
    # Two orders ship between the snapshot and the counting.
    for pk in order_ids[:2]:
        orders.order_ship(
            order=Order.objects.get(pk=pk), carrier="SF", tracking_number=f"T{pk}", actor=clerk
        )
    lines = {line.stock.variant.sku: line for line in count.lines.select_related("stock__variant")}
    counted = {"SHIRT-1": lines["SHIRT-1"].expected - 3, "CAP-1": lines["CAP-1"].expected + 2}
    services.stock_count_record(
        count=count,
        entries=[
            services.CountEntry(counted=counted["SHIRT-1"], sku="SHIRT-1", reason="lost"),
            services.CountEntry(counted=counted["CAP-1"], sku="CAP-1", reason="found"),
        ],
        actor=clerk,
    )
    to_ship = order_ids[2:]

    def work(i, prepared):
        if i == len(to_ship):
            return services.stock_count_apply(count=prepared, actor=clerk)
        return orders.order_ship(order=prepared, carrier="SF", tracking_number=f"T{i}", actor=clerk)

    def prepare(i):
        if i == len(to_ship):
            return StockCount.objects.get(pk=count.pk)
        return Order.objects.get(pk=to_ship[i])

    results = run_together(len(to_ship) + 1, prepare=prepare, work=work)

    errors = [value for status, value in results if status != "ok"]
    assert not errors, errors
    assert not any(is_deadlock(e) for e in errors)
    assert StockCount.objects.get(pk=count.pk).status == StockCount.Status.APPLIED
    for sku, line in lines.items():
        stock = Stock.objects.get(pk=line.stock_id)
        after = (
            Movement.objects.filter(stock=stock, pk__gt=line.ledger_position)
            .exclude(kind=MovementKind.COUNT)
            .aggregate(s=Sum("quantity"))["s"]
        )
        assert after == -(24 * (2 if sku == "SHIRT-1" else 1))  # every order shipped after it
        assert stock.on_hand == counted[sku] + after, sku
        assert stock.allocated == 0
        ledger = Movement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"]
        assert ledger == stock.on_hand
    assert_ledger_consistent()


def test_dispatches_racing_for_the_last_units_never_oversell(warehouse, other_warehouse, clerk):
    shirt = VariantFactory(product=ProductFactory(title="Shirt"), sku="SHIRT-1")
    inventory.receive(variant=shirt, warehouse=warehouse, quantity=10, actor=clerk)
    drafts = [transfer(warehouse, other_warehouse, [(shirt, 3)], actor=clerk).pk for _i in range(8)]

    results = run_together(
        8,
        prepare=lambda i: Transfer.objects.get(pk=drafts[i]),
        work=lambda i, tr: services.transfer_dispatch(transfer=tr, actor=clerk),
    )

    errors = [value for status, value in results if status == "error"]
    assert all(str(e).startswith("Insufficient stock") for e in errors), errors
    assert len(errors) == 5
    assert Stock.objects.get(variant=shirt, warehouse=warehouse).on_hand == 1
    in_transit = Transfer.objects.filter(status=Transfer.Status.IN_TRANSIT).count()
    assert in_transit == 3
    assert Variant.objects.get(pk=shirt.pk).stocks.aggregate(s=Sum("on_hand"))["s"] == 1
    assert_ledger_consistent()
