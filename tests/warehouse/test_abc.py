"""ABC classes from shipment value, and the cycle counts they schedule (daily job, once a day)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backoffice.models import ScheduledRun
from inventory import services as inventory
from warehouse import services, tasks
from warehouse.exceptions import WarehouseError
from warehouse.models import SkuClass, StockCount

from ..factories import stock_count
from .conftest import stocked

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 23)


def ship(variant, warehouse, quantity, reference):
    """Sell ``quantity`` units: allocate and ship them (a shipment movement in the ledger)."""
    (allocation,) = inventory.allocate(
        lines=[inventory.AllocationLine(variant, warehouse, quantity)],
        reference=reference,
        actor=None,
    )
    inventory.ship(allocation=allocation, actor=None)


def sku_with_sales(sku, warehouse, shipped, *, price="10.00", stock=100):
    variant = stocked(sku, warehouse, stock)
    variant.price = Decimal(price)
    variant.save(update_fields=["price"])
    if shipped:
        ship(variant, warehouse, shipped, f"order-line:{sku}")
    return variant


def classes(warehouse=None) -> dict[str, str]:
    rows = SkuClass.objects.select_related("stock__variant")
    if warehouse is not None:
        rows = rows.filter(stock__warehouse=warehouse)
    return {row.stock.variant.sku: row.abc_class for row in rows}


@pytest.fixture
def sales(warehouse):
    """Shipment values 500, 300, 100, 50, 50 and 0 (total 1000) in MAIN."""
    for sku, shipped in [("S1", 50), ("S2", 30), ("S3", 10), ("S4", 5), ("S5", 5), ("S6", 0)]:
        sku_with_sales(sku, warehouse, shipped)


def test_classes_cut_the_shipment_value_at_80_and_95_percent(sales, warehouse):
    counts = services.abc_classify()

    # S2 starts at 50 % (A); S3 at 80 % (B); S4 at 90 % (B); S5 at 95 % (C); S6 shipped nothing.
    assert classes() == {"S1": "A", "S2": "A", "S3": "B", "S4": "B", "S5": "C", "S6": "C"}
    assert counts == {"A": 2, "B": 2, "C": 2}
    s3 = SkuClass.objects.get(stock__variant__sku="S3")
    assert (s3.value, s3.value_before, s3.warehouse_value) == (
        Decimal("100.00"),
        Decimal("800.00"),
        Decimal("1000.00"),
    )
    assert s3.cumulative_share == Decimal("0.9")


def test_the_cut_follows_the_settings(sales, settings):
    settings.ABC_A_PERCENT = 50
    settings.ABC_B_PERCENT = 40
    services.abc_classify()
    assert classes() == {"S1": "A", "S2": "B", "S3": "B", "S4": "C", "S5": "C", "S6": "C"}


def test_classes_are_per_warehouse(warehouse, other_warehouse):
    shirt = sku_with_sales("SHIRT", warehouse, 20)
    sku_with_sales("CAP", warehouse, 2)
    stocked_elsewhere = sku_with_sales("SOCKS", other_warehouse, 5)
    inventory.receive(variant=shirt, warehouse=other_warehouse, quantity=5, actor=None)
    ship(shirt, other_warehouse, 1, "order-line:east-shirt")
    assert stocked_elsewhere

    services.abc_classify()

    assert classes(warehouse) == {"SHIRT": "A", "CAP": "B"}
    assert classes(other_warehouse) == {"SOCKS": "A", "SHIRT": "B"}


def test_shipments_outside_the_window_do_not_count(sales, settings):
    settings.ABC_WINDOW_DAYS = 30
    services.abc_classify(now=timezone.now() + timedelta(days=31))
    assert set(classes().values()) == {"C"}


def test_reclassifying_replaces_the_classes(sales, warehouse):
    services.abc_classify()
    ship(SkuClass.objects.get(stock__variant__sku="S6").stock.variant, warehouse, 90, "big")
    services.abc_classify()
    assert classes()["S6"] == "A"
    assert SkuClass.objects.count() == 6


def test_classifying_costs_the_same_queries_for_3_skus_as_for_30(warehouse):
    def queries(skus: int) -> int:
        for i in range(skus):
            sku_with_sales(f"Q{skus}-{i:02d}", warehouse, i % 3)
        with CaptureQueriesContext(connection) as captured:
            services.abc_classify()
        return len(captured)

    assert queries(3) == queries(30)


# --- cycle counts -----------------------------------------------------------------------------


def test_counts_are_planned_for_every_class_that_is_due(sales, warehouse):
    services.abc_classify()
    planned = services.cycle_counts_plan(today=DAY)

    assert [(c.warehouse, c.scope, c.abc_class) for c in planned] == [
        (warehouse, "abc", "A"),
        (warehouse, "abc", "B"),
        (warehouse, "abc", "C"),
    ]
    assert all(c.is_cycle_count and c.planned_for == DAY for c in planned)
    assert all(c.status == StockCount.Status.PLANNED for c in planned)


def test_an_open_count_is_not_planned_again(sales, warehouse):
    services.abc_classify()
    services.cycle_counts_plan(today=DAY)
    assert services.cycle_counts_plan(today=DAY + timedelta(days=400)) == []


def test_a_class_is_due_again_after_its_cycle(sales, warehouse, settings, admin_user):
    settings.CYCLE_COUNT_DAYS_A = 30
    settings.CYCLE_COUNT_DAYS_B = 90
    settings.CYCLE_COUNT_DAYS_C = 365
    services.abc_classify()
    for count in services.cycle_counts_plan(today=DAY):
        services.stock_count_cancel(count=count, reason="test", actor=None)
    # Cancelled counts do not count: everything is still due.
    assert len(services.cycle_counts_due(today=DAY)) == 3
    a_count = stock_count(
        warehouse, scope="abc", abc_class="A", planned_for=DAY, actor=admin_user, start=False
    )
    services.stock_count_cancel(count=a_count, reason="done on paper", actor=None)
    a_count = stock_count(warehouse, scope="abc", abc_class="A", planned_for=DAY, actor=admin_user)
    lines = a_count.lines.select_related("stock__variant")
    services.stock_count_record(
        count=a_count,
        entries=[services.CountEntry(counted=line.expected, line_id=line.pk) for line in lines],
        actor=admin_user,
    )
    services.stock_count_apply(count=a_count, actor=admin_user)

    due_later = services.cycle_counts_due(today=DAY + timedelta(days=29))
    assert (warehouse.pk, "A") not in due_later
    assert (warehouse.pk, "A") in services.cycle_counts_due(today=DAY + timedelta(days=30))


def test_the_daily_job_runs_once_per_period(sales):
    summary = tasks.cycle_counts_daily.run(period=DAY.isoformat())

    assert summary["classes"] == {"A": 2, "B": 2, "C": 2}
    assert len(summary["planned"]) == 3
    assert tasks.cycle_counts_daily.run(period=DAY.isoformat()) is None
    assert StockCount.objects.count() == 3
    assert ScheduledRun.objects.get(job="cycle_counts").status == ScheduledRun.Status.DONE


def test_a_class_with_no_skus_gets_no_count(warehouse):
    sku_with_sales("ONLY", warehouse, 3)
    services.abc_classify()
    assert [c.abc_class for c in services.cycle_counts_plan(today=DAY)] == ["A"]


def test_the_schedule_exists():
    task = PeriodicTask.objects.get(name="Daily ABC classes and cycle counts")
    assert (task.task, task.enabled) == ("warehouse.cycle_counts", True)


def test_a_second_open_count_of_a_class_is_refused(warehouse, admin_user, state):
    first = stock_count(warehouse, scope="abc", abc_class="B", start=False, actor=admin_user)
    before = state()
    with pytest.raises(WarehouseError) as error:
        stock_count(warehouse, scope="abc", abc_class="B", start=False, actor=admin_user)
    assert error.value.message == (
        f"MAIN already has an open count of class B ({first.number}): apply or cancel it first."
    )
    assert state() == before
