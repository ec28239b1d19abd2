"""Catalog services: listing status (publish, delist, relist, sold out) and bulk edits.

Bulk services must cost the same number of queries for 10 products as for 1,000.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.errors import DuplicateSubmission
from backoffice.services import ALREADY_SUBMITTED
from catalog import services as catalog
from catalog.exceptions import CatalogError, InvalidTransition, MissingReason
from catalog.models import Category, ListingEvent, ListingStatus, Product, Tag, Variant
from catalog.services import (
    DELIST_NOTE_REQUIRED,
    DELIST_REASON_REQUIRED,
    NOTHING_TO_DELIST,
    NOTHING_TO_PUBLISH,
    NOTHING_TO_RELIST,
    PRICE_CHANGE_INVALID,
    PRICE_CHANGE_NEGATIVE,
    PUBLISH_NEEDS_VARIANT,
    UNKNOWN_CATEGORY,
    StatusChange,
)
from inventory import services as inventory
from inventory.exceptions import InvalidOperation
from inventory.models import Movement, MovementKind, Stock
from inventory.services import NOT_SELLABLE, AllocationLine

from ..factories import CategoryFactory, ProductFactory, TagFactory, VariantFactory

pytestmark = pytest.mark.django_db


def refused(snapshot, error, message, call):
    """Run ``call``; it must raise ``error`` with ``message`` and change nothing."""
    before = snapshot()
    with pytest.raises(error) as excinfo:
        call()
    assert str(excinfo.value) == str(message)
    assert snapshot() == before
    return excinfo.value


def only(*products) -> QuerySet:
    return Product.objects.filter(pk__in=[p.pk for p in products])


def status(product) -> str:
    return Product.objects.values_list("status", flat=True).get(pk=product.pk)


def stocked(title: str, sku: str, warehouse, actor, quantity: int = 10) -> Product:
    product = ProductFactory(title=title)
    variant = VariantFactory(product=product, sku=sku)
    if quantity:
        inventory.receive(variant=variant, warehouse=warehouse, quantity=quantity, actor=actor)
    return product


def last_history(product):
    return Product.history.filter(id=product.pk).order_by("-history_id").first()


@pytest.fixture
def shirt(stocked_variant):
    """The shirt: on sale, 10 units of SHIRT-M at MAIN."""
    return stocked_variant.product


# --- publish ------------------------------------------------------------------------


def test_publish_puts_drafts_on_sale(warehouse, admin_user):
    draft = ProductFactory(title="New shirt", status=ListingStatus.DRAFT)
    variant = VariantFactory(product=draft, sku="NEW-1")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=4, actor=admin_user)
    result = catalog.publish(products=only(draft), actor=admin_user)
    assert result == StatusChange(changed=1, skipped=0)
    assert status(draft) == ListingStatus.ON_SALE
    history = last_history(draft)
    assert (history.status, history.history_user, history.history_change_reason) == (
        ListingStatus.ON_SALE,
        admin_user,
        "published",
    )


def test_publish_without_stock_is_sold_out_at_once(admin_user):
    draft = ProductFactory(title="New shirt", status=ListingStatus.DRAFT)
    VariantFactory(product=draft)
    catalog.publish(products=only(draft), actor=admin_user)
    assert status(draft) == ListingStatus.SOLD_OUT
    assert ListingEvent.objects.filter(product=draft, kind="sold_out").count() == 1


def test_publish_skips_products_that_are_not_drafts(shirt, admin_user):
    draft = ProductFactory(status=ListingStatus.DRAFT)
    VariantFactory(product=draft)
    result = catalog.publish(products=only(draft, shirt), actor=admin_user)
    assert result == StatusChange(changed=1, skipped=1)
    assert status(shirt) == ListingStatus.ON_SALE


def test_publish_of_a_draft_without_an_active_variant_is_refused(snapshot, admin_user):
    ready = ProductFactory(title="Ready", status=ListingStatus.DRAFT)
    VariantFactory(product=ready)
    empty = ProductFactory(title="Empty", status=ListingStatus.DRAFT)
    VariantFactory(product=empty, is_active=False)
    refused(
        snapshot,
        CatalogError,
        PUBLISH_NEEDS_VARIANT % {"count": 1, "titles": "Empty"},
        lambda: catalog.publish(products=only(ready, empty), actor=admin_user),
    )


def test_publish_with_no_draft_selected_is_refused(snapshot, shirt, admin_user):
    refused(
        snapshot,
        InvalidTransition,
        NOTHING_TO_PUBLISH,
        lambda: catalog.publish(products=only(shirt), actor=admin_user),
    )


# --- delist ---------------------------------------------------------------------------


def test_delist_records_who_when_why_and_keeps_the_stock(shirt, warehouse, admin_user):
    before = sorted(Stock.objects.values_list("pk", "on_hand", "allocated"))
    movements = Movement.objects.count()
    result = catalog.delist(
        products=only(shirt), reason="quality", note="seams split", actor=admin_user
    )
    assert result == StatusChange(changed=1, skipped=0)
    shirt.refresh_from_db()
    assert shirt.status == ListingStatus.DELISTED
    assert (shirt.delist_reason, shirt.delist_note) == ("quality", "seams split")
    assert shirt.delisted_by == admin_user
    assert timezone.now() - shirt.delisted_at < timedelta(minutes=1)
    # Step 2: the physical quantity is kept, never silently zeroed…
    assert sorted(Stock.objects.values_list("pk", "on_hand", "allocated")) == before
    assert Movement.objects.count() == movements
    # …but it is no longer sellable.
    assert shirt.is_sellable is False


def test_a_delisted_product_cannot_be_allocated(snapshot, shirt, stocked_variant, warehouse):
    catalog.delist(products=only(shirt), reason="seasonal", actor=None)
    refused(
        snapshot,
        InvalidOperation,
        NOT_SELLABLE % {"sku": "SHIRT-M", "status": "Delisted"},
        lambda: inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 1)], reference="r1", actor=None
        ),
    )
    assert Stock.objects.get().on_hand == 10


def test_delist_event_records_stock_and_recent_sales(
    shirt, stocked_variant, warehouse, other_warehouse, admin_user
):
    inventory.receive(variant=stocked_variant, warehouse=other_warehouse, quantity=4, actor=None)
    second = VariantFactory(product=shirt, sku="SHIRT-L")
    inventory.receive(variant=second, warehouse=warehouse, quantity=6, actor=None)
    forty_days_ago = timezone.now() - timedelta(days=40)
    with mock.patch("django.utils.timezone.now", return_value=forty_days_ago):
        (old,) = inventory.allocate(
            lines=[AllocationLine(stocked_variant, warehouse, 2)], reference="old", actor=None
        )
        inventory.ship(allocation=old, actor=None)
    (recent,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 3)], reference="recent", actor=None
    )
    inventory.ship(allocation=recent, actor=None)
    inventory.allocate(lines=[AllocationLine(second, warehouse, 1)], reference="open", actor=None)
    # On hand: 10 - 2 - 3 at MAIN, 4 at EAST, 6 of SHIRT-L = 15; 1 allocated.
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    event = ListingEvent.objects.get(kind=ListingEvent.Kind.DELISTED)
    assert (event.on_hand, event.available, event.units_sold_30d) == (15, 14, 3)
    assert (event.reason, event.actor, event.product) == ("obsolete", admin_user, shirt)
    assert event.dispatched_at is not None  # fanned out to the outbox in the same transaction


def test_delist_events_of_several_products_each_have_their_own_snapshot(warehouse, admin_user):
    products = [ProductFactory() for _ in range(3)]
    for index, product in enumerate(products):
        for size in range(index + 1):  # 1, 2 and 3 SKUs
            variant = VariantFactory(product=product)
            inventory.receive(
                variant=variant, warehouse=warehouse, quantity=10 * (size + 1), actor=None
            )
    sold = products[2].variants.order_by("pk").first()
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(sold, warehouse, 4)], reference="o1", actor=None
    )
    inventory.ship(allocation=allocation, actor=None, quantity=3)
    catalog.delist(
        products=Product.objects.filter(pk__in=[p.pk for p in products]),
        reason="obsolete",
        actor=admin_user,
    )
    events = ListingEvent.objects.filter(kind=ListingEvent.Kind.DELISTED).order_by("product_id")
    assert [(e.product_id, e.on_hand, e.available, e.units_sold_30d) for e in events] == [
        (products[0].pk, 10, 10, 0),
        (products[1].pk, 30, 30, 0),
        (products[2].pk, 57, 56, 3),
    ]


def test_delist_event_of_a_product_never_stocked(admin_user):
    product = ProductFactory()
    VariantFactory(product=product)
    catalog.delist(products=only(product), reason="compliance", actor=admin_user)
    event = ListingEvent.objects.get(kind=ListingEvent.Kind.DELISTED)
    assert (event.on_hand, event.available, event.units_sold_30d) == (0, 0, 0)


def test_delist_writes_history_with_the_actor(shirt, admin_user):
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user)
    history = last_history(shirt)
    assert history.status == ListingStatus.DELISTED
    assert history.delist_reason == "seasonal"
    assert history.history_user == admin_user
    assert history.history_change_reason == "delisted: seasonal"
    assert history.history_type == "~"


def test_delist_skips_delisted_and_draft_products(shirt, warehouse, admin_user):
    cap = stocked("Cap", "CAP-1", warehouse, admin_user)
    catalog.delist(products=only(cap), reason="seasonal", actor=admin_user)
    draft = ProductFactory(status=ListingStatus.DRAFT)
    result = catalog.delist(products=only(shirt, cap, draft), reason="obsolete", actor=admin_user)
    assert result == StatusChange(changed=1, skipped=2)
    cap.refresh_from_db()
    assert (cap.status, cap.delist_reason) == (ListingStatus.DELISTED, "seasonal")
    assert status(draft) == ListingStatus.DRAFT
    assert ListingEvent.objects.filter(kind="delisted").count() == 2


def test_delist_a_sold_out_product(shirt, stocked_variant, warehouse, admin_user):
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 10)], reference="r1", actor=None
    )
    assert status(shirt) == ListingStatus.SOLD_OUT
    catalog.delist(products=only(shirt), reason="out_of_stock", actor=admin_user)
    assert status(shirt) == ListingStatus.DELISTED


def test_delisting_only_delisted_products_is_refused(snapshot, shirt, admin_user):
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user)
    refused(
        snapshot,
        InvalidTransition,
        NOTHING_TO_DELIST,
        lambda: catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user),
    )


@pytest.mark.parametrize("reason", ["", None, "bored", "Seasonal"])
def test_delist_without_a_known_reason_is_refused(snapshot, shirt, admin_user, reason):
    refused(
        snapshot,
        MissingReason,
        DELIST_REASON_REQUIRED,
        lambda: catalog.delist(
            products=only(shirt), reason=reason, actor=admin_user, submission_key="k"
        ),
    )


@pytest.mark.parametrize("note", ["", "   ", None])
def test_delist_for_other_without_a_note_is_refused(snapshot, shirt, admin_user, note):
    refused(
        snapshot,
        MissingReason,
        DELIST_NOTE_REQUIRED,
        lambda: catalog.delist(
            products=only(shirt), reason="other", note=note, actor=admin_user, submission_key="k"
        ),
    )


def test_delist_for_other_with_a_note(shirt, admin_user):
    catalog.delist(products=only(shirt), reason="other", note=" brand request ", actor=admin_user)
    shirt.refresh_from_db()
    assert (shirt.delist_reason, shirt.delist_note) == ("other", "brand request")


def test_delist_submitted_twice_changes_nothing_the_second_time(snapshot, shirt, admin_user):
    cap = ProductFactory()
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user, submission_key="f1")
    refused(
        snapshot,
        DuplicateSubmission,
        ALREADY_SUBMITTED,
        lambda: catalog.delist(
            products=only(shirt, cap), reason="seasonal", actor=admin_user, submission_key="f1"
        ),
    )


# --- relist ---------------------------------------------------------------------------


def test_relist_puts_a_product_with_stock_back_on_sale(shirt, admin_user):
    catalog.delist(products=only(shirt), reason="seasonal", note="winter", actor=admin_user)
    result = catalog.relist(products=only(shirt), actor=admin_user)
    assert result == StatusChange(changed=1, skipped=0)
    shirt.refresh_from_db()
    assert shirt.status == ListingStatus.ON_SALE
    assert (shirt.delist_reason, shirt.delist_note, shirt.delisted_at, shirt.delisted_by) == (
        "",
        "",
        None,
        None,
    )
    assert ListingEvent.objects.filter(product=shirt, kind="relisted").count() == 1
    history = last_history(shirt)
    assert (history.status, history.history_user, history.history_change_reason) == (
        ListingStatus.ON_SALE,
        admin_user,
        "relisted",
    )
    # The history keeps why it had been delisted.
    assert Product.history.filter(id=shirt.pk, delist_note="winter").exists()


def test_relist_without_stock_is_sold_out(shirt, stocked_variant, warehouse, admin_user):
    catalog.delist(products=only(shirt), reason="supplier_discontinued", actor=admin_user)
    inventory.dispose_remaining(products=only(shirt), disposition="scrap", actor=admin_user)
    catalog.relist(products=only(shirt), actor=admin_user)
    assert status(shirt) == ListingStatus.SOLD_OUT
    inventory.receive(variant=stocked_variant, warehouse=warehouse, quantity=1, actor=None)
    assert status(shirt) == ListingStatus.ON_SALE


def test_relist_skips_products_that_are_not_delisted(shirt, warehouse, admin_user):
    cap = stocked("Cap", "CAP-1", warehouse, admin_user)
    catalog.delist(products=only(cap), reason="seasonal", actor=admin_user)
    result = catalog.relist(products=only(shirt, cap), actor=admin_user)
    assert result == StatusChange(changed=1, skipped=1)
    assert status(cap) == ListingStatus.ON_SALE


def test_relist_with_nothing_delisted_is_refused(snapshot, shirt, admin_user):
    refused(
        snapshot,
        InvalidTransition,
        NOTHING_TO_RELIST,
        lambda: catalog.relist(products=only(shirt), actor=admin_user, submission_key="k"),
    )


def test_relist_submitted_twice_changes_nothing_the_second_time(snapshot, shirt, admin_user):
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user)
    catalog.relist(products=only(shirt), actor=admin_user, submission_key="f2")
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user)
    refused(
        snapshot,
        DuplicateSubmission,
        ALREADY_SUBMITTED,
        lambda: catalog.relist(products=only(shirt), actor=admin_user, submission_key="f2"),
    )


# --- sold out, automatically ------------------------------------------------------------


def test_allocating_the_last_unit_sets_sold_out(shirt, stocked_variant, warehouse, admin_user):
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 9)], reference="r1", actor=admin_user
    )
    assert status(shirt) == ListingStatus.ON_SALE
    (last,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 1)], reference="r2", actor=admin_user
    )
    assert status(shirt) == ListingStatus.SOLD_OUT
    event = ListingEvent.objects.get(kind=ListingEvent.Kind.SOLD_OUT)
    assert (event.product, event.actor) == (shirt, admin_user)
    history = last_history(shirt)
    assert (history.status, history.history_user, history.history_change_reason) == (
        ListingStatus.SOLD_OUT,
        admin_user,
        "sold_out",
    )
    # Releasing a unit makes it sellable again.
    inventory.release(allocation=last, actor=admin_user)
    assert status(shirt) == ListingStatus.ON_SALE
    assert ListingEvent.objects.filter(kind=ListingEvent.Kind.BACK_IN_STOCK).count() == 1
    assert last_history(shirt).history_change_reason == "back_in_stock"


def test_disposing_the_last_unit_sets_sold_out_and_a_receipt_clears_it(
    shirt, stocked_variant, warehouse, admin_user
):
    inventory.dispose(
        variant=stocked_variant,
        warehouse=warehouse,
        quantity=10,
        kind=MovementKind.DISPOSAL,
        reason="flooded",
        actor=admin_user,
    )
    assert status(shirt) == ListingStatus.SOLD_OUT
    inventory.receive(variant=stocked_variant, warehouse=warehouse, quantity=2, actor=admin_user)
    assert status(shirt) == ListingStatus.ON_SALE


def test_adjusting_to_zero_sets_sold_out(shirt, stocked_variant, warehouse, admin_user):
    inventory.adjust(
        variant=stocked_variant, warehouse=warehouse, quantity=-10, reason="lost", actor=None
    )
    assert status(shirt) == ListingStatus.SOLD_OUT
    inventory.adjust(
        variant=stocked_variant, warehouse=warehouse, quantity=1, reason="found", actor=None
    )
    assert status(shirt) == ListingStatus.ON_SALE


def test_shipping_the_last_units_keeps_sold_out(shirt, stocked_variant, warehouse):
    (allocation,) = inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 10)], reference="r1", actor=None
    )
    inventory.ship(allocation=allocation, actor=None)
    assert status(shirt) == ListingStatus.SOLD_OUT


def test_a_product_with_another_sellable_variant_is_not_sold_out(
    shirt, stocked_variant, warehouse, other_warehouse
):
    large = VariantFactory(product=shirt, sku="SHIRT-L")
    inventory.receive(variant=large, warehouse=other_warehouse, quantity=1, actor=None)
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 10)], reference="r1", actor=None
    )
    assert status(shirt) == ListingStatus.ON_SALE
    inventory.allocate(
        lines=[AllocationLine(large, other_warehouse, 1)], reference="r2", actor=None
    )
    assert status(shirt) == ListingStatus.SOLD_OUT


def test_a_backorder_sku_keeps_its_product_on_sale(shirt, stocked_variant, warehouse, admin_user):
    inventory.set_backorders(
        variants=Variant.objects.filter(pk=stocked_variant.pk), allowed=True, actor=admin_user
    )
    inventory.allocate(
        lines=[AllocationLine(stocked_variant, warehouse, 12)], reference="r1", actor=None
    )
    assert status(shirt) == ListingStatus.ON_SALE
    # Stopping backorders with nothing free left sells it out.
    inventory.receive(variant=stocked_variant, warehouse=warehouse, quantity=2, actor=None)
    inventory.set_backorders(
        variants=Variant.objects.filter(pk=stocked_variant.pk), allowed=False, actor=admin_user
    )
    assert status(shirt) == ListingStatus.SOLD_OUT


def test_stock_of_an_inactive_sku_is_not_sellable(shirt, stocked_variant, warehouse):
    Variant.objects.filter(pk=stocked_variant.pk).update(is_active=False)
    inventory.adjust(
        variant=stocked_variant, warehouse=warehouse, quantity=-1, reason="count", actor=None
    )
    assert status(shirt) == ListingStatus.SOLD_OUT


def test_stock_changes_leave_drafts_and_delisted_products_alone(warehouse, admin_user):
    draft = ProductFactory(status=ListingStatus.DRAFT)
    draft_sku = VariantFactory(product=draft)
    gone = stocked("Gone", "GONE-1", warehouse, admin_user)
    catalog.delist(products=only(gone), reason="obsolete", actor=admin_user)
    inventory.receive(variant=draft_sku, warehouse=warehouse, quantity=1, actor=None)
    inventory.adjust(
        variant=Variant.objects.get(sku="GONE-1"),
        warehouse=warehouse,
        quantity=-10,
        reason="count",
        actor=None,
    )
    assert (status(draft), status(gone)) == (ListingStatus.DRAFT, ListingStatus.DELISTED)


# --- category, tags, prices -----------------------------------------------------------


def test_set_category_moves_products_and_records_history(shirt, warehouse, admin_user):
    cap = stocked("Cap", "CAP-1", warehouse, admin_user)
    sale = CategoryFactory(name="Sale")
    assert catalog.set_category(products=only(shirt, cap), category=sale, actor=admin_user) == 2
    assert set(Product.objects.values_list("category", flat=True)) == {sale.pk}
    for product in (shirt, cap):
        history = last_history(product)
        assert (history.category_id, history.history_user, history.history_change_reason) == (
            sale.pk,
            admin_user,
            "category",
        )
    # Already there: nothing changes.
    assert catalog.set_category(products=only(shirt), category=sale, actor=admin_user) == 0


def test_set_category_records_history_only_for_products_it_moved(shirt, warehouse, admin_user):
    sale = CategoryFactory(name="Sale")
    cap = stocked("Cap", "CAP-1", warehouse, admin_user)
    catalog.set_category(products=only(cap), category=sale, actor=admin_user)
    cap_history = Product.history.filter(id=cap.pk).count()
    assert catalog.set_category(products=only(shirt, cap), category=sale, actor=admin_user) == 1
    assert Product.history.filter(id=cap.pk).count() == cap_history
    assert last_history(shirt).history_change_reason == "category"


@pytest.mark.parametrize("category", [None, Category(name="Unsaved")])
def test_set_category_to_an_unknown_category_is_refused(snapshot, shirt, admin_user, category):
    refused(
        snapshot,
        CatalogError,
        UNKNOWN_CATEGORY,
        lambda: catalog.set_category(products=only(shirt), category=category, actor=admin_user),
    )


def test_add_and_remove_tags(shirt, warehouse, admin_user):
    cap = stocked("Cap", "CAP-1", warehouse, admin_user)
    cotton = TagFactory(kind=Tag.Kind.MATERIAL, name="cotton")
    summer = TagFactory(kind=Tag.Kind.SEASON, name="summer")
    shirt.tags.add(cotton)
    tags = Tag.objects.filter(pk__in=[cotton.pk, summer.pk])
    assert catalog.add_tags(products=only(shirt, cap), tags=tags, actor=admin_user) == 3
    assert set(shirt.tags.all()) == {cotton, summer}
    assert set(cap.tags.all()) == {cotton, summer}
    # Adding again adds nothing and breaks nothing.
    assert catalog.add_tags(products=only(shirt, cap), tags=tags, actor=admin_user) == 0
    removed = catalog.remove_tags(
        products=only(shirt, cap), tags=Tag.objects.filter(pk=summer.pk), actor=admin_user
    )
    assert removed == 2
    assert set(shirt.tags.all()) == {cotton}
    assert set(cap.tags.all()) == {cotton}
    assert cotton.products.count() == 2


def prices() -> dict:
    return {sku: str(price) for sku, price in Variant.objects.values_list("sku", "price")}


@pytest.fixture
def priced(shirt, admin_user):
    VariantFactory(product=shirt, sku="SHIRT-L", price=Decimal("19.99"))
    return only(shirt)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"percent": Decimal("-10")}, {"SHIRT-M": "17.91", "SHIRT-L": "17.99"}),
        ({"percent": Decimal("15")}, {"SHIRT-M": "22.89", "SHIRT-L": "22.99"}),
        ({"percent": Decimal("-100")}, {"SHIRT-M": "0.00", "SHIRT-L": "0.00"}),
        ({"amount": Decimal("1.05")}, {"SHIRT-M": "20.95", "SHIRT-L": "21.04"}),
        ({"amount": Decimal("-19.90")}, {"SHIRT-M": "0.00", "SHIRT-L": "0.09"}),
    ],
)
def test_change_prices(priced, admin_user, change, expected):
    assert catalog.change_prices(products=priced, actor=admin_user, **change) == 2
    assert prices() == expected
    history = Variant.history.filter(history_change_reason="price")
    assert history.count() == 2
    assert {h.history_user for h in history} == {admin_user}
    assert {h.sku: str(h.price) for h in history} == expected


@pytest.mark.parametrize(
    ("change", "count", "skus"),
    [
        ({"percent": Decimal("-101")}, 2, "SHIRT-M, SHIRT-L"),
        ({"amount": Decimal("-19.91")}, 1, "SHIRT-M"),
        ({"amount": Decimal("-50")}, 2, "SHIRT-M, SHIRT-L"),
    ],
)
def test_a_price_change_making_prices_negative_is_refused(
    snapshot, priced, admin_user, change, count, skus
):
    refused(
        snapshot,
        CatalogError,
        PRICE_CHANGE_NEGATIVE % {"count": count, "skus": skus},
        lambda: catalog.change_prices(products=priced, actor=admin_user, **change),
    )


@pytest.mark.parametrize(
    "change", [{}, {"percent": Decimal("5"), "amount": Decimal("1")}, {"percent": None}]
)
def test_a_price_change_needs_either_percent_or_amount(snapshot, priced, admin_user, change):
    refused(
        snapshot,
        CatalogError,
        PRICE_CHANGE_INVALID,
        lambda: catalog.change_prices(products=priced, actor=admin_user, **change),
    )


# --- the same number of queries for 10 and for 1,000 products --------------------------


def many_products(count: int, prefix: str) -> QuerySet:
    category = CategoryFactory(name=f"Bulk {prefix}")
    Product.objects.bulk_create(
        Product(
            title=f"{prefix} {i}",
            handle=f"{prefix}-{i}",
            category=category,
            status=ListingStatus.ON_SALE,
        )
        for i in range(count)
    )
    selected = Product.objects.filter(handle__startswith=f"{prefix}-")
    Variant.objects.bulk_create(
        Variant(product=p, sku=f"{prefix}-{p.pk}", price=Decimal("10.00")) for p in selected
    )
    return selected


def count_queries(step, selection) -> int:
    with CaptureQueriesContext(connection) as queries:
        step(selection)
    return len(queries)


def test_bulk_services_cost_the_same_queries_for_10_and_1000_products(warehouse, admin_user):
    small, large = many_products(10, "small"), many_products(1000, "large")
    sale = CategoryFactory(name="Sale")
    tags = Tag.objects.filter(pk__in=[TagFactory().pk, TagFactory().pk])
    steps = [
        (
            "restock_products",
            lambda selection: inventory.restock_products(
                products=selection,
                warehouse=warehouse,
                quantity=3,
                actor=admin_user,
                submission_key=uuid.uuid4().hex,
            ),
        ),
        (
            "change_prices",
            lambda selection: catalog.change_prices(
                products=selection, percent=Decimal("-10"), actor=admin_user
            ),
        ),
        (
            "set_category",
            lambda selection: catalog.set_category(
                products=selection, category=sale, actor=admin_user
            ),
        ),
        (
            "add_tags",
            lambda selection: catalog.add_tags(products=selection, tags=tags, actor=admin_user),
        ),
        (
            "remove_tags",
            lambda selection: catalog.remove_tags(products=selection, tags=tags, actor=admin_user),
        ),
        (
            "delist",
            lambda selection: catalog.delist(
                products=selection,
                reason="seasonal",
                actor=admin_user,
                submission_key=uuid.uuid4().hex,
            ),
        ),
        (
            "dispose_remaining",
            lambda selection: inventory.dispose_remaining(
                products=selection,
                disposition="donate",
                actor=admin_user,
                submission_key=uuid.uuid4().hex,
            ),
        ),
        (
            "relist",
            lambda selection: catalog.relist(
                products=selection, actor=admin_user, submission_key=uuid.uuid4().hex
            ),
        ),
    ]
    counts = {
        name: (count_queries(step, small), count_queries(step, large)) for name, step in steps
    }
    for name, (at_10, at_1000) in counts.items():
        assert at_10 == at_1000, (name, counts)

    # …and each step really did its work on all 1,000.
    assert Movement.objects.filter(kind=MovementKind.RECEIPT, quantity=3).count() == 1010
    assert Movement.objects.filter(kind=MovementKind.DONATION, quantity=-3).count() == 1010
    assert set(Stock.objects.values_list("on_hand", flat=True)) == {0}
    assert set(Variant.objects.values_list("price", flat=True)) == {Decimal("9.00")}
    assert set(large.values_list("category", flat=True)) == {sale.pk}
    assert not Product.tags.through.objects.exists()
    assert large.filter(status=ListingStatus.SOLD_OUT).count() == 1000
    assert ListingEvent.objects.filter(kind="delisted", on_hand=3, available=3).count() == 1010
    assert Product.history.filter(history_change_reason="relisted").count() == 1010
