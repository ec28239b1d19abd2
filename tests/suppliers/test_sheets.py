"""Spreadsheet imports of purchasing (F-50): suppliers, price lists, purchase orders.

Each file is built here, read with ``read_table`` and run with ``run_import``,
first as a dry run (which must write nothing) and then for real. Every bad
input is its own test: the message, the row and the column, and nothing written.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from backoffice.roles import roles_sync
from backoffice.spreadsheets.base import REGISTRY
from backoffice.spreadsheets.cells import NOT_A_NUMBER, NOT_A_WHOLE_NUMBER, VALUE_REQUIRED
from backoffice.spreadsheets.exporting import stream_csv
from backoffice.spreadsheets.grouped import KEY_REQUIRED, ROWS_DISAGREE
from backoffice.spreadsheets.reading import read_table
from backoffice.spreadsheets.resource_importer import DUPLICATE_ROW
from backoffice.spreadsheets.runner import MISSING_COLUMNS, run_import
from suppliers import services
from suppliers.models import PurchaseOrder, Supplier, SupplierPrice
from suppliers.resources import (
    BREAKS_FORMAT,
    PREFERRED_TWICE,
    UNKNOWN_PO,
    UNKNOWN_SKU,
    UNKNOWN_SUPPLIER,
    UNKNOWN_WAREHOUSE,
    PriceListImporter,
    PurchaseOrderLineResource,
    PurchaseOrdersImporter,
    SupplierResource,
    SuppliersImporter,
)

from ..factories import WarehouseFactory, purchase_order
from ..support.sheets import actions, csv_bytes, errors, run_sheet
from .conftest import purchasing_state


def sheet_state() -> dict:
    return {
        **purchasing_state(),
        "suppliers": sorted(
            Supplier.objects.values_list(
                "pk", "code", "name", "email", "lead_time_days", "is_active"
            )
        ),
        "supplier_history": Supplier.history.count(),
        "price_history": SupplierPrice.history.count(),
    }


@pytest.fixture
def main(db):
    return WarehouseFactory(code="MAIN", name="Main warehouse")


def test_the_purchasing_sheets_are_registered_with_their_permissions(db):
    importers = REGISTRY  # this module imported suppliers.resources, which registers them
    assert {
        kind: (importers[kind].permission, importers[kind].model)
        for kind in ("suppliers", "price_list", "purchase_orders")
    } == {
        "suppliers": ("suppliers.import_supplier", Supplier),
        "price_list": ("suppliers.import_supplierprice", SupplierPrice),
        "purchase_orders": ("suppliers.import_purchaseorder", PurchaseOrder),
    }


def test_purchasers_may_import_the_purchasing_sheets(db):
    roles_sync()
    held = set(Group.objects.get(name="Purchaser").permissions.values_list("codename", flat=True))
    assert {"import_supplier", "import_supplierprice", "import_purchaseorder"} <= held
    clerk = Group.objects.get(name="Warehouse clerk").permissions
    assert not clerk.filter(codename__startswith="import_supplier").exists()


# --- suppliers -----------------------------------------------------------------------------

SUPPLIER_HEADER = ["code", "name", "email", "lead_time_days", "receipt_tolerance_percent", "active"]


def test_suppliers_dry_run_writes_nothing_then_apply_creates_and_updates(acme, admin_user):
    rows = [
        SUPPLIER_HEADER,
        ["ACME", "Acme Trading (Shanghai)", "po@acme.example", "10", "2.5", "yes"],
        ["NEWCO", "New Company", "", "", "", ""],
    ]
    before = sheet_state()
    report = run_sheet(SuppliersImporter, rows, actor=admin_user)
    assert report.ok, report.errors
    assert actions(report) == [(2, "update"), (3, "create")]
    assert sheet_state() == before

    report = run_sheet(SuppliersImporter, rows, actor=admin_user, dry_run=False)
    assert (report.created, report.updated, report.error_count) == (1, 1, 0)
    acme.refresh_from_db()
    assert (acme.name, acme.email, acme.lead_time_days) == (
        "Acme Trading (Shanghai)",
        "po@acme.example",
        10,
    )
    assert acme.receipt_tolerance_percent == Decimal("2.5")
    newco = Supplier.objects.get(code="NEWCO")
    # Blank number and yes/no cells take the model's defaults.
    assert (newco.lead_time_days, newco.is_active, newco.currency) == (7, True, "CNY")
    assert acme.history.first().history_user == admin_user


def test_suppliers_reimport_is_unchanged_and_writes_no_history(acme, admin_user):
    rows = [SUPPLIER_HEADER, ["ACME", "Acme", "a@acme.example", "9", "5", "no"]]
    run_sheet(SuppliersImporter, rows, actor=admin_user, dry_run=False)
    before = sheet_state()
    report = run_sheet(SuppliersImporter, rows, actor=admin_user, dry_run=False)
    assert (report.unchanged, report.updated, report.created) == (1, 0, 0)
    assert sheet_state() == before


def test_suppliers_from_xlsx(db, admin_user):
    rows = [SUPPLIER_HEADER, ["XL", "Excel Supplies", "", 12, 5.5, "是"]]
    report = run_sheet(SuppliersImporter, rows, actor=admin_user, dry_run=False, fmt="xlsx")
    assert report.created == 1, report.errors
    supplier = Supplier.objects.get(code="XL")
    assert (supplier.lead_time_days, supplier.receipt_tolerance_percent) == (12, Decimal("5.5"))


def test_a_blank_number_cell_keeps_the_suppliers_value(db, admin_user):
    Supplier.objects.create(code="SLOW", name="Slow", lead_time_days=30)
    rows = [["code", "name", "lead_time_days"], ["SLOW", "Slow Boat", ""]]
    run_sheet(SuppliersImporter, rows, actor=admin_user, dry_run=False)
    assert Supplier.objects.get(code="SLOW").lead_time_days == 30


def test_suppliers_sheet_without_the_name_column_is_refused(acme, admin_user):
    before = sheet_state()
    report = run_sheet(SuppliersImporter, [["code", "email"], ["ACME", "x@y.example"]])
    assert errors(report) == [
        (
            1,
            "",
            MISSING_COLUMNS % {"missing": "name", "required": "code, name", "found": "code, email"},
        )
    ]
    assert sheet_state() == before


def test_supplier_with_a_bad_email_is_refused_at_its_column(acme, admin_user):
    before = sheet_state()
    report = run_sheet(
        SuppliersImporter,
        [SUPPLIER_HEADER, ["ACME", "Acme", "not-an-address", "7", "5", "yes"]],
        dry_run=False,
    )
    assert errors(report) == [(2, "email", "Enter a valid email address.")]
    assert sheet_state() == before


def test_supplier_lead_time_that_is_not_a_number_is_refused(acme):
    before = sheet_state()
    report = run_sheet(
        SuppliersImporter,
        [SUPPLIER_HEADER, ["ACME", "Acme", "", "a week", "5", "yes"]],
        dry_run=False,
    )
    assert errors(report) == [(2, "lead_time_days", NOT_A_WHOLE_NUMBER % {"value": "a week"})]
    assert sheet_state() == before


def test_supplier_with_a_blank_name_is_refused(db):
    before = sheet_state()
    report = run_sheet(SuppliersImporter, [["code", "name"], ["NEW", ""]], dry_run=False)
    assert errors(report) == [(2, "name", "This field cannot be blank.")]
    assert sheet_state() == before


def test_a_supplier_twice_in_one_sheet_is_refused(db):
    before = sheet_state()
    report = run_sheet(
        SuppliersImporter, [["code", "name"], ["NEW", "One"], ["NEW", "Two"]], dry_run=False
    )
    assert errors(report) == [(3, "code", DUPLICATE_ROW % {"key": "NEW", "first": 2})]
    assert sheet_state() == before


class SuppliersInPairs(SuppliersImporter):
    """The suppliers sheet read in chunks of two rows (not registered)."""

    chunk_size = 2


def test_rows_keep_their_spreadsheet_numbers_across_chunks(db, admin_user):
    rows = [["code", "name", "email"]] + [[f"S{n}", f"Supplier {n}", ""] for n in range(5)]
    rows[4][2] = "broken@"
    rows.insert(3, ["", "", ""])  # a blank line: skipped, and still counted in the numbers
    done = []
    table = read_table(csv_bytes(rows), "suppliers.csv")
    before = sheet_state()
    report = run_import(
        SuppliersInPairs, table, actor=admin_user, dry_run=False, progress=done.append
    )
    assert errors(report) == [(6, "email", "Enter a valid email address.")]
    assert actions(report) == [(2, "create"), (3, "create"), (5, "create"), (7, "create")]
    assert done == [2, 4, 5]
    assert sheet_state() == before


class UncheckedSupplierResource(SupplierResource):
    """Inserts every row without the model's validation: the database has the last word."""

    class Meta(SupplierResource.Meta):
        clean_model_instances = False
        import_id_fields = ()
        force_init_instance = True


