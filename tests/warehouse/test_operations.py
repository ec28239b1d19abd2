"""The stock writer's doors for counts and transfers (inventory/services/operations.py)."""

from __future__ import annotations

import pytest

from inventory import services as inventory
from inventory.exceptions import InvalidOperation, InvalidQuantity
from inventory.models import Movement, MovementKind, Stock

from .conftest import level, stocked

pytestmark = pytest.mark.django_db


def row(variant, warehouse) -> Stock:
    return Stock.objects.get(variant=variant, warehouse=warehouse)


def test_a_zero_correction_is_refused(warehouse, state):
    shirt = stocked("SHIRT", warehouse, 3)
    before = state()
    with pytest.raises(InvalidQuantity) as error:
        inventory.count_correct(
            corrections=[inventory.CountCorrection(row(shirt, warehouse).pk, 0, "CNT-000001/L1")],
            actor=None,
        )
    assert error.value.message == "CNT-000001/L1: a count correction must change the quantity."
    assert state() == before


def test_a_stock_row_given_twice_is_refused(warehouse, state):
    shirt = stocked("SHIRT", warehouse, 3)
    pk = row(shirt, warehouse).pk
    before = state()
    with pytest.raises(InvalidOperation) as error:
        inventory.count_correct(
            corrections=[
                inventory.CountCorrection(pk, 1, "CNT-000001/L1"),
                inventory.CountCorrection(pk, -1, "CNT-000001/L2"),
            ],
            actor=None,
        )
    assert error.value.message == "SHIRT appears twice: give one line per SKU."
    assert state() == before


def test_a_backorder_sku_may_be_counted_below_what_is_allocated(warehouse):
    shirt = stocked("SHIRT", warehouse, 3)
    inventory.set_backorders(
        variants=type(shirt).objects.filter(pk=shirt.pk), allowed=True, actor=None
    )
    inventory.allocate(
        lines=[inventory.AllocationLine(shirt, warehouse, 5)], reference="order-line:1", actor=None
    )
    moves = inventory.count_correct(
        corrections=[inventory.CountCorrection(row(shirt, warehouse).pk, -2, "CNT-000001/L1")],
        actor=None,
        reason="count",
    )
    assert level(shirt, warehouse) == (1, 5)
    assert moves["CNT-000001/L1"].kind == MovementKind.COUNT


def test_never_below_zero_even_with_backorders(warehouse, state):
    shirt = stocked("SHIRT", warehouse, 3)
    inventory.set_backorders(
        variants=type(shirt).objects.filter(pk=shirt.pk), allowed=True, actor=None
    )
    before = state()
    with pytest.raises(inventory.CorrectionRefused) as error:
        inventory.count_correct(
            corrections=[inventory.CountCorrection(row(shirt, warehouse).pk, -4, "CNT-1/L1")],
            actor=None,
        )
    assert error.value.lines[0]["after"] == -1
    assert state() == before


def test_dispatch_and_receive_write_the_transfer_movements(warehouse, other_warehouse):
    shirt = stocked("SHIRT", warehouse, 3)
    out = inventory.transfer_dispatch(
        lines=[inventory.TransitLine(shirt, 2, "TR-000001/L1")],
        source=warehouse,
        destination=other_warehouse,
        actor=None,
    )
    assert level(shirt, warehouse) == (1, 0)
    assert level(shirt, other_warehouse) == (0, 0)
    inventory.transfer_receive(
        lines=[inventory.TransitLine(shirt, 2, "TR-000001/L1")],
        destination=other_warehouse,
        actor=None,
    )
    assert level(shirt, other_warehouse) == (2, 0)
    assert out["TR-000001/L1"].quantity == -2
    kinds = Movement.objects.filter(reference="TR-000001/L1").values_list("kind", "quantity")
    assert sorted(kinds) == [("transfer_in", 2), ("transfer_out", -2)]
