"""Lots with expiry dates (F-14): receiving by lot, first-expired-first-out allocation,
shipping and releasing the same lots, the audit's lot check and the expiring-lot alert.

Each bad input is its own test: the exact message, and nothing changed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog
from catalog.models import Product, Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock, InvalidOperation
from inventory.models import (
    AllocationLot,
    Lot,
    LotStock,
    Movement,
    MovementKind,
    Stock,
    StockAlert,
    StockAuditFinding,
)
from inventory.services import (
    BACKORDERS_LOT_TRACKED,
    INSUFFICIENT_LINE,
    INSUFFICIENT_LOT_LINE,
    INSUFFICIENT_STOCK,
    LOT_CODE_REQUIRED,
    LOT_EXPIRED,
    LOT_EXPIRY_CONFLICT,
    LOT_NOT_TRACKED,
    LOT_SWITCH_BACKORDERS,
    LOT_SWITCH_HAS_STOCK,
    LOT_UNKNOWN,
    LOTS_NOT_SUPPORTED,
    AllocationLine,
)
from orders.services import order_allocate, order_cancel, order_ship

from ..conftest import take_snapshot
from ..factories import OrderFactory, OrderLineFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def days(n: int):
    return TODAY() + timedelta(days=n)


def lot_snapshot() -> dict:
    """take_snapshot() plus the lot tables."""
    return {
        **take_snapshot(),
        "lots": sorted(Lot.objects.values_list("pk", "variant_id", "code", "expiry")),
        "lot_stock": sorted(
            LotStock.objects.values_list("pk", "stock_id", "lot_id", "on_hand", "allocated")
        ),
        "allocation_lots": sorted(
            AllocationLot.objects.values_list("pk", "allocation_id", "lot_stock_id", "quantity")
        ),
        "movement_lots": sorted(Movement.objects.values_list("pk", "lot_id")),
        "track_lots": sorted(Variant.objects.values_list("pk", "track_lots")),
    }


def refused(error, message, call):
    """Run ``call``; it must raise ``error`` with ``message`` and change nothing."""
    before = lot_snapshot()
    with pytest.raises(error) as excinfo:
        call()
    assert str(excinfo.value) == str(message)
    assert lot_snapshot() == before
    return excinfo.value


@pytest.fixture
def lot_variant(db, admin_user):
    variant = VariantFactory(product=ProductFactory(title="Yoghurt"), sku="YOG-1")
    assert inventory.variant_track_lots(variant, on=True, actor=admin_user) is True
    return variant


def receive(variant, warehouse, quantity, code, expiry=None, actor=None):
    return inventory.receive(
        variant=variant,
        warehouse=warehouse,
        quantity=quantity,
        actor=actor,
        lot_code=code,
        expiry=expiry,
    )


def expire(variant, code: str, on) -> None:
    """The lot's expiry date passes (time goes by; no service sets a past date)."""
    Lot.objects.filter(variant=variant, code=code).update(expiry=on)


def lot_levels(variant, warehouse) -> dict[str, tuple[int, int]]:
    """lot code -> (on hand, allocated) in one stock row."""
    return {
        code: (on_hand, allocated)
        for code, on_hand, allocated in LotStock.objects.filter(
            stock__variant=variant, stock__warehouse=warehouse
        ).values_list("lot__code", "on_hand", "allocated")
    }


def taken(allocation) -> dict[str, int]:
    """lot code -> units an allocation still holds."""
    return dict(
        AllocationLot.objects.filter(allocation=allocation).values_list(
            "lot_stock__lot__code", "quantity"
        )
    )


def allocate(variant, warehouse, quantity, reference):
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(variant, warehouse, quantity)], reference=reference, actor=None
    )
    return allocation


def assert_lots_add_up() -> None:
    for stock in Stock.objects.filter(variant__track_lots=True):
        lots = stock.lot_stocks.aggregate(
            on_hand=Sum("on_hand", default=0), allocated=Sum("allocated", default=0)
        )
        assert (lots["on_hand"], lots["allocated"]) == (stock.on_hand, stock.allocated), stock
    for lot_stock in LotStock.objects.all():
        held = lot_stock.allocations.aggregate(s=Sum("quantity", default=0))["s"]
        assert held == lot_stock.allocated, lot_stock
        assert 0 <= lot_stock.allocated <= lot_stock.on_hand, lot_stock
    for stock in Stock.objects.all():
        ledger = stock.movements.aggregate(s=Sum("quantity", default=0))["s"]
        assert ledger == stock.on_hand, stock
    for lot_stock in LotStock.objects.select_related("stock"):
        ledger = Movement.objects.filter(stock=lot_stock.stock, lot=lot_stock.lot).aggregate(
            s=Sum("quantity", default=0)
        )["s"]
        assert ledger == lot_stock.on_hand, lot_stock