class UncheckedSuppliers(SuppliersImporter):
    resource_class = UncheckedSupplierResource
    key_columns = ()


def test_a_row_the_database_refuses_does_not_spoil_the_rows_after_it(acme, admin_user):
    rows = [["code", "name"], ["NEW1", "One"], ["ACME", "Acme again"], ["NEW2", "Two"]]
    before = sheet_state()
    report = run_sheet(UncheckedSuppliers, rows, actor=admin_user, dry_run=False)
    assert [(e.row, e.column) for e in report.errors] == [(3, "")]
    assert report.errors[0].message.startswith("The database refused this row: ")
    assert "Traceback" not in report.errors[0].message
    assert actions(report) == [(2, "create"), (4, "create")]
    assert sheet_state() == before


# --- price lists ---------------------------------------------------------------------------

PRICE_HEADER = ["supplier", "sku", "unit_cost", "moq", "preferred", "breaks"]


def test_price_list_moves_the_preferred_flag_through_the_service(price_list, admin_user):
    rows = [
        PRICE_HEADER,
        ["OTHER", "SHIRT-M", "7.90", "20", "yes", "50:7.50; 200:7.00"],
        ["ACME", "MUG-1", "4.90", "", "", ""],
    ]
    before = sheet_state()
    report = run_sheet(PriceListImporter, rows, actor=admin_user)
    assert report.ok, report.errors
    assert actions(report) == [(2, "create"), (3, "update")]
    assert sheet_state() == before

    report = run_sheet(PriceListImporter, rows, actor=admin_user, dry_run=False)
    assert (report.created, report.updated) == (1, 1)
    shirt = {p.supplier.code: p for p in SupplierPrice.objects.filter(variant__sku="SHIRT-M")}
    assert (shirt["OTHER"].is_preferred, shirt["ACME"].is_preferred) == (True, False)
    assert (shirt["OTHER"].unit_cost, shirt["OTHER"].moq) == (Decimal("7.90"), 20)
    assert list(shirt["OTHER"].breaks.values_list("min_quantity", "unit_cost")) == [
        (50, Decimal("7.50")),
        (200, Decimal("7.00")),
    ]
    mug = SupplierPrice.objects.get(supplier__code="ACME", variant__sku="MUG-1")
    # Blank MOQ and preferred cells keep the entry's values; a blank breaks cell clears them.
    assert (mug.unit_cost, mug.moq, mug.is_preferred, mug.breaks.count()) == (
        Decimal("4.90"),
        1,
        False,
        0,
    )
    assert shirt["ACME"].history.first().history_change_reason == "preferred supplier changed"


