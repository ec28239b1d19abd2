"""Bad product sheets: each refused with its message at its row and column, nothing written."""

from __future__ import annotations

import pytest

from backoffice.spreadsheets.reading import SheetError
from catalog.models import Category, Product
from inventory.models import Movement

from ..factories import (
    CategoryFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
    WarehouseFactory,
)
from .sheet_helpers import counts, csv_bytes, errors, run

pytestmark = pytest.mark.django_db

HEADER = ["handle", "title", "category", "sku", "price", "warehouse", "stock"]
GOOD = ["tee", "Tee", "Clothing", "TEE-S", "10.00", "MAIN", "3"]


@pytest.fixture(autouse=True)
def setting(db):
    WarehouseFactory(code="MAIN")
    CategoryFactory(name="Clothing")


@pytest.fixture
def unchanged(snapshot):
    """Asserts, after the test, that nothing at all was written."""
    before, rows = snapshot(), counts()
    yield
    assert snapshot() == before
    assert counts() == rows


def with_cell(column: str, value: str) -> list[list[str]]:
    """A good row, then a row of another product with one bad cell (row 3)."""
    bad = ["mug", "Mug", "Clothing", "MUG", "5.00", "MAIN", "3"]
    bad[HEADER.index(column)] = value
    return [HEADER, GOOD, bad]


def test_wrong_headers(unchanged, admin_user):
    report = run(
        "products", [["Handle", "Title", "SKU"], ["tee", "Tee", "TEE-S"]], actor=admin_user
    )
    assert errors(report) == [
        (
            1,
            "",
            "Missing columns: handle, sku. This sheet needs handle, sku; the file has Handle, "
            "Title, SKU.",
        )
    ]


def test_duplicate_skus_within_a_file(unchanged, admin_user):
    rows = [HEADER, GOOD, ["tee", "", "", "TEE-S", "12.00", "", ""]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [
        (3, "sku", "SKU TEE-S is on row 2 already: each SKU appears once in a file.")
    ]


def test_negative_stock(unchanged, admin_user):
    report = run("products", with_cell("stock", "-2"), actor=admin_user)
    assert errors(report) == [(3, "stock", "“-2” is below zero: stock cannot be negative.")]


def test_unknown_category(unchanged, admin_user):
    report = run("products", with_cell("category", "Shoes > Boots"), actor=admin_user)
    assert errors(report) == [
        (
            3,
            "category",
            "Unknown category “Shoes > Boots”: create it first, or tick “Create missing "
            "categories”.",
        )
    ]


def test_unknown_category_is_created_when_asked(admin_user):
    rows = [HEADER, ["boots", "Boots", "Shoes > Boots", "BOOT-1", "80", "", ""]]
    report = run("products", rows, actor=admin_user, options={"create_categories": True})
    assert errors(report) == []
    assert Category.objects.get(path="Shoes > Boots").parent.name == "Shoes"


def test_unknown_warehouse(unchanged, admin_user):
    report = run("products", with_cell("warehouse", "WEST"), actor=admin_user)
    assert errors(report) == [
        (3, "warehouse", "Unknown warehouse “WEST”; the warehouses are MAIN.")
    ]


def test_stock_without_a_warehouse(unchanged, admin_user):
    report = run("products", with_cell("warehouse", ""), actor=admin_user)
    assert errors(report) == [(3, "warehouse", "A stock quantity needs a warehouse.")]


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("ten", "“ten” is not a number (write it like 1234.50)."),
        ("-1", "“-1” is below zero: price cannot be negative."),
        ("9.999", "“9.999” has more than two decimals: prices are kept in cents."),
        ("1e20", "“1e20” is not a number (write it like 1234.50)."),
        ("99999999999", "“99999999999” is too large for price."),
    ],
)
def test_bad_price(unchanged, admin_user, price, message):
    report = run("products", with_cell("price", price), actor=admin_user)
    assert errors(report) == [(3, "price", message)]


def test_a_new_sku_without_a_price(unchanged, admin_user):
    report = run("products", with_cell("price", ""), actor=admin_user)
    assert errors(report) == [(3, "price", "A new SKU needs a price.")]


