"""Stock counts through the services: snapshot, entry, apply, and every refusal."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant
from inventory import services as inventory
from inventory.exceptions import InventoryError
from inventory.models import Movement, MovementKind, Stock, Zone
from warehouse import selectors, services
from warehouse.exceptions import InvalidCountEntry, InvalidTransition, WarehouseError
from warehouse.models import StockCount

from ..factories import stock_count
from .conftest import level, stocked

pytestmark = pytest.mark.django_db


def entries(**counted):
    """CountEntry per SKU: ``entries(**{"SKU-A": (8, "broken")})`` or a bare number."""
    result = []
    for sku, value in counted.items():
        number, reason = value if isinstance(value, tuple) else (value, "")
        result.append(services.CountEntry(counted=number, sku=sku, reason=reason))
    return result


def ledger_sum(variant, warehouse) -> int:
    return Movement.objects.filter(stock__variant=variant, stock__warehouse=warehouse).aggregate(
        s=Sum("quantity")
    )["s"]


# --- plan and start ---------------------------------------------------------------------------


def test_starting_a_count_snapshots_every_row_in_walking_order(three_skus, warehouse, admin_user):
    count = stock_count(warehouse, actor=admin_user)

    assert count.status == StockCount.Status.COUNTING
    assert count.number == f"CNT-{count.pk:06d}"
    lines = list(count.lines.select_related("stock__variant").order_by("line_number"))
    # Zone (picking before storage), then bin, then SKU.
    assert [(line.stock.variant.sku, line.expected) for line in lines] == [
        ("SKU-A", 10),
        ("SKU-C", 1),
        ("SKU-B", 5),
    ]
    assert [line.reference for line in lines] == [f"{count.number}/L{n}" for n in (1, 2, 3)]
    for line in lines:
        last = Movement.objects.filter(stock=line.stock).order_by("-id").first()
        assert line.ledger_position == last.pk
        assert line.unit_cost == line.stock.variant.cost
        assert line.counted is None


def test_a_zone_count_covers_the_rows_whose_default_bin_is_in_the_zone(
    three_skus, warehouse, admin_user
):
    count = stock_count(warehouse, scope="zone", zone=Zone.STORAGE, actor=admin_user)
    assert list(count.lines.values_list("stock__variant__sku", flat=True)) == ["SKU-B"]


def test_starting_costs_the_same_queries_for_3_rows_as_for_30(warehouse, admin_user):
    def queries(rows: int) -> int:
        for i in range(rows):
            stocked(f"Q{rows}-{i:03d}", warehouse, 2, actor=admin_user)
        count = services.stock_count_plan(warehouse=warehouse, scope="warehouse", actor=admin_user)
        with CaptureQueriesContext(connection) as captured:
            services.stock_count_start(count=count, actor=admin_user)
        services.stock_count_cancel(count=count, reason="test", actor=admin_user)
        return len(captured)

    assert queries(3) == queries(30)


def test_lot_tracked_skus_are_left_out_of_a_count(three_skus, warehouse, admin_user):
    Variant.objects.filter(sku="SKU-B").update(track_lots=True)
    count = stock_count(warehouse, actor=admin_user)
    assert "SKU-B" not in set(count.lines.values_list("stock__variant__sku", flat=True))


def test_a_zone_scope_needs_a_zone(warehouse, admin_user, state):
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_plan(warehouse=warehouse, scope="zone", actor=admin_user)
    assert error.value.message.startswith("Choose the zone to count")
    assert state() == before


def test_a_class_scope_needs_a_class(warehouse, admin_user, state):
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_plan(warehouse=warehouse, scope="abc", abc_class="D", actor=admin_user)
    assert error.value.message == str(services.COUNT_CLASS_REQUIRED)
    assert state() == before


def test_a_scope_with_nothing_to_count_is_refused(three_skus, warehouse, admin_user, state):
    count = services.stock_count_plan(
        warehouse=warehouse, scope="zone", zone=Zone.SHIPPING, actor=admin_user
    )
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_start(count=count, actor=admin_user)
    assert error.value.message.startswith(f"{count.number} has nothing to count")
    assert state() == before


def test_a_row_being_counted_cannot_start_in_a_second_count(
    three_skus, warehouse, admin_user, state
):
    first = stock_count(warehouse, scope="zone", zone=Zone.STORAGE, actor=admin_user)
    second = services.stock_count_plan(warehouse=warehouse, scope="warehouse", actor=admin_user)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_start(count=second, actor=admin_user)
    assert error.value.message == str(
        services.COUNT_OVERLAP % {"number": second.number, "skus": "SKU-B", "others": first.number}
    )
    assert state() == before


def test_starting_twice_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    before = state()
    with pytest.raises(InvalidTransition) as error:
        services.stock_count_start(count=count, actor=admin_user)
    assert error.value.message == f"{count.number} is Counting: it cannot be started."
    assert state() == before


# --- entering counted quantities ----------------------------------------------------------------


def test_counted_quantities_and_reasons_are_recorded(three_skus, warehouse, admin_user):
    count = stock_count(warehouse, actor=admin_user)
    changed = services.stock_count_record(
        count=count, entries=entries(**{"SKU-A": (8, "broken"), "SKU-B": 5}), actor=admin_user
    )
    assert changed == 2
    rows = dict(count.lines.values_list("stock__variant__sku", "counted"))
    assert rows == {"SKU-A": 8, "SKU-B": 5, "SKU-C": None}
    line = count.lines.get(stock__variant__sku="SKU-A")
    assert (line.reason, line.counted_by) == ("broken", admin_user)


def test_a_negative_counted_quantity_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    before = state()
    with pytest.raises(InvalidCountEntry) as error:
        services.stock_count_record(
            count=count, entries=entries(**{"SKU-A": 8, "SKU-B": -1}), actor=admin_user
        )
    assert error.value.message == (
        "Nothing was recorded: SKU-B: the counted quantity must be a whole number of at least 0, "
        "not -1."
    )
    assert state() == before


def test_a_sku_not_in_the_count_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, scope="zone", zone=Zone.STORAGE, actor=admin_user)
    before = state()
    with pytest.raises(InvalidCountEntry) as error:
        services.stock_count_record(count=count, entries=entries(**{"SKU-A": 3}), actor=admin_user)
    assert error.value.message == f"Nothing was recorded: SKU-A is not in {count.number}."
    assert state() == before


def test_counting_a_planned_count_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, start=False, actor=admin_user)
    before = state()
    with pytest.raises(InvalidTransition) as error:
        services.stock_count_record(count=count, entries=entries(**{"SKU-A": 3}), actor=admin_user)
    assert error.value.message == f"{count.number} is Planned: it cannot be counted."
    assert state() == before


# --- apply ------------------------------------------------------------------------------------


def test_applying_writes_one_correction_per_difference(three_skus, warehouse, admin_user):
    sku_a, sku_b, sku_c = three_skus
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(
        count=count,
        entries=entries(**{"SKU-A": (8, "broken"), "SKU-B": 5, "SKU-C": (3, "found")}),
        actor=admin_user,
    )

    result = services.stock_count_apply(count=count, actor=admin_user)

    assert (result.corrections, result.units_added, result.units_removed) == (2, 2, 2)
    assert result.count.status == StockCount.Status.APPLIED
    assert (level(sku_a, warehouse), level(sku_b, warehouse), level(sku_c, warehouse)) == (
        (8, 0),
        (5, 0),
        (3, 0),
    )
    corrections = Movement.objects.filter(kind=MovementKind.COUNT).order_by("reference")
    line_a = count.lines.get(stock__variant=sku_a)
    line_c = count.lines.get(stock__variant=sku_c)
    assert [(m.reference, m.quantity, m.reason) for m in corrections] == [
        (line_a.reference, -2, "broken"),
        (line_c.reference, 2, "found"),
    ]
    assert line_a.movement == corrections[0]
    assert count.lines.get(stock__variant=sku_b).movement is None
    for variant in three_skus:
        assert ledger_sum(variant, warehouse) == level(variant, warehouse)[0]


def test_movements_after_the_snapshot_are_kept(three_skus, warehouse, admin_user):
    sku_a = three_skus[0]
    count = stock_count(warehouse, actor=admin_user)
    # While counting, 4 units arrive and 1 leaves.
    inventory.receive(variant=sku_a, warehouse=warehouse, quantity=4, actor=admin_user)
    inventory.adjust(
        variant=sku_a, warehouse=warehouse, quantity=-1, reason="damaged", actor=admin_user
    )
    services.stock_count_record(
        count=count,
        entries=entries(**{"SKU-A": (7, "lost"), "SKU-B": 5, "SKU-C": 1}),
        actor=admin_user,
    )
    line = count.lines.get(stock__variant=sku_a)
    after_snapshot = Movement.objects.filter(stock=line.stock, pk__gt=line.ledger_position)
    moved = after_snapshot.aggregate(s=Sum("quantity"))["s"]

    services.stock_count_apply(count=count, actor=admin_user)

    assert moved == 3
    assert level(sku_a, warehouse)[0] == 7 + moved == 10
    assert ledger_sum(sku_a, warehouse) == 10


def test_applying_twice_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(
        count=count,
        entries=entries(**{"SKU-A": (9, "x"), "SKU-B": 5, "SKU-C": 1}),
        actor=admin_user,
    )
    services.stock_count_apply(count=count, actor=admin_user)
    before = state()
    with pytest.raises(InvalidTransition) as error:
        services.stock_count_apply(count=count, actor=admin_user)
    assert error.value.message == f"{count.number} is Applied: it cannot be applied."
    assert state() == before


def test_uncounted_lines_are_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(count=count, entries=entries(**{"SKU-A": 10}), actor=admin_user)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_apply(count=count, actor=admin_user)
    assert error.value.message.startswith(
        f"{count.number} cannot be applied: 2 lines are not counted "
        f"({count.number}/L2 SKU-C, {count.number}/L3 SKU-B)."
    )
    assert state() == before


def test_a_difference_without_a_reason_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(
        count=count, entries=entries(**{"SKU-A": 6, "SKU-B": 5, "SKU-C": 1}), actor=admin_user
    )
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_apply(count=count, actor=admin_user)
    assert error.value.message == (
        f"{count.number} cannot be applied: give a reason for every difference "
        f"({count.number}/L1 SKU-A). Nothing was changed."
    )
    assert state() == before


def test_a_correction_below_allocated_is_refused_listing_every_line(
    three_skus, warehouse, admin_user, state
):
    sku_a, sku_b, sku_c = three_skus
    inventory.allocate(
        lines=[inventory.AllocationLine(sku_a, warehouse, 6)], reference="order-line:1", actor=None
    )
    inventory.allocate(
        lines=[inventory.AllocationLine(sku_b, warehouse, 5)], reference="order-line:2", actor=None
    )
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(
        count=count,
        entries=entries(**{"SKU-A": (4, "lost"), "SKU-B": (3, "lost"), "SKU-C": (2, "found")}),
        actor=admin_user,
    )
    before = state()
    with pytest.raises(inventory.CorrectionRefused) as error:
        services.stock_count_apply(count=count, actor=admin_user)
    line_a = count.lines.get(stock__variant=sku_a).reference
    line_b = count.lines.get(stock__variant=sku_b).reference
    assert error.value.message == (
        "The count corrections cannot be applied; nothing was changed: "
        f"{line_a} SKU-A at MAIN: -6 would leave 4 on hand with 6 allocated; "
        f"{line_b} SKU-B at MAIN: -2 would leave 3 on hand with 5 allocated."
    )
    assert state() == before


def test_a_sku_made_lot_tracked_while_counting_is_refused(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(
        count=count,
        entries=entries(**{"SKU-A": (9, "x"), "SKU-B": 5, "SKU-C": 1}),
        actor=admin_user,
    )
    Variant.objects.filter(sku="SKU-A").update(track_lots=True)
    before = state()
    with pytest.raises(InventoryError) as error:
        services.stock_count_apply(count=count, actor=admin_user)
    assert error.value.message.startswith("Tracked by lot (their stock is counted")
    assert "SKU-A" in error.value.message
    assert state() == before


def test_cancelling_needs_a_reason_and_moves_nothing(three_skus, warehouse, admin_user, state):
    count = stock_count(warehouse, actor=admin_user)
    before = state()
    with pytest.raises(WarehouseError) as error:
        services.stock_count_cancel(count=count, reason=" ", actor=admin_user)
    assert error.value.message == "Give a reason for this cancellation."
    assert state() == before
    services.stock_count_cancel(count=count, reason="recount next week", actor=admin_user)
    count.refresh_from_db()
    assert count.status == StockCount.Status.CANCELLED
    assert Movement.objects.filter(kind=MovementKind.COUNT).count() == 0


# --- discrepancy report -------------------------------------------------------------------------


def test_the_discrepancy_report_values_each_difference_at_cost(three_skus, warehouse, admin_user):
    Variant.objects.filter(sku="SKU-A").update(cost="2.50")
    count = stock_count(warehouse, actor=admin_user)
    services.stock_count_record(
        count=count,
        entries=entries(**{"SKU-A": (7, "lost"), "SKU-C": (3, "found")}),
        actor=admin_user,
    )
    rows = {
        line.stock.variant.sku: (line.expected, line.counted, line.diff, line.diff_value)
        for line in selectors.count_lines(count)
    }
    assert rows == {
        "SKU-A": (10, 7, -3, pytest.approx(-7.5)),
        "SKU-B": (5, None, None, None),
        "SKU-C": (1, 3, 2, pytest.approx(16)),
    }
    totals = selectors.count_totals(count)
    assert (totals.lines, totals.counted, totals.differing) == (3, 2, 2)
    assert (totals.units_over, totals.units_short, totals.net_units) == (2, 3, -1)
    assert (str(totals.value_over), str(totals.value_short), str(totals.net_value)) == (
        "16.00",
        "7.50",
        "8.50",
    )


def test_stock_totals_are_unchanged_by_counting(three_skus, warehouse, admin_user):
    before = Stock.objects.aggregate(s=Sum("on_hand"))["s"]
    count = stock_count(warehouse, actor=admin_user, planned_for=date(2026, 1, 5))
    services.stock_count_record(count=count, entries=entries(**{"SKU-A": 1}), actor=admin_user)
    assert Stock.objects.aggregate(s=Sum("on_hand"))["s"] == before
