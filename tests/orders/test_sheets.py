"""The orders sheet (F-30, F-50): marketplace exports placed like the storefront API places
orders — created and allocated by ``orders.services.order_place`` — idempotent on the
channel's reference; every bad input refused at its row and column with nothing written."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from backoffice.roles import roles_sync
from backoffice.spreadsheets.base import REGISTRY
from backoffice.spreadsheets.cells import NOT_A_NUMBER, NOT_A_WHOLE_NUMBER
from backoffice.spreadsheets.exporting import stream_csv
from backoffice.spreadsheets.grouped import ROWS_DISAGREE
from catalog import services as catalog
from catalog.models import DelistReason, Product
from inventory import services as inventory
from inventory.models import Allocation, Stock
from orders import services
from orders.models import Order
from orders.resources import (
    ALREADY_PLACED,
    DIFFERENT_LINES,
    DUPLICATE_SKU,
    NO_WAREHOUSE,
    UNKNOWN_WAREHOUSE,
    OrderLineResource,
    OrdersImporter,
)

from ..conftest import take_snapshot
from ..factories import ProductFactory, VariantFactory
from ..support.sheets import actions, errors, run_sheet

HEADER = [
    "reference",
    "customer_name",
    "customer_email",
    "shipping_city",
    "shipping_country",
    "warehouse",
    "sku",
    "quantity",
    "unit_price",
]


def line(reference="TM-1", sku="SHIRT-M", quantity="2", price="", **cells):
    values = {
        "reference": reference,
        "customer_name": "Li Lei",
        "customer_email": "li@example.com",
        "shipping_city": "Shanghai",
        "shipping_country": "cn",
        "warehouse": "MAIN",
        "sku": sku,
        "quantity": quantity,
        "unit_price": price,
        **cells,
    }
    return [values[column] for column in HEADER]


@pytest.fixture
def cap(warehouse, admin_user):
    variant = VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-1", price="9.50")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=3, actor=admin_user)
    return variant


@pytest.fixture
def stock(stocked_variant, cap):
    return {"SHIRT-M": stocked_variant, "CAP-1": cap}


def allocated(sku: str) -> int:
    return Stock.objects.get(variant__sku=sku).allocated


def test_the_orders_sheet_is_registered_and_customer_service_may_import_it(db):
    importer = REGISTRY["orders"]
    assert (importer.permission, importer.model) == ("orders.import_order", Order)
    roles_sync()
    for role, allowed in (("Customer service", True), ("Warehouse clerk", False)):
        held = Group.objects.get(name=role).permissions.filter(codename="import_order")
        assert held.exists() is allowed, role


def test_orders_are_placed_and_allocated_like_the_api_places_them(stock, admin_user):
    rows = [
        HEADER,
        line("TM-1", "SHIRT-M", "2", "18.00"),
        line("TM-2", "CAP-1", "1"),
        line("TM-1", "CAP-1", "1"),
    ]
    before = take_snapshot()
    report = run_sheet(OrdersImporter, rows, actor=admin_user)
    assert report.ok, report.errors
    assert actions(report) == [(2, "create"), (4, "create"), (3, "create")]
    assert take_snapshot() == before

    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    assert (report.created, report.error_count) == (3, 0)
    first = Order.objects.get(external_reference="TM-1")
    assert (first.channel, first.status, first.warehouse.code) == (
        "marketplace",
        "allocated",
        "MAIN",
    )
    assert first.number.startswith("MP-")
    assert (first.customer_name, first.shipping_country) == ("Li Lei", "CN")
    lines = list(first.lines.order_by("pk").values_list("variant__sku", "quantity", "unit_price"))
    # A blank unit price takes the list price, as the API does.
    assert lines == [("SHIRT-M", 2, Decimal("18.00")), ("CAP-1", 1, Decimal("9.50"))]
    assert first.total == Decimal("45.50")
    assert (allocated("SHIRT-M"), allocated("CAP-1")) == (2, 2)
    assert Allocation.objects.filter(reference__startswith="order-line:").count() == 3
    assert report.preview[0].detail == first.number


def test_a_reimported_marketplace_export_is_unchanged(stock, admin_user):
    rows = [HEADER, line("TM-1", "SHIRT-M", "2"), line("TM-1", "CAP-1", "1")]
    run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    order = Order.objects.get()
    before = take_snapshot()
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    assert (report.unchanged, report.created, report.error_count) == (2, 0, 0)
    assert report.preview[0].detail == ALREADY_PLACED % {"number": order.number}
    assert report.warnings == []
    assert take_snapshot() == before


def test_an_order_placed_before_with_other_lines_is_left_as_it_is_with_a_warning(stock, admin_user):
    run_sheet(OrdersImporter, [HEADER, line("TM-1", "SHIRT-M", "2")], dry_run=False)
    order = Order.objects.get()
    before = take_snapshot()
    report = run_sheet(OrdersImporter, [HEADER, line("TM-1", "SHIRT-M", "3")], dry_run=False)
    assert (report.unchanged, report.error_count) == (1, 0)
    assert report.warnings == [DIFFERENT_LINES % {"numbers": order.number}]
    assert take_snapshot() == before


def test_orders_from_xlsx_with_the_warehouse_chosen_on_the_form(stock, warehouse, admin_user):
    rows = [["reference", "customer_name", "sku", "quantity"], ["JD-7", "Han", "SHIRT-M", 3]]
    report = run_sheet(
        OrdersImporter,
        rows,
        actor=admin_user,
        dry_run=False,
        fmt="xlsx",
        options={"warehouse": warehouse},
    )
    assert report.created == 1, report.errors
    assert allocated("SHIRT-M") == 3


def test_an_order_for_a_delisted_product_is_refused(stock, admin_user):
    catalog.delist(
        products=Product.objects.filter(title="Cap"),
        reason=DelistReason.OBSOLETE,
        actor=admin_user,
    )
    before = take_snapshot()
    rows = [HEADER, line("TM-1", "SHIRT-M", "1"), line("TM-1", "CAP-1", "1")]
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    message = inventory.NOT_SELLABLE % {"sku": "CAP-1", "status": "Delisted"}
    assert errors(report) == [(3, "sku", str(message))]
    assert take_snapshot() == before


def test_an_order_short_of_stock_is_refused_at_the_quantity(stock, admin_user):
    before = take_snapshot()
    report = run_sheet(OrdersImporter, [HEADER, line("TM-1", "CAP-1", "5")], dry_run=False)
    message = inventory.INSUFFICIENT_LINE % {
        "sku": "CAP-1",
        "warehouse": "MAIN",
        "requested": 5,
        "available": 3,
    }
    assert errors(report) == [(2, "quantity", str(message))]
    assert take_snapshot() == before


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"sku": "NO-SUCH"}, "sku", services.UNKNOWN_SKU % {"skus": "NO-SUCH"}),
        ({"quantity": "0"}, "quantity", services.ORDER_BAD_QUANTITY % {"line": 1}),
        ({"quantity": "-2"}, "quantity", services.ORDER_BAD_QUANTITY % {"line": 1}),
        ({"quantity": "two"}, "quantity", NOT_A_WHOLE_NUMBER % {"value": "two"}),
        ({"price": "free"}, "unit_price", NOT_A_NUMBER % {"value": "free"}),
        ({"price": "-1.00"}, "unit_price", services.ORDER_BAD_PRICE % {"line": 1}),
        ({"warehouse": "WEST"}, "warehouse", UNKNOWN_WAREHOUSE % {"value": "WEST"}),
        ({"warehouse": ""}, "warehouse", NO_WAREHOUSE),
        ({"customer_name": ""}, "customer_name", services.ORDER_NO_CUSTOMER),
        (
            {"customer_email": "li@"},
            "customer_email",
            services.ORDER_BAD_EMAIL % {"email": "li@"},
        ),
        (
            {"reference": ""},
            "reference",
            "This column needs a value: it says which order the row belongs to.",
        ),
    ],
)
def test_a_bad_order_row_is_refused_at_its_column(stock, admin_user, cells, column, message):
    before = take_snapshot()
    report = run_sheet(OrdersImporter, [HEADER, line(**cells)], actor=admin_user, dry_run=False)
    assert errors(report) == [(2, column, str(message))]
    assert take_snapshot() == before


def test_an_unknown_priority_is_refused(stock, admin_user):
    before = take_snapshot()
    rows = [[*HEADER, "priority"], [*line(), "asap"]]
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    message = services.ORDER_UNKNOWN_CHOICE % {"field": "priority", "value": "asap"}
    assert errors(report) == [(2, "priority", str(message))]
    assert take_snapshot() == before


def test_an_inactive_warehouse_is_refused_at_the_warehouse_column(stock, warehouse, admin_user):
    warehouse.is_active = False
    warehouse.save()
    before = take_snapshot()
    report = run_sheet(OrdersImporter, [HEADER, line()], actor=admin_user, dry_run=False)
    message = inventory.WAREHOUSE_INACTIVE % {"warehouse": "MAIN"}
    assert errors(report) == [(2, "warehouse", str(message))]
    assert take_snapshot() == before


def test_a_sku_twice_in_one_order_is_refused(stock, admin_user):
    before = take_snapshot()
    rows = [HEADER, line("TM-1", "SHIRT-M", "1"), line("TM-1", "SHIRT-M", "1")]
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    assert errors(report) == [(3, "sku", DUPLICATE_SKU % {"sku": "SHIRT-M", "row": 2})]
    assert take_snapshot() == before


def test_rows_of_one_order_must_agree_on_the_customer(stock, admin_user):
    before = take_snapshot()
    rows = [
        HEADER,
        line("TM-1", "SHIRT-M", "1"),
        line("TM-1", "CAP-1", "1", customer_name="Han Meimei"),
    ]
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    message = ROWS_DISAGREE % {
        "key": "marketplace / TM-1",
        "value": "Han Meimei",
        "first": "Li Lei",
        "row": 2,
        "column": "customer_name",
    }
    assert errors(report) == [(3, "customer_name", message)]
    assert take_snapshot() == before


def test_orders_sheet_with_wrong_headers_is_refused(stock, admin_user):
    before = take_snapshot()
    rows = [["order_id", "buyer", "sku", "qty"], ["TM-1", "Li Lei", "SHIRT-M", "1"]]
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    assert [(e.row, e.column) for e in report.errors] == [(1, "")]
    assert report.errors[0].message.startswith(
        "Missing columns: reference, customer_name, quantity."
    )
    assert take_snapshot() == before


def test_one_bad_order_among_good_ones_writes_nothing(stock, admin_user):
    before = take_snapshot()
    rows = [
        HEADER,
        line("TM-1", "SHIRT-M", "1"),
        line("TM-2", "CAP-1", "9"),
        line("TM-3", "SHIRT-M", "1"),
    ]
    report = run_sheet(OrdersImporter, rows, actor=admin_user, dry_run=False)
    assert [(e.row, e.column) for e in report.errors] == [(3, "quantity")]
    assert report.created == 2  # what the good orders would have done
    assert take_snapshot() == before


def test_the_orders_export_has_one_row_per_line(stock, admin_user):
    run_sheet(
        OrdersImporter,
        [HEADER, line("TM-1", "SHIRT-M", "2"), line("TM-1", "CAP-1", "1", price="=1+1")],
        actor=admin_user,
        dry_run=False,
    )
    assert Order.objects.count() == 0  # a formula cell is refused by the runner
    run_sheet(
        OrdersImporter,
        [HEADER, line("TM-1", "SHIRT-M", "2"), line("TM-1", "CAP-1", "1", customer_name="")],
        actor=admin_user,
        dry_run=False,
    )
    order = Order.objects.get()
    response = stream_csv(OrderLineResource, Order.objects.all(), "orders.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [
        (r["number"], r["reference"], r["sku"], r["quantity"], r["unit_price"]) for r in rows
    ] == [
        (order.number, "TM-1", "SHIRT-M", "2", "19.90"),
        (order.number, "TM-1", "CAP-1", "1", "9.50"),
    ]
    assert rows[0]["status"] == "allocated" and rows[0]["warehouse"] == "MAIN"
