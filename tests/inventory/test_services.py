"""The stock services: every level change goes through them and lands in the ledger.

Each bad input is its own test: the exact message, and nothing changed.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from backoffice.errors import DuplicateSubmission
from backoffice.models import SubmissionKey
from backoffice.services import ALREADY_SUBMITTED
from catalog import services as catalog
from catalog.models import ListingEvent, ListingStatus, Product
from inventory import services as inventory
from inventory.exceptions import InsufficientStock, InvalidOperation, InvalidQuantity
from inventory.models import (
    LEDGER_IS_APPEND_ONLY,
    Allocation,
    ImmutableLedger,
    Movement,
    MovementKind,
    Stock,
)
from inventory.services import (
    ADJUSTMENT_ZERO,
    ALREADY_ALLOCATED,
    BACKORDERS_IN_USE,
    DISPOSE_NOT_DELISTED,
    INSUFFICIENT_LINE,
    INSUFFICIENT_STOCK,
    NOT_SELLABLE,
    OVER_RELEASE,
    QUANTITY_NOT_POSITIVE,
    REASON_REQUIRED,
    REFERENCE_REQUIRED,
    RESTOCK_DELISTED,
    RESTOCK_NO_VARIANTS,
    SAME_WAREHOUSE,
    SHIP_BEYOND_ON_HAND,
    UNKNOWN_DISPOSITION,
    WAREHOUSE_INACTIVE,
    AllocationLine,
    BulkResult,
)

from ..factories import ProductFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

# Not whole numbers above zero: each is refused with QUANTITY_NOT_POSITIVE.
BAD_QUANTITIES = [0, -3, 2.5, "5", None, True]


def level(variant, warehouse) -> tuple[int, int] | None:
    """(on hand, allocated) of one stock row, or None when there is no row."""
    return (
        Stock.objects.filter(variant=variant, warehouse=warehouse)
        .values_list("on_hand", "allocated")
        .first()
    )


def ledger_total(variant, warehouse) -> int:
    total = Movement.objects.filter(stock__variant=variant, stock__warehouse=warehouse).aggregate(
        s=Sum("quantity")
    )["s"]
    return total or 0


def insufficient(*lines: dict) -> str:
    text = "; ".join(str(INSUFFICIENT_LINE % line) for line in lines)
    return str(INSUFFICIENT_STOCK % {"lines": text})


def refused(snapshot, error, message, call):
    """Run ``call``; it must raise ``error`` with ``message`` and change nothing."""
    before = snapshot()
    with pytest.raises(error) as excinfo:
        call()
    assert str(excinfo.value) == str(message)
    assert excinfo.value.message == str(message)
    assert snapshot() == before
    return excinfo.value


@pytest.fixture
def inactive_warehouse(db):
    return WarehouseFactory(code="OLD", name="Closed warehouse", is_active=False)


@pytest.fixture
def allocation(stocked_variant, warehouse, admin_user):
    """5 of the 10 units reserved for one order line."""
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 5)],
        reference="order-line:1",
        actor=admin_user,
    )
    return allocation


# --- receive ------------------------------------------------------------------


def test_receive_adds_on_hand_and_writes_one_receipt(variant, warehouse, admin_user):
    movement = inventory.receive(
        variant=variant,
        warehouse=warehouse,
        quantity=7,
        actor=admin_user,
        reason="supplier delivery",
        reference="PO-1/1",
    )
    assert level(variant, warehouse) == (7, 0)
    movement = Movement.objects.get()
    assert movement.kind == MovementKind.RECEIPT
    assert movement.quantity == 7
    assert movement.on_hand_after == 7
    assert movement.reason == "supplier delivery"
    assert movement.reference == "PO-1/1"
    assert movement.actor == admin_user
    assert movement.created_at is not None


def test_receive_adds_to_an_existing_row(stocked_variant, warehouse, admin_user):
    movement = inventory.receive(
        variant=stocked_variant, warehouse=warehouse, quantity=3, actor=admin_user
    )
    assert level(stocked_variant, warehouse) == (13, 0)
    assert movement.on_hand_after == 13
    assert Stock.objects.count() == 1
    assert list(Movement.objects.order_by("pk").values_list("quantity", "on_hand_after")) == [
        (10, 10),
        (3, 13),
    ]


def test_receive_a_customer_return(stocked_variant, warehouse, admin_user):
    movement = inventory.receive(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=1,
        actor=admin_user,
        kind=MovementKind.RETURN,
        reference="RMA-7",
    )
    assert movement.kind == MovementKind.RETURN
    assert level(stocked_variant, warehouse) == (11, 0)


def test_receive_refuses_other_movement_kinds(snapshot, stocked_variant, warehouse, admin_user):
    refused(
        snapshot,
        InvalidOperation,
        "receive() takes receipts and returns only.",
        lambda: inventory.receive(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=1,
            actor=admin_user,
            kind=MovementKind.ADJUSTMENT,
        ),
    )


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_receive_refuses_a_bad_quantity(snapshot, stocked_variant, warehouse, admin_user, quantity):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.receive(
            variant=stocked_variant, warehouse=warehouse, quantity=quantity, actor=admin_user
        ),
    )


def test_receive_into_an_inactive_warehouse_is_refused(
    snapshot, variant, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.receive(
            variant=variant, warehouse=inactive_warehouse, quantity=5, actor=admin_user
        ),
    )
    assert level(variant, inactive_warehouse) is None


# --- adjust ---------------------------------------------------------------------


def test_adjust_up_adds_units_with_the_reason(stocked_variant, warehouse, admin_user):
    movement = inventory.adjust(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=3,
        reason="found behind the shelf",
        actor=admin_user,
    )
    assert level(stocked_variant, warehouse) == (13, 0)
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.ADJUSTMENT,
        3,
        13,
    )
    assert movement.reason == "found behind the shelf"
    assert ledger_total(stocked_variant, warehouse) == 13


def test_adjust_down_removes_free_units(stocked_variant, warehouse, admin_user):
    movement = inventory.adjust(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=-4,
        reason="damaged",
        actor=admin_user,
    )
    assert level(stocked_variant, warehouse) == (6, 0)
    assert (movement.quantity, movement.on_hand_after) == (-4, 6)
    assert ledger_total(stocked_variant, warehouse) == 6


def test_adjust_down_to_zero(stocked_variant, warehouse, admin_user):
    inventory.adjust(
        variant=stocked_variant, warehouse=warehouse, quantity=-10, reason="lost", actor=admin_user
    )
    assert level(stocked_variant, warehouse) == (0, 0)


def test_adjust_by_zero_is_refused(snapshot, stocked_variant, warehouse, admin_user):
    refused(
        snapshot,
        InvalidQuantity,
        ADJUSTMENT_ZERO,
        lambda: inventory.adjust(
            variant=stocked_variant, warehouse=warehouse, quantity=0, reason="x", actor=admin_user
        ),
    )


@pytest.mark.parametrize("quantity", [2.5, "-3", None, False])
def test_adjust_by_a_non_integer_is_refused(
    snapshot, stocked_variant, warehouse, admin_user, quantity
):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.adjust(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=quantity,
            reason="x",
            actor=admin_user,
        ),
    )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_adjust_without_a_reason_is_refused(
    snapshot, stocked_variant, warehouse, admin_user, reason
):
    refused(
        snapshot,
        InvalidOperation,
        REASON_REQUIRED % {"operation": "adjustment"},
        lambda: inventory.adjust(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=-1,
            reason=reason,
            actor=admin_user,
        ),
    )


def test_adjust_cannot_remove_allocated_units(
    snapshot, allocation, stocked_variant, warehouse, admin_user
):
    # 10 on hand, 5 allocated: only 5 may go.
    refused(
        snapshot,
        InsufficientStock,
        insufficient({"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 6, "available": 5}),
        lambda: inventory.adjust(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=-6,
            reason="damaged",
            actor=admin_user,
        ),
    )
    assert level(stocked_variant, warehouse) == (10, 5)


def test_adjust_cannot_remove_more_than_on_hand(snapshot, stocked_variant, warehouse, admin_user):
    error = refused(
        snapshot,
        InsufficientStock,
        "Insufficient stock: SHIRT-M at MAIN: requested 11, available 10.",
        lambda: inventory.adjust(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=-11,
            reason="lost",
            actor=admin_user,
        ),
    )
    assert error.lines == [
        {"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 11, "available": 10}
    ]


def test_adjust_in_an_inactive_warehouse_is_refused(
    snapshot, variant, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.adjust(
            variant=variant,
            warehouse=inactive_warehouse,
            quantity=2,
            reason="found",
            actor=admin_user,
        ),
    )


# --- dispose --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [MovementKind.DISPOSAL, MovementKind.DONATION, MovementKind.RETURN_TO_SUPPLIER]
)
def test_dispose_takes_free_units_out(stocked_variant, warehouse, admin_user, kind):
    movement = inventory.dispose(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=4,
        kind=kind,
        reason="water damage",
        actor=admin_user,
        reference="QC-9",
    )
    assert level(stocked_variant, warehouse) == (6, 0)
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (kind, -4, 6)
    assert (movement.reason, movement.reference) == ("water damage", "QC-9")
    assert ledger_total(stocked_variant, warehouse) == 6


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_dispose_refuses_a_bad_quantity(snapshot, stocked_variant, warehouse, admin_user, quantity):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.dispose(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=quantity,
            kind=MovementKind.DISPOSAL,
            reason="broken",
            actor=admin_user,
        ),
    )


@pytest.mark.parametrize("kind", ["burn", MovementKind.RECEIPT, MovementKind.SHIPMENT, ""])
def test_dispose_refuses_an_unknown_disposition(
    snapshot, stocked_variant, warehouse, admin_user, kind
):
    refused(
        snapshot,
        InvalidOperation,
        UNKNOWN_DISPOSITION % {"disposition": kind},
        lambda: inventory.dispose(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=1,
            kind=kind,
            reason="broken",
            actor=admin_user,
        ),
    )


def test_dispose_without_a_reason_is_refused(snapshot, stocked_variant, warehouse, admin_user):
    refused(
        snapshot,
        InvalidOperation,
        REASON_REQUIRED % {"operation": "disposal"},
        lambda: inventory.dispose(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=1,
            kind=MovementKind.DISPOSAL,
            reason=" ",
            actor=admin_user,
        ),
    )


def test_dispose_cannot_take_allocated_units(
    snapshot, allocation, stocked_variant, warehouse, admin_user
):
    refused(
        snapshot,
        InsufficientStock,
        insufficient({"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 8, "available": 5}),
        lambda: inventory.dispose(
            variant=stocked_variant,
            warehouse=warehouse,
            quantity=8,
            kind=MovementKind.DISPOSAL,
            reason="broken",
            actor=admin_user,
        ),
    )


def test_dispose_in_an_inactive_warehouse_is_refused(
    snapshot, variant, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.dispose(
            variant=variant,
            warehouse=inactive_warehouse,
            quantity=1,
            kind=MovementKind.DISPOSAL,
            reason="broken",
            actor=admin_user,
        ),
    )


# --- transfer -------------------------------------------------------------------


def test_transfer_moves_units_as_a_pair_of_movements(
    stocked_variant, warehouse, other_warehouse, admin_user
):
    out_move, in_move = inventory.transfer(
        variant=stocked_variant,
        source=warehouse,
        destination=other_warehouse,
        quantity=4,
        actor=admin_user,
        reference="TR-1",
    )
    assert level(stocked_variant, warehouse) == (6, 0)
    assert level(stocked_variant, other_warehouse) == (4, 0)
    assert (out_move.kind, out_move.quantity, out_move.on_hand_after) == (
        MovementKind.TRANSFER_OUT,
        -4,
        6,
    )
    assert (in_move.kind, in_move.quantity, in_move.on_hand_after) == (
        MovementKind.TRANSFER_IN,
        4,
        4,
    )
    assert out_move.batch is not None and out_move.batch == in_move.batch
    assert out_move.reference == in_move.reference == "TR-1"
    assert ledger_total(stocked_variant, warehouse) == 6
    assert ledger_total(stocked_variant, other_warehouse) == 4


def test_transfer_back_and_forth_keeps_the_total(
    stocked_variant, warehouse, other_warehouse, admin_user
):
    inventory.transfer(
        variant=stocked_variant,
        source=warehouse,
        destination=other_warehouse,
        quantity=10,
        actor=admin_user,
    )
    inventory.transfer(
        variant=stocked_variant,
        source=other_warehouse,
        destination=warehouse,
        quantity=3,
        actor=admin_user,
    )
    assert level(stocked_variant, warehouse) == (3, 0)
    assert level(stocked_variant, other_warehouse) == (7, 0)
    assert Movement.objects.count() == 5


def test_transfer_to_the_same_warehouse_is_refused(
    snapshot, stocked_variant, warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        SAME_WAREHOUSE,
        lambda: inventory.transfer(
            variant=stocked_variant,
            source=warehouse,
            destination=warehouse,
            quantity=1,
            actor=admin_user,
        ),
    )


def test_transfer_to_an_inactive_warehouse_is_refused(
    snapshot, stocked_variant, warehouse, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.transfer(
            variant=stocked_variant,
            source=warehouse,
            destination=inactive_warehouse,
            quantity=1,
            actor=admin_user,
        ),
    )
    assert level(stocked_variant, inactive_warehouse) is None


def test_transfer_from_an_inactive_warehouse_is_refused(
    snapshot, stocked_variant, warehouse, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.transfer(
            variant=stocked_variant,
            source=inactive_warehouse,
            destination=warehouse,
            quantity=1,
            actor=admin_user,
        ),
    )


def test_transfer_of_allocated_units_is_refused(
    snapshot, allocation, stocked_variant, warehouse, other_warehouse, admin_user
):
    refused(
        snapshot,
        InsufficientStock,
        insufficient({"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 6, "available": 5}),
        lambda: inventory.transfer(
            variant=stocked_variant,
            source=warehouse,
            destination=other_warehouse,
            quantity=6,
            actor=admin_user,
        ),
    )
    # The destination row the transfer would have opened was rolled back too.
    assert level(stocked_variant, other_warehouse) is None


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_transfer_refuses_a_bad_quantity(
    snapshot, stocked_variant, warehouse, other_warehouse, admin_user, quantity
):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.transfer(
            variant=stocked_variant,
            source=warehouse,
            destination=other_warehouse,
            quantity=quantity,
            actor=admin_user,
        ),
    )


# --- allocate -------------------------------------------------------------------


def test_allocate_reserves_without_a_movement(stocked_variant, warehouse, admin_user):
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 3)],
        reference="order-line:9",
        actor=admin_user,
    )
    assert level(stocked_variant, warehouse) == (10, 3)
    allocation = Allocation.objects.get()
    assert (allocation.reference, allocation.quantity, allocation.allocated_quantity) == (
        "order-line:9",
        3,
        3,
    )
    assert allocation.actor == admin_user
    assert Movement.objects.count() == 1  # the opening receipt only


def test_allocate_sums_lines_of_the_same_stock_row(stocked_variant, warehouse, admin_user):
    allocations = inventory.allocate(
        lines=[
            AllocationLine(stocked_variant, warehouse, 2),
            AllocationLine(stocked_variant, warehouse, 3),
        ],
        reference="order-line:9",
        actor=admin_user,
    )
    assert len(allocations) == 1
    assert level(stocked_variant, warehouse) == (10, 5)
    assert Allocation.objects.get().quantity == 5


def test_allocate_several_rows_at_once(stocked_variant, warehouse, other_warehouse, admin_user):
    other = VariantFactory(product=stocked_variant.product, sku="SHIRT-L")
    inventory.receive(variant=other, warehouse=other_warehouse, quantity=4, actor=admin_user)
    allocations = inventory.allocate(
        lines=[
            AllocationLine(other, other_warehouse, 4),
            AllocationLine(stocked_variant, warehouse, 10),
        ],
        reference="order-line:9",
        actor=admin_user,
    )
    assert len(allocations) == 2
    assert level(stocked_variant, warehouse) == (10, 10)
    assert level(other, other_warehouse) == (4, 4)


def test_allocate_the_last_unit_exactly(stocked_variant, warehouse, admin_user):
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 10)], reference="r1", actor=admin_user
    )
    assert level(stocked_variant, warehouse) == (10, 10)


def test_allocate_more_than_available_is_refused(snapshot, allocation, stocked_variant, warehouse):
    error = refused(
        snapshot,
        InsufficientStock,
        "Insufficient stock: SHIRT-M at MAIN: requested 6, available 5.",
        lambda: inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 6)], reference="r2", actor=None
        ),
    )
    assert error.lines == [{"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 6, "available": 5}]


def test_allocate_lists_every_short_line_and_allocates_none(
    snapshot, stocked_variant, warehouse, other_warehouse, admin_user
):
    other = VariantFactory(product=stocked_variant.product, sku="SHIRT-L")
    inventory.receive(variant=other, warehouse=warehouse, quantity=2, actor=admin_user)
    third = VariantFactory(product=stocked_variant.product, sku="SHIRT-S")
    inventory.receive(variant=third, warehouse=warehouse, quantity=9, actor=admin_user)
    lines = [
        AllocationLine(stocked_variant, warehouse, 11),
        AllocationLine(third, warehouse, 1),  # fits, but must not be taken alone
        AllocationLine(other, warehouse, 3),
    ]
    error = refused(
        snapshot,
        InsufficientStock,
        insufficient(
            {"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 11, "available": 10},
            {"sku": "SHIRT-L", "warehouse": "MAIN", "requested": 3, "available": 2},
        ),
        lambda: inventory.allocate(lines=lines, reference="r1", actor=admin_user),
    )
    assert [line["sku"] for line in error.lines] == ["SHIRT-M", "SHIRT-L"]
    assert level(third, warehouse) == (9, 0)


def test_allocate_where_nothing_was_ever_received_is_refused(
    snapshot, variant, warehouse, admin_user
):
    refused(
        snapshot,
        InsufficientStock,
        insufficient({"sku": "SHIRT-M", "warehouse": "MAIN", "requested": 1, "available": 0}),
        lambda: inventory.allocate(
            lines=[AllocationLine(variant, warehouse, 1)], reference="r1", actor=admin_user
        ),
    )
    assert level(variant, warehouse) is None


@pytest.mark.parametrize("reference", ["", "   ", None])
def test_allocate_without_a_reference_is_refused(
    snapshot, stocked_variant, warehouse, admin_user, reference
):
    refused(
        snapshot,
        InvalidOperation,
        REFERENCE_REQUIRED,
        lambda: inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 1)],
            reference=reference,
            actor=admin_user,
        ),
    )


def test_allocate_without_lines_is_refused(snapshot, stocked_variant, admin_user):
    refused(
        snapshot,
        InvalidOperation,
        "Nothing to allocate: no lines were given.",
        lambda: inventory.allocate(lines=[], reference="r1", actor=admin_user),
    )


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_allocate_refuses_a_bad_quantity(
    snapshot, stocked_variant, warehouse, admin_user, quantity
):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, quantity)],
            reference="r1",
            actor=admin_user,
        ),
    )


def test_allocate_refuses_a_bad_line_among_good_ones(
    snapshot, stocked_variant, warehouse, admin_user
):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": -1},
        lambda: inventory.allocate(
            lines=[
                AllocationLine(stocked_variant, warehouse, 2),
                AllocationLine(stocked_variant, warehouse, -1),
            ],
            reference="r1",
            actor=admin_user,
        ),
    )


def test_allocate_in_an_inactive_warehouse_is_refused(
    snapshot, variant, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.allocate(
            lines=[AllocationLine(variant, inactive_warehouse, 1)],
            reference="r1",
            actor=admin_user,
        ),
    )


def test_allocate_for_a_delisted_product_is_refused(
    snapshot, stocked_variant, warehouse, admin_user
):
    catalog.delist(
        products=Product.objects.filter(pk=stocked_variant.product_id),
        reason="obsolete",
        actor=admin_user,
    )
    variant = type(stocked_variant).objects.select_related("product").get(pk=stocked_variant.pk)
    refused(
        snapshot,
        InvalidOperation,
        NOT_SELLABLE % {"sku": "SHIRT-M", "status": "Delisted"},
        lambda: inventory.allocate(
            lines=[AllocationLine(variant, warehouse, 1)], reference="r1", actor=admin_user
        ),
    )
    assert level(variant, warehouse) == (10, 0)


def test_allocate_with_a_copy_loaded_before_the_delisting_is_refused(
    snapshot, stocked_variant, warehouse, admin_user
):
    # The door loaded the variant (and its product, on sale) before someone delisted it.
    assert stocked_variant.product.status == ListingStatus.ON_SALE
    catalog.delist(
        products=Product.objects.filter(pk=stocked_variant.product_id),
        reason="quality",
        actor=admin_user,
    )
    refused(
        snapshot,
        InvalidOperation,
        NOT_SELLABLE % {"sku": "SHIRT-M", "status": "Delisted"},
        lambda: inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 1)], reference="r1", actor=admin_user
        ),
    )


def test_allocate_for_a_draft_product_is_refused(snapshot, warehouse, admin_user):
    draft = VariantFactory(product=ProductFactory(status=ListingStatus.DRAFT), sku="NEW-1")
    inventory.receive(variant=draft, warehouse=warehouse, quantity=5, actor=admin_user)
    refused(
        snapshot,
        InvalidOperation,
        NOT_SELLABLE % {"sku": "NEW-1", "status": "Draft"},
        lambda: inventory.allocate(
            lines=[AllocationLine(draft, warehouse, 1)], reference="r1", actor=admin_user
        ),
    )


def test_allocate_for_a_sold_out_product_with_backorders_is_allowed(variant, warehouse, admin_user):
    inventory.set_backorders(
        variants=type(variant).objects.filter(pk=variant.pk), allowed=True, actor=admin_user
    )
    variant.refresh_from_db()
    inventory.allocate(
        lines=[AllocationLine(variant, warehouse, 3)], reference="pre-sale:1", actor=admin_user
    )
    stock = Stock.objects.get(variant=variant, warehouse=warehouse)
    assert (stock.on_hand, stock.allocated, stock.backorders_allowed) == (0, 3, True)


def test_allocate_with_a_reference_already_used_is_refused(
    snapshot, allocation, stocked_variant, warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        ALREADY_ALLOCATED % {"reference": "order-line:1"},
        lambda: inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 1)],
            reference="order-line:1",
            actor=admin_user,
        ),
    )
    assert level(stocked_variant, warehouse) == (10, 5)


# --- release ---------------------------------------------------------------------


def test_release_gives_back_everything_left_by_default(
    allocation, stocked_variant, warehouse, admin_user
):
    assert inventory.release(allocation=allocation, actor=admin_user) == 5
    assert level(stocked_variant, warehouse) == (10, 0)
    allocation.refresh_from_db()
    assert (allocation.quantity, allocation.allocated_quantity) == (0, 5)
    assert Movement.objects.count() == 1


def test_release_part(allocation, stocked_variant, warehouse, admin_user):
    assert inventory.release(allocation=allocation, actor=admin_user, quantity=2) == 2
    assert level(stocked_variant, warehouse) == (10, 3)
    assert Allocation.objects.get().quantity == 3


def test_release_more_than_allocated_is_refused(snapshot, allocation, admin_user):
    refused(
        snapshot,
        InvalidOperation,
        OVER_RELEASE % {"quantity": 6, "reference": "order-line:1", "left": 5},
        lambda: inventory.release(allocation=allocation, actor=admin_user, quantity=6),
    )


def test_release_with_a_stale_allocation_is_refused(snapshot, allocation, admin_user):
    # Another door released 4 units meanwhile; this copy still says 5.
    inventory.release(
        allocation=Allocation.objects.get(pk=allocation.pk), actor=admin_user, quantity=4
    )
    refused(
        snapshot,
        InvalidOperation,
        OVER_RELEASE % {"quantity": 5, "reference": "order-line:1", "left": 1},
        lambda: inventory.release(allocation=allocation, actor=admin_user),
    )


def test_release_of_a_fully_released_allocation_is_refused(snapshot, allocation, admin_user):
    inventory.release(allocation=allocation, actor=admin_user)
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": 0},
        lambda: inventory.release(allocation=allocation, actor=admin_user),
    )


@pytest.mark.parametrize("quantity", [0, -2, 1.5, "1"])
def test_release_refuses_a_bad_quantity(snapshot, allocation, admin_user, quantity):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.release(allocation=allocation, actor=admin_user, quantity=quantity),
    )


# --- ship ----------------------------------------------------------------------------


def test_ship_lowers_on_hand_and_allocated(allocation, stocked_variant, warehouse, admin_user):
    movement = inventory.ship(allocation=allocation, actor=admin_user, quantity=3)
    assert level(stocked_variant, warehouse) == (7, 2)
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.SHIPMENT,
        -3,
        7,
    )
    assert movement.reference == "order-line:1"
    assert movement.actor == admin_user
    assert Allocation.objects.get().quantity == 2
    assert ledger_total(stocked_variant, warehouse) == 7


def test_ship_the_rest_by_default_with_a_reference(
    allocation, stocked_variant, warehouse, admin_user
):
    movement = inventory.ship(allocation=allocation, actor=admin_user, reference="SO-1")
    assert movement.quantity == -5
    assert movement.reference == "SO-1"
    assert level(stocked_variant, warehouse) == (5, 0)
    assert Allocation.objects.get().quantity == 0


def test_ship_more_than_allocated_is_refused(snapshot, allocation, admin_user):
    refused(
        snapshot,
        InvalidOperation,
        OVER_RELEASE % {"quantity": 6, "reference": "order-line:1", "left": 5},
        lambda: inventory.ship(allocation=allocation, actor=admin_user, quantity=6),
    )


@pytest.mark.parametrize("quantity", [0, -2, 1.5])
def test_ship_refuses_a_bad_quantity(snapshot, allocation, admin_user, quantity):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.ship(allocation=allocation, actor=admin_user, quantity=quantity),
    )


def test_ship_a_backorder_beyond_on_hand_is_refused(
    snapshot, stocked_variant, warehouse, admin_user
):
    inventory.set_backorders(
        variants=type(stocked_variant).objects.filter(pk=stocked_variant.pk),
        allowed=True,
        actor=admin_user,
    )
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 12)], reference="pre:1", actor=admin_user
    )
    assert level(stocked_variant, warehouse) == (10, 12)
    refused(
        snapshot,
        InsufficientStock,
        SHIP_BEYOND_ON_HAND
        % {"quantity": 12, "sku": "SHIRT-M", "warehouse": "MAIN", "on_hand": 10},
        lambda: inventory.ship(allocation=allocation, actor=admin_user),
    )
    # The refused call leaves the caller's copy as it was, so a retry sees the truth.
    assert allocation.quantity == 12
    inventory.receive(variant=stocked_variant, warehouse=warehouse, quantity=2, actor=admin_user)
    inventory.ship(allocation=allocation, actor=admin_user)
    assert level(stocked_variant, warehouse) == (0, 0)


# --- set_backorders -----------------------------------------------------------------


def test_set_backorders_keeps_every_stock_row_in_step(
    stocked_variant, warehouse, other_warehouse, admin_user
):
    inventory.receive(
        variant=stocked_variant, warehouse=other_warehouse, quantity=1, actor=admin_user
    )
    variants = type(stocked_variant).objects.filter(pk=stocked_variant.pk)
    assert inventory.set_backorders(variants=variants, allowed=True, actor=admin_user) == 1
    stocked_variant.refresh_from_db()
    assert stocked_variant.allow_backorder is True
    assert set(Stock.objects.values_list("backorders_allowed", flat=True)) == {True}
    # Already allowed: nothing to change.
    assert inventory.set_backorders(variants=variants, allowed=True, actor=admin_user) == 0
    assert inventory.set_backorders(variants=variants, allowed=False, actor=admin_user) == 1
    assert set(Stock.objects.values_list("backorders_allowed", flat=True)) == {False}


@pytest.mark.parametrize("allowed", [True, False])
def test_a_new_stock_row_takes_the_backorder_flag_from_the_database(
    variant, warehouse, other_warehouse, admin_user, allowed
):
    # ``variant`` is a copy loaded before the flag was changed by another door.
    inventory.set_backorders(
        variants=type(variant).objects.filter(pk=variant.pk), allowed=not allowed, actor=admin_user
    )
    stale = type(variant).objects.get(pk=variant.pk)
    inventory.set_backorders(
        variants=type(variant).objects.filter(pk=variant.pk), allowed=allowed, actor=admin_user
    )
    inventory.receive(variant=stale, warehouse=warehouse, quantity=1, actor=admin_user)
    assert Stock.objects.get(variant=variant, warehouse=warehouse).backorders_allowed is allowed
    if allowed:
        inventory.allocate(
            lines=[AllocationLine(stale, other_warehouse, 2)], reference="pre:1", actor=admin_user
        )
        assert level(variant, other_warehouse) == (0, 2)
    else:
        with pytest.raises(InsufficientStock):
            inventory.allocate(
                lines=[AllocationLine(stale, other_warehouse, 2)],
                reference="pre:1",
                actor=admin_user,
            )
        assert level(variant, other_warehouse) is None


def test_stopping_backorders_while_oversold_is_refused(
    snapshot, stocked_variant, warehouse, admin_user
):
    variants = type(stocked_variant).objects.filter(pk=stocked_variant.pk)
    inventory.set_backorders(variants=variants, allowed=True, actor=admin_user)
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 11)], reference="pre:1", actor=admin_user
    )
    refused(
        snapshot,
        InvalidOperation,
        BACKORDERS_IN_USE % {"skus": "SHIRT-M"},
        lambda: inventory.set_backorders(variants=variants, allowed=False, actor=admin_user),
    )
    assert Stock.objects.get().backorders_allowed is True


# --- restock_products ------------------------------------------------------------------


@pytest.fixture
def shirts(stocked_variant):
    """Two products: the shirt (stocked, plus a second size and an inactive one) and a cap."""
    shirt = stocked_variant.product
    VariantFactory(product=shirt, sku="SHIRT-L")
    VariantFactory(product=shirt, sku="SHIRT-XXL", is_active=False)
    cap = ProductFactory(title="Cap")
    VariantFactory(product=cap, sku="CAP-1")
    return Product.objects.filter(pk__in=[shirt.pk, cap.pk])


def test_restock_products_receives_every_active_variant(shirts, warehouse, admin_user):
    result = inventory.restock_products(
        products=shirts, warehouse=warehouse, quantity=5, actor=admin_user, reason="delivery"
    )
    assert result == BulkResult(products=2, stock_rows=3, units=15)
    levels = dict(Stock.objects.filter(warehouse=warehouse).values_list("variant__sku", "on_hand"))
    assert levels == {"SHIRT-M": 15, "SHIRT-L": 5, "CAP-1": 5}
    receipts = Movement.objects.filter(kind=MovementKind.RECEIPT, quantity=5)
    assert receipts.count() == 3
    assert len({m.batch for m in receipts}) == 1
    assert {m.reason for m in receipts} == {"delivery"}
    assert {m.actor_id for m in receipts} == {admin_user.pk}
    assert all(m.reference.startswith("restock:") for m in receipts)
    assert sorted(receipts.values_list("stock__variant__sku", "on_hand_after")) == [
        ("CAP-1", 5),
        ("SHIRT-L", 5),
        ("SHIRT-M", 15),
    ]
    for stock in Stock.objects.all():
        assert stock.on_hand == ledger_total(stock.variant, stock.warehouse)


def test_restock_products_into_a_second_warehouse(shirts, other_warehouse, admin_user):
    inventory.restock_products(
        products=shirts, warehouse=other_warehouse, quantity=2, actor=admin_user
    )
    assert Stock.objects.filter(warehouse=other_warehouse).count() == 3
    assert set(
        Stock.objects.filter(warehouse=other_warehouse).values_list("on_hand", flat=True)
    ) == {2}
    assert Movement.objects.filter(reason="restock").count() == 3


def test_restock_of_a_delisted_product_is_refused(snapshot, shirts, warehouse, admin_user):
    catalog.delist(products=shirts.filter(title="Cap"), reason="seasonal", actor=admin_user)
    refused(
        snapshot,
        InvalidOperation,
        RESTOCK_DELISTED % {"count": 1, "titles": "Cap"},
        lambda: inventory.restock_products(
            products=shirts,
            warehouse=warehouse,
            quantity=5,
            actor=admin_user,
            submission_key="form-1",
        ),
    )
    # The refused call gave its one-time key back.
    assert not SubmissionKey.objects.filter(key="form-1").exists()


def test_restock_submitted_twice_changes_nothing_the_second_time(
    snapshot, shirts, warehouse, admin_user
):
    key = uuid.uuid4().hex
    inventory.restock_products(
        products=shirts, warehouse=warehouse, quantity=5, actor=admin_user, submission_key=key
    )
    refused(
        snapshot,
        DuplicateSubmission,
        ALREADY_SUBMITTED,
        lambda: inventory.restock_products(
            products=shirts, warehouse=warehouse, quantity=5, actor=admin_user, submission_key=key
        ),
    )
    assert Stock.objects.get(variant__sku="SHIRT-M").on_hand == 15


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_restock_refuses_a_bad_quantity(snapshot, shirts, warehouse, admin_user, quantity):
    refused(
        snapshot,
        InvalidQuantity,
        QUANTITY_NOT_POSITIVE % {"quantity": quantity},
        lambda: inventory.restock_products(
            products=shirts, warehouse=warehouse, quantity=quantity, actor=admin_user
        ),
    )


def test_restock_into_an_inactive_warehouse_is_refused(
    snapshot, shirts, inactive_warehouse, admin_user
):
    refused(
        snapshot,
        InvalidOperation,
        WAREHOUSE_INACTIVE % {"warehouse": "OLD"},
        lambda: inventory.restock_products(
            products=shirts, warehouse=inactive_warehouse, quantity=1, actor=admin_user
        ),
    )


def test_restock_of_products_without_active_variants_is_refused(snapshot, warehouse, admin_user):
    empty = ProductFactory(title="Empty")
    VariantFactory(product=empty, is_active=False)
    refused(
        snapshot,
        InvalidOperation,
        RESTOCK_NO_VARIANTS,
        lambda: inventory.restock_products(
            products=Product.objects.filter(pk=empty.pk),
            warehouse=warehouse,
            quantity=1,
            actor=admin_user,
            submission_key="k",
        ),
    )


# --- dispose_remaining -----------------------------------------------------------------


@pytest.fixture
def delisted_shirt(allocation, stocked_variant, other_warehouse, admin_user):
    """The shirt, delisted, with 10 on hand (5 still allocated) at MAIN and 3 at EAST."""
    inventory.receive(
        variant=stocked_variant, warehouse=other_warehouse, quantity=3, actor=admin_user
    )
    product = stocked_variant.product
    catalog.delist(
        products=Product.objects.filter(pk=product.pk),
        reason="supplier_discontinued",
        actor=admin_user,
    )
    return Product.objects.filter(pk=product.pk)


@pytest.mark.parametrize(
    ("disposition", "kind"),
    [
        ("return_to_supplier", MovementKind.RETURN_TO_SUPPLIER),
        ("donate", MovementKind.DONATION),
        ("scrap", MovementKind.DISPOSAL),
    ],
)
def test_dispose_remaining_takes_out_every_free_unit(
    delisted_shirt, stocked_variant, warehouse, other_warehouse, admin_user, disposition, kind
):
    result = inventory.dispose_remaining(
        products=delisted_shirt, disposition=disposition, actor=admin_user, note="RMA 42"
    )
    assert result == BulkResult(products=1, stock_rows=2, units=8)
    # The allocated units stay for the open order.
    assert level(stocked_variant, warehouse) == (5, 5)
    assert level(stocked_variant, other_warehouse) == (0, 0)
    moves = Movement.objects.filter(kind=kind).order_by("stock__warehouse__code")
    assert [(m.stock.warehouse.code, m.quantity, m.on_hand_after) for m in moves] == [
        ("EAST", -3, 0),
        ("MAIN", -5, 5),
    ]
    assert {m.reason for m in moves} == {"RMA 42"}
    assert {m.actor_id for m in moves} == {admin_user.pk}
    event = ListingEvent.objects.get(kind=ListingEvent.Kind.DISPOSITION)
    assert (event.reason, event.note, event.actor) == (disposition, "RMA 42", admin_user)
    for stock in Stock.objects.all():
        assert stock.on_hand == ledger_total(stock.variant, stock.warehouse)


def test_dispose_remaining_in_one_warehouse(
    delisted_shirt, stocked_variant, warehouse, other_warehouse, admin_user
):
    result = inventory.dispose_remaining(
        products=delisted_shirt, disposition="scrap", actor=admin_user, warehouse=other_warehouse
    )
    assert result == BulkResult(products=1, stock_rows=1, units=3)
    assert level(stocked_variant, warehouse) == (10, 5)
    assert level(stocked_variant, other_warehouse) == (0, 0)


def test_dispose_remaining_keep_records_the_decision_only(
    delisted_shirt, stocked_variant, warehouse, admin_user
):
    movements = Movement.objects.count()
    result = inventory.dispose_remaining(
        products=delisted_shirt, disposition="keep", actor=admin_user, note="relist in spring"
    )
    assert result == BulkResult(products=1, stock_rows=2, units=0)
    assert Movement.objects.count() == movements
    assert level(stocked_variant, warehouse) == (10, 5)
    event = ListingEvent.objects.get(kind=ListingEvent.Kind.DISPOSITION)
    assert (event.reason, event.note) == ("keep", "relist in spring")


def test_dispose_remaining_of_products_not_delisted_is_refused(
    snapshot, delisted_shirt, admin_user
):
    on_sale = ProductFactory(title="Cap")
    VariantFactory(product=on_sale)
    selection = Product.objects.filter(pk__in=[delisted_shirt.get().pk, on_sale.pk])
    refused(
        snapshot,
        InvalidOperation,
        DISPOSE_NOT_DELISTED % {"count": 1, "titles": "Cap"},
        lambda: inventory.dispose_remaining(
            products=selection, disposition="scrap", actor=admin_user, submission_key="k"
        ),
    )


@pytest.mark.parametrize("disposition", ["burn", "", "SCRAP", None])
def test_dispose_remaining_with_an_unknown_disposition_is_refused(
    snapshot, delisted_shirt, admin_user, disposition
):
    refused(
        snapshot,
        InvalidOperation,
        UNKNOWN_DISPOSITION % {"disposition": disposition},
        lambda: inventory.dispose_remaining(
            products=delisted_shirt, disposition=disposition, actor=admin_user
        ),
    )


def test_dispose_remaining_submitted_twice_changes_nothing_the_second_time(
    snapshot, delisted_shirt, admin_user
):
    inventory.dispose_remaining(
        products=delisted_shirt, disposition="donate", actor=admin_user, submission_key="form-7"
    )
    refused(
        snapshot,
        DuplicateSubmission,
        ALREADY_SUBMITTED,
        lambda: inventory.dispose_remaining(
            products=delisted_shirt,
            disposition="donate",
            actor=admin_user,
            submission_key="form-7",
        ),
    )


# --- the ledger is append-only -----------------------------------------------------------


def test_a_saved_movement_cannot_be_changed(snapshot, stocked_variant):
    movement = Movement.objects.get()
    movement.quantity = 99
    refused(snapshot, ImmutableLedger, LEDGER_IS_APPEND_ONLY, movement.save)


def test_a_movement_cannot_be_deleted(snapshot, stocked_variant):
    refused(snapshot, ImmutableLedger, LEDGER_IS_APPEND_ONLY, Movement.objects.get().delete)


def test_movements_cannot_be_updated_in_bulk(snapshot, stocked_variant):
    refused(
        snapshot,
        ImmutableLedger,
        LEDGER_IS_APPEND_ONLY,
        lambda: Movement.objects.filter(quantity=10).update(quantity=1),
    )


def test_movements_cannot_be_deleted_in_bulk(snapshot, stocked_variant):
    refused(snapshot, ImmutableLedger, LEDGER_IS_APPEND_ONLY, Movement.objects.all().delete)


def test_movements_cannot_be_bulk_updated(snapshot, stocked_variant):
    movement = Movement.objects.get()
    movement.quantity = 1
    refused(
        snapshot,
        ImmutableLedger,
        LEDGER_IS_APPEND_ONLY,
        lambda: Movement.objects.bulk_update([movement], ["quantity"]),
    )


# --- the database is the last line -------------------------------------------------------


def _raw_stock_update(assignments: str, stock_id: int, *params) -> None:
    """Write a level behind the services' back, as a buggy script or a bad migration would."""
    table = connection.ops.quote_name(Stock._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*params, stock_id])