def test_a_new_product_without_a_title(unchanged, admin_user):
    rows = [HEADER, ["tee", "", "Clothing", "TEE-S", "10", "", ""]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [(2, "title", "This column needs a value.")]


def test_a_too_long_title(unchanged, admin_user):
    rows = [HEADER, ["tee", "x" * 300, "Clothing", "TEE-S", "10", "", ""]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [
        (2, "title", "This value has 300 characters; title holds at most 255.")
    ]


def test_a_handle_that_is_not_a_slug(unchanged, admin_user):
    rows = [HEADER, ["linen shirt", "Shirt", "Clothing", "TEE-S", "10", "", ""]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [
        (
            2,
            "handle",
            "“linen shirt” is not a handle: use letters, digits, hyphens and underscores, "
            "without spaces.",
        )
    ]


def test_an_unknown_status(unchanged, admin_user):
    rows = [["handle", "title", "status", "sku", "price"], ["tee", "Tee", "live", "TEE-S", "10"]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [(2, "status", "Unknown status “live”: use draft or on_sale.")]


def test_rows_of_one_product_that_disagree(unchanged, admin_user):
    rows = [HEADER, GOOD, ["tee", "Another tee", "", "TEE-M", "10", "", ""]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [
        (
            3,
            "title",
            "“Another tee” differs from “Tee” on row 2: the rows of one product agree on title "
            "(or leave it blank after the first row).",
        )
    ]


def test_rows_of_one_product_apart(unchanged, admin_user):
    rows = [
        HEADER,
        GOOD,
        ["mug", "Mug", "", "MUG", "5", "", ""],
        ["tee", "", "", "TEE-M", "1", "", ""],
    ]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [
        (
            4,
            "handle",
            "The rows of product tee must be together; it appeared on row 2, before other "
            "products.",
        )
    ]


def test_a_sku_of_another_product(snapshot, admin_user):
    VariantFactory(product=ProductFactory(handle="other"), sku="TEE-S")
    before = snapshot()
    report = run("products", [HEADER, GOOD], actor=admin_user)
    assert errors(report) == [
        (
            2,
            "sku",
            "SKU TEE-S belongs to product other: an import does not move a SKU to another product.",
        )
    ]
    assert snapshot() == before


def test_a_barcode_of_another_sku(snapshot, admin_user):
    VariantFactory(sku="OTHER", barcode="123")
    before = snapshot()
    rows = [["handle", "title", "sku", "price", "barcode"], ["tee", "Tee", "TEE-S", "1", "123"]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [(2, "barcode", "Barcode 123 belongs to SKU OTHER.")]
    assert snapshot() == before


def test_a_bad_image_url(unchanged, admin_user):
    rows = [["handle", "title", "sku", "price", "image_urls"], ["tee", "Tee", "T", "1", "c:/a.jpg"]]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == [
        (2, "image_urls", "“c:/a.jpg” is not a web address (http:// or https://).")
    ]


def test_stock_columns_need_the_stock_import_permission(unchanged):
    manager = UserFactory(username="catalog-manager")  # staff, no permissions
    report = run("products", [HEADER, GOOD], actor=manager)
    assert (
        1,
        "stock",
        "The warehouse and stock columns set stock levels, which needs the permission to "
        "import stock; remove these columns or ask an administrator.",
    ) in errors(report)


def test_a_formula_cell(unchanged, admin_user):
    report = run("products", with_cell("price", "=A1*2"), actor=admin_user)
    assert errors(report) == [
        (
            3,
            "price",
            "Cells that start with “=” are formulas and are not imported; type the value instead "
            "(got =A1*2).",
        )
    ]


def test_a_gbk_csv_without_choosing_the_encoding(unchanged, admin_user):
    data = csv_bytes([HEADER, ["tee", "纯棉T恤", "Clothing", "TEE-S", "10", "", ""]], "gbk")
    with pytest.raises(SheetError) as refused:
        run("products", data, actor=admin_user)
    assert refused.value.message.startswith("The file is not UTF-8 text (a byte 0x")
    assert "choose its encoding (for example GBK)" in refused.value.message


def test_a_gbk_csv_with_its_encoding_imports(admin_user):
    data = csv_bytes([HEADER, ["tee", "纯棉T恤", "Clothing", "TEE-S", "10", "", ""]], "gbk")
    report = run("products", data, actor=admin_user, encoding="gbk")
    assert errors(report) == []
    assert Product.objects.get(handle="tee").title == "纯棉T恤"


def test_utf8_with_a_bom_imports(admin_user):
    data = "\ufeff".encode() + csv_bytes([HEADER, GOOD])
    report = run("products", data, actor=admin_user)
    assert errors(report) == [] and report.created == 1
    assert Movement.objects.get().quantity == 3


def test_an_empty_file(unchanged, admin_user):
    with pytest.raises(SheetError) as refused:
        run("products", b"", actor=admin_user)
    assert refused.value.message == "The file is empty."


def test_a_header_without_rows(unchanged, admin_user):
    report = run("products", [HEADER], actor=admin_user)
    assert errors(report) == [(0, "", "The file has a header but no rows.")]


def test_a_binary_file_named_xlsx(unchanged, admin_user):
    with pytest.raises(SheetError) as refused:
        run("products", b"\x00\x01\x02PK-not-a-zip" * 100, actor=admin_user, name="products.xlsx")
    assert refused.value.message.startswith("products.xlsx is not an Excel workbook (.xlsx)")


def test_a_million_blank_trailing_rows_are_skipped(admin_user):
    data = csv_bytes([HEADER, GOOD]) + b",,,,,,\n" * 1_000_000
    report = run("products", data, actor=admin_user)
    assert errors(report) == []
    assert (report.total_rows, report.created) == (1, 1)
    assert "1,000,000 blank rows were skipped." in report.warnings


def test_stock_for_a_lot_tracked_sku(snapshot, admin_user):
    VariantFactory(product=ProductFactory(handle="tee", title="Tee"), sku="TEE-S", track_lots=True)
    before = snapshot()
    report = run("products", [HEADER, GOOD], actor=admin_user)
    assert errors(report) == [
        (
            2,
            "sku",
            "TEE-S is tracked by lot: its stock is received through the receiving form, lot by "
            "lot, not by a stock import.",
        )
    ]
    assert snapshot() == before
