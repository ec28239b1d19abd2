"""Replenishment (F-24): demand from recent shipments, safety stock and lead time give a
suggested quantity, rounded to MOQ and pack size; suggestions become draft purchase orders,
one per preferred supplier; the computation costs the same queries for 100 or 10,000 SKUs."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.errors import DuplicateSubmission
from catalog.models import ListingStatus, Product, Variant
from inventory import services as inventory
from inventory.models import Stock
from suppliers import services
from suppliers.exceptions import PurchasingError
from suppliers.models import PurchaseOrder, SupplierPrice
from suppliers.selectors import replenishment_suggestions, round_order_quantity

from ..factories import (
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    WarehouseFactory,
    purchase_order,
    supplier_price,
)

pytestmark = pytest.mark.django_db


def receive(variant, warehouse, quantity, actor):
    inventory.receive(variant=variant, warehouse=warehouse, quantity=quantity, actor=actor)


def ship(variant, warehouse, quantity, actor, reference):
    allocation = inventory.allocate(
        lines=[inventory.AllocationLine(variant, warehouse, quantity)],
        reference=reference,
        actor=actor,
    )[0]
    inventory.ship(allocation=allocation, actor=actor)


def settings_of(variant, warehouse, **levels):
    Stock.objects.filter(variant=variant, warehouse=warehouse).update(**levels)
    return Stock.objects.get(variant=variant, warehouse=warehouse)


@pytest.fixture
def history(clock, acme, other_supplier, skus, warehouse, other_warehouse, admin_user):
    """Sales history as of 2 March:

    - SHIRT-M @ MAIN: 50 received, 5 shipped 40 days ago (too old to count), 32 shipped 10
      days ago → 13 on hand; reorder point 15, safety 2, maximum 60; Acme preferred, MOQ 10,
      packs of 12, 7 days' lead time;
    - MUG-1 @ MAIN: 10 received, 9 shipped 5 days ago → 1 on hand; no reorder point, safety 1,
      no maximum; Other preferred, 14 days' lead time;
    - LOOSE-1 @ MAIN: 2 on hand, reorder point 5, maximum 10; no preferred supplier;
    - SHIRT-M @ EAST: 40 on hand, reorder point 5: nothing to do.
    """
    start = clock.now
    loose = VariantFactory(product=ProductFactory(title="Loose"), sku="LOOSE-1")
    supplier_price(acme, skus["shirt"], "8.00", moq=10, pack_size=12, is_preferred=True)
    supplier_price(other_supplier, skus["mug"], "4.80", is_preferred=True)
    clock.set(start - timedelta(days=45))
    receive(skus["shirt"], warehouse, 50, admin_user)
    receive(skus["shirt"], other_warehouse, 40, admin_user)
    receive(loose, warehouse, 2, admin_user)
    clock.set(start - timedelta(days=40))
    ship(skus["shirt"], warehouse, 5, admin_user, "old")
    clock.set(start - timedelta(days=20))
    receive(skus["mug"], warehouse, 10, admin_user)
    clock.set(start - timedelta(days=10))
    ship(skus["shirt"], warehouse, 32, admin_user, "recent")
    clock.set(start - timedelta(days=5))
    ship(skus["mug"], warehouse, 9, admin_user, "mugs")
    clock.set(start)
    settings_of(skus["shirt"], warehouse, reorder_point=15, safety_stock=2, max_level=60)
    settings_of(skus["mug"], warehouse, reorder_point=0, safety_stock=1)
    settings_of(loose, warehouse, reorder_point=5, max_level=10)
    settings_of(skus["shirt"], other_warehouse, reorder_point=5, max_level=50)
    return {"shirt": skus["shirt"], "mug": skus["mug"], "loose": loose}


def by_sku(suggestions):
    return {s.sku: s for s in suggestions}


def test_suggested_quantities(history):
    found = by_sku(replenishment_suggestions())
    assert set(found) == {"SHIRT-M", "MUG-1", "LOOSE-1"}
    shirt = found["SHIRT-M"]
    # 32 shipped in 30 days; reorder point max(15, ⌈32×7/30⌉ + 2 = 10) = 15; 13 ≤ 15;
    # up to the maximum 60 → 47, rounded to MOQ 10 and packs of 12 → 48.
    assert (shirt.warehouse_code, shirt.on_hand, shirt.on_order, shirt.shipped) == (
        "MAIN",
        13,
        0,
        32,
    )
    assert shirt.demand_per_day == Decimal("1.07")
    assert (shirt.reorder_point, shirt.order_up_to, shirt.lead_time_days) == (15, 60, 7)
    assert (shirt.supplier_code, shirt.moq, shirt.pack_size, shirt.quantity) == ("ACME", 10, 12, 48)
    mug = found["MUG-1"]
    # 9 shipped; reorder point ⌈9×14/30⌉ + 1 = 6; no maximum: reorder point + 30 days of
    # demand = 15; 15 − 1 on hand = 14.
    assert (mug.demand_per_day, mug.reorder_point, mug.order_up_to) == (Decimal("0.30"), 6, 15)
    assert (mug.supplier_code, mug.lead_time_days, mug.quantity) == ("OTHER", 14, 14)
    loose = found["LOOSE-1"]
    assert (loose.supplier_id, loose.supplier_code, loose.lead_time_days, loose.quantity) == (
        None,
        "",
        7,
        8,
    )


def test_what_is_on_order_counts(history, acme, other_supplier, warehouse, admin_user):
    purchase_order(other_supplier, warehouse, [(history["mug"], 5)], send=True)
    assert by_sku(replenishment_suggestions())["MUG-1"].on_order == 5  # 1 + 5 ≤ 6: still low
    purchase_order(acme, warehouse, [(history["shirt"], 12)])  # a draft counts too
    found = by_sku(replenishment_suggestions())
    # 13 + 12 = 25 > 15: the shirt is fine; the mug is still low.
    assert "SHIRT-M" not in found
    assert found["MUG-1"].quantity == 9  # 15 − (1 + 5)


def test_filters_and_a_longer_demand_window(history, warehouse, other_warehouse, other_supplier):
    assert replenishment_suggestions(warehouse_ids=[other_warehouse.pk]) == []
    assert [s.sku for s in replenishment_suggestions(supplier_id=other_supplier.pk)] == ["MUG-1"]
    shirt = by_sku(replenishment_suggestions(days=60))["SHIRT-M"]
    assert (shirt.shipped, shirt.demand_per_day) == (37, Decimal("0.62"))


def test_delisted_and_inactive_skus_are_not_suggested(history):
    Product.objects.filter(variants=history["loose"]).update(
        status=ListingStatus.DELISTED, delist_reason="obsolete"
    )
    Variant.objects.filter(pk=history["mug"].pk).update(is_active=False)
    assert [s.sku for s in replenishment_suggestions()] == ["SHIRT-M"]


@pytest.mark.parametrize(
    ("need", "moq", "pack", "expected"),
    [
        (0, 10, 1, 0),
        (-3, 1, 1, 0),
        (1, 10, 1, 10),
        (47, 10, 12, 48),
        (48, 10, 12, 48),
        (5, 7, 6, 12),
    ],
)
def test_rounding_to_moq_and_pack_size(need, moq, pack, expected):
    assert round_order_quantity(need, moq=moq, pack_size=pack) == expected


# --- draft purchase orders ---------------------------------------------------------------------


def test_suggestions_become_one_draft_per_preferred_supplier(history, admin_user, acme):
    supplier_price(
        acme,
        history["shirt"],
        "8.00",
        moq=10,
        pack_size=12,
        is_preferred=True,
        breaks=[services.PriceBreak(48, Decimal("7.40"))],
    )
    stock_ids = [s.stock_id for s in replenishment_suggestions()]
    result = services.replenishment_create_orders(stock_ids=stock_ids, actor=admin_user)

    assert result.without_supplier == ["LOOSE-1 @ MAIN"]
    assert (result.lines, result.not_needed) == (2, 0)
    orders = {o.supplier.code: o for o in PurchaseOrder.objects.all()}
    assert set(orders) == {"ACME", "OTHER"}
    assert {o.pk for o in result.orders} == {o.pk for o in orders.values()}
    acme_order = orders["ACME"]
    assert (acme_order.status, acme_order.warehouse.code, acme_order.created_by) == (
        PurchaseOrder.Status.DRAFT,
        "MAIN",
        admin_user,
    )
    assert list(
        acme_order.lines.values_list("line_number", "variant__sku", "quantity", "unit_cost")
    ) == [
        (1, "SHIRT-M", 48, Decimal("7.40"))  # the break from 48 units
    ]
    assert list(orders["OTHER"].lines.values_list("variant__sku", "quantity", "unit_cost")) == [
        ("MUG-1", 14, Decimal("4.80"))
    ]
    assert orders["OTHER"].expected_date == orders["OTHER"].created_at.date() + timedelta(days=14)
    assert acme_order.history.count() == 1
    # Drafts count as on order: only the SKU without a supplier is still suggested.
    assert [s.sku for s in replenishment_suggestions()] == ["LOOSE-1"]


def test_only_skus_without_a_supplier_creates_nothing(history, admin_user, state):
    loose = by_sku(replenishment_suggestions())["LOOSE-1"]
    before = state()
    with pytest.raises(PurchasingError) as refused:
        services.replenishment_create_orders(stock_ids=[loose.stock_id], actor=admin_user)
    assert refused.value.message == services.REPLENISH_NO_SUPPLIER % {"skus": "LOOSE-1 @ MAIN"}
    assert state() == before


def test_rows_that_no_longer_need_anything_are_counted_not_ordered(history, admin_user, warehouse):
    found = by_sku(replenishment_suggestions())
    receive(history["mug"], warehouse, 50, admin_user)  # arrived meanwhile
    result = services.replenishment_create_orders(
        stock_ids=[found["SHIRT-M"].stock_id, found["MUG-1"].stock_id], actor=admin_user
    )
    assert (len(result.orders), result.lines, result.not_needed) == (1, 1, 1)


def test_nothing_selected_and_double_submit_are_refused(history, admin_user, state):
    before = state()
    with pytest.raises(PurchasingError) as refused:
        services.replenishment_create_orders(stock_ids=[], actor=admin_user)
    assert refused.value.message == services.REPLENISH_NOTHING_SELECTED
    assert state() == before
    shirt = by_sku(replenishment_suggestions())["SHIRT-M"]
    services.replenishment_create_orders(
        stock_ids=[shirt.stock_id], actor=admin_user, submission_key="page-1"
    )
    before = state()
    with pytest.raises(DuplicateSubmission):
        services.replenishment_create_orders(
            stock_ids=[shirt.stock_id], actor=admin_user, submission_key="page-1"
        )
    assert state() == before


# --- admin page ----------------------------------------------------------------------------------

PAGE = "admin:suppliers_replenishment_changelist"


def test_the_page_is_listed_under_suppliers_in_the_admin_index(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse(PAGE) in index
    assert "Replenishment suggestions" in index
    app = admin_client.get(reverse("admin:app_list", args=["suppliers"])).content.decode()
    assert reverse(PAGE) in app


def test_the_page_lists_suggestions_and_filters_them(admin_client, history, warehouse):
    response = admin_client.get(reverse(PAGE))
    assert response.status_code == 200
    assert [s.sku for s in response.context["page"].object_list] == ["SHIRT-M", "MUG-1", "LOOSE-1"]
    content = response.content.decode()
    assert "LOOSE-1" in content and "<strong>48</strong>" in content
    assert "1 without a preferred supplier" in content
    other = WarehouseFactory(code="NORTH")
    response = admin_client.get(reverse(PAGE), {"warehouse": other.pk})
    assert response.context["count"] == 0
    assert "Nothing needs replenishing." in response.content.decode()


def test_the_page_turns_the_selection_into_drafts(admin_client, history):
    found = by_sku(replenishment_suggestions())
    page = admin_client.get(reverse(PAGE))
    key = page.context["submission_key"]
    response = admin_client.post(
        reverse(PAGE),
        {
            "stock": [found["SHIRT-M"].stock_id, found["LOOSE-1"].stock_id],
            "submission_key": key,
        },
        follow=True,
    )
    content = response.content.decode()
    assert "1 draft purchase order created (1 lines):" in content
    assert (
        "1 SKUs were not ordered because they have no active preferred supplier: LOOSE-1 @ MAIN."
        in content
    )
    order = PurchaseOrder.objects.get()
    assert order.number in content
    assert list(order.lines.values_list("variant__sku", "quantity")) == [("SHIRT-M", 48)]
    # The same page submitted again: refused, nothing more created.
    again = admin_client.post(
        reverse(PAGE), {"stock": [found["SHIRT-M"].stock_id], "submission_key": key}, follow=True
    )
    assert "already submitted" in again.content.decode()
    assert PurchaseOrder.objects.count() == 1


def test_the_page_orders_every_suggestion_across_pages(admin_client, history):
    page = admin_client.get(reverse(PAGE))
    response = admin_client.post(
        reverse(PAGE),
        {"select_across": "1", "submission_key": page.context["submission_key"]},
        follow=True,
    )
    assert "2 draft purchase orders created (2 lines):" in response.content.decode()
    assert PurchaseOrder.objects.count() == 2


def test_the_page_reports_an_empty_selection(admin_client, history):
    response = admin_client.post(reverse(PAGE), {"submission_key": "x"}, follow=True)
    assert "Select at least one suggestion." in response.content.decode()
    assert PurchaseOrder.objects.count() == 0


def test_staff_without_permission_cannot_see_the_page(client, history):
    from ..factories import UserFactory

    client.force_login(UserFactory(username="clerk"))
    assert client.get(reverse(PAGE)).status_code == 403


# --- scale ------------------------------------------------------------------------------------


def bulk_skus(count: int, warehouse, suppliers) -> None:
    """``count`` SKUs at zero stock below their reorder point, written in bulk; nine in ten
    have a preferred supplier (MOQ 6, packs of 6)."""
    category = CategoryFactory()
    prefix = f"BULK-{warehouse.code}-"
    products = Product.objects.bulk_create(
        Product(title=f"Bulk {n}", handle=f"{prefix}{n}", category=category, status="on_sale")
        for n in range(max(count // 100, 1))
    )
    Variant.objects.bulk_create(
        Variant(product=products[n % len(products)], sku=f"{prefix}{n:06d}", price=10)
        for n in range(count)
    )
    variants = list(
        Variant.objects.filter(sku__startswith=prefix).order_by("pk").values_list("pk", flat=True)
    )
    Stock.objects.bulk_create(
        Stock(variant_id=pk, warehouse=warehouse, reorder_point=5, safety_stock=1, max_level=20)
        for pk in variants
    )
    SupplierPrice.objects.bulk_create(
        SupplierPrice(
            supplier=suppliers[n % len(suppliers)],
            variant_id=pk,
            unit_cost=Decimal("1.00"),
            moq=6,
            pack_size=6,
            is_preferred=True,
        )
        for n, pk in enumerate(variants)
        if n % 10
    )


def test_replenishment_queries_do_not_depend_on_the_number_of_skus(
    acme, other_supplier, admin_client
):
    measured = {}
    for count in (100, 10_000):
        warehouse = WarehouseFactory(code=f"W{count}")
        bulk_skus(count, warehouse, [acme, other_supplier])
        started = time.monotonic()
        with CaptureQueriesContext(connection) as queries:
            suggestions = replenishment_suggestions(warehouse_ids=[warehouse.pk])
        elapsed = time.monotonic() - started
        assert len(suggestions) == count
        assert {s.quantity for s in suggestions if s.supplier_id} == {24}  # 20 → packs of 6
        assert {s.quantity for s in suggestions if not s.supplier_id} == {20}
        with CaptureQueriesContext(connection) as page_queries:
            response = admin_client.get(reverse(PAGE), {"warehouse": warehouse.pk})
        assert response.context["count"] == count
        measured[count] = (len(queries), len(page_queries), elapsed)
        print(f"replenishment over {count} SKUs: {measured[count]}")  # noqa: T201
    assert measured[100][0] == measured[10_000][0] == 1
    assert measured[100][1] == measured[10_000][1]


def test_drafting_orders_costs_the_same_queries_for_more_skus(acme, other_supplier, admin_user):
    counts = []
    for count in (20, 80):
        warehouse = WarehouseFactory(code=f"D{count}")
        bulk_skus(count, warehouse, [acme, other_supplier])
        ids = [s.stock_id for s in replenishment_suggestions(warehouse_ids=[warehouse.pk])]
        with CaptureQueriesContext(connection) as queries:
            result = services.replenishment_create_orders(stock_ids=ids, actor=admin_user)
        assert (len(result.orders), len(result.without_supplier)) == (2, count // 10)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