def test_price_list_reimport_is_unchanged(price_list, admin_user):
    rows = [PRICE_HEADER, ["ACME", "CAP-1", "3.00", "1", "yes", "100:2.50"]]
    before = sheet_state()
    report = run_sheet(PriceListImporter, rows, actor=admin_user, dry_run=False)
    assert (report.unchanged, report.updated, report.created) == (1, 0, 0), report.errors
    assert sheet_state() == before


def test_price_list_without_the_breaks_column_keeps_the_breaks(price_list, admin_user):
    rows = [["supplier", "sku", "unit_cost"], ["ACME", "CAP-1", "3.20"]]
    run_sheet(PriceListImporter, rows, actor=admin_user, dry_run=False)
    cap = SupplierPrice.objects.get(supplier__code="ACME", variant__sku="CAP-1")
    assert cap.unit_cost == Decimal("3.20")
    assert list(cap.breaks.values_list("min_quantity", flat=True)) == [100]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["NOPE", "SHIRT-M", "8"], "supplier", UNKNOWN_SUPPLIER % {"value": "NOPE"}),
        (["ACME", "NO-SUCH", "8"], "sku", UNKNOWN_SKU % {"value": "NO-SUCH"}),
        (["", "SHIRT-M", "8"], "supplier", VALUE_REQUIRED),
        (["ACME", "SHIRT-M", "eight"], "unit_cost", NOT_A_NUMBER % {"value": "eight"}),
        (["ACME", "SHIRT-M", "-1"], "unit_cost", services.PRICE_COST),
        (["ACME", "SHIRT-M", ""], "unit_cost", services.PRICE_COST),
        (["ACME", "SHIRT-M", "8", "0"], "moq", services.PRICE_MOQ),
        (["ACME", "SHIRT-M", "8", "-5"], "moq", services.PRICE_MOQ),
        (["ACME", "SHIRT-M", "8", "1", "maybe"], "preferred", None),
        (["ACME", "SHIRT-M", "8", "1", "", "lots"], "breaks", BREAKS_FORMAT % {"value": "lots"}),
        (
            ["ACME", "SHIRT-M", "8", "1", "", "1:7.00"],
            "breaks",
            services.PRICE_BREAK_QUANTITY % {"quantity": 1},
        ),
    ],
)
def test_a_bad_price_list_row_is_refused_at_its_column(price_list, row, column, message):
    before = sheet_state()
    report = run_sheet(
        PriceListImporter, [PRICE_HEADER, row + [""] * (6 - len(row))], dry_run=False
    )
    if message is None:
        message = "“maybe” is not yes or no (write yes/no, true/false or 1/0)."
    assert errors(report) == [(2, column, str(message))]
    assert sheet_state() == before


