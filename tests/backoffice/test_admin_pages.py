"""Every admin page opens, the ledger is read-only, and lists cost the same at 20 and 200 rows."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin import ProductAdmin, VariantAdmin
from catalog.models import Product
from inventory import services as inventory
from inventory.admin import MovementAdmin, StockAdmin
from inventory.models import Movement
from orders.admin import OrderAdmin

from ..factories import (
    CategoryFactory,
    OrderFactory,
    ProductFactory,
    TagFactory,
    VariantFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def test_every_registered_model_has_a_working_changelist(admin_client, stocked_variant):
    OrderFactory()
    TagFactory()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = admin_client.get(url)
        assert response.status_code == 200, url
        if model_admin.has_add_permission(response.wsgi_request):
            add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
            assert add.status_code == 200, opts.label


def test_change_pages_open(admin_client, stocked_variant):
    product = stocked_variant.product
    for name, pk in [
        ("catalog_product", product.pk),
        ("catalog_variant", stocked_variant.pk),
        ("inventory_stock", stocked_variant.stocks.get().pk),
        ("inventory_movement", Movement.objects.first().pk),
    ]:
        response = admin_client.get(reverse(f"admin:{name}_change", args=[pk]))
        assert response.status_code == 200, name
    history = admin_client.get(reverse("admin:catalog_product_history", args=[product.pk]))
    assert history.status_code == 200


def test_the_ledger_cannot_be_added_changed_or_deleted_in_admin(admin_client, stocked_variant):
    movement = Movement.objects.get()
    assert admin_client.get(reverse("admin:inventory_movement_add")).status_code == 403
    change_url = reverse("admin:inventory_movement_change", args=[movement.pk])
    response = admin_client.post(change_url, {"quantity": 999, "reason": "edited"})
    assert response.status_code == 403
    delete_url = reverse("admin:inventory_movement_delete", args=[movement.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    movement.refresh_from_db()
    assert (movement.quantity, movement.reason) == (10, "opening")
    page = admin_client.get(reverse("admin:inventory_movement_changelist")).content.decode()
    assert "delete_selected" not in page


def test_stock_levels_are_read_only_in_the_stock_form(admin_client, stocked_variant):
    stock = stocked_variant.stocks.get()
    url = reverse("admin:inventory_stock_change", args=[stock.pk])
    admin_client.post(
        url,
        {"on_hand": 500, "allocated": 0, "safety_stock": 2, "reorder_point": 3, "max_level": 50},
    )
    stock.refresh_from_db()
    assert stock.on_hand == 10
    assert (stock.safety_stock, stock.reorder_point, stock.max_level) == (2, 3, 50)


@pytest.fixture
def two_hundred_rows(admin_user):
    main, east = WarehouseFactory(code="M"), WarehouseFactory(code="E")
    category = CategoryFactory()
    tag = TagFactory()
    products = ProductFactory.create_batch(100, category=category)
    for product in products:
        product.tags.add(tag)
        for size in ("S", "M"):
            VariantFactory(product=product, sku=f"{product.handle}-{size}")
    everything = Product.objects.all()
    inventory.restock_products(products=everything, warehouse=main, quantity=3, actor=admin_user)
    inventory.restock_products(products=everything, warehouse=east, quantity=2, actor=admin_user)
    OrderFactory.create_batch(200)


@pytest.mark.parametrize(
    ("model_admin", "url", "query"),
    [
        (ProductAdmin, "admin:catalog_product_changelist", ""),
        (ProductAdmin, "admin:catalog_product_changelist", "?status__exact=on_sale&q=Product"),
        (VariantAdmin, "admin:catalog_variant_changelist", ""),
        (VariantAdmin, "admin:catalog_variant_changelist", "?price_min=1&price_max=100"),
        (StockAdmin, "admin:inventory_stock_changelist", ""),
        (StockAdmin, "admin:inventory_stock_changelist", "?state=ok&on_hand_min=1"),
        (MovementAdmin, "admin:inventory_movement_changelist", ""),
        (MovementAdmin, "admin:inventory_movement_changelist", "?kind__exact=receipt"),
        (OrderAdmin, "admin:orders_order_changelist", ""),
    ],
)
def test_changelist_queries_do_not_grow_with_rows_per_page(
    admin_client, two_hundred_rows, monkeypatch, model_admin, url, query
):
    counts = []
    for per_page in (20, 200):
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(url) + query)
        assert response.status_code == 200
        counts.append(len(queries))
        changelist = response.context["cl"]
        assert len(changelist.result_list) == min(per_page, changelist.result_count)
        if not query:
            assert changelist.result_count >= 100
    assert counts[0] == counts[1], counts


def test_range_filter_rejects_garbage(admin_client, stocked_variant):
    response = admin_client.get(reverse("admin:inventory_stock_changelist") + "?on_hand_min=abc")
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_stock_state_filter(admin_client, stocked_variant, warehouse, admin_user):
    empty = VariantFactory(sku="EMPTY-1")
    inventory.receive(variant=empty, warehouse=warehouse, quantity=1, actor=admin_user)
    inventory.adjust(
        variant=empty, warehouse=warehouse, quantity=-1, reason="lost", actor=admin_user
    )
    url = reverse("admin:inventory_stock_changelist")
    out = admin_client.get(url + "?state=out").context["cl"].result_list
    assert [s.variant.sku for s in out] == ["EMPTY-1"]
    ok = admin_client.get(url + "?state=ok").context["cl"].result_list
    assert [s.variant.sku for s in ok] == ["SHIRT-M"]


def test_language_switch_shows_the_admin_in_chinese(admin_client):
    response = admin_client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")}
    )
    assert response.status_code == 302
    page = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert 'lang="zh-hans"' in page
    assert "商品" in page  # our own model names are translated
    assert "language-select" in page


def test_search_by_sku_prefix_and_barcode_without_scanning_joins(admin_client, admin_user):
    warehouse = WarehouseFactory(code="S")
    shirt = VariantFactory(sku="TSHIRT-RED-M", barcode="6901234567892")
    VariantFactory(sku="MUG-1")
    inventory.receive(variant=shirt, warehouse=warehouse, quantity=2, actor=admin_user)
    for url, term, expected in [
        ("admin:catalog_product_changelist", "TSHIRT", [shirt.product.title]),
        ("admin:catalog_product_changelist", "tshirt", [shirt.product.title]),
        ("admin:catalog_variant_changelist", "6901234567892", ["TSHIRT-RED-M"]),
        ("admin:inventory_stock_changelist", "TSHIRT-RED", ["TSHIRT-RED-M"]),
        ("admin:inventory_movement_changelist", "TSHIRT", ["TSHIRT-RED-M"]),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(url), {"q": term})
        rows = response.context["cl"].result_list
        names = [
            getattr(row, "title", None) or getattr(row, "sku", None) or row.stock.variant.sku
            if not hasattr(row, "variant")
            else row.variant.sku
            for row in rows
        ]
        assert names == expected, (url, term, names)
        assert not any("DISTINCT" in q["sql"] for q in queries), url


def test_a_barcode_taken_by_another_sku_is_refused_by_the_variant_form(admin_client):
    taken = VariantFactory(barcode="4006381333931")
    other = VariantFactory(barcode=None)
    url = reverse("admin:catalog_variant_change", args=[other.pk])
    form = {
        "product": other.product_id,
        "sku": other.sku,
        "barcode": "4006381333931",
        "option1": "",
        "option2": "",
        "option3": "",
        "price": "10.00",
        "is_active": "on",
        "stocks-TOTAL_FORMS": "0",
        "stocks-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "Variant with this Barcode already exists." in response.content.decode()
    other.refresh_from_db()
    assert other.barcode is None and taken.barcode == "4006381333931"
    # Several SKUs may have no barcode at all.
    form["barcode"] = ""
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert VariantFactory(barcode=None).barcode is None
