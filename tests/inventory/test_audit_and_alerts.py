"""The stock audit (F-18), the stock alerts (F-15) and their once-per-period schedules."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.models import OutboxMessage, ScheduledRun
from backoffice.notifications import EMAIL_STAFF_ALERTS, EMAIL_STAFF_AUDIT
from catalog.models import ListingStatus
from inventory import services as inventory
from inventory import tasks
from inventory.models import Allocation, Stock, StockAlert, StockAuditFinding, StockAuditRun
from inventory.services import AllocationLine
from orders.models import Order

from ..factories import OrderFactory, OrderLineFactory, ProductFactory, VariantFactory

Kind = StockAuditFinding.Kind
Alert = StockAlert.Kind


@pytest.fixture
def on_sale(stocked_variant):
    stocked_variant.product.status = ListingStatus.ON_SALE
    stocked_variant.product.save()
    return stocked_variant


@pytest.fixture
def staff_mail(settings):
    settings.STOCKROOM_ALERT_EMAILS = ["ops@example.com"]


def stock_of(variant, warehouse) -> Stock:
    return Stock.objects.get(variant=variant, warehouse=warehouse)


def findings(run):
    return sorted(run.findings.values_list("kind", "stock_id", "expected", "actual"))


# --- audit ------------------------------------------------------------------------------


def test_audit_of_a_clean_ledger_finds_nothing(stocked_variant, warehouse, staff_mail):
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 2)], reference="r1", actor=None
    )
    run = inventory.stock_audit()
    assert (run.findings_count, run.stock_rows, run.movements) == (0, 1, 1)
    assert run.finished_at is not None
    assert not OutboxMessage.objects.exists()


def test_audit_finds_a_level_changed_behind_the_ledger(stocked_variant, warehouse, staff_mail):
    stock = stock_of(stocked_variant, warehouse)
    with connection.cursor() as cursor:  # what a bad script or a manual fix would do
        cursor.execute("UPDATE inventory_stock SET on_hand = on_hand + 5 WHERE id = %s", [stock.pk])
    run = inventory.stock_audit()
    assert findings(run) == [(Kind.LEDGER_MISMATCH, stock.pk, 10, 15)]
    alert = OutboxMessage.objects.get(event=EMAIL_STAFF_AUDIT)
    assert alert.recipient == "ops@example.com"
    assert alert.payload["count"] == 1
    assert alert.payload["sample"][0]["sku"] == stocked_variant.sku


def test_audit_finds_allocations_out_of_step_and_stale(stocked_variant, warehouse, settings):
    settings.STALE_ALLOCATION_DAYS = 14
    stock = stock_of(stocked_variant, warehouse)
    cancelled = OrderFactory(status=Order.Status.CANCELLED)
    line = OrderLineFactory(order=cancelled, variant=stocked_variant)
    (forgotten,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 1)], reference=line.reference, actor=None
    )
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(days=20)):
        (old,) = inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 2)], reference="old", actor=None
        )
    Allocation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=20))
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 3)], reference="fresh", actor=None
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stock SET allocated = 4 WHERE id = %s", [stock.pk])
    run = inventory.stock_audit()
    assert findings(run) == sorted(
        [
            (Kind.ALLOCATION_MISMATCH, stock.pk, 6, 4),
            (Kind.STALE_ALLOCATION, stock.pk, 0, 1),
            (Kind.STALE_ALLOCATION, stock.pk, 0, 2),
        ]
    )
    stale = run.findings.filter(kind=Kind.STALE_ALLOCATION)
    assert sorted(stale.values_list("allocation_id", flat=True)) == sorted([forgotten.pk, old.pk])


@pytest.mark.postgres
def test_audit_finds_negative_and_over_allocated_levels_on_postgres(
    stocked_variant, warehouse, other_warehouse
):
    # The CHECK constraints forbid these; the audit must still see them if a
    # restore or a disabled constraint let them in.
    inventory.receive(variant=stocked_variant, warehouse=other_warehouse, quantity=1, actor=None)
    first, second = stock_of(stocked_variant, warehouse), stock_of(stocked_variant, other_warehouse)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in ("stock_on_hand_not_negative", "stock_allocated_within_on_hand"):
            cursor.execute(f"ALTER TABLE inventory_stock DROP CONSTRAINT {name}")
        cursor.execute("UPDATE inventory_stock SET on_hand = -2 WHERE id = %s", [first.pk])
        cursor.execute("UPDATE inventory_stock SET allocated = 3 WHERE id = %s", [second.pk])
    run = inventory.stock_audit()
    kinds = {(kind, stock) for kind, stock, *_ in findings(run)}
    assert (Kind.NEGATIVE, first.pk) in kinds
    assert (Kind.OVER_ALLOCATED, second.pk) in kinds
    assert (Kind.LEDGER_MISMATCH, first.pk) in kinds


def test_audit_costs_the_same_queries_for_few_and_many_rows(warehouse, staff_mail):
    for count in (2, 40):
        for _ in range(count - Stock.objects.count()):
            inventory.receive(variant=VariantFactory(), warehouse=warehouse, quantity=1, actor=None)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE inventory_stock SET on_hand = on_hand + 1")
        with CaptureQueriesContext(connection) as queries:
            run = inventory.stock_audit()
        assert run.findings_count == count
        if count == 2:
            few = len(queries)
    assert len(queries) == few


def test_nightly_audit_runs_once_per_day_even_if_fired_twice(stocked_variant):
    first = tasks.stock_audit_nightly.run(period="2026-11-23")
    again = tasks.stock_audit_nightly.run(period="2026-11-23")
    assert first["findings"] == 0 and again is None
    assert ScheduledRun.objects.get(job="stock_audit").status == ScheduledRun.Status.DONE
    assert tasks.stock_audit_nightly.run(period="2026-11-24") is not None


def test_a_failed_run_can_be_run_again_for_its_period(stocked_variant):
    with (
        mock.patch.object(inventory, "stock_audit", side_effect=RuntimeError("db gone")),
        pytest.raises(RuntimeError),
    ):
        tasks.stock_audit_nightly.run(period="2026-11-23")
    run = ScheduledRun.objects.get(job="stock_audit")
    assert (run.status, run.error) == (ScheduledRun.Status.FAILED, "RuntimeError: db gone")
    assert tasks.stock_audit_nightly.run(period="2026-11-23") is not None
    run.refresh_from_db()
    assert (run.status, run.error) == (ScheduledRun.Status.DONE, "")


def test_admin_runs_the_audit_now_and_shows_the_findings(
    admin_client, stocked_variant, warehouse, django_capture_on_commit_callbacks
):
    from backoffice.celery import app

    stock = stock_of(stocked_variant, warehouse)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stock SET on_hand = 7 WHERE id = %s", [stock.pk])
    changelist = reverse("admin:inventory_stockauditrun_changelist")
    page = admin_client.get(changelist).content.decode()
    assert "Run the stock audit now" in page
    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(changelist + "run-now/", follow=True)
    finally:
        app.conf.task_always_eager = previous
    assert "The stock audit was started" in response.content.decode()
    run = StockAuditRun.objects.get()
    detail = admin_client.get(reverse("admin:inventory_stockauditrun_change", args=[run.pk]))
    assert stocked_variant.sku in detail.content.decode()
    assert admin_client.get(changelist + "run-now/").status_code == 405


def test_run_now_needs_its_permission(client, db):
    from ..factories import UserFactory

    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    response = client.post(reverse("admin:inventory_stockauditrun_changelist") + "run-now/")
    assert response.status_code == 403


# --- alerts --------------------------------------------------------------------------------


def open_alerts():
    return sorted(
        StockAlert.objects.filter(resolved_at__isnull=True).values_list("kind", "stock_id")
    )


def test_alerts_open_and_resolve_with_the_levels(on_sale, warehouse):
    stock = stock_of(on_sale, warehouse)
    Stock.objects.filter(pk=stock.pk).update(reorder_point=4, max_level=8)
    inventory.stock_alerts_refresh()
    assert open_alerts() == [(Alert.OVERSTOCK, stock.pk)]  # 10 on hand > 8

    inventory.allocate(lines=[AllocationLine(on_sale, warehouse, 7)], reference="r", actor=None)
    result = inventory.stock_alerts_refresh()
    assert open_alerts() == [(Alert.LOW_STOCK, stock.pk), (Alert.OVERSTOCK, stock.pk)]
    assert result.opened[Alert.LOW_STOCK] == 1

    inventory.adjust(
        variant=on_sale, warehouse=warehouse, quantity=-3, reason="damaged", actor=None
    )
    inventory.stock_alerts_refresh()
    assert open_alerts() == [(Alert.OUT_OF_STOCK, stock.pk)]  # 7 on hand, 7 allocated
    resolved = StockAlert.objects.filter(resolved_at__isnull=False)
    assert sorted(resolved.values_list("kind", flat=True)) == [Alert.LOW_STOCK, Alert.OVERSTOCK]

    # Running again changes nothing.
    again = inventory.stock_alerts_refresh()
    assert sum(again.opened.values()) == sum(again.resolved.values()) == 0


@pytest.mark.parametrize("status", [ListingStatus.DRAFT, ListingStatus.DELISTED])
def test_alerts_skip_products_that_are_not_sold(stocked_variant, warehouse, status):
    stocked_variant.product.__class__.objects.filter(pk=stocked_variant.product_id).update(
        status=status, delist_reason="seasonal" if status == ListingStatus.DELISTED else ""
    )
    Stock.objects.filter(variant=stocked_variant).update(max_level=1)
    inventory.stock_alerts_refresh()
    assert open_alerts() == []


def test_slow_movers_are_stock_that_has_not_shipped_for_the_period(on_sale, warehouse, settings):
    settings.SLOW_MOVER_DAYS = 30
    stock = stock_of(on_sale, warehouse)
    inventory.stock_alerts_refresh()
    assert open_alerts() == []  # received today: not slow yet
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(days=40)):
        fresh = VariantFactory(product=ProductFactory(status=ListingStatus.ON_SALE))
        inventory.receive(variant=fresh, warehouse=warehouse, quantity=2, actor=None)
    old_stock = stock_of(fresh, warehouse)
    inventory.stock_alerts_refresh()
    assert open_alerts() == [(Alert.SLOW_MOVER, old_stock.pk)]
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(fresh, warehouse, 1)], reference="sale", actor=None
    )
    inventory.ship(allocation=allocation, actor=None)
    inventory.stock_alerts_refresh()
    assert open_alerts() == []
    assert stock.pk != old_stock.pk


def test_digest_goes_to_superusers_when_no_address_is_configured(on_sale, admin_user, settings):
    settings.STOCKROOM_ALERT_EMAILS = []
    Stock.objects.filter(variant=on_sale).update(reorder_point=20)
    tasks.stock_alerts_daily.run(period="2026-11-23")
    assert OutboxMessage.objects.get(event=EMAIL_STAFF_ALERTS).recipient == admin_user.email


def test_alerts_digest_is_sent_once_a_day(on_sale, warehouse, staff_mail):
    Stock.objects.filter(variant=on_sale).update(reorder_point=20, max_level=30)
    first = tasks.stock_alerts_daily.run(period="2026-11-23")
    assert first["open"] == 1
    assert tasks.stock_alerts_daily.run(period="2026-11-23") is None
    digest = OutboxMessage.objects.get(event=EMAIL_STAFF_ALERTS)
    assert digest.recipient == "ops@example.com"
    assert digest.payload["by_kind"] == {"Low stock": 1}
    assert digest.payload["new"][0]["sku"] == on_sale.sku


def test_staff_without_address_get_no_digest_and_nothing_fails(on_sale, warehouse, settings):
    from django.contrib.auth import get_user_model

    settings.STOCKROOM_ALERT_EMAILS = []
    get_user_model().objects.update(email="")
    Stock.objects.filter(variant=on_sale).update(reorder_point=20)
    assert tasks.stock_alerts_daily.run(period="2026-11-23")["open"] == 1
    assert not OutboxMessage.objects.exists()


def test_alert_list_defaults_to_open_alerts(admin_client, on_sale, warehouse):
    Stock.objects.filter(variant=on_sale).update(reorder_point=20)
    inventory.stock_alerts_refresh()
    changelist = reverse("admin:inventory_stockalert_changelist")
    page = admin_client.get(changelist).content.decode()
    assert on_sale.sku in page and "Refresh the alerts now" in page
    assert on_sale.sku not in admin_client.get(changelist + "?state=resolved").content.decode()
    assert on_sale.sku in admin_client.get(changelist + f"?q={on_sale.sku}").content.decode()


def test_a_row_never_stocked_without_reorder_point_is_not_out_of_stock(warehouse):
    variant = VariantFactory(product=ProductFactory(status=ListingStatus.ON_SALE))
    Stock.objects.create(variant=variant, warehouse=warehouse)
    inventory.stock_alerts_refresh()
    assert open_alerts() == []
    Stock.objects.filter(variant=variant).update(reorder_point=2)
    inventory.stock_alerts_refresh()
    assert open_alerts() == [(Alert.OUT_OF_STOCK, Stock.objects.get(variant=variant).pk)]