# --- receiving ---------------------------------------------------------------------------


def test_receive_by_lot_creates_the_lot_and_the_movement_names_it(lot_variant, warehouse):
    movement = receive(lot_variant, warehouse, 5, " L-1 ", days(20))
    lot = Lot.objects.get()
    assert (lot.code, lot.expiry, lot.variant_id) == ("L-1", days(20), lot_variant.pk)
    assert movement.lot_id == lot.pk
    assert (movement.kind, movement.quantity, movement.on_hand_after) == ("receipt", 5, 5)
    assert lot_levels(lot_variant, warehouse) == {"L-1": (5, 0)}
    assert_lots_add_up()


def test_receive_into_a_known_lot_adds_to_it(lot_variant, warehouse, other_warehouse):
    receive(lot_variant, warehouse, 5, "L-1", days(20))
    receive(lot_variant, warehouse, 3, "L-1")  # no date: the lot's own
    receive(lot_variant, warehouse, 2, "L-1", days(20))  # the same date
    receive(lot_variant, other_warehouse, 4, "L-1")  # the same lot in another warehouse
    assert Lot.objects.count() == 1
    assert lot_levels(lot_variant, warehouse) == {"L-1": (10, 0)}
    assert lot_levels(lot_variant, other_warehouse) == {"L-1": (4, 0)}
    assert_lots_add_up()


def test_a_lot_without_expiry_date_is_accepted(lot_variant, warehouse):
    receive(lot_variant, warehouse, 5, "NODATE")
    assert Lot.objects.get().expiry is None


def test_receiving_a_lot_that_expired_in_the_past_is_refused(lot_variant, warehouse):
    yesterday = days(-1)
    refused(
        InvalidOperation,
        LOT_EXPIRED % {"lot": "OLD", "sku": "YOG-1", "expiry": yesterday.isoformat()},
        lambda: receive(lot_variant, warehouse, 5, "OLD", yesterday),
    )


def test_receiving_into_a_known_lot_that_has_expired_is_refused(lot_variant, warehouse):
    receive(lot_variant, warehouse, 5, "L-1", days(3))
    expire(lot_variant, "L-1", days(-2))
    refused(
        InvalidOperation,
        LOT_EXPIRED % {"lot": "L-1", "sku": "YOG-1", "expiry": days(-2).isoformat()},
        lambda: receive(lot_variant, warehouse, 5, "L-1"),
    )


def test_a_lot_code_on_a_sku_not_tracked_by_lot_is_refused(variant, warehouse):
    refused(
        InvalidOperation,
        LOT_NOT_TRACKED % {"sku": "SHIRT-M"},
        lambda: receive(variant, warehouse, 5, "L-1", days(20)),
    )


def test_an_expiry_date_on_a_sku_not_tracked_by_lot_is_refused(variant, warehouse):
    refused(
        InvalidOperation,
        LOT_NOT_TRACKED % {"sku": "SHIRT-M"},
        lambda: receive(variant, warehouse, 5, "", days(20)),
    )


def test_no_lot_code_on_a_lot_tracked_sku_is_refused(lot_variant, warehouse):
    refused(
        InvalidOperation,
        LOT_CODE_REQUIRED % {"sku": "YOG-1"},
        lambda: receive(lot_variant, warehouse, 5, "  "),
    )


def test_a_known_lot_with_another_expiry_date_is_refused(lot_variant, warehouse):
    receive(lot_variant, warehouse, 5, "L-1", days(20))
    refused(
        InvalidOperation,
        LOT_EXPIRY_CONFLICT
        % {
            "lot": "L-1",
            "sku": "YOG-1",
            "expiry": days(20).isoformat(),
            "given": days(30).isoformat(),
        },
        lambda: receive(lot_variant, warehouse, 5, "L-1", days(30)),
    )


def test_a_customer_return_of_a_lot_tracked_sku_needs_its_lot(lot_variant, warehouse):
    refused(
        InvalidOperation,
        LOT_CODE_REQUIRED % {"sku": "YOG-1"},
        lambda: inventory.receive(
            variant=lot_variant,
            warehouse=warehouse,
            quantity=1,
            actor=None,
            kind=MovementKind.RETURN,
        ),
    )


# --- allocation: first expired, first out ------------------------------------------------


@pytest.fixture
def four_lots(lot_variant, warehouse):
    """LATE (60 days, 5), MID (30 days, 3), SOON (10 days, 2), GONE (expired, 4)."""
    receive(lot_variant, warehouse, 5, "LATE", days(60))
    receive(lot_variant, warehouse, 3, "MID", days(30))
    receive(lot_variant, warehouse, 2, "SOON", days(10))
    receive(lot_variant, warehouse, 4, "GONE", days(5))
    expire(lot_variant, "GONE", days(-1))
    return lot_variant


