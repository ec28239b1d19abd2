"""Fixtures of the warehouse tests: stocked SKUs with bins, and a snapshot that includes
the counts and transfers."""

from __future__ import annotations

import pytest

from inventory import services as inventory
from inventory.models import Location, Stock, Zone
from warehouse.models import SkuClass, StockCount, StockCountLine, Transfer, TransferLine

from ..conftest import take_snapshot
from ..factories import LocationFactory, ProductFactory, VariantFactory


def stocked(sku, warehouse, quantity, *, actor=None, bin=None, zone=Zone.PICKING, cost="8.00"):
    """A SKU with ``quantity`` units received in ``warehouse`` (none if 0), its default bin
    ``bin`` in ``zone``."""
    variant = VariantFactory(product=ProductFactory(title=f"Product {sku}"), sku=sku, cost=cost)
    if quantity:
        inventory.receive(
            variant=variant, warehouse=warehouse, quantity=quantity, actor=actor, reason="opening"
        )
    if bin is not None:
        location = Location.objects.filter(warehouse=warehouse, code=bin).first() or (
            LocationFactory(warehouse=warehouse, code=bin, zone=zone)
        )
        # A bin is a fixture's layout, not a level: the row is made by receive() above.
        Stock.objects.filter(variant=variant, warehouse=warehouse).update(default_location=location)
    return variant


def level(variant, warehouse) -> tuple[int, int]:
    """(on hand, allocated) of a SKU in a warehouse; (0, 0) without a stock row."""
    row = Stock.objects.filter(variant=variant, warehouse=warehouse).values_list(
        "on_hand", "allocated"
    )
    return row.first() or (0, 0)


def full_snapshot() -> dict:
    """take_snapshot() plus the warehouse documents: counts, their lines, transfers, classes."""
    return {
        **take_snapshot(),
        "counts": sorted(StockCount.objects.values_list("pk", "status", "started_at")),
        "count_lines": sorted(
            StockCountLine.objects.values_list("pk", "expected", "counted", "reason", "movement")
        ),
        "transfers": sorted(Transfer.objects.values_list("pk", "status")),
        "transfer_lines": sorted(
            TransferLine.objects.values_list(
                "pk", "quantity", "received_quantity", "discrepancy_reason", "in_movement"
            )
        ),
        "classes": sorted(SkuClass.objects.values_list("stock_id", "abc_class")),
    }


@pytest.fixture
def state(db):
    return full_snapshot


@pytest.fixture
def three_skus(warehouse, admin_user):
    """SKU-A (10 units, bin P-01), SKU-B (5, S-01, storage), SKU-C (1, P-02) in MAIN."""
    return [
        stocked("SKU-A", warehouse, 10, actor=admin_user, bin="P-01", zone=Zone.PICKING),
        stocked("SKU-B", warehouse, 5, actor=admin_user, bin="S-01", zone=Zone.STORAGE),
        stocked("SKU-C", warehouse, 1, actor=admin_user, bin="P-02", zone=Zone.PICKING),
    ]
