"""The product bulk actions, through the admin as staff use them."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from backoffice.services import ALREADY_SUBMITTED
from catalog.forms import QUANTITY_FIELD_ERROR
from catalog.models import ListingEvent, ListingStatus, Product, Variant
from catalog.services import DELIST_NOTE_REQUIRED, DELIST_REASON_REQUIRED
from inventory import services as inventory
from inventory.models import Movement, Stock
from inventory.services import RESTOCK_DELISTED

from ..factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:catalog_product_changelist"


def post_action(client, action, products, **data):
    payload = {
        "action": action,
        ACTION_CHECKBOX_NAME: [p.pk for p in products],
        "index": 0,
        **data,
    }
    return client.post(reverse(CHANGELIST), payload)


def page_has(response, message) -> bool:
    return escape(str(message)) in response.content.decode()


def last_message(response) -> str:
    """The message this response added (earlier unread ones stay in the cookie)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def snapshot():
    return {
        "statuses": sorted(Product.objects.values_list("pk", "status")),
        "stock": sorted(Stock.objects.values_list("pk", "on_hand", "allocated")),
        "movements": Movement.objects.count(),
        "events": ListingEvent.objects.count(),
    }


@pytest.fixture
def products(warehouse, admin_user):
    category = CategoryFactory(name="Tshirts")
    items = []
    for i in range(3):
        product = ProductFactory(title=f"Tee {i}", category=category)
        variant = VariantFactory(product=product, sku=f"TEE-{i}")
        inventory.receive(variant=variant, warehouse=warehouse, quantity=5, actor=admin_user)
        items.append(product)
    return items


def test_delist_shows_the_reason_page_first(admin_client, products):
    response = post_action(admin_client, "delist_action", products)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Reason" in content and "Tee 0" in content
    assert 'name="submission_key"' in content
    assert Product.objects.filter(status=ListingStatus.DELISTED).count() == 0


def test_delist_with_reason_delists_and_keeps_stock(admin_client, products, admin_user):
    before = sorted(Stock.objects.values_list("pk", "on_hand"))
    response = post_action(
        admin_client,
        "delist_action",
        products,
        apply="1",
        reason="quality",
        note="seams split",
        submission_key=uuid.uuid4().hex,
    )
    assert response.status_code == 302
    assert "3 products delisted; 0 skipped" in last_message(response)
    for product in Product.objects.all():
        assert product.status == ListingStatus.DELISTED
        assert product.delist_reason == "quality"
        assert product.delist_note == "seams split"
        assert product.delisted_by == admin_user
        assert product.delisted_at is not None
    assert sorted(Stock.objects.values_list("pk", "on_hand")) == before
    assert ListingEvent.objects.filter(kind="delisted", on_hand=5, available=5).count() == 3
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Delisted" in page


def test_delist_without_reason_is_refused(admin_client, products):
    before = snapshot()
    response = post_action(
        admin_client, "delist_action", products, apply="1", reason="", submission_key="k1"
    )
    assert response.status_code == 200
    assert page_has(response, DELIST_REASON_REQUIRED)
    assert snapshot() == before


def test_delist_with_unknown_reason_is_refused(admin_client, products):
    before = snapshot()
    response = post_action(
        admin_client, "delist_action", products, apply="1", reason="bored", submission_key="k1"
    )
    assert page_has(response, DELIST_REASON_REQUIRED)
    assert snapshot() == before


def test_delist_other_needs_a_note(admin_client, products):
    before = snapshot()
    response = post_action(
        admin_client, "delist_action", products, apply="1", reason="other", submission_key="k1"
    )
    assert page_has(response, DELIST_NOTE_REQUIRED)
    assert snapshot() == before


def test_delist_form_submitted_twice_changes_nothing_the_second_time(admin_client, products):
    data = {"apply": "1", "reason": "seasonal", "note": "", "submission_key": uuid.uuid4().hex}
    post_action(admin_client, "delist_action", products, **data)
    after_first = snapshot()
    response = post_action(admin_client, "delist_action", products, **data)
    assert last_message(response) == str(ALREADY_SUBMITTED)
    assert snapshot() == after_first


def test_relist_puts_products_back_on_sale(admin_client, products):
    post_action(
        admin_client,
        "delist_action",
        products,
        apply="1",
        reason="seasonal",
        submission_key=uuid.uuid4().hex,
    )
    response = post_action(
        admin_client, "relist_action", products, apply="1", submission_key=uuid.uuid4().hex
    )
    assert "3 products relisted" in last_message(response)
    assert set(Product.objects.values_list("status", flat=True)) == {ListingStatus.ON_SALE}
    assert set(Product.objects.values_list("delist_reason", flat=True)) == {""}


def test_restock_receives_into_the_warehouse(admin_client, products, warehouse):
    response = post_action(
        admin_client,
        "restock_action",
        products,
        apply="1",
        warehouse=warehouse.pk,
        quantity=7,
        reason="supplier delivery",
        submission_key=uuid.uuid4().hex,
    )
    assert "Received 21 units into MAIN: 3 SKUs of 3 products." in last_message(response)
    assert set(Stock.objects.values_list("on_hand", flat=True)) == {12}
    receipts = Movement.objects.filter(kind="receipt", quantity=7, reason="supplier delivery")
    assert receipts.count() == 3