def test_an_inactive_supplier_cannot_become_preferred(price_list):
    Supplier.objects.filter(code="OTHER").update(is_active=False)
    before = sheet_state()
    report = run_sheet(PriceListImporter, [PRICE_HEADER, ["OTHER", "CAP-1", "3", "1", "yes", ""]])
    other = Supplier.objects.get(code="OTHER")
    assert errors(report) == [
        (2, "preferred", services.PRICE_PREFERRED_INACTIVE % {"supplier": other})
    ]
    assert sheet_state() == before


def test_a_price_list_entry_twice_in_one_sheet_is_refused(price_list):
    before = sheet_state()
    rows = [PRICE_HEADER, ["ACME", "MUG-1", "5", "", "", ""], ["ACME", "MUG-1", "6", "", "", ""]]
    report = run_sheet(PriceListImporter, rows, dry_run=False)
    assert errors(report) == [(3, "sku", DUPLICATE_ROW % {"key": "ACME / MUG-1", "first": 2})]
    assert sheet_state() == before


def test_two_preferred_suppliers_for_one_sku_in_a_sheet_are_refused(price_list):
    before = sheet_state()
    rows = [
        PRICE_HEADER,
        ["ACME", "MUG-1", "5", "", "yes", ""],
        ["OTHER", "MUG-1", "4.80", "", "yes", ""],
    ]
    report = run_sheet(PriceListImporter, rows, dry_run=False)
    assert errors(report) == [(3, "preferred", PREFERRED_TWICE % {"sku": "MUG-1", "row": 2})]
    assert sheet_state() == before


def test_one_bad_price_row_among_good_ones_writes_nothing(price_list, admin_user):
    before = sheet_state()
    rows = [
        PRICE_HEADER,
        ["ACME", "SHIRT-M", "7.00", "", "", ""],
        ["ACME", "MUG-1", "4.00", "0", "", ""],
        ["OTHER", "CAP-1", "2.90", "", "", ""],
    ]
    report = run_sheet(PriceListImporter, rows, actor=admin_user, dry_run=False)
    assert errors(report) == [(3, "moq", str(services.PRICE_MOQ))]
    assert (report.updated, report.created) == (1, 1)  # what the good rows would have done
    assert sheet_state() == before


# --- purchase orders -----------------------------------------------------------------------

PO_HEADER = ["order", "supplier", "warehouse", "sku", "quantity", "unit_cost"]


def test_purchase_orders_become_drafts_with_their_lines_through_the_service(
    price_list, main, admin_user, clock
):
    rows = [
        PO_HEADER,
        ["A1", "ACME", "MAIN", "SHIRT-M", "50", ""],
        ["A2", "OTHER", "MAIN", "MUG-1", "30", ""],
        ["A1", "ACME", "MAIN", "CAP-1", "100", ""],
        ["A1", "ACME", "MAIN", "MUG-1", "20", "4.50"],
    ]
    before = sheet_state()
    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user)
    assert report.ok, report.errors
    assert report.created == 4
    assert sheet_state() == before

    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user, dry_run=False)
    assert report.created == 4 and report.ok
    first, second = PurchaseOrder.objects.order_by("pk")
    assert (first.supplier.code, first.status, first.created_by) == ("ACME", "draft", admin_user)
    assert first.expected_date == date(2026, 3, 9)  # today + Acme's 7 days
    lines = list(
        first.lines.order_by("line_number").values_list("variant__sku", "quantity", "unit_cost")
    )
    assert lines == [
        ("SHIRT-M", 50, Decimal("8.00")),
        ("CAP-1", 100, Decimal("2.50")),  # the price break
        ("MUG-1", 20, Decimal("4.50")),
    ]
    assert sum(line.total for line in first.lines.all()) == Decimal("740.00")
    assert (second.supplier.code, second.lines.get().unit_cost) == ("OTHER", Decimal("4.80"))
    assert {p.detail for p in report.preview} == {first.number, second.number}


