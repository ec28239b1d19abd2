"""The scheduled purchasing digests: replenishment daily, scorecards weekly (F-61)."""

from __future__ import annotations

import pytest

from backoffice.models import OutboxMessage
from backoffice.notifications import (
    EMAIL_STAFF_REPLENISHMENT,
    EMAIL_STAFF_SCORECARDS,
    render_email,
)
from catalog.models import ListingStatus
from inventory.models import Stock
from suppliers.tasks import replenishment_daily, scorecards_weekly

from ..factories import ProductFactory, SupplierFactory, VariantFactory, supplier_price


@pytest.fixture
def staff(settings):
    settings.STOCKROOM_ALERT_EMAILS = ["buyer@example.com"]


def test_replenishment_digest_lists_what_to_order_once_a_day(staff, stocked_variant, warehouse):
    supplier = SupplierFactory(code="ACME")
    supplier_price(supplier, stocked_variant, is_preferred=True, moq=12)
    Stock.objects.filter(variant=stocked_variant).update(reorder_point=10, max_level=30)
    orphan = VariantFactory(product=ProductFactory(status=ListingStatus.ON_SALE), sku="ORPHAN")
    Stock.objects.create(variant=orphan, warehouse=warehouse, reorder_point=5, max_level=8)

    assert replenishment_daily.run(period="2026-11-23") == {"suggestions": 2}
    assert replenishment_daily.run(period="2026-11-23") is None
    message = OutboxMessage.objects.get(event=EMAIL_STAFF_REPLENISHMENT)
    assert message.payload["by_supplier"] == {"ACME": 1, "—": 1}
    assert message.payload["without_supplier"] == 1
    subject, body = render_email(message)
    assert subject == "Replenishment: 2 SKU(s) to order"
    # 10 on hand, maximum 30: 20 to order (above the MOQ of 12, packs of 1).
    assert f"{stocked_variant.sku} @ {warehouse.code}: 20 (ACME)" in body
    assert "ORPHAN @ MAIN: 8 (—)" in body


def test_nothing_to_order_sends_nothing(staff, stocked_variant):
    assert replenishment_daily.run(period="2026-11-23") == {"suggestions": 0}
    assert not OutboxMessage.objects.exists()


def test_scorecards_go_out_once_per_week(staff, db):
    SupplierFactory(code="ACME", name="Acme")
    SupplierFactory(code="OLD", is_active=False)
    assert scorecards_weekly.run(period="2026-11-23") == {"suppliers": 1}
    assert scorecards_weekly.run(period="2026-11-25") is None  # same ISO week
    assert scorecards_weekly.run(period="2026-11-30") == {"suppliers": 1}
    message = OutboxMessage.objects.filter(event=EMAIL_STAFF_SCORECARDS).first()
    subject, body = render_email(message)
    assert subject == "Supplier scorecards: 1 supplier(s)"
    assert "ACME · Acme: —, —, —, —, —" in body
