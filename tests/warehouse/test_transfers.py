"""Transfers through the services: in transit, conserved, received once, and every refusal."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from catalog.models import Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Movement, MovementKind, Stock
from warehouse import selectors, services
from warehouse.exceptions import InvalidTransition, WarehouseError
from warehouse.models import Transfer

from ..factories import WarehouseFactory, transfer
from .conftest import level, stocked

pytestmark = pytest.mark.django_db


def available(variant, warehouse) -> int:
    on_hand, allocated = level(variant, warehouse)
    return on_hand - allocated


def everywhere(variant) -> int:
    return Stock.objects.filter(variant=variant).aggregate(s=Sum("on_hand", default=0))["s"]


def receipt(tr, **by_sku):
    """{line id: LineReceipt} from ``SKU=(received, reason)`` or ``SKU=received``."""
    result = {}
    for line in tr.lines.select_related("variant"):
        value = by_sku.get(line.variant.sku.replace("-", "_"), line.quantity)
        received, reason = value if isinstance(value, tuple) else (value, "")
        result[line.pk] = services.LineReceipt(received, reason)
    return result


@pytest.fixture
def shirt(warehouse, admin_user):
    return stocked("SHIRT-1", warehouse, 10, actor=admin_user)


@pytest.fixture
def cap(warehouse, admin_user):
    return stocked("CAP-1", warehouse, 4, actor=admin_user)


def test_units_in_transit_are_available_nowhere_and_the_total_is_conserved(
    shirt, cap, warehouse, other_warehouse, admin_user
):
    total_before = everywhere(shirt)
    tr = transfer(warehouse, other_warehouse, [(shirt, 6), (cap, 4)], actor=admin_user)
    assert tr.status == Transfer.Status.DRAFT
    assert available(shirt, warehouse) == 10  # a draft moves nothing

    services.transfer_dispatch(transfer=tr, actor=admin_user)

    tr.refresh_from_db()
    assert tr.status == Transfer.Status.IN_TRANSIT
    assert (available(shirt, warehouse), available(shirt, other_warehouse)) == (4, 0)
    assert (available(cap, warehouse), available(cap, other_warehouse)) == (0, 0)
    assert selectors.transfer_in_transit(tr) == 10
    assert selectors.in_transit_units(variant=shirt) == 6
    assert selectors.in_transit_units(destination=other_warehouse) == 10
    assert selectors.in_transit_by_sku() == {shirt.pk: 6, cap.pk: 4}
    assert everywhere(shirt) + selectors.in_transit_units(variant=shirt) == total_before
    assert selectors.with_totals(Transfer.objects.filter(pk=tr.pk)).get().units_in_transit == 10
    # Nobody can allocate the units on the road, at either end.
    with pytest.raises(InsufficientStock):
        inventory.allocate(
            lines=[inventory.AllocationLine(shirt, other_warehouse, 1)],
            reference="order-line:9",
            actor=None,
        )

    services.transfer_receive(transfer=tr, received=receipt(tr), actor=admin_user)

    tr.refresh_from_db()
    assert tr.status == Transfer.Status.RECEIVED
    assert (available(shirt, warehouse), available(shirt, other_warehouse)) == (4, 6)
    assert selectors.transfer_in_transit(tr) == 0
    assert everywhere(shirt) == total_before
    moves = Movement.objects.filter(reference__startswith=tr.number).order_by("pk")
    assert [(m.kind, m.stock.variant.sku, m.quantity, m.stock.warehouse.code) for m in moves] == [
        (MovementKind.TRANSFER_OUT, "SHIRT-1", -6, "MAIN"),
        (MovementKind.TRANSFER_OUT, "CAP-1", -4, "MAIN"),
        (MovementKind.TRANSFER_IN, "SHIRT-1", 6, "EAST"),
        (MovementKind.TRANSFER_IN, "CAP-1", 4, "EAST"),
    ]
    line = tr.lines.get(variant=shirt)
    assert (line.out_movement.reference, line.in_movement.quantity) == (line.reference, 6)


def test_a_short_receipt_records_the_reason_and_only_what_arrived(
    shirt, warehouse, other_warehouse, admin_user
):
    tr = transfer(warehouse, other_warehouse, [(shirt, 6)], dispatch=True, actor=admin_user)
    services.transfer_receive(
        transfer=tr, received=receipt(tr, SHIRT_1=(5, "damaged")), actor=admin_user
    )
    line = tr.lines.get()
    assert (line.received_quantity, line.discrepancy_reason, line.difference) == (5, "damaged", -1)
    assert level(shirt, other_warehouse) == (5, 0)
    assert everywhere(shirt) == 9  # the damaged unit never entered stock


def test_nothing_arriving_writes_no_receipt_movement(shirt, warehouse, other_warehouse, admin_user):
    tr = transfer(warehouse, other_warehouse, [(shirt, 2)], dispatch=True, actor=admin_user)
    services.transfer_receive(transfer=tr, received=receipt(tr, SHIRT_1=(0, "short")), actor=None)
    assert not Movement.objects.filter(kind=MovementKind.TRANSFER_IN).exists()
    assert tr.lines.get().in_movement is None


# --- refusals: each changes nothing --------------------------------------------------------------


def test_receiving_twice_is_refused(shirt, warehouse, other_warehouse, admin_user, state):
    tr = transfer(warehouse, other_warehouse, [(shirt, 3)], dispatch=True, actor=admin_user)
    services.transfer_receive(transfer=tr, received=receipt(tr), actor=admin_user)
    before = state()
    with pytest.raises(InvalidTransition) as error:
        services.transfer_receive(transfer=tr, received=receipt(tr), actor=admin_user)
    assert error.value.message == f"{tr.number} is Received: it cannot be received."
    assert state() == before


def test_dispatching_twice_is_refused(shirt, warehouse, other_warehouse, admin_user, state):
    tr = transfer(warehouse, other_warehouse, [(shirt, 3)], dispatch=True, actor=admin_user)
    before = state()
    with pytest.raises(InvalidTransition) as error:
        services.transfer_dispatch(transfer=tr, actor=admin_user)
    assert error.value.message == f"{tr.number} is In transit: it cannot be dispatched."
    assert state() == before


def test_dispatching_more_than_available_is_refused_listing_every_line(
    shirt, cap, warehouse, other_warehouse, admin_user, state
):
    inventory.allocate(
        lines=[inventory.AllocationLine(shirt, warehouse, 5)], reference="order-line:1", actor=None
    )
    tr = transfer(warehouse, other_warehouse, [(shirt, 6), (cap, 5)], actor=admin_user)
    before = state()
    with pytest.raises(InsufficientStock) as error:
        services.transfer_dispatch(transfer=tr, actor=admin_user)
    assert error.value.message == (
        "Insufficient stock: SHIRT-1 at MAIN: requested 6, available 5; "
        "CAP-1 at MAIN: requested 5, available 4."
    )
    assert state() == before
    assert Transfer.objects.get(pk=tr.pk).status == Transfer.Status.DRAFT


def test_the_same_source_and_destination_is_refused(shirt, warehouse, admin_user, state):
    before = state()
    with pytest.raises(WarehouseError) as error:
        transfer(warehouse, warehouse, [(shirt, 1)], actor=admin_user)
    assert error.value.message == "A transfer needs two different warehouses."
    assert state() == before


def test_an_inactive_destination_is_refused(shirt, warehouse, admin_user, state):
    closed = WarehouseFactory(code="OLD", is_active=False)
    before = state()
    with pytest.raises(WarehouseError) as error:
        transfer(warehouse, closed, [(shirt, 1)], actor=admin_user)
    assert error.value.message == "Warehouse OLD is inactive: no stock can move there."
    assert state() == before


@pytest.mark.parametrize("quantity", [0, -2, 1.5, "3", True])
def test_a_bad_quantity_is_refused(shirt, warehouse, other_warehouse, admin_user, state, quantity):
    before = state()
    with pytest.raises(WarehouseError) as error:
        transfer(warehouse, other_warehouse, [(shirt, quantity)], actor=admin_user)
    assert error.value.message == "SHIRT-1: the quantity must be a whole number above zero."
    assert state() == before


def test_a_sku_twice_is_refused(shirt, warehouse, other_warehouse, admin_user, state):
    before = state()
    with pytest.raises(WarehouseError) as error:
        transfer(warehouse, other_warehouse, [(shirt, 1), (shirt, 2)], actor=admin_user)
    assert error.value.message == "SHIRT-1 appears on more than one line; use one line per SKU."
    assert state() == before


def test_a_lot_tracked_sku_is_refused(shirt, warehouse, other_warehouse, admin_user, state):
    tr = transfer(warehouse, other_warehouse, [(shirt, 1)], actor=admin_user)
    Variant.objects.filter(pk=shirt.pk).update(track_lots=True)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.transfer_dispatch(transfer=tr, actor=admin_user)
    assert error.value.message == (
        "Tracked by lot (their stock is counted and moved per lot, not here): SHIRT-1. "
        "Nothing was changed."
    )
    assert state() == before


def test_a_difference_without_a_reason_is_refused(
    shirt, warehouse, other_warehouse, admin_user, state
):
    tr = transfer(warehouse, other_warehouse, [(shirt, 4)], dispatch=True, actor=admin_user)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.transfer_receive(transfer=tr, received=receipt(tr, SHIRT_1=3), actor=admin_user)
    line = tr.lines.get()
    assert error.value.message == (
        f"{line.reference} SHIRT-1: 3 received of 4 sent — give the reason for the difference."
    )
    assert state() == before


def test_a_negative_received_quantity_is_refused(
    shirt, warehouse, other_warehouse, admin_user, state
):
    tr = transfer(warehouse, other_warehouse, [(shirt, 4)], dispatch=True, actor=admin_user)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.transfer_receive(
            transfer=tr, received=receipt(tr, SHIRT_1=(-1, "short")), actor=admin_user
        )
    assert error.value.message.endswith(
        "the received quantity must be a whole number of at least 0."
    )
    assert state() == before


def test_a_missing_line_is_refused(shirt, cap, warehouse, other_warehouse, admin_user, state):
    tr = transfer(warehouse, other_warehouse, [(shirt, 1), (cap, 1)], dispatch=True, actor=None)
    received = receipt(tr)
    received.pop(tr.lines.get(variant=cap).pk)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.transfer_receive(transfer=tr, received=received, actor=admin_user)
    assert error.value.message.endswith(
        "CAP-1: enter the quantity received (0 if nothing arrived)."
    )
    assert state() == before


def test_only_a_draft_can_be_cancelled(shirt, warehouse, other_warehouse, admin_user, state):
    tr = transfer(warehouse, other_warehouse, [(shirt, 1)], dispatch=True, actor=admin_user)
    before = state()
    with pytest.raises(InvalidTransition) as error:
        services.transfer_cancel(transfer=tr, reason="changed my mind", actor=admin_user)
    assert error.value.message == f"{tr.number} is In transit: it cannot be cancelled."
    assert state() == before
    draft = transfer(warehouse, other_warehouse, [(shirt, 1)], actor=admin_user)
    services.transfer_cancel(transfer=draft, reason="not needed", actor=admin_user)
    assert Transfer.objects.get(pk=draft.pk).status == Transfer.Status.CANCELLED
