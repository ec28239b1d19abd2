"""One line of a SKU without lots: a single statement on PostgreSQL.

The general path (several lines, lots, SQLite) is tested in test_services.py
and test_lots.py; here: the statement count, and that the single statement
decides exactly as the general path does.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import services as catalog
from catalog.models import ListingStatus, Product
from inventory import services as inventory
from inventory.exceptions import InsufficientStock, InvalidOperation
from inventory.models import Allocation, Stock
from inventory.services import ALREADY_ALLOCATED, AllocationLine

pytestmark = pytest.mark.postgres


def allocate(variant, warehouse, quantity, reference, actor):
    return inventory.allocate(
        lines=[AllocationLine(variant, warehouse, quantity)], reference=reference, actor=actor
    )


def allocated(variant, warehouse) -> int:
    return Stock.objects.get(variant=variant, warehouse=warehouse).allocated


@pytest.mark.django_db(transaction=True)
def test_one_line_outside_a_transaction_is_one_statement(stocked_variant, warehouse, admin_user):
    with CaptureQueriesContext(connection) as queries:
        (allocation,) = allocate(stocked_variant, warehouse, 3, "ORD-1/1", admin_user)
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("WITH u AS (UPDATE")
    stored = Allocation.objects.get(pk=allocation.pk)
    assert (stored.reference, stored.quantity, stored.allocated_quantity) == ("ORD-1/1", 3, 3)
    assert (stored.stock_id, stored.actor_id) == (allocation.stock_id, admin_user.pk)
    assert allocated(stocked_variant, warehouse) == 3


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_reference_writes_nothing(stocked_variant, warehouse, admin_user):
    allocate(stocked_variant, warehouse, 2, "ORD-2/1", admin_user)
    with pytest.raises(InvalidOperation) as excinfo:
        allocate(stocked_variant, warehouse, 1, "ORD-2/1", admin_user)
    assert str(excinfo.value) == str(ALREADY_ALLOCATED % {"reference": "ORD-2/1"})
    assert allocated(stocked_variant, warehouse) == 2
    assert Allocation.objects.count() == 1


@pytest.mark.django_db
def test_a_duplicate_reference_inside_a_transaction_leaves_it_usable(
    stocked_variant, warehouse, admin_user
):
    with transaction.atomic():
        allocate(stocked_variant, warehouse, 2, "ORD-3/1", admin_user)
        with pytest.raises(InvalidOperation):
            allocate(stocked_variant, warehouse, 1, "ORD-3/1", admin_user)
        allocate(stocked_variant, warehouse, 1, "ORD-3/2", admin_user)
    assert allocated(stocked_variant, warehouse) == 3


@pytest.mark.django_db(transaction=True)
def test_the_last_unit_marks_the_product_sold_out(stocked_variant, warehouse, admin_user):
    allocate(stocked_variant, warehouse, 10, "ORD-4/1", admin_user)
    product = Product.objects.get(pk=stocked_variant.product_id)
    assert product.status == ListingStatus.SOLD_OUT
    with pytest.raises(InsufficientStock):
        allocate(stocked_variant, warehouse, 1, "ORD-4/2", admin_user)
    assert allocated(stocked_variant, warehouse) == 10


@pytest.mark.django_db(transaction=True)
def test_a_product_delisted_after_the_copy_was_loaded_is_refused(
    stocked_variant, warehouse, admin_user
):
    catalog.delist(
        products=Product.objects.filter(pk=stocked_variant.product_id),
        reason="quality",
        note="",
        actor=admin_user,
    )
    # stocked_variant is the copy from before the delisting: the statement reads the status.
    with pytest.raises(InvalidOperation):
        allocate(stocked_variant, warehouse, 1, "ORD-5/1", admin_user)
    assert allocated(stocked_variant, warehouse) == 0
    assert not Allocation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_copy_that_missed_the_lot_switch_still_allocates_by_lots(
    stocked_variant, warehouse, admin_user
):
    stale = type(stocked_variant).objects.get(pk=stocked_variant.pk)
    inventory.adjust(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=-10,
        reason="recount",
        actor=admin_user,
    )
    inventory.variant_track_lots(stocked_variant, on=True, actor=admin_user)
    inventory.receive(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=4,
        actor=admin_user,
        lot_code="L1",
    )
    assert stale.track_lots is False
    (allocation,) = allocate(stale, warehouse, 3, "ORD-6/1", admin_user)
    assert sum(allocation.lots.values_list("quantity", flat=True)) == 3
