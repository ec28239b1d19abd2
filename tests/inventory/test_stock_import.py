"""Stock levels from a sheet: ``inventory.services.stock_import`` and the "stock" importer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F, OuterRef, Subquery, Sum
from django.test.utils import CaptureQueriesContext

from backoffice import db
from catalog.models import ListingStatus, Product, Variant
from inventory import services as inventory
from inventory.models import Movement, MovementKind, Stock
from inventory.resources import StockResource
from inventory.services import StockLine, stock_import
from inventory.services.imports import (
    IMPORT_BELOW_ALLOCATED,
    IMPORT_BELOW_ZERO,
    IMPORT_DUPLICATE,
    IMPORT_LOT_TRACKED,
    IMPORT_NEGATIVE,
)

from ..catalog.sheet_helpers import actions, errors, run
from ..factories import ProductFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def ledger_is_whole() -> bool:
    """on hand == the sum of the ledger, for every stock row."""
    total = (
        Movement.objects.filter(stock=OuterRef("pk")).values("stock").annotate(s=Sum("quantity"))
    )
    return not (
        Stock.objects.annotate(total=Subquery(total.values("s")))
        .exclude(on_hand=F("total"))
        .exclude(on_hand=0, total__isnull=True)
        .exists()
    )


@pytest.fixture
def skus(db, warehouse, admin_user):
    """Three SKUs of one product on sale: A with 10 in MAIN, B with 4 (2 allocated), C none."""
    product = ProductFactory(handle="tee", status=ListingStatus.ON_SALE)
    a, b, c = (VariantFactory(product=product, sku=sku) for sku in ("A", "B", "C"))
    inventory.receive(variant=a, warehouse=warehouse, quantity=10, actor=admin_user)
    inventory.receive(variant=b, warehouse=warehouse, quantity=4, actor=admin_user)
    inventory.allocate(
        lines=[inventory.AllocationLine(b, warehouse, 2)], reference="SO-1/1", actor=admin_user
    )
    return a, b, c


def sheet(*rows: tuple) -> list[list[str]]:
    return [["sku", "warehouse", "quantity", "reason"], *[[str(c) for c in row] for row in rows]]


# --- the service ---------------------------------------------------------------------------


def test_set_mode_writes_one_movement_per_changed_row(skus, warehouse, admin_user):
    a, b, c = skus
    before = Movement.objects.count()
    result = stock_import(
        rows=[(2, a.pk, warehouse.pk, 7), (3, b.pk, warehouse.pk, 4), (4, c.pk, warehouse.pk, 5)],
        mode="set",
        reference="IMP-000009",
        actor=admin_user,
    )
    assert result.ok and result.movements == 2
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == {"A": 7, "B": 4, "C": 5}
    new = Movement.objects.order_by("pk")[before:]
    assert [(m.stock.variant.sku, m.kind, m.quantity, m.on_hand_after, m.reason, m.reference)
            for m in new] == [
        ("A", MovementKind.ADJUSTMENT, -3, 7, "import", "IMP-000009/row 2"),
        ("C", MovementKind.ADJUSTMENT, 5, 5, "import", "IMP-000009/row 4"),
    ]  # fmt: skip
    assert all(m.actor == admin_user for m in new)
    assert not result.outcomes[3].changed  # B: 4 → 4 wrote nothing
    assert ledger_is_whole()


def test_add_mode_adds_and_removes(skus, warehouse, admin_user):
    a, b, c = skus
    result = stock_import(
        rows=[StockLine(2, a.pk, warehouse.pk, -4), StockLine(3, c.pk, warehouse.pk, 6, "found")],
        mode="add",
        reference="IMP-000010",
        actor=admin_user,
    )
    assert result.ok
    assert Stock.objects.get(variant=a).on_hand == 6
    assert Stock.objects.get(variant=c).on_hand == 6
    assert Movement.objects.get(reference="IMP-000010/row 3").reason == "import: found"
    assert ledger_is_whole()


def test_zero_in_add_mode_and_the_same_level_in_set_mode_write_nothing(skus, warehouse, admin_user):
    a, _b, c = skus
    before = (Stock.objects.count(), Movement.objects.count())
    for mode, quantity in (("add", 0), ("set", 10)):
        result = stock_import(
            rows=[(2, a.pk, warehouse.pk, quantity)], mode=mode, reference="X", actor=admin_user
        )
        assert result.ok and result.movements == 0
    # A SKU with no stock row, set to 0: no empty row is created either.
    stock_import(rows=[(2, c.pk, warehouse.pk, 0)], mode="set", reference="X", actor=admin_user)
    assert (Stock.objects.count(), Movement.objects.count()) == before


@pytest.mark.parametrize(
    ("mode", "sku", "quantity", "message"),
    [
        ("set", "A", -1, IMPORT_NEGATIVE % {"quantity": -1}),
        (
            "add",
            "A",
            -11,
            IMPORT_BELOW_ZERO
            % {"sku": "A", "warehouse": "MAIN", "on_hand": 10, "change": "-11", "after": -1},
        ),
        (
            "set",
            "B",
            1,
            IMPORT_BELOW_ALLOCATED % {"sku": "B", "warehouse": "MAIN", "after": 1, "allocated": 2},
        ),
    ],  # fmt: skip
)
def test_refused_rows_write_nothing(
    skus, warehouse, admin_user, snapshot, mode, sku, quantity, message
):
    variant = Variant.objects.get(sku=sku)
    before = snapshot()
    result = stock_import(
        rows=[(2, skus[2].pk, warehouse.pk, 3), (3, variant.pk, warehouse.pk, quantity)],
        mode=mode,
        reference="X",
        actor=admin_user,
    )
    assert [(r.row, r.field, r.message) for r in result.refused] == [(3, "quantity", str(message))]
    assert snapshot() == before


def test_inactive_warehouse_lot_tracked_sku_and_duplicates_are_refused(
    skus, warehouse, admin_user, snapshot
):
    a, b, c = skus
    closed = WarehouseFactory(code="OLD", is_active=False)
    Variant.objects.filter(pk=c.pk).update(track_lots=True)
    before = snapshot()
    result = stock_import(
        rows=[
            (2, a.pk, closed.pk, 1),
            (3, c.pk, warehouse.pk, 1),
            (4, b.pk, warehouse.pk, 5),
            (5, b.pk, warehouse.pk, 6),
        ],
        mode="set",
        reference="X",
        actor=admin_user,
    )
    assert [(r.row, r.field, r.message) for r in result.refused] == [
        (2, "warehouse", str(inventory.WAREHOUSE_INACTIVE % {"warehouse": "OLD"})),
        (3, "sku", str(IMPORT_LOT_TRACKED % {"sku": "C", "warehouse": "MAIN"})),
        (5, "sku", str(IMPORT_DUPLICATE % {"sku": "B", "warehouse": "MAIN", "first": 4, "row": 5})),
    ]
    assert snapshot() == before


def test_sold_out_and_back_in_stock_follow_the_levels(skus, warehouse, admin_user):
    a, b, c = skus
    product = a.product
    stock_import(
        rows=[(2, a.pk, warehouse.pk, 0), (3, b.pk, warehouse.pk, 2)],
        mode="set",
        reference="X",
        actor=admin_user,
    )
    product.refresh_from_db()
    assert product.status == ListingStatus.SOLD_OUT  # B's 2 units are allocated
    stock_import(rows=[(2, c.pk, warehouse.pk, 1)], mode="add", reference="Y", actor=admin_user)
    product.refresh_from_db()
    assert product.status == ListingStatus.ON_SALE


def test_settled_products_keep_the_status_their_caller_gave_them(skus, warehouse, admin_user):
    a, b, _c = skus
    product = a.product
    rows = [(2, a.pk, warehouse.pk, 0), (3, b.pk, warehouse.pk, 2)]
    with CaptureQueriesContext(connection) as settled:
        stock_import(
            rows=rows, mode="set", reference="X", actor=admin_user, settled_products={product.pk}
        )
    product.refresh_from_db()
    assert product.status == ListingStatus.ON_SALE  # not looked at again
    assert not any("catalog_listingevent" in q["sql"] for q in settled)


def test_the_service_costs_the_same_queries_for_10_and_100_rows(warehouse, admin_user):
    product = ProductFactory()
    variants = [VariantFactory(product=product, sku=f"Q{n}") for n in range(110)]

    def queries(chosen) -> int:
        rows = [(n, v.pk, warehouse.pk, 3) for n, v in enumerate(chosen, 2)]
        with CaptureQueriesContext(connection) as captured:
            assert stock_import(rows=rows, mode="set", reference="X", actor=admin_user).ok
        if connection.vendor == "sqlite":  # bulk INSERTs are split at 999 parameters there
            return len([q for q in captured if not q["sql"].startswith("INSERT")])
        return len(captured)

    assert queries(variants[:10]) == queries(variants[10:])


@pytest.mark.postgres
def test_levels_are_written_with_one_update_from_values(skus, warehouse, admin_user):
    a, b, c = skus
    with CaptureQueriesContext(connection) as captured:
        stock_import(
            rows=[(2, a.pk, warehouse.pk, 1), (3, c.pk, warehouse.pk, 2)],
            mode="set",
            reference="X",
            actor=admin_user,
        )
    updates = [q["sql"] for q in captured if q["sql"].startswith('UPDATE "inventory_stock"')]
    assert len(updates) == 1 and "FROM (VALUES" in updates[0]
    locks = [
        q["sql"] for q in captured if "FOR UPDATE" in q["sql"] and "inventory_stock" in q["sql"]
    ]
    assert locks and all("ORDER BY" in sql for sql in locks)
    assert ledger_is_whole()


def _created(*variants) -> dict[int, dict]:
    return {
        v.pk: {"sku": v.sku, "product_id": v.product_id, "allow_backorder": v.allow_backorder}
        for v in variants
    }


def test_skus_the_caller_created_are_not_looked_up(warehouse, admin_user):
    product = ProductFactory()
    new = [VariantFactory(product=product, sku=f"N{n}") for n in range(3)]
    warehouses = {warehouse.pk: {"pk": warehouse.pk, "code": "MAIN", "is_active": True}}
    keys: list[tuple] = []

    def new_keys(model, count):
        keys.append((model, count))
        return db.reserve_ids(model, count)

    with CaptureQueriesContext(connection) as captured:
        result = stock_import(
            rows=[(n + 2, v.pk, warehouse.pk, n) for n, v in enumerate(new)],
            mode="set",
            reference="NEW",
            actor=admin_user,
            settled_products={product.pk},
            created_variants=_created(*new),
            warehouses=warehouses,
            new_keys=new_keys,
        )
    assert result.ok and result.movements == 2  # N0 stays at 0: nothing to write
    assert {(o.sku, o.warehouse, o.before, o.after) for o in result.outcomes.values()} == {
        ("N0", "MAIN", 0, 0), ("N1", "MAIN", 0, 1), ("N2", "MAIN", 0, 2),
    }  # fmt: skip
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == {"N1": 1, "N2": 2}
    assert ledger_is_whole()
    sql = [q["sql"] for q in captured]
    assert not [s for s in sql if "catalog_variant" in s or "inventory_warehouse" in s]
    if connection.vendor == "postgresql":
        assert keys == [(Stock, 2)]
        assert not [s for s in sql if s.startswith(("SELECT", "SAVEPOINT"))]


def test_a_created_sku_is_refused_like_any_other(warehouse, admin_user, snapshot):
    product = ProductFactory()
    new = VariantFactory(product=product, sku="N0")
    closed = WarehouseFactory(code="OLD", is_active=False)
    before = snapshot()
    result = stock_import(
        rows=[(2, new.pk, warehouse.pk, -1), (3, new.pk, closed.pk, 2), (4, new.pk, 999999, 1)],
        mode="set",
        reference="NEW",
        actor=admin_user,
        created_variants=_created(new),
    )
    assert [(r.row, r.field) for r in result.refused] == [
        (2, "quantity"), (3, "warehouse"), (4, "warehouse"),
    ]  # fmt: skip
    assert snapshot() == before


# --- the "stock" sheet ---------------------------------------------------------------------


def test_the_stock_sheet_sets_levels(skus, warehouse, admin_user):
    report = run(
        "stock",
        sheet(("A", "MAIN", 12, ""), ("B", "main", 4, ""), ("C", "MAIN", 1, "found in bin")),
        actor=admin_user,
        options={"mode": "set"},
        reference="IMP-000003",
    )
    assert errors(report) == []
    assert actions(report) == {2: "update", 3: "unchanged", 4: "update"}
    assert report.preview[0].detail == "10 → 12"
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == {"A": 12, "B": 4, "C": 1}
    assert Movement.objects.get(reference="IMP-000003/row 4").reason == "import: found in bin"
    assert not Movement.objects.filter(reference="IMP-000003/row 3").exists()
    assert ledger_is_whole()


def test_the_stock_sheet_adds(skus, warehouse, admin_user):
    report = run(
        "stock", sheet(("A", "MAIN", -3, ""), ("C", "MAIN", 2, "")), options={"mode": "add"}
    )
    assert errors(report) == []
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == {"A": 7, "B": 4, "C": 2}


def test_the_same_stock_sheet_twice_changes_nothing_the_second_time(skus, warehouse, snapshot):
    rows = sheet(("A", "MAIN", 12, ""), ("C", "MAIN", 1, ""))
    run("stock", rows, options={"mode": "set"})
    before = snapshot()
    report = run("stock", rows, options={"mode": "set"})
    assert report.unchanged == 2 and snapshot() == before


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (("NOPE", "MAIN", 1, ""), "sku", "Unknown SKU “NOPE”."),
        (("A", "WEST", 1, ""), "warehouse", "Unknown warehouse “WEST”; the warehouses are MAIN."),
        (("A", "MAIN", "1.5", ""), "quantity", "“1.5” is not a whole number."),
        (("A", "MAIN", "-2", ""), "quantity", "Stock cannot be negative; got -2."),
        (("A", "MAIN", "", ""), "quantity", "This column needs a value."),
    ],
)
def test_a_bad_stock_row_is_reported_and_nothing_is_written(
    skus, warehouse, snapshot, row, column, message
):
    before = snapshot()
    report = run("stock", sheet(("C", "MAIN", 5, ""), row), options={"mode": "set"})
    assert errors(report) == [(3, column, message)]
    assert snapshot() == before


def test_a_sku_twice_in_the_stock_sheet_is_refused(skus, warehouse, snapshot):
    before = snapshot()
    report = run(
        "stock", sheet(("A", "MAIN", 5, ""), ("A", "MAIN", 6, "")), options={"mode": "set"}
    )
    assert errors(report) == [
        (3, "sku", "A at MAIN is on row 2 already: give one row per SKU and warehouse.")
    ]
    assert snapshot() == before


def test_a_lot_tracked_sku_is_refused_by_the_stock_sheet(skus, warehouse, snapshot):
    Variant.objects.filter(sku="C").update(track_lots=True)
    before = snapshot()
    report = run("stock", sheet(("C", "MAIN", 5, "")), options={"mode": "set"})
    assert errors(report) == [
        (
            2,
            "sku",
            "C is tracked by lot: its stock is received through the receiving form, lot by lot, "
            "not by a stock import.",
        )
    ]
    assert snapshot() == before


def test_stock_export_has_the_levels_at_constant_queries(skus, warehouse):
    def export():
        with CaptureQueriesContext(connection) as captured:
            dataset = StockResource().export()
        return dataset, len(captured)

    dataset, few = export()
    assert dataset.headers[:6] == [
        "sku",
        "product",
        "warehouse",
        "on_hand",
        "allocated",
        "available",
    ]
    rows = {row["sku"]: row for row in dataset.dict}
    assert (rows["B"]["on_hand"], rows["B"]["allocated"], rows["B"]["available"]) == ("4", "2", "2")
    for n in range(30):
        inventory.receive(
            variant=VariantFactory(product=ProductFactory(), sku=f"E{n}"),
            warehouse=warehouse,
            quantity=1,
            actor=None,
        )
    assert export()[1] == few
    assert Product.objects.count() > 30
