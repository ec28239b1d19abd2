"""Real threads against PostgreSQL: no overselling, no deadlock (F-13).

Each thread has its own database connection (Django's are per thread), opens
it before the barrier so that all of them start the race at the same moment,
and closes it at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.models import Sum

from catalog.models import ListingStatus, Product, Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Allocation, Movement, Stock

from ..factories import ProductFactory, UserFactory, VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(
    count: int, work: Callable[[int, object], object], prepare: Callable[[int], object]
) -> list[tuple[str, object]]:
    """Run ``work(i, prepared)`` in ``count`` threads released at once by a barrier.

    ``prepare(i)`` runs first in the thread (it opens the thread's connection).
    Returns ("ok", result) or ("error", exception) per thread.
    """
    barrier = threading.Barrier(count, timeout=60)
    results: list[tuple[str, object]] = [("missing", None)] * count

    def target(i: int) -> None:
        try:
            prepared = prepare(i)
            barrier.wait()
            results[i] = ("ok", work(i, prepared))
        except Exception as error:  # the test inspects every error below
            results[i] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def is_deadlock(error: BaseException) -> bool:
    """True if ``error`` (or what it wraps) is PostgreSQL's "deadlock detected"."""
    from psycopg.errors import DeadlockDetected

    while error is not None:
        if isinstance(error, DeadlockDetected) or "deadlock" in str(error).lower():
            return True
        error = error.__cause__ or error.__context__
    return False


def only_insufficient_stock(results) -> list:
    errors = [value for status, value in results if status == "error"]
    assert not [e for e in errors if is_deadlock(e)], errors
    unexpected = [e for e in errors if not isinstance(e, InsufficientStock)]
    assert not unexpected, unexpected
    assert all(str(e).startswith("Insufficient stock") for e in errors)
    assert all(status in ("ok", "error") for status, _value in results)
    return errors


def assert_ledger_consistent() -> None:
    rows = Stock.objects.annotate(ledger=Sum("movements__quantity", default=0))
    reserved = dict(
        Allocation.objects.values("stock").annotate(s=Sum("quantity")).values_list("stock", "s")
    )
    for stock in rows:
        assert stock.on_hand == stock.ledger, stock
        assert stock.allocated == reserved.get(stock.pk, 0), stock
        assert 0 <= stock.allocated <= stock.on_hand, stock


def assert_sold_out_matches_stock() -> None:
    for product in Product.objects.all():
        free = (
            Stock.objects.filter(variant__product=product)
            .aggregate(s=Sum("on_hand", default=0) - Sum("allocated", default=0))
            .get("s")
        )
        expected = ListingStatus.ON_SALE if free else ListingStatus.SOLD_OUT
        assert product.status == expected, (product, free)


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk")


def test_32_clerks_racing_for_10_units_exactly_10_win(warehouse, clerk):
    variant = VariantFactory(product=ProductFactory(title="Hot item"), sku="HOT-1")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=10, actor=clerk)

    results = run_together(
        32,
        prepare=lambda i: (Variant.objects.get(pk=variant.pk), warehouse),
        work=lambda i, p: inventory.allocate(
            lines=[inventory.AllocationLine(p[0], p[1], 1)],
            reference=f"order-line:{i}",
            actor=clerk,
        ),
    )

    errors = only_insufficient_stock(results)
    assert sum(1 for status, _v in results if status == "ok") == 10
    assert len(errors) == 22
    stock = Stock.objects.get(variant=variant, warehouse=warehouse)
    assert stock.allocated == 10
    assert Allocation.objects.aggregate(s=Sum("quantity"))["s"] == 10
    assert Allocation.objects.count() == 10
    assert stock.on_hand == 10
    assert Movement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"] == 10
    assert Product.objects.get(pk=variant.product_id).status == ListingStatus.SOLD_OUT
    assert_ledger_consistent()


def test_two_line_orders_in_opposite_orders_neither_deadlock_nor_oversell(warehouse, clerk):
    first = VariantFactory(product=ProductFactory(title="Left"), sku="LEFT-1")
    second = VariantFactory(product=ProductFactory(title="Right"), sku="RIGHT-1")
    for variant in (first, second):
        inventory.receive(variant=variant, warehouse=warehouse, quantity=10, actor=clerk)

    def prepare(i):
        a = Variant.objects.get(pk=first.pk)
        b = Variant.objects.get(pk=second.pk)
        # Half the orders list the lines one way round, half the other.
        return [(a, 1), (b, 2)] if i % 2 else [(b, 2), (a, 1)]

    results = run_together(
        16,
        prepare=prepare,
        work=lambda i, lines: inventory.allocate(
            lines=[inventory.AllocationLine(v, warehouse, q) for v, q in lines],
            reference=f"order:{i}",
            actor=clerk,
        ),
    )

    errors = only_insufficient_stock(results)
    winners = sum(1 for status, _v in results if status == "ok")
    # 2 units of RIGHT per order: 5 orders fit, and each winner took both lines.
    assert winners == 5
    assert len(errors) == 11
    levels = dict(Stock.objects.values_list("variant__sku", "allocated"))
    assert levels == {"LEFT-1": 5, "RIGHT-1": 10}
    assert Allocation.objects.count() == 10
    assert_ledger_consistent()


def test_restock_while_allocating_keeps_the_ledger(warehouse, clerk):
    shirt = ProductFactory(title="Shirt")
    cap = ProductFactory(title="Cap")
    variants = [
        VariantFactory(product=shirt, sku="SHIRT-S"),
        VariantFactory(product=shirt, sku="SHIRT-L"),
        VariantFactory(product=cap, sku="CAP-1"),
    ]
    for variant in variants:
        inventory.receive(variant=variant, warehouse=warehouse, quantity=2, actor=clerk)
    product_ids = [shirt.pk, cap.pk]
    restocks, allocations = 6, 18

    def prepare(i):
        return [Variant.objects.get(pk=v.pk) for v in variants]

    def work(i, fresh):
        if i < restocks:
            return inventory.restock_products(
                products=Product.objects.filter(pk__in=product_ids),
                warehouse=warehouse,
                quantity=2,
                actor=clerk,
                submission_key=f"restock-{i}",
            )
        # Single lines and two-line orders, both ways round.
        lines = [(fresh[i % 3], 1)] if i % 2 else [(fresh[i % 3], 1), (fresh[(i + 1) % 3], 1)]
        if i % 4 == 0:
            lines.reverse()
        return inventory.allocate(
            lines=[inventory.AllocationLine(v, warehouse, q) for v, q in lines],
            reference=f"order:{i}",
            actor=clerk,
        )

    results = run_together(restocks + allocations, prepare=prepare, work=work)

    errors = only_insufficient_stock(results)
    assert all(status == "ok" for status, _v in results[:restocks]), results[:restocks]
    assert len(errors) + sum(1 for s, _v in results[restocks:] if s == "ok") == allocations
    # Every restock landed in full, as one receipt per stock row.
    assert set(Stock.objects.values_list("on_hand", flat=True)) == {2 + restocks * 2}
    assert Movement.objects.count() == 3 + restocks * 3
    allocated_units = sum(len(value) for status, value in results[restocks:] if status == "ok")
    assert Stock.objects.aggregate(s=Sum("allocated"))["s"] == allocated_units
    assert_ledger_consistent()
    assert_sold_out_matches_stock()