def test_a_draft_named_by_its_number_is_updated_and_a_reimport_is_unchanged(
    price_list, skus, acme, main, admin_user
):
    draft = purchase_order(acme, main, [(skus["shirt"], 10)])
    rows = [
        PO_HEADER,
        [draft.number, "ACME", "MAIN", "SHIRT-M", "40", ""],
        [draft.number, "ACME", "MAIN", "MUG-1", "5", "4.00"],
    ]
    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user, dry_run=False)
    assert actions(report) == [(2, "update"), (3, "update")], report.errors
    assert sorted(draft.lines.values_list("variant__sku", "quantity")) == [
        ("MUG-1", 5),
        ("SHIRT-M", 40),
    ]
    before = sheet_state()
    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user, dry_run=False)
    assert report.unchanged == 2 and report.ok
    assert sheet_state() == before


def test_the_export_of_purchase_orders_imports_again_unchanged(
    price_list, skus, acme, main, admin_user
):
    purchase_order(acme, main, [(skus["shirt"], 10), (skus["cap"], 5, "2.75")], send=True)
    purchase_order(acme, main, [(skus["mug"], 3)])
    response = stream_csv(PurchaseOrderLineResource, PurchaseOrder.objects.all(), "po.csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "order",
        "status",
        "supplier",
        "warehouse",
        "sku",
        "quantity",
        "received",
        "accepted",
        "rejected",
        "unit_cost",
        "expected_date",
        "supplier_reference",
    ]
    assert [(r[1], r[4], r[5], r[9]) for r in rows[1:]] == [
        ("sent", "SHIRT-M", "10", "8.00"),
        ("sent", "CAP-1", "5", "2.75"),
        ("draft", "MUG-1", "3", "5.00"),
    ]
    before = sheet_state()
    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user, dry_run=False)
    assert report.unchanged == 3 and report.ok, report.errors
    assert any("is not imported" in warning for warning in report.warnings)
    assert sheet_state() == before


def test_a_sent_order_cannot_change_from_a_sheet(price_list, skus, acme, main, admin_user):
    sent = purchase_order(acme, main, [(skus["shirt"], 10)], send=True)
    before = sheet_state()
    rows = [PO_HEADER, [sent.number, "ACME", "MAIN", "SHIRT-M", "12", ""]]
    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user, dry_run=False)
    assert errors(report) == [
        (2, "order", str(services.PO_SENT_LINES_LOCKED % {"number": sent.number}))
    ]
    assert sheet_state() == before


def test_an_unknown_purchase_order_number_is_refused(price_list, main):
    before = sheet_state()
    rows = [PO_HEADER, ["PO-999999", "ACME", "MAIN", "SHIRT-M", "12", ""]]
    report = run_sheet(PurchaseOrdersImporter, rows, dry_run=False)
    assert errors(report) == [(2, "order", UNKNOWN_PO % {"value": "PO-999999"})]
    assert sheet_state() == before


SHIRT = "SHIRT-M"


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"supplier": "NOPE"}, "supplier", UNKNOWN_SUPPLIER % {"value": "NOPE"}),
        ({"warehouse": "WEST"}, "warehouse", UNKNOWN_WAREHOUSE % {"value": "WEST"}),
        ({"sku": "NO-SUCH"}, "sku", UNKNOWN_SKU % {"value": "NO-SUCH"}),
        ({"quantity": "0"}, "quantity", services.PO_LINE_QUANTITY % {"sku": SHIRT}),
        ({"quantity": "-3"}, "quantity", services.PO_LINE_QUANTITY % {"sku": SHIRT}),
        ({"quantity": "2.5"}, "quantity", NOT_A_WHOLE_NUMBER % {"value": "2.5"}),
        ({"unit_cost": "cheap"}, "unit_cost", NOT_A_NUMBER % {"value": "cheap"}),
        ({"unit_cost": "-1"}, "unit_cost", services.PO_LINE_COST % {"sku": SHIRT}),
        ({"order": ""}, "order", KEY_REQUIRED),
    ],
)
def test_a_bad_purchase_order_row_is_refused_at_its_column(
    price_list, main, change, column, message
):
    line = {"order": "A1", "supplier": "ACME", "warehouse": "MAIN", "sku": SHIRT}
    line.update({"quantity": "5", "unit_cost": "", **change})
    before = sheet_state()
    rows = [PO_HEADER, [line[c] for c in PO_HEADER]]
    report = run_sheet(PurchaseOrdersImporter, rows, dry_run=False)
    assert errors(report) == [(2, column, str(message))]
    assert sheet_state() == before


