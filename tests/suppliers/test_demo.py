"""The demo data set has purchasing to show: price lists, and purchase orders in every
interesting state, written through the purchasing services."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Sum
from django.test import override_settings

from inventory.models import Movement
from suppliers.models import (
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderAmendment,
    SupplierPrice,
    SupplierReturn,
)

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
S = PurchaseOrder.Status


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        # the demo's import file out of the checkout (conftest's per-test MEDIA_ROOT comes later)
        override_settings(
            PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=tmp_path_factory.mktemp("demo-media")
        ),
    ):
        call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


def test_the_demo_has_price_lists_and_purchase_orders(seeded, db):
    assert SupplierPrice.objects.filter(is_preferred=True).count() > 300
    statuses = set(PurchaseOrder.objects.values_list("status", flat=True))
    assert statuses == {S.PARTIALLY_RECEIVED, S.CANCELLED, S.CLOSED, S.DRAFT}
    partial = PurchaseOrder.objects.get(status=S.PARTIALLY_RECEIVED)
    rejected = GoodsReceiptLine.objects.filter(receipt__order=partial, rejected__gt=0).get()
    assert rejected.rejection_reason == "damaged"
    assert rejected.returned_quantity == rejected.rejected
    assert SupplierReturn.objects.filter(order=partial).exists()
    assert PurchaseOrderAmendment.objects.filter(order=partial).exists()
    # What was accepted is in the ledger, referenced by the order lines.
    for line in partial.lines.filter(accepted_quantity__gt=0):
        units = Movement.objects.filter(reference=line.reference).aggregate(s=Sum("quantity"))
        assert units["s"] == line.accepted_quantity
    assert not partial.lines.exclude(
        received_quantity=F("accepted_quantity") + F("rejected_quantity")
    ).exists()