def test_allocation_takes_the_earliest_expiring_lot_first_and_skips_expired(four_lots, warehouse):
    first = allocate(four_lots, warehouse, 4, "order-line:1")
    assert taken(first) == {"SOON": 2, "MID": 2}
    second = allocate(four_lots, warehouse, 4, "order-line:2")
    assert taken(second) == {"MID": 1, "LATE": 3}
    assert lot_levels(four_lots, warehouse) == {
        "SOON": (2, 2),
        "MID": (3, 3),
        "LATE": (5, 3),
        "GONE": (4, 0),  # expired: never allocated
    }
    stock = Stock.objects.get(variant=four_lots, warehouse=warehouse)
    assert (stock.on_hand, stock.allocated) == (14, 8)
    assert_lots_add_up()


def test_a_lot_expiring_today_can_still_be_allocated(lot_variant, warehouse):
    receive(lot_variant, warehouse, 2, "TODAY", TODAY())
    receive(lot_variant, warehouse, 2, "LATER", days(9))
    assert taken(allocate(lot_variant, warehouse, 3, "r1")) == {"TODAY": 2, "LATER": 1}


def test_equal_expiry_dates_are_taken_first_in_first_out(lot_variant, warehouse):
    for code in ("FIRST", "SECOND", "THIRD"):
        receive(lot_variant, warehouse, 2, code, days(30))
    assert taken(allocate(lot_variant, warehouse, 3, "r1")) == {"FIRST": 2, "SECOND": 1}
    assert taken(allocate(lot_variant, warehouse, 2, "r2")) == {"SECOND": 1, "THIRD": 1}


def test_lots_without_expiry_go_last_and_first_in_first_out(lot_variant, warehouse):
    receive(lot_variant, warehouse, 2, "UNDATED-1")
    receive(lot_variant, warehouse, 2, "UNDATED-2")
    receive(lot_variant, warehouse, 2, "DATED", days(300))
    assert taken(allocate(lot_variant, warehouse, 5, "r1")) == {
        "DATED": 2,
        "UNDATED-1": 2,
        "UNDATED-2": 1,
    }


def test_allocating_more_than_the_lots_not_expired_hold_is_refused(four_lots, warehouse):
    # 14 on hand, 10 of them in lots that have not expired.
    message = INSUFFICIENT_STOCK % {
        "lines": INSUFFICIENT_LINE
        % {"sku": "YOG-1", "warehouse": "MAIN", "requested": 11, "available": 10}
    }
    error = refused(
        InsufficientStock, message, lambda: allocate(four_lots, warehouse, 11, "order-line:1")
    )
    assert error.lines == [{"sku": "YOG-1", "warehouse": "MAIN", "requested": 11, "available": 10}]


def test_allocating_more_than_on_hand_reports_what_the_lots_hold(four_lots, warehouse):
    message = INSUFFICIENT_STOCK % {
        "lines": INSUFFICIENT_LINE
        % {"sku": "YOG-1", "warehouse": "MAIN", "requested": 20, "available": 10}
    }
    refused(InsufficientStock, message, lambda: allocate(four_lots, warehouse, 20, "r1"))


def test_a_short_lot_line_refuses_the_other_lines_too(four_lots, warehouse, stocked_variant):
    lines = [
        AllocationLine(stocked_variant, warehouse, 2),
        AllocationLine(four_lots, warehouse, 11),
    ]
    message = INSUFFICIENT_STOCK % {
        "lines": INSUFFICIENT_LINE
        % {"sku": "YOG-1", "warehouse": "MAIN", "requested": 11, "available": 10}
    }
    refused(
        InsufficientStock,
        message,
        lambda: inventory.allocate(lines=lines, reference="order:1", actor=None),
    )


def test_lot_and_plain_lines_together(four_lots, warehouse, stocked_variant):
    plain, lots = inventory.allocate(
        lines=[
            AllocationLine(stocked_variant, warehouse, 2),
            AllocationLine(four_lots, warehouse, 3),
        ],
        reference="order:1",
        actor=None,
    )
    if plain.stock.variant_id == four_lots.pk:
        plain, lots = lots, plain
    assert taken(plain) == {}
    assert taken(lots) == {"SOON": 2, "MID": 1}
    assert_lots_add_up()


# --- shipping and releasing hit the allocation's lots ------------------------------------


