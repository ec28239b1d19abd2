"""Shopify's product CSV through the "shopify" sheet (tests/fixtures/shopify_products.csv).

The fixture follows Shopify's documented export: the first row of a handle carries
the product, the next rows its other variants and images; a single-variant product
has Option1 "Title" / "Default Title"; a gift card, an archived product, a product
whose inventory Shopify does not track and a variant without a SKU are in it.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.models import Category, ListingStatus, Product, Variant
from inventory.models import Movement, Stock

from ..factories import ProductFactory, VariantFactory, WarehouseFactory
from .sheet_helpers import counts, errors, run

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_products.csv"


@pytest.fixture
def main(db):
    return WarehouseFactory(code="MAIN", name="Main warehouse")


def fixture_with(changes: dict[tuple[str, str], dict[str, str]]) -> bytes:
    """The fixture with cells changed, by (handle, Variant SKU)."""
    reader = csv.DictReader(io.StringIO(FIXTURE.read_text(encoding="utf-8")))
    rows = list(reader)
    for row in rows:
        row.update(changes.get((row["Handle"], row["Variant SKU"]), {}))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=reader.fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_the_fixture_imports_products_variants_images_and_stock(main, admin_user):
    report = run("shopify", FIXTURE.read_bytes(), actor=admin_user)
    assert errors(report) == []
    assert sorted(Product.objects.values_list("handle", flat=True)) == [
        "ceramic-mug",
        "linen-scarf",
        "merino-socks",
        "organic-cotton-tee",
        "straw-sun-hat",
    ]  # the gift card is not imported
    tee = Product.objects.get(handle="organic-cotton-tee")
    assert tee.title == "Organic Cotton Tee"
    assert tee.description.startswith("<p>Soft, breathable <strong>organic</strong>")
    assert (tee.option1_name, tee.option2_name, tee.option3_name) == ("Size", "Color", "")
    assert list(tee.variants.order_by("pk").values_list("sku", "option1", "option2")) == [
        ("NW-TEE-S-WHT", "S", "White"),
        ("NW-TEE-M-WHT", "M", "White"),
        ("NW-TEE-L-WHT", "L", "White"),
        ("NW-TEE-M-BLK", "M", "Black"),
    ]
    small = Variant.objects.get(sku="NW-TEE-S-WHT")
    assert (small.price, small.compare_at_price, small.cost) == (
        Decimal("24.00"),
        Decimal("29.00"),
        Decimal("9.80"),
    )
    assert (small.barcode, small.weight_grams, small.allow_backorder) == (
        "4006381333931",
        180,
        False,
    )
    assert tee.category.path == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert tee.category.parent.path == "Apparel & Accessories > Clothing"
    assert sorted(tee.tags.values_list("kind", "name")) == [
        ("brand", "Northwind"),
        ("label", "organic"),
        ("label", "summer"),
    ]
    # Images by Image Position, then the variant image.
    assert [i.url.rsplit("/", 1)[1] for i in tee.images.order_by("position")] == [
        "tee-white-front.jpg?v=1700000001",
        "tee-white-back.jpg?v=1700000002",
        "tee-black.jpg?v=1700000003",
    ]
    assert tee.images.order_by("position").first().alt_text == "White tee, front"

    mug = Product.objects.get(handle="ceramic-mug")
    assert (mug.option1_name, mug.variants.get().option1) == ("", "")  # "Default Title"
    assert mug.variants.get().allow_backorder is True  # inventory policy "continue"
    assert mug.images.count() == 2  # the second from an image-only row
    socks = Product.objects.get(handle="merino-socks")
    assert socks.option3_name == "Material"
    assert socks.variants.first().option3 == "Merino"
    hat = Product.objects.get(handle="straw-sun-hat")
    assert hat.category.path == "Hats"  # Type, without a Product Category
    # A variant without a SKU gets one made from the handle and its options.
    assert Product.objects.get(handle="linen-scarf").variants.get().sku == "linen-scarf-sand"

    # Status when created: active → on sale, draft and archived → draft.
    statuses = dict(Product.objects.values_list("handle", "status"))
    assert statuses == {
        "organic-cotton-tee": ListingStatus.ON_SALE,
        "ceramic-mug": ListingStatus.ON_SALE,
        "merino-socks": ListingStatus.ON_SALE,
        "straw-sun-hat": ListingStatus.DRAFT,
        "linen-scarf": ListingStatus.DRAFT,
    }
    # Stock only where Shopify tracks it, in the first active warehouse.
    levels = dict(Stock.objects.filter(warehouse=main).values_list("variant__sku", "on_hand"))
    assert levels == {
        "NW-TEE-S-WHT": 10,
        "NW-TEE-M-WHT": 4,
        "NW-TEE-M-BLK": 7,
        "KC-MUG-350": 25,
        "linen-scarf-sand": 3,
        "WL-SOCK-3942-GRY": 30,
        "WL-SOCK-4346-GRY": 18,
    }
    assert Movement.objects.count() == 7
    assert set(Movement.objects.values_list("reason", flat=True)) == {"import"}
    assert Movement.objects.get(stock__variant__sku="NW-TEE-S-WHT").reference == "IMP-000001/row 2"


def test_what_the_fixture_has_that_stockroom_cannot_keep_is_reported(main, admin_user):
    report = run("shopify", FIXTURE.read_bytes(), actor=admin_user)
    skipped = sorted(p.row for p in report.preview if p.action == "skip")
    assert skipped == [8, 9]  # the gift card's two rows
    warnings = "\n".join(report.warnings)
    assert "Column “SEO Title” is not imported: search-engine texts are not kept" in warnings
    assert "Column “Price / International” is not imported: prices per market" in warnings
    assert "Column “Google Shopping / Gender” is not imported" in warnings
    assert "gift card is not a product Stockroom stocks: not imported — rows 8, 9" in warnings
    assert "archived in Shopify: imported as a draft — rows 10" in warnings
    assert "the SKU is made from the handle and the options — rows 11" in warnings


def test_importing_the_fixture_twice_changes_nothing(main, admin_user):
    run("shopify", FIXTURE.read_bytes(), actor=admin_user)
    before = counts()
    report = run("shopify", FIXTURE.read_bytes(), actor=admin_user)
    assert errors(report) == []
    assert report.created == report.updated == 0 and report.unchanged == 10
    assert counts() == before


def test_a_new_inventory_quantity_is_one_movement(main, admin_user):
    run("shopify", FIXTURE.read_bytes(), actor=admin_user)
    data = fixture_with({("ceramic-mug", "KC-MUG-350"): {"Variant Inventory Qty": "21"}})
    report = run("shopify", data, actor=admin_user, reference="IMP-000002")
    assert errors(report) == []
    assert (report.updated, report.unchanged) == (1, 9)
    stock = Stock.objects.get(variant__sku="KC-MUG-350")
    assert stock.on_hand == 21
    assert Movement.objects.filter(stock=stock).order_by("-id").first().reference == (
        "IMP-000002/row 6"
    )


def test_a_sku_of_another_product_is_refused_and_nothing_is_written(main, admin_user, snapshot):
    run("shopify", FIXTURE.read_bytes(), actor=admin_user)
    VariantFactory(product=ProductFactory(handle="wool-mittens"), sku="WL-MITT")
    before, categories = snapshot(), Category.objects.count()
    data = fixture_with({("merino-socks", "WL-SOCK-4346-GRY"): {"Variant SKU": "WL-MITT"}})
    report = run("shopify", data, actor=admin_user)
    assert errors(report) == [
        (
            13,
            "Variant SKU",
            "SKU WL-MITT belongs to product wool-mittens: an import does not move a SKU to "
            "another product.",
        )
    ]
    assert snapshot() == before and Category.objects.count() == categories


def test_an_unknown_status_is_refused(main, admin_user, snapshot):
    before = snapshot()
    data = fixture_with({("merino-socks", "WL-SOCK-3942-GRY"): {"Status": "live"}})
    report = run("shopify", data, actor=admin_user)
    assert errors(report) == [
        (12, "Status", "Unknown status “live”: Shopify writes active, draft or archived.")
    ]
    assert snapshot() == before