@pytest.mark.parametrize("quantity", ["0", "-3", "abc", "", "2.5"])
def test_restock_with_a_bad_quantity_is_refused(admin_client, products, warehouse, quantity):
    before = snapshot()
    response = post_action(
        admin_client,
        "restock_action",
        products,
        apply="1",
        warehouse=warehouse.pk,
        quantity=quantity,
        submission_key="k",
    )
    assert response.status_code == 200
    assert page_has(response, QUANTITY_FIELD_ERROR)
    assert snapshot() == before


def test_restock_into_an_unknown_warehouse_is_refused(admin_client, products):
    before = snapshot()
    response = post_action(
        admin_client,
        "restock_action",
        products,
        apply="1",
        warehouse=987654,
        quantity=3,
        submission_key="k",
    )
    assert page_has(response, "Choose an active warehouse from the list.")
    assert snapshot() == before


def test_restock_of_a_delisted_product_is_refused(admin_client, products, warehouse):
    post_action(
        admin_client,
        "delist_action",
        products[:1],
        apply="1",
        reason="obsolete",
        submission_key=uuid.uuid4().hex,
    )
    before = snapshot()
    response = post_action(
        admin_client,
        "restock_action",
        products,
        apply="1",
        warehouse=warehouse.pk,
        quantity=3,
        submission_key=uuid.uuid4().hex,
    )
    expected = RESTOCK_DELISTED % {"count": 1, "titles": "Tee 0"}
    assert last_message(response) == str(expected)
    assert snapshot() == before


def test_restock_submitted_twice_receives_once(admin_client, products, warehouse):
    data = {
        "apply": "1",
        "warehouse": warehouse.pk,
        "quantity": 4,
        "submission_key": uuid.uuid4().hex,
    }
    post_action(admin_client, "restock_action", products, **data)
    after_first = snapshot()
    response = post_action(admin_client, "restock_action", products, **data)
    assert last_message(response) == str(ALREADY_SUBMITTED)
    assert snapshot() == after_first
    assert set(Stock.objects.values_list("on_hand", flat=True)) == {9}


def test_dispose_remaining_stock_of_delisted_products(admin_client, products):
    post_action(
        admin_client,
        "delist_action",
        products,
        apply="1",
        reason="supplier_discontinued",
        submission_key=uuid.uuid4().hex,
    )
    response = post_action(
        admin_client,
        "dispose_action",
        products,
        apply="1",
        disposition="return_to_supplier",
        note="RMA 42",
        submission_key=uuid.uuid4().hex,
    )
    assert "15 units moved out of 3 stock rows" in last_message(response)
    assert set(Stock.objects.values_list("on_hand", flat=True)) == {0}
    assert Movement.objects.filter(kind="return_to_supplier", quantity=-5).count() == 3


def test_price_change_and_category_change(admin_client, products):
    post_action(
        admin_client,
        "price_action",
        products,
        apply="1",
        percent="-10",
        amount="",
        submission_key=uuid.uuid4().hex,
    )
    assert {str(p) for p in Variant.objects.values_list("price", flat=True)} == {"17.91"}
    target = CategoryFactory(name="Sale")
    post_action(
        admin_client,
        "set_category_action",
        products,
        apply="1",
        category=target.pk,
        submission_key=uuid.uuid4().hex,
    )
    assert set(Product.objects.values_list("category", flat=True)) == {target.pk}


def test_price_change_needs_percent_or_amount(admin_client, products):
    before = sorted(Variant.objects.values_list("pk", "price"))
    response = post_action(
        admin_client, "price_action", products, apply="1", percent="", amount="", submission_key="k"
    )
    assert "Give either a percentage or an amount" in response.content.decode()
    assert sorted(Variant.objects.values_list("pk", "price")) == before


def _many_products(n: int) -> list[Product]:
    category = CategoryFactory()
    Product.objects.bulk_create(
        Product(title=f"Bulk {i}", handle=f"bulk-{n}-{i}", category=category, status="on_sale")
        for i in range(n)
    )
    products = list(Product.objects.filter(handle__startswith=f"bulk-{n}-"))
    Variant.objects.bulk_create(
        Variant(product=p, sku=f"B{n}-{p.pk}", price="5.00") for p in products
    )
    return products


def _count_action_queries(client, action, products, **data):
    with CaptureQueriesContext(connection) as queries:
        response = post_action(client, action, products, apply="1", **data)
    assert response.status_code == 302, response.content[:500]
    return len(queries)


def test_bulk_actions_cost_the_same_queries_for_10_and_1000_products(admin_client, warehouse):
    small, large = _many_products(10), _many_products(1000)
    counts = {}
    for name, data in [
        ("restock_action", {"warehouse": warehouse.pk, "quantity": 3}),
        ("delist_action", {"reason": "seasonal", "note": ""}),
        ("relist_action", {}),
    ]:
        counts[name] = [
            _count_action_queries(
                admin_client, name, selection, submission_key=uuid.uuid4().hex, **data
            )
            for selection in (small, large)
        ]
    for name, (at_10, at_1000) in counts.items():
        assert at_10 == at_1000, (name, counts)
    assert Product.objects.filter(status="on_sale").count() == 1010
    assert Stock.objects.filter(on_hand=3).count() == 1010
