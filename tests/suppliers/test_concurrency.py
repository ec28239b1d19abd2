"""Real threads against PostgreSQL: two clerks receiving the same purchase-order line at the
same moment cannot accept more than ordered plus the tolerance, and the ledger matches."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from inventory.models import Movement, Stock
from suppliers import services
from suppliers.exceptions import InvalidTransition, OverReceipt
from suppliers.models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine

from ..factories import (
    ProductFactory,
    SupplierFactory,
    UserFactory,
    VariantFactory,
    purchase_order,
)
from ..inventory.test_concurrency import is_deadlock, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_clerks_racing_on_one_line_never_over_receive(warehouse):
    clerk = UserFactory(username="clerk")
    supplier = SupplierFactory(code="RACE")  # 5 % tolerance: at most 21 of 20 accepted
    variant = VariantFactory(product=ProductFactory(title="Racing socks"), sku="SOCK-1")
    order = purchase_order(supplier, warehouse, [(variant, 20, "1.00")], send=True)
    line_id = order.lines.get().pk

    results = run_together(
        8,
        prepare=lambda i: PurchaseOrder.objects.get(pk=order.pk),
        work=lambda i, fresh: services.goods_receipt(
            order=fresh,
            lines=[services.ReceiptLineRequest(line_id, received=6, accepted=6)],
            actor=clerk,
        ),
    )

    errors = [value for status, value in results if status == "error"]
    assert not [e for e in errors if is_deadlock(e)], errors
    assert all(isinstance(e, OverReceipt) for e in errors), errors
    # 3 × 6 = 18; a 4th would make 24 > 21: every later clerk is refused, none slips through.
    assert (len(errors), GoodsReceipt.objects.count()) == (5, 3)
    line = PurchaseOrderLine.objects.get(pk=line_id)
    assert (line.received_quantity, line.accepted_quantity) == (18, 18)
    stock = Stock.objects.get(variant=variant, warehouse=warehouse)
    assert stock.on_hand == 18
    assert Movement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"] == 18
    assert Movement.objects.filter(reference=line.reference).count() == 3
    status = PurchaseOrder.objects.get(pk=order.pk).status
    assert status == PurchaseOrder.Status.PARTIALLY_RECEIVED


def test_clerks_racing_to_complete_a_line_receive_it_once(warehouse):
    clerk = UserFactory(username="clerk")
    supplier = SupplierFactory(code="RACE")
    variant = VariantFactory(product=ProductFactory(title="Racing socks"), sku="SOCK-1")
    order = purchase_order(supplier, warehouse, [(variant, 20, "1.00")], send=True)
    line_id = order.lines.get().pk

    results = run_together(
        8,
        prepare=lambda i: PurchaseOrder.objects.get(pk=order.pk),
        work=lambda i, fresh: services.goods_receipt(
            order=fresh,
            lines=[services.ReceiptLineRequest(line_id, received=20, accepted=20)],
            actor=clerk,
        ),
    )

    errors = [value for status, value in results if status == "error"]
    assert len(errors) == 7
    assert all(isinstance(e, InvalidTransition) for e in errors), errors
    assert {e.message for e in errors} == {
        f"{order.number} is Received: it cannot be received against."
    }
    stock = Stock.objects.get(variant=variant, warehouse=warehouse)
    assert stock.on_hand == 20
    assert Movement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"] == 20


def test_receipts_sharing_skus_in_opposite_orders_do_not_deadlock(warehouse):
    clerk = UserFactory(username="clerk")
    supplier = SupplierFactory(code="TWO")
    left = VariantFactory(product=ProductFactory(title="Left"), sku="LEFT-1")
    right = VariantFactory(product=ProductFactory(title="Right"), sku="RIGHT-1")
    # Orders list the two SKUs one way round or the other; each clerk receives one order.
    orders = [
        purchase_order(
            supplier,
            warehouse,
            [(left, 5, "1"), (right, 5, "1")] if i % 2 else [(right, 5, "1"), (left, 5, "1")],
            send=True,
        )
        for i in range(8)
    ]

    def work(i, order):
        lines = list(order.lines.order_by("-line_number"))
        return services.goods_receipt(
            order=order,
            lines=[services.ReceiptLineRequest(line.pk, 5, 5) for line in lines],
            actor=clerk,
        )

    results = run_together(
        8, prepare=lambda i: PurchaseOrder.objects.get(pk=orders[i].pk), work=work
    )

    assert [status for status, _value in results] == ["ok"] * 8, results
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == {
        "LEFT-1": 40,
        "RIGHT-1": 40,
    }
    for stock in Stock.objects.annotate(ledger=Sum("movements__quantity")):
        assert stock.on_hand == stock.ledger