def test_ship_takes_the_allocated_lots_with_one_movement_per_lot(four_lots, warehouse):
    allocation = allocate(four_lots, warehouse, 6, "order-line:1")  # SOON 2, MID 3, LATE 1
    last = inventory.ship(allocation=allocation, quantity=4, actor=None, reference="SO-1")
    moves = list(
        Movement.objects.filter(kind=MovementKind.SHIPMENT)
        .order_by("pk")
        .values_list("lot__code", "quantity", "on_hand_after", "batch", "reference")
    )
    batch = moves[0][3]
    assert batch is not None
    assert moves == [("SOON", -2, 12, batch, "SO-1"), ("MID", -2, 10, batch, "SO-1")]
    assert last.lot.code == "MID"
    assert taken(allocation) == {"SOON": 0, "MID": 1, "LATE": 1}
    assert lot_levels(four_lots, warehouse) == {
        "SOON": (0, 0),
        "MID": (1, 1),
        "LATE": (5, 1),
        "GONE": (4, 0),
    }
    inventory.ship(allocation=allocation, actor=None)  # the rest
    assert lot_levels(four_lots, warehouse)["LATE"] == (4, 0)
    assert Movement.objects.filter(kind=MovementKind.SHIPMENT).count() == 4
    assert_lots_add_up()


def test_release_gives_back_the_allocated_lots_latest_expiry_first(four_lots, warehouse):
    allocation = allocate(four_lots, warehouse, 6, "order-line:1")  # SOON 2, MID 3, LATE 1
    assert inventory.release(allocation=allocation, quantity=2, actor=None) == 2
    assert taken(allocation) == {"SOON": 2, "MID": 2, "LATE": 0}
    assert inventory.release(allocation=allocation, actor=None) == 4
    assert taken(allocation) == {"SOON": 0, "MID": 0, "LATE": 0}
    assert {
        code: allocated for code, (_h, allocated) in lot_levels(four_lots, warehouse).items()
    } == {
        "SOON": 0,
        "MID": 0,
        "LATE": 0,
        "GONE": 0,
    }
    assert not Movement.objects.filter(kind=MovementKind.SHIPMENT).exists()
    assert_lots_add_up()


def test_an_order_allocates_ships_and_cancels_through_the_lots(four_lots, warehouse, admin_user):
    order = OrderFactory()
    OrderLineFactory(order=order, variant=four_lots, quantity=3)
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    order_ship(order=order, carrier="SF", tracking_number="SF1", actor=admin_user)
    assert sorted(
        Movement.objects.filter(kind=MovementKind.SHIPMENT).values_list("lot__code", "quantity")
    ) == [("MID", -1), ("SOON", -2)]
    other = OrderFactory()
    OrderLineFactory(order=other, variant=four_lots, quantity=2)
    order_allocate(order=other, warehouse=warehouse, actor=admin_user)
    assert order_cancel(order=other, actor=admin_user) == 2
    assert lot_levels(four_lots, warehouse) == {
        "SOON": (0, 0),
        "MID": (2, 0),
        "LATE": (5, 0),
        "GONE": (4, 0),
    }
    assert_lots_add_up()


# --- adjusting and disposing by lot ---------------------------------------------------


def test_adjust_and_dispose_by_lot(lot_variant, warehouse, admin_user):
    receive(lot_variant, warehouse, 5, "L-1", days(20))
    found = inventory.adjust(
        variant=lot_variant,
        warehouse=warehouse,
        quantity=2,
        reason="found",
        actor=admin_user,
        lot_code="L-2",
        expiry=days(40),
    )
    lost = inventory.adjust(
        variant=lot_variant,
        warehouse=warehouse,
        quantity=-1,
        reason="lost",
        actor=admin_user,
        lot_code="L-1",
    )
    scrapped = inventory.dispose(
        variant=lot_variant,
        warehouse=warehouse,
        quantity=2,
        kind=MovementKind.DISPOSAL,
        reason="damaged",
        actor=admin_user,
        lot_code="L-2",
    )
    assert [m.lot.code for m in (found, lost, scrapped)] == ["L-2", "L-1", "L-2"]
    assert lot_levels(lot_variant, warehouse) == {"L-1": (4, 0), "L-2": (0, 0)}
    assert_lots_add_up()


def test_an_expired_lot_can_be_disposed_of(four_lots, warehouse, admin_user):
    inventory.dispose(
        variant=four_lots,
        warehouse=warehouse,
        quantity=4,
        kind=MovementKind.DISPOSAL,
        reason="expired",
        actor=admin_user,
        lot_code="GONE",
    )
    assert lot_levels(four_lots, warehouse)["GONE"] == (0, 0)
    assert_lots_add_up()


def test_adjust_of_a_lot_tracked_sku_without_a_lot_is_refused(four_lots, warehouse, admin_user):
    refused(
        InvalidOperation,
        LOT_CODE_REQUIRED % {"sku": "YOG-1"},
        lambda: inventory.adjust(
            variant=four_lots, warehouse=warehouse, quantity=-1, reason="lost", actor=admin_user
        ),
    )


