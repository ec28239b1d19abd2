"""The pick list of selected orders: walking order, what is left to pick, constant queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Zone
from orders.models import Order, OrderLine
from warehouse import selectors

from ..factories import OrderFactory, OrderLineFactory
from .conftest import stocked

pytestmark = pytest.mark.django_db


@pytest.fixture
def layout(warehouse):
    """Four SKUs in MAIN: two in the picking zone, one in storage, one without a bin."""
    return {
        "STORE": stocked("STORE", warehouse, 50, bin="S-01", zone=Zone.STORAGE),
        "PICK-B": stocked("PICK-B", warehouse, 50, bin="P-02", zone=Zone.PICKING),
        "PICK-A": stocked("PICK-A", warehouse, 50, bin="P-01", zone=Zone.PICKING),
        "NOBIN": stocked("NOBIN", warehouse, 50),
    }


def orders_with_lines(count, layout, warehouse):
    orders = []
    for i in range(count):
        order = OrderFactory(number=f"SO-{i:03d}", warehouse=warehouse)
        for sku in ("NOBIN", "STORE", "PICK-B", "PICK-A"):
            OrderLineFactory(order=order, variant=layout[sku], quantity=1 + i % 2)
        orders.append(order)
    return Order.objects.filter(pk__in=[o.pk for o in orders])


def test_lines_come_in_walking_order(layout, warehouse):
    orders = orders_with_lines(2, layout, warehouse)
    rows = selectors.pick_list(orders)
    assert [(r.zone, r.bin, r.sku, r.order_number, r.quantity) for r in rows] == [
        ("picking", "P-01", "PICK-A", "SO-000", 1),
        ("picking", "P-01", "PICK-A", "SO-001", 2),
        ("picking", "P-02", "PICK-B", "SO-000", 1),
        ("picking", "P-02", "PICK-B", "SO-001", 2),
        ("storage", "S-01", "STORE", "SO-000", 1),
        ("storage", "S-01", "STORE", "SO-001", 2),
        ("", "", "NOBIN", "SO-000", 1),
        ("", "", "NOBIN", "SO-001", 2),
    ]
    assert {r.warehouse for r in rows} == {"MAIN"}


def test_shipped_units_and_cancelled_orders_are_left_out(layout, warehouse):
    orders = orders_with_lines(2, layout, warehouse)
    OrderLine.objects.filter(order__number="SO-001", variant__sku="PICK-A").update(
        shipped_quantity=1
    )
    OrderLine.objects.filter(order__number="SO-001", variant__sku="STORE").update(
        shipped_quantity=2
    )
    Order.objects.filter(number="SO-000").update(status=Order.Status.CANCELLED)
    rows = selectors.pick_list(orders)
    assert [(r.sku, r.quantity) for r in rows] == [("PICK-A", 1), ("PICK-B", 2), ("NOBIN", 2)]


def test_the_pick_list_costs_one_query_for_2_orders_or_10(layout, warehouse):
    def queries(count):
        Order.objects.all().delete()
        orders = orders_with_lines(count, layout, warehouse)
        with CaptureQueriesContext(connection) as captured:
            rows = selectors.pick_list(orders)
        assert len(rows) == 4 * count
        return len(captured)

    assert queries(2) == queries(10) == 1


def test_the_pick_list_action_prints_a_page_with_constant_queries(admin_client, layout, warehouse):
    def page(count):
        Order.objects.all().delete()
        orders = orders_with_lines(count, layout, warehouse)
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.post(
                reverse("admin:orders_order_changelist"),
                {
                    "action": "print_pick_list",
                    "_selected_action": [o.pk for o in orders],
                    "index": 0,
                },
            )
        assert response.status_code == 200
        return response, len(captured)

    response, two = page(2)
    _response, ten = page(10)
    assert two == ten
    html = response.content.decode()
    assert "window.print()" in html
    assert html.index("PICK-A") < html.index("PICK-B") < html.index("STORE") < html.index("NOBIN")
    assert "SO-000" in html and "SO-001" in html
