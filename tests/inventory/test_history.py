"""Loading a past ledger: every movement with its running balance, levels set to the end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from catalog.models import ListingStatus
from inventory import services as inventory
from inventory.exceptions import InvalidOperation, InvalidQuantity
from inventory.models import Movement, Stock

from ..factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(warehouse):
    a = Stock.objects.create(variant=VariantFactory(sku="H-A"), warehouse=warehouse)
    b = Stock.objects.create(variant=VariantFactory(sku="H-B"), warehouse=warehouse)
    return a, b


def at(days: int):
    return timezone.now() - timedelta(days=days)


def test_history_is_loaded_with_running_balances_and_final_levels(rows, admin_user):
    a, b = rows
    written = inventory.ledger_load_history(
        entries=[
            (a.pk, "receipt", 10, at(9), "po-1"),
            (a.pk, "shipment", -4, at(8), "so-1"),
            (a.pk, "adjustment", -1, at(7), "count"),
            (b.pk, "receipt", 3, at(9), "po-2"),
            (b.pk, "shipment", -3, at(1), "so-2"),
        ],
        actor=admin_user,
    )
    assert written == 5
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.on_hand, b.on_hand) == (5, 0)
    assert list(
        Movement.objects.filter(stock=a).order_by("id").values_list("on_hand_after", flat=True)
    ) == [10, 6, 5]
    for stock in (a, b):
        total = Movement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"]
        assert total == stock.on_hand
    # b has nothing left: its product is sold out, a's stays on sale.
    b.variant.product.refresh_from_db()
    assert b.variant.product.status == ListingStatus.SOLD_OUT


@pytest.mark.parametrize(
    ("entries", "error", "text"),
    [
        ([("A", "receipt", 2), ("A", "shipment", -3)], InvalidOperation, "below zero at entry 2"),
        (
            [("A", "receipt", 2), ("B", "receipt", 1), ("A", "receipt", 1)],
            InvalidOperation,
            "appears again at entry 3",
        ),
        ([("A", "teleport", 2)], InvalidOperation, "Unknown movement kind 'teleport'"),
        ([("A", "receipt", 0)], InvalidQuantity, "got 0"),
        ([("A", "receipt", 1.5)], InvalidQuantity, "got 1.5"),
    ],
)
def test_bad_history_loads_nothing(rows, admin_user, snapshot, entries, error, text):
    ids = {"A": rows[0].pk, "B": rows[1].pk}
    before = snapshot()
    with pytest.raises(error, match=text):
        inventory.ledger_load_history(
            entries=[(ids[s], kind, q, at(1), "x") for s, kind, q in entries], actor=admin_user
        )
    assert snapshot() == before


def test_history_is_refused_for_rows_that_already_have_stock(rows, admin_user, snapshot):
    a, _b = rows
    inventory.receive(variant=a.variant, warehouse=a.warehouse, quantity=2, actor=admin_user)
    before = snapshot()
    with pytest.raises(InvalidOperation, match="already have stock or movements"):
        inventory.ledger_load_history(entries=[(a.pk, "receipt", 5, at(3), "x")], actor=admin_user)
    assert snapshot() == before


def test_loaded_history_dates_work_in_date_functions(rows, admin_user):
    from django.db.models.functions import TruncDate

    a, _b = rows
    inventory.ledger_load_history(entries=[(a.pk, "receipt", 2, at(9), "po-1")], actor=admin_user)
    days = Movement.objects.annotate(day=TruncDate("created_at")).values_list("day", flat=True)
    assert list(days) == [at(9).date()]