def test_dispose_of_a_lot_tracked_sku_without_a_lot_is_refused(four_lots, warehouse, admin_user):
    refused(
        InvalidOperation,
        LOT_CODE_REQUIRED % {"sku": "YOG-1"},
        lambda: inventory.dispose(
            variant=four_lots,
            warehouse=warehouse,
            quantity=1,
            kind=MovementKind.DISPOSAL,
            reason="damaged",
            actor=admin_user,
        ),
    )


def test_dispose_of_an_unknown_lot_is_refused(four_lots, warehouse, admin_user):
    refused(
        InvalidOperation,
        LOT_UNKNOWN % {"sku": "YOG-1", "warehouse": "MAIN", "lot": "NOPE"},
        lambda: inventory.dispose(
            variant=four_lots,
            warehouse=warehouse,
            quantity=1,
            kind=MovementKind.DISPOSAL,
            reason="damaged",
            actor=admin_user,
            lot_code="NOPE",
        ),
    )


def test_removing_allocated_units_of_a_lot_is_refused(four_lots, warehouse, admin_user):
    allocate(four_lots, warehouse, 2, "r1")  # both units of SOON
    line = {"lot": "SOON", "sku": "YOG-1", "warehouse": "MAIN", "requested": 1, "available": 0}
    refused(
        InsufficientStock,
        INSUFFICIENT_STOCK % {"lines": INSUFFICIENT_LOT_LINE % line},
        lambda: inventory.adjust(
            variant=four_lots,
            warehouse=warehouse,
            quantity=-1,
            reason="lost",
            actor=admin_user,
            lot_code="SOON",
        ),
    )


def test_adjust_with_a_lot_on_a_plain_sku_is_refused(stocked_variant, warehouse, admin_user):
    refused(
        InvalidOperation,
        LOT_NOT_TRACKED % {"sku": "SHIRT-M"},
        lambda: inventory.adjust(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=-1,
            reason="lost",
            actor=admin_user,
            lot_code="L-1",
        ),
    )


# --- what does not handle lots refuses them ------------------------------------------------


def test_transfer_refuses_lot_tracked_skus(four_lots, warehouse, other_warehouse, admin_user):
    refused(
        InvalidOperation,
        LOTS_NOT_SUPPORTED % {"skus": "YOG-1", "operation": "a transfer between warehouses"},
        lambda: inventory.transfer(
            variant=four_lots,
            source=warehouse,
            destination=other_warehouse,
            quantity=1,
            actor=admin_user,
        ),
    )


def test_restock_refuses_lot_tracked_skus(four_lots, warehouse, admin_user):
    refused(
        InvalidOperation,
        LOTS_NOT_SUPPORTED % {"skus": "YOG-1", "operation": "restocking"},
        lambda: inventory.restock_products(
            products=Product.objects.filter(pk=four_lots.product_id),
            warehouse=warehouse,
            quantity=1,
            actor=admin_user,
            submission_key=uuid.uuid4().hex,
        ),
    )


def test_dispose_remaining_refuses_lot_tracked_skus(four_lots, warehouse, admin_user):
    catalog.delist(
        products=Product.objects.filter(pk=four_lots.product_id),
        reason="supplier_discontinued",
        actor=admin_user,
    )
    refused(
        InvalidOperation,
        LOTS_NOT_SUPPORTED % {"skus": "YOG-1", "operation": "disposing of the remaining stock"},
        lambda: inventory.dispose_remaining(
            products=Product.objects.filter(pk=four_lots.product_id),
            disposition="scrap",
            actor=admin_user,
        ),
    )


def test_history_load_refuses_lot_tracked_skus(lot_variant, warehouse, admin_user):
    stock = Stock.objects.create(variant=lot_variant, warehouse=warehouse)
    refused(
        InvalidOperation,
        LOTS_NOT_SUPPORTED % {"skus": "YOG-1", "operation": "loading a past ledger"},
        lambda: inventory.ledger_load_history(
            entries=[(stock.pk, "receipt", 3, timezone.now(), "old-1")], actor=admin_user
        ),
    )


def test_backorders_cannot_be_allowed_for_a_lot_tracked_sku(lot_variant, admin_user):
    refused(
        InvalidOperation,
        BACKORDERS_LOT_TRACKED % {"skus": "YOG-1"},
        lambda: inventory.set_backorders(
            variants=Variant.objects.filter(pk=lot_variant.pk), allowed=True, actor=admin_user
        ),
    )


# --- switching lot tracking ------------------------------------------------------------------


def test_lot_tracking_cannot_be_switched_on_while_there_is_stock(stocked_variant, admin_user):
    refused(
        InvalidOperation,
        LOT_SWITCH_HAS_STOCK % {"sku": "SHIRT-M", "on_hand": 10, "allocated": 0},
        lambda: inventory.variant_track_lots(stocked_variant, on=True, actor=admin_user),
    )


