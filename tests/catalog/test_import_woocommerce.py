"""WooCommerce's own sample export, and variations of it, through the "woocommerce" sheet."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.models import Category, ListingStatus, Product, Variant
from inventory.models import Movement, Stock

from ..factories import WarehouseFactory
from .sheet_helpers import counts, errors, run

pytestmark = pytest.mark.django_db

# WooCommerce's own sample export (a copy of the one beside SPEC.md).
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "woocommerce_sample_products.csv"


def sample_rows() -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(SAMPLE.read_text(encoding="utf-8-sig")))
    return list(reader.fieldnames), list(reader)


def as_csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def edited(**changes: dict[str, str]) -> bytes:
    """The sample with cells changed, by SKU: ``edited(**{"woo-belt": {"Stock": "3"}})``."""
    header, rows = sample_rows()
    for row in rows:
        row.update(changes.get(row["SKU"], {}))
    return as_csv(header, rows)


@pytest.fixture
def main(db):
    return WarehouseFactory(code="MAIN", name="Main warehouse")


def test_the_sample_imports_products_variants_categories_and_prices(main, admin_user):
    report = run("woocommerce", SAMPLE.read_bytes(), actor=admin_user)
    assert errors(report) == []
    assert Product.objects.count() == 16  # 2 variable + 14 simple; grouped and external skipped
    assert Variant.objects.count() == 21  # 7 variations + 14 simple products

    tee = Product.objects.get(handle="woo-vneck-tee")
    assert tee.title == "V-Neck T-Shirt"
    assert (tee.option1_name, tee.option2_name) == ("Color", "Size")
    assert sorted(tee.variants.values_list("sku", "option1", "option2", "price")) == [
        ("woo-vneck-tee-blue", "Blue", "", Decimal("15.00")),
        ("woo-vneck-tee-green", "Green", "", Decimal("20.00")),
        ("woo-vneck-tee-red", "Red", "", Decimal("20.00")),
    ]
    hoodie = Product.objects.get(handle="woo-hoodie")
    assert (hoodie.option1_name, hoodie.option2_name) == ("Color", "Logo")
    assert sorted(hoodie.variants.values_list("sku", "option1", "option2")) == [
        ("woo-hoodie-blue", "Blue", "No"),
        ("woo-hoodie-blue-logo", "Blue", "Yes"),
        ("woo-hoodie-green", "Green", "No"),
        ("woo-hoodie-red", "Red", "No"),
    ]
    # Sale price: the price; regular price: the compare-at price.
    red = Variant.objects.get(sku="woo-hoodie-red")
    assert (red.price, red.compare_at_price) == (Decimal("42.00"), Decimal("45.00"))
    green = Variant.objects.get(sku="woo-hoodie-green")
    assert (green.price, green.compare_at_price) == (Decimal("45.00"), None)
    # A variation without a weight has its product's: 1.5 lbs.
    assert red.weight_grams == 680
    # A simple product's single-valued attribute is its option.
    belt, cap = Variant.objects.get(sku="woo-belt"), Variant.objects.get(sku="woo-cap")
    assert (cap.product.option1_name, cap.option1) == ("Color", "Yellow")
    assert (belt.price, belt.compare_at_price) == (Decimal("55.00"), Decimal("65.00"))
    # SKUs are kept as written; the handle is the SKU made a slug.
    assert Variant.objects.get(sku="Woo-tshirt-logo").product.handle == "woo-tshirt-logo"

    assert sorted(Category.objects.values_list("path", flat=True)) == [
        "Clothing",
        "Clothing > Accessories",
        "Clothing > Hoodies",
        "Clothing > Tshirts",
        "Music",
    ]
    assert Category.objects.get(path="Clothing > Hoodies").parent.path == "Clothing"
    assert tee.category.path == "Clothing > Tshirts"
    # The variations' images join their product's images, once each.
    assert tee.images.count() == 3 and hoodie.images.count() == 4
    # Published products on sale, sold out: WooCommerce does not manage their stock.
    assert set(Product.objects.values_list("status", flat=True)) == {ListingStatus.SOLD_OUT}
    assert Stock.objects.count() == 0 and Movement.objects.count() == 0


def test_what_the_sample_has_that_stockroom_cannot_keep_is_reported(main, admin_user):
    report = run("woocommerce", SAMPLE.read_bytes(), actor=admin_user)
    skipped = {p.row: p for p in report.preview if p.action == "skip"}
    assert set(skipped) == {24, 25}  # the grouped Logo Collection, the external pennant
    assert "grouped product" in skipped[24].detail and "external" in skipped[25].detail
    warnings = "\n".join(report.warnings)
    assert "Column “Tax status” is not imported" in warnings
    assert "Column “Meta: _wpcom_is_markdown” is not imported" in warnings
    assert "Column “Download 1 URL” is not imported" in warnings
    assert "download files are not imported: Stockroom sells goods from stock — rows 14, 15" in (
        warnings
    )
    assert "any value (blank)" in warnings and "rows 16, 17, 18" in warnings
    album = next(p for p in report.preview if p.key == "woo-album")
    assert "download files" in album.detail


def test_importing_the_sample_twice_changes_nothing(main, admin_user):
    run("woocommerce", SAMPLE.read_bytes(), actor=admin_user)
    before = counts()
    report = run("woocommerce", SAMPLE.read_bytes(), actor=admin_user)
    assert errors(report) == []
    assert report.created == report.updated == 0 and report.unchanged == 23
    assert counts() == before


def test_managed_stock_and_tags_are_imported(main, admin_user):
    east = WarehouseFactory(code="EAST")
    data = edited(
        **{
            "woo-vneck-tee-red": {"Stock": "12"},
            "woo-belt": {"Stock": "0"},
            "woo-cap": {"Stock": "4", "Tags": "summer, Sale"},
            "woo-hoodie": {"Stock": "5"},  # kept on the parent: not importable
        }
    )
    report = run("woocommerce", data, actor=admin_user, options={"warehouse": east})
    assert errors(report) == []
    levels = {(s.variant.sku, s.warehouse.code): s.on_hand for s in Stock.objects.all()}
    assert levels == {("woo-vneck-tee-red", "EAST"): 12, ("woo-cap", "EAST"): 4}
    assert sorted(Movement.objects.values_list("reference", "quantity", "reason")) == [
        ("IMP-000001/row 16", 12, "import"),
        ("IMP-000001/row 8", 4, "import"),
    ]
    cap = Product.objects.get(handle="woo-cap")
    assert sorted(cap.tags.values_list("kind", "name")) == [("label", "Sale"), ("label", "summer")]
    assert cap.status == ListingStatus.ON_SALE
    assert Product.objects.get(handle="woo-belt").status == ListingStatus.SOLD_OUT
    assert any("stock kept on a variable product" in w and "rows 3" in w for w in report.warnings)

    before = counts()
    again = run("woocommerce", data, actor=admin_user, options={"warehouse": east})
    assert again.created == again.updated == 0 and counts() == before


def test_stock_goes_to_the_first_active_warehouse_by_default(main, admin_user):
    WarehouseFactory(code="AAA", is_active=False)
    report = run("woocommerce", edited(**{"woo-belt": {"Stock": "3"}}), actor=admin_user)
    assert errors(report) == []
    assert Stock.objects.get(variant__sku="woo-belt").warehouse == main


def test_a_variation_can_name_its_parent_by_id(main, admin_user):
    header, rows = sample_rows()
    for row in rows:
        if row["Parent"] == "woo-hoodie":
            row["Parent"] = "id:45"
    report = run("woocommerce", as_csv(header, rows), actor=admin_user)
    assert errors(report) == []
    assert Product.objects.get(handle="woo-hoodie").variants.count() == 4


def test_a_variation_of_a_product_already_in_the_catalog_joins_it(main, admin_user):
    run("woocommerce", SAMPLE.read_bytes(), actor=admin_user)
    header, rows = sample_rows()
    new = dict(next(r for r in rows if r["SKU"] == "woo-hoodie-red"))
    new.update({"ID": "999", "SKU": "woo-hoodie-gray", "Attribute 1 value(s)": "Gray"})
    report = run("woocommerce", as_csv(header, [new]), actor=admin_user)
    assert errors(report) == []
    gray = Variant.objects.get(sku="woo-hoodie-gray")
    assert (gray.product.handle, gray.option1, gray.option2) == ("woo-hoodie", "Gray", "No")


def test_a_variation_without_its_parent_is_refused_and_nothing_is_written(
    main, admin_user, snapshot
):
    header, rows = sample_rows()
    rows = [r for r in rows if r["SKU"] != "woo-hoodie"]
    before = snapshot()
    report = run("woocommerce", as_csv(header, rows), actor=admin_user)
    assert (18, "Parent", "The parent “woo-hoodie” is neither in the file nor in the catalog: "
            "import the variable product with its variations.") in errors(report)  # fmt: skip
    assert snapshot() == before
    assert Category.objects.count() == 0


def test_an_unknown_type_is_refused(main, admin_user, snapshot):
    before = snapshot()
    report = run("woocommerce", edited(**{"woo-belt": {"Type": "bundle"}}), actor=admin_user)
    assert errors(report) == [
        (
            7,
            "Type",
            "Unknown product type “bundle”: WooCommerce writes simple, variable, variation, "
            "grouped or external.",
        )
    ]
    assert snapshot() == before


def test_a_bad_regular_price_is_refused_at_its_cell(main, admin_user, snapshot):
    before = snapshot()
    report = run("woocommerce", edited(**{"woo-belt": {"Regular price": "6O"}}), actor=admin_user)
    assert errors(report) == [(7, "Regular price", "“6O” is not a number (write it like 1234.50).")]
    assert snapshot() == before
