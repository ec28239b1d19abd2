"""Fixtures of the purchasing tests: a supplier with a price list, a clock, a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from suppliers.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderAmendment,
    PurchaseOrderLine,
    SupplierPrice,
    SupplierPriceBreak,
    SupplierReturn,
)
from suppliers.services import PriceBreak

from ..conftest import take_snapshot
from ..factories import ProductFactory, SupplierFactory, VariantFactory, supplier_price


def purchasing_state() -> dict:
    """Everything a refused purchasing operation must leave as it was, stock and ledger
    included."""
    return {
        **take_snapshot(),
        "purchase_orders": sorted(
            PurchaseOrder.objects.values_list(
                "pk", "status", "expected_date", "sent_at", "closed_at", "cancelled_at"
            )
        ),
        "po_lines": sorted(
            PurchaseOrderLine.objects.values_list(
                "pk",
                "variant_id",
                "quantity",
                "unit_cost",
                "received_quantity",
                "accepted_quantity",
                "rejected_quantity",
            )
        ),
        "po_history": PurchaseOrder.history.count(),
        "po_line_history": PurchaseOrderLine.history.count(),
        "receipts": GoodsReceipt.objects.count(),
        "receipt_lines": sorted(
            GoodsReceiptLine.objects.values_list("pk", "accepted", "rejected", "returned_quantity")
        ),
        "supplier_returns": SupplierReturn.objects.count(),
        "amendments": PurchaseOrderAmendment.objects.count(),
        "prices": sorted(
            SupplierPrice.objects.values_list(
                "pk", "supplier_id", "variant_id", "unit_cost", "moq", "pack_size", "is_preferred"
            )
        ),
        "price_breaks": sorted(SupplierPriceBreak.objects.values_list("pk", "min_quantity")),
    }


@pytest.fixture
def state(db):
    return purchasing_state


class Clock:
    """``timezone.now`` under the test's control (``clock.set(datetime)``)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with mock.patch.object(timezone, "now", clock):
        yield clock


@pytest.fixture
def acme(db):
    """A supplier with a 7-day lead time and the default 5 % over-receipt tolerance."""
    return SupplierFactory(code="ACME", name="Acme Trading", lead_time_days=7)


@pytest.fixture
def other_supplier(db):
    return SupplierFactory(code="OTHER", name="Other Goods", lead_time_days=14)


@pytest.fixture
def skus(db):
    """Three SKUs on sale: a shirt, a mug and a cap."""
    return {
        "shirt": VariantFactory(product=ProductFactory(title="Linen shirt"), sku="SHIRT-M"),
        "mug": VariantFactory(product=ProductFactory(title="Tea mug"), sku="MUG-1"),
        "cap": VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-1"),
    }


@pytest.fixture
def price_list(acme, other_supplier, skus):
    """Acme lists all three (preferred for the shirt and the cap; the cap costs 2.50 from
    100 units); Other is the mug's preferred supplier."""
    return {
        "shirt": supplier_price(acme, skus["shirt"], "8.00", is_preferred=True),
        "mug": supplier_price(acme, skus["mug"], "5.00"),
        "cap": supplier_price(
            acme,
            skus["cap"],
            "3.00",
            is_preferred=True,
            breaks=[PriceBreak(100, Decimal("2.50"))],
        ),
        "mug_other": supplier_price(other_supplier, skus["mug"], "4.80", is_preferred=True),
    }