def test_lot_tracking_cannot_be_switched_off_while_there_is_stock(four_lots, admin_user):
    refused(
        InvalidOperation,
        LOT_SWITCH_HAS_STOCK % {"sku": "YOG-1", "on_hand": 14, "allocated": 0},
        lambda: inventory.variant_track_lots(four_lots, on=False, actor=admin_user),
    )


def test_lot_tracking_cannot_be_switched_on_with_backorders(variant, admin_user):
    inventory.set_backorders(
        variants=Variant.objects.filter(pk=variant.pk), allowed=True, actor=admin_user
    )
    refused(
        InvalidOperation,
        LOT_SWITCH_BACKORDERS % {"sku": "SHIRT-M"},
        lambda: inventory.variant_track_lots(variant, on=True, actor=admin_user),
    )


def test_switching_lot_tracking_of_an_empty_sku(stocked_variant, warehouse, admin_user):
    inventory.adjust(
        variant=stocked_variant, warehouse=warehouse, quantity=-10, reason="gone", actor=admin_user
    )
    assert inventory.variant_track_lots(stocked_variant, on=True, actor=admin_user) is True
    assert inventory.variant_track_lots(stocked_variant, on=True, actor=admin_user) is False
    assert Variant.objects.get(pk=stocked_variant.pk).track_lots is True
    assert Variant.history.filter(id=stocked_variant.pk).first().history_user == admin_user
    receive(stocked_variant, warehouse, 3, "L-1")
    assert_lots_add_up()


# --- audit and alert -------------------------------------------------------------------------


def test_audit_finds_nothing_wrong_with_lots_used_by_the_services(four_lots, warehouse):
    allocation = allocate(four_lots, warehouse, 6, "r1")
    inventory.ship(allocation=allocation, quantity=3, actor=None)
    run = inventory.stock_audit()
    assert run.findings_count == 0


def test_audit_finds_lots_that_do_not_add_up_to_the_stock_row(four_lots, warehouse):
    stock = Stock.objects.get(variant=four_lots, warehouse=warehouse)
    with connection.cursor() as cursor:  # what a bad script or a manual fix would do
        cursor.execute(
            "UPDATE inventory_lotstock SET on_hand = on_hand + 2 "
            "WHERE stock_id = %s AND lot_id = (SELECT id FROM inventory_lot WHERE code = 'LATE')",
            [stock.pk],
        )
    run = inventory.stock_audit()
    assert list(run.findings.values_list("kind", "stock_id", "expected", "actual")) == [
        (StockAuditFinding.Kind.LOT_MISMATCH, stock.pk, 16, 14)
    ]


def test_audit_finds_lot_allocations_that_do_not_add_up(four_lots, warehouse):
    allocate(four_lots, warehouse, 2, "r1")
    stock = Stock.objects.get(variant=four_lots, warehouse=warehouse)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_lotstock SET allocated = 0 WHERE stock_id = %s", [stock.pk]
        )
    run = inventory.stock_audit()
    assert list(run.findings.values_list("kind", "expected", "actual")) == [
        (StockAuditFinding.Kind.LOT_MISMATCH, 0, 2)
    ]


def expiring_alerts() -> list[tuple[int, int]]:
    return list(
        StockAlert.objects.filter(
            kind=StockAlert.Kind.EXPIRING, resolved_at__isnull=True
        ).values_list("stock_id", "threshold")
    )


def test_the_expiring_alert_opens_and_resolves(lot_variant, warehouse, admin_user, settings):
    settings.EXPIRY_ALERT_DAYS = 30
    receive(lot_variant, warehouse, 5, "LATE", days(45))
    inventory.stock_alerts_refresh()
    assert expiring_alerts() == []
    receive(lot_variant, warehouse, 2, "SOON", days(20))
    result = inventory.stock_alerts_refresh()
    stock = Stock.objects.get(variant=lot_variant, warehouse=warehouse)
    assert result.opened[StockAlert.Kind.EXPIRING] == 1
    assert expiring_alerts() == [(stock.pk, 30)]
    inventory.stock_alerts_refresh()  # still true: the same alert stays open
    assert StockAlert.objects.filter(kind=StockAlert.Kind.EXPIRING).count() == 1
    inventory.dispose(
        variant=lot_variant,
        warehouse=warehouse,
        quantity=2,
        kind=MovementKind.DONATION,
        reason="short date",
        actor=admin_user,
        lot_code="SOON",
    )
    result = inventory.stock_alerts_refresh()
    assert result.resolved[StockAlert.Kind.EXPIRING] == 1
    assert expiring_alerts() == []


def test_an_expired_lot_with_stock_keeps_the_alert_open(four_lots, warehouse, settings):
    settings.EXPIRY_ALERT_DAYS = 3  # only GONE (expired) is within the window
    inventory.stock_alerts_refresh()
    assert len(expiring_alerts()) == 1