def test_a_quantity_below_the_moq_is_refused_on_its_row(price_list, acme, skus, main):
    services.supplier_price_set(
        supplier=acme, variant=skus["mug"], unit_cost="5.00", moq=12, actor=None
    )
    before = sheet_state()
    rows = [
        PO_HEADER,
        ["A1", "ACME", "MAIN", "SHIRT-M", "5", ""],
        ["A1", "ACME", "MAIN", "MUG-1", "6", ""],
    ]
    report = run_sheet(PurchaseOrdersImporter, rows, dry_run=False)
    message = services.PO_LINE_BELOW_MOQ % {
        "sku": "MUG-1",
        "quantity": 6,
        "supplier": acme,
        "moq": 12,
    }
    assert errors(report) == [(3, "quantity", str(message))]
    assert sheet_state() == before


def test_an_inactive_warehouse_is_refused_by_the_service(price_list, main):
    main.is_active = False
    main.save()
    before = sheet_state()
    report = run_sheet(
        PurchaseOrdersImporter,
        [PO_HEADER, ["A1", "ACME", "MAIN", "SHIRT-M", "5", ""]],
        dry_run=False,
    )
    assert errors(report) == [
        (2, "warehouse", str(services.PO_WAREHOUSE_INACTIVE % {"warehouse": "MAIN"}))
    ]
    assert sheet_state() == before


def test_a_sku_twice_in_one_purchase_order_is_refused(price_list, main):
    before = sheet_state()
    rows = [
        PO_HEADER,
        ["A1", "ACME", "MAIN", "SHIRT-M", "5", ""],
        ["A1", "ACME", "MAIN", "SHIRT-M", "6", ""],
    ]
    report = run_sheet(PurchaseOrdersImporter, rows, dry_run=False)
    assert errors(report) == [(3, "sku", str(services.PO_LINE_DUPLICATE % {"sku": "SHIRT-M"}))]
    assert sheet_state() == before


def test_rows_of_one_purchase_order_must_agree_on_the_supplier(price_list, main):
    before = sheet_state()
    rows = [
        PO_HEADER,
        ["A1", "ACME", "MAIN", "SHIRT-M", "5", ""],
        ["A1", "OTHER", "MAIN", "MUG-1", "6", ""],
    ]
    report = run_sheet(PurchaseOrdersImporter, rows, dry_run=False)
    message = ROWS_DISAGREE % {
        "key": "A1",
        "value": "OTHER",
        "first": "ACME",
        "row": 2,
        "column": "supplier",
    }
    assert errors(report) == [(3, "supplier", message)]
    assert sheet_state() == before


def test_purchase_order_sheet_with_wrong_headers_is_refused(price_list, main):
    before = sheet_state()
    rows = [["po", "vendor", "sku", "qty"], ["A1", "ACME", "SHIRT-M", "5"]]
    report = run_sheet(PurchaseOrdersImporter, rows, dry_run=False)
    message = MISSING_COLUMNS % {
        "missing": "order, supplier, warehouse, quantity",
        "required": "order, supplier, warehouse, sku, quantity",
        "found": "po, vendor, sku, qty",
    }
    assert errors(report) == [(1, "", message)]
    assert sheet_state() == before


def test_one_bad_purchase_order_among_good_ones_writes_nothing(price_list, main, admin_user):
    before = sheet_state()
    rows = [
        PO_HEADER,
        ["A1", "ACME", "MAIN", "SHIRT-M", "5", ""],
        ["A2", "OTHER", "MAIN", "MUG-1", "0", ""],
        ["A3", "ACME", "MAIN", "CAP-1", "5", ""],
    ]
    report = run_sheet(PurchaseOrdersImporter, rows, actor=admin_user, dry_run=False)
    assert errors(report) == [(3, "quantity", str(services.PO_LINE_QUANTITY % {"sku": "MUG-1"}))]
    assert sheet_state() == before