@pytest.mark.parametrize(
    "assignments",
    [
        "on_hand = -1",
        "on_hand = -1, allocated = 0",
        "allocated = -1",
        "allocated = on_hand + 1",
        "on_hand = 4, allocated = 5",
    ],
)
def test_the_database_refuses_impossible_levels(snapshot, stocked_variant, warehouse, assignments):
    stock = Stock.objects.get(variant=stocked_variant, warehouse=warehouse)
    before = snapshot()
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_stock_update(assignments, stock.pk)
    assert snapshot() == before


def test_the_database_allows_more_allocated_than_on_hand_with_backorders(
    stocked_variant, warehouse
):
    stock = Stock.objects.get(variant=stocked_variant, warehouse=warehouse)
    with transaction.atomic():
        _raw_stock_update("backorders_allowed = %s, allocated = on_hand + 1", stock.pk, True)
    assert level(stocked_variant, warehouse) == (10, 11)


def test_the_database_refuses_a_zero_movement(snapshot, stocked_variant):
    stock = Stock.objects.get()
    before = snapshot()
    with pytest.raises(IntegrityError), transaction.atomic():
        Movement.objects.create(
            stock=stock,
            kind=MovementKind.ADJUSTMENT,
            quantity=0,
            on_hand_after=10,
            created_at=Movement.objects.get().created_at,
        )
    assert snapshot() == before


def test_the_database_refuses_a_second_stock_row_for_the_same_sku(
    snapshot, stocked_variant, warehouse
):
    before = snapshot()
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.create(variant=stocked_variant, warehouse=warehouse)
    assert snapshot() == before