# --- query counts ------------------------------------------------------------------------------


def allocation_queries(lines) -> int:
    with CaptureQueriesContext(connection) as queries:
        inventory.allocate(lines=lines, reference=uuid.uuid4().hex, actor=None)
    return len(queries)


def test_lots_cost_a_constant_number_of_queries_whatever_the_lines_and_lots(warehouse, admin_user):
    product = ProductFactory()
    plain, tracked = [], []
    for i in range(5):
        plain.append(VariantFactory(product=product, sku=f"PLAIN-{i}"))
        receive(plain[-1], warehouse, 100, "")
        variant = VariantFactory(product=product, sku=f"LOT-{i}")
        inventory.variant_track_lots(variant, on=True, actor=admin_user)
        for n in range(5):  # five lots of 2 units each
            receive(variant, warehouse, 2, f"L{n}", days(10 + n))
        tracked.append(variant)

    def lines(variants, quantity=1):
        return [AllocationLine(v, warehouse, quantity) for v in variants]

    plain_two, plain_five = allocation_queries(lines(plain[:2])), allocation_queries(lines(plain))
    lots_two, lots_five = allocation_queries(lines(tracked[:2])), allocation_queries(lines(tracked))
    lots_one = allocation_queries(lines(tracked[2:3]))
    # Five lot lines cost what five plain lines cost, plus the same three statements
    # (lock the lots, reserve them, record them) as two lot lines. (One plain line
    # on PostgreSQL is a single statement: see tests/inventory/test_allocation.py.)
    assert lots_two - plain_two == lots_five - plain_five == 3
    # Taking units from five lots costs what taking them from one lot does.
    assert allocation_queries(lines(tracked[:1], quantity=7)) == lots_one
    assert_lots_add_up()


# --- admin --------------------------------------------------------------------------------------


def test_admin_pages_show_the_lots(admin_client, four_lots, warehouse):
    allocation = allocate(four_lots, warehouse, 3, "r1")
    stock = Stock.objects.get(variant=four_lots, warehouse=warehouse)
    lots = admin_client.get(reverse("admin:inventory_lot_changelist"))
    assert lots.status_code == 200
    assert {(lot.code, lot._on_hand) for lot in lots.context["cl"].result_list} == {
        ("LATE", 5),
        ("MID", 3),
        ("SOON", 2),
        ("GONE", 4),
    }
    expired = admin_client.get(reverse("admin:inventory_lot_changelist") + "?expires=expired")
    assert [lot.code for lot in expired.context["cl"].result_list] == ["GONE"]
    page = admin_client.get(reverse("admin:inventory_stock_change", args=[stock.pk]))
    assert page.status_code == 200
    assert "SOON" in page.content.decode() and "LATE" in page.content.decode()
    moves = admin_client.get(reverse("admin:inventory_movement_changelist"))
    assert "GONE" in moves.content.decode()
    page = admin_client.get(reverse("admin:inventory_allocation_change", args=[allocation.pk]))
    assert page.status_code == 200
    variants = admin_client.get(
        reverse("admin:catalog_variant_changelist") + "?track_lots__exact=1"
    )
    assert [v.sku for v in variants.context["cl"].result_list] == ["YOG-1"]


def test_admin_adjust_action_takes_a_lot_code_and_expiry(admin_client, lot_variant, warehouse):
    receive(lot_variant, warehouse, 1, "L-1", days(9))
    stock = Stock.objects.get(variant=lot_variant)
    response = admin_client.post(
        reverse("admin:inventory_stock_changelist"),
        {
            "action": "adjust_action",
            "_selected_action": [stock.pk],
            "apply": "1",
            "submission_key": uuid.uuid4().hex,
            "quantity": 4,
            "reason": "found on the shelf",
            "lot_code": "L-9",
            "expiry": days(90).isoformat(),
        },
    )
    assert response.status_code == 302
    assert lot_levels(lot_variant, warehouse) == {"L-1": (1, 0), "L-9": (4, 0)}
    assert Lot.objects.get(code="L-9").expiry == days(90)
    # Without a lot code the service refuses, and the admin says why.
    response = admin_client.post(
        reverse("admin:inventory_stock_changelist"),
        {
            "action": "adjust_action",
            "_selected_action": [stock.pk],
            "apply": "1",
            "submission_key": uuid.uuid4().hex,
            "quantity": -1,
            "reason": "lost",
        },
        follow=True,
    )
    assert str(LOT_CODE_REQUIRED % {"sku": "YOG-1"}) in response.content.decode()
    assert lot_levels(lot_variant, warehouse) == {"L-1": (1, 0), "L-9": (4, 0)}


def test_admin_switches_lot_tracking_of_skus_without_stock(admin_client, stocked_variant):
    variant = VariantFactory(sku="EMPTY-1")
    url = reverse("admin:catalog_variant_changelist")
    response = admin_client.post(
        url, {"action": "track_lots_on", "_selected_action": [variant.pk]}, follow=True
    )
    assert "Lot tracking changed for 1 SKUs." in response.content.decode()
    assert Variant.objects.get(pk=variant.pk).track_lots is True
    response = admin_client.post(
        url,
        {"action": "track_lots_on", "_selected_action": [stocked_variant.pk]},
        follow=True,
    )
    message = LOT_SWITCH_HAS_STOCK % {"sku": "SHIRT-M", "on_hand": 10, "allocated": 0}
    assert str(message) in response.content.decode()
    assert Variant.objects.get(pk=stocked_variant.pk).track_lots is False


def test_the_adjust_form_page_shows_the_lot_fields(admin_client, lot_variant, warehouse):
    receive(lot_variant, warehouse, 1, "L-1", days(9))
    stock = Stock.objects.get(variant=lot_variant)
    page = admin_client.post(
        reverse("admin:inventory_stock_changelist"),
        {"action": "adjust_action", "_selected_action": [stock.pk]},
    )
    assert page.status_code == 200
    assert 'name="lot_code"' in page.content.decode()
    assert 'name="expiry"' in page.content.decode()


# --- concurrency (PostgreSQL, real threads) ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_clerks_allocating_a_lot_tracked_sku_never_oversell_a_lot(warehouse, admin_user):
    from .test_concurrency import assert_ledger_consistent, only_insufficient_stock, run_together

    variant = VariantFactory(product=ProductFactory(title="Milk"), sku="MILK-1")
    inventory.variant_track_lots(variant, on=True, actor=admin_user)
    receive(variant, warehouse, 7, "LATER", days(20))
    receive(variant, warehouse, 5, "SOON", days(10))
    receive(variant, warehouse, 4, "UNDATED")
    receive(variant, warehouse, 6, "GONE", days(2))
    expire(variant, "GONE", days(-1))  # 16 units may be sold, 22 are on hand

    results = run_together(
        40,
        prepare=lambda i: Variant.objects.get(pk=variant.pk),
        work=lambda i, fresh: inventory.allocate(
            lines=[AllocationLine(fresh, warehouse, 1 + i % 2)],
            reference=f"order-line:{i}",
            actor=None,
        ),
    )

    only_insufficient_stock(results)
    won = sum(1 + i % 2 for i, (status, _v) in enumerate(results) if status == "ok")
    # Every refusal saw too little left: at most one unit can stay unsold.
    assert won in (15, 16)
    levels = lot_levels(variant, warehouse)
    assert levels["GONE"] == (6, 0)
    assert levels["SOON"] == (5, 5) and levels["LATER"] == (7, 7)  # first expired, first out
    assert levels["UNDATED"] == (4, won - 12)
    assert Stock.objects.get(variant=variant).allocated == won
    assert_ledger_consistent()
    assert_lots_add_up()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lot_orders_in_opposite_orders_with_receipts_and_shipments_do_not_deadlock(
    warehouse, admin_user
):
    from .test_concurrency import assert_ledger_consistent, only_insufficient_stock, run_together

    first = VariantFactory(product=ProductFactory(title="Left"), sku="LEFT-L")
    second = VariantFactory(product=ProductFactory(title="Right"), sku="RIGHT-L")
    for variant in (first, second):
        inventory.variant_track_lots(variant, on=True, actor=admin_user)
        receive(variant, warehouse, 6, "A", days(10))
        receive(variant, warehouse, 6, "B", days(30))
    shipped = allocate(first, warehouse, 2, "to-ship")

    def prepare(i):
        return Variant.objects.get(pk=first.pk), Variant.objects.get(pk=second.pk)

    def work(i, fresh):
        a, b = fresh
        if i == 0:
            return inventory.ship(allocation=shipped, actor=None)
        if i % 6 == 1:  # receipts into a new and a known lot while others allocate
            return receive(a if i % 12 == 1 else b, warehouse, 2, f"NEW-{i % 2}", days(60))
        lines = [(a, 1), (b, 2)] if i % 2 else [(b, 2), (a, 1)]
        return inventory.allocate(
            lines=[AllocationLine(v, warehouse, q) for v, q in lines],
            reference=f"order:{i}",
            actor=None,
        )

    results = run_together(24, prepare=prepare, work=work)

    only_insufficient_stock(results)
    assert results[0][0] == "ok"
    assert all(results[i][0] == "ok" for i in range(1, 24) if i % 6 == 1)
    assert_ledger_consistent()
    assert_lots_add_up()
    for stock in Stock.objects.all():
        assert stock.allocated == sum(stock.allocations.values_list("quantity", flat=True)), stock
