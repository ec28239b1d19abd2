"""The "products" sheet: products with variants, categories, tags, images and stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from psycopg import pq

from catalog import services as catalog
from catalog.imports import engine
from catalog.models import ListingStatus, Product, ProductImage, Tag, Variant
from catalog.resources import ProductVariantResource
from inventory.models import Movement, MovementKind, Stock

from ..factories import CategoryFactory, ProductFactory, VariantFactory, WarehouseFactory
from .sheet_helpers import actions, counts, errors, run

pytestmark = pytest.mark.django_db

HEADER = [
    "handle", "title", "category", "tags", "status", "short_description", "description",
    "option1_name", "option2_name", "option3_name", "sku", "option1", "option2", "option3",
    "price", "compare_at_price", "cost", "barcode", "weight_grams", "allow_backorder",
    "image_urls", "warehouse", "stock",
]  # fmt: skip


def sheet_row(**values) -> list[str]:
    return [str(values.get(column, "")) for column in HEADER]


def shirt_rows() -> list[list[str]]:
    product = {
        "handle": "linen-shirt",
        "title": "Linen shirt",
        "category": "Clothing > Shirts",
        "tags": "summer, Brand: Acme",
        "status": "on_sale",
        "short_description": "A light shirt.",
        "description": "Washed linen.",
        "option1_name": "Size",
        "image_urls": "https://img.example/a.jpg, https://img.example/b.jpg",
    }
    return [
        HEADER,
        sheet_row(**product, sku="LIN-S", option1="S", price="49.00", compare_at_price="59.00",
                  cost="20", barcode="4006381333931", weight_grams="240", allow_backorder="no",
                  warehouse="MAIN", stock="5"),
        sheet_row(handle="linen-shirt", sku="LIN-M", option1="M", price="49.00", warehouse="MAIN",
                  stock="0"),
        sheet_row(handle="linen-shirt", sku="LIN-L", option1="L", price="52.5", warehouse="main",
                  stock="3"),
        sheet_row(handle="mug", title="Mug", category="Kitchen", status="draft", sku="MUG",
                  price="9.90"),
    ]  # fmt: skip


@pytest.fixture
def main(db):
    return WarehouseFactory(code="MAIN", name="Main warehouse")


def ledger_matches(stock: Stock) -> bool:
    total = Movement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"] or 0
    return total == stock.on_hand


def test_a_sheet_creates_products_variants_categories_tags_images_and_stock(main, admin_user):
    report = run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    assert errors(report) == []
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    shirt = Product.objects.get(handle="linen-shirt")
    assert shirt.title == "Linen shirt"
    assert shirt.category.path == "Clothing > Shirts"
    assert shirt.category.parent.path == "Clothing"
    assert {(t.kind, t.name) for t in shirt.tags.all()} == {("label", "summer"), ("brand", "Acme")}
    assert [i.url for i in shirt.images.order_by("position")] == [
        "https://img.example/a.jpg",
        "https://img.example/b.jpg",
    ]
    assert shirt.option1_name == "Size"
    small = Variant.objects.get(sku="LIN-S")
    assert (small.product, small.option1, small.price, small.compare_at_price, small.cost) == (
        shirt, "S", Decimal("49.00"), Decimal("59.00"), Decimal("20.00"),
    )  # fmt: skip
    assert (small.barcode, small.weight_grams, small.allow_backorder) == (
        "4006381333931",
        240,
        False,
    )
    assert Variant.objects.get(sku="LIN-L").price == Decimal("52.50")
    # Stock through the ledger: one adjustment per changed row, none for the 0 (unchanged).
    levels = dict(Stock.objects.values_list("variant__sku", "on_hand"))
    assert levels == {"LIN-S": 5, "LIN-L": 3}
    movements = Movement.objects.order_by("reference")
    assert [(m.reference, m.kind, m.quantity, m.reason) for m in movements] == [
        ("IMP-000001/row 2", MovementKind.ADJUSTMENT, 5, "import"),
        ("IMP-000001/row 4", MovementKind.ADJUSTMENT, 3, "import"),
    ]
    assert all(ledger_matches(s) for s in Stock.objects.all())
    # Status on creation: on sale through publish (it has stock), the mug stays a draft.
    assert shirt.status == ListingStatus.ON_SALE
    assert Product.objects.get(handle="mug").status == ListingStatus.DRAFT
    # History for every created row.
    assert Product.history.filter(history_type="+").count() == 2
    assert Variant.history.filter(history_type="+").count() == 4


def test_importing_the_same_sheet_twice_changes_nothing(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    before = counts()
    report = run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    assert errors(report) == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert counts() == before


def test_a_changed_price_updates_that_variant_only(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    before = counts()
    rows = shirt_rows()
    rows[3][HEADER.index("price")] = "55.00"
    report = run("products", rows, actor=admin_user)
    assert errors(report) == []
    assert actions(report) == {2: "unchanged", 3: "unchanged", 4: "update", 5: "unchanged"}
    assert Variant.objects.get(sku="LIN-L").price == Decimal("55.00")
    after = counts()
    assert after["variant_history"] == before["variant_history"] + 1
    assert after["product_history"] == before["product_history"]
    assert after["movements"] == before["movements"]


def test_a_changed_stock_cell_writes_one_movement(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    rows = shirt_rows()
    rows[1][HEADER.index("stock")] = "8"
    report = run("products", rows, actor=admin_user, reference="IMP-000002")
    assert errors(report) == []
    assert actions(report)[2] == "update"
    assert report.preview[0].detail == "stock 5 → 8"
    stock = Stock.objects.get(variant__sku="LIN-S")
    assert stock.on_hand == 8
    latest = Movement.objects.filter(stock=stock).order_by("-id").first()
    assert (latest.quantity, latest.reference) == (3, "IMP-000002/row 2")
    assert ledger_matches(stock)


def test_columns_left_out_are_left_alone(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    report = run("products", [["handle", "sku", "price"], ["linen-shirt", "LIN-M", "45"]])
    assert errors(report) == []
    shirt = Product.objects.get(handle="linen-shirt")
    assert shirt.title == "Linen shirt" and shirt.tags.count() == 2 and shirt.images.count() == 2
    assert Variant.objects.get(sku="LIN-M").price == Decimal("45.00")
    assert Variant.objects.get(sku="LIN-S").price == Decimal("49.00")


def test_tags_and_images_are_replaced_by_the_sheet(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    before = counts()
    rows = [
        ["handle", "sku", "tags", "image_urls"],
        ["linen-shirt", "LIN-S", "winter", "https://img.example/b.jpg"],
    ]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == []
    assert actions(report) == {2: "update"}
    shirt = Product.objects.get(handle="linen-shirt")
    assert [t.name for t in shirt.tags.all()] == ["winter"]
    assert [i.url for i in shirt.images.all()] == ["https://img.example/b.jpg"]
    assert counts()["product_history"] == before["product_history"] + 1


def test_the_status_of_an_existing_product_is_not_changed_by_an_import(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    catalog.delist(
        products=Product.objects.filter(handle="linen-shirt"), reason="seasonal", actor=admin_user
    )
    before = counts()
    report = run("products", shirt_rows(), actor=admin_user)
    assert errors(report) == []
    assert report.unchanged == 4
    assert Product.objects.get(handle="linen-shirt").status == ListingStatus.DELISTED
    assert "status stays “Delisted”" in report.preview[0].detail
    assert any("status stays" in w and "rows 2" in w for w in report.warnings)
    assert counts() == before


def test_sold_out_and_on_sale_are_the_same_wish(main, admin_user):
    rows = [HEADER, sheet_row(handle="cap", title="Cap", status="on_sale", sku="CAP", price="5")]
    report = run("products", rows, actor=admin_user)
    assert Product.objects.get(handle="cap").status == ListingStatus.SOLD_OUT  # no stock
    assert any("sold out until stock arrives" in w for w in report.warnings)
    report = run("products", rows, actor=admin_user)
    assert report.unchanged == 1 and not any("status stays" in w for w in report.warnings)


def test_a_new_product_asked_delisted_is_created_as_a_draft(main, admin_user):
    rows = [HEADER, sheet_row(handle="old", title="Old", status="delisted", sku="OLD", price="5")]
    report = run("products", rows, actor=admin_user)
    assert errors(report) == []
    assert Product.objects.get(handle="old").status == ListingStatus.DRAFT
    assert "created as a draft" in report.preview[0].detail


def test_backorders_are_switched_through_the_service(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    report = run(
        "products", [["handle", "sku", "allow_backorder"], ["linen-shirt", "LIN-S", "yes"]]
    )
    assert errors(report) == [] and actions(report) == {2: "update"}
    assert Variant.objects.get(sku="LIN-S").allow_backorder is True
    assert Stock.objects.get(variant__sku="LIN-S").backorders_allowed is True


def test_export_then_import_is_unchanged(main, admin_user):
    run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    other = ProductFactory(handle="plain", title='Plain, "quoted" — 中文', category=None)
    VariantFactory(product=other, sku="PLAIN-1", price=Decimal("3.10"), cost=None)
    other.tags.add(Tag.objects.create(kind="material", name="Cotton"))
    dataset = ProductVariantResource().export()
    assert dataset.headers[:3] == ["handle", "title", "category"]
    data = dataset.csv.encode("utf-8")
    before = counts()
    report = run("products", data, actor=admin_user)
    assert errors(report) == []
    assert report.unchanged == 5 and report.created == report.updated == 0
    assert counts() == before


def test_export_costs_the_same_queries_for_few_and_many_rows(db):
    category = CategoryFactory()
    for n in range(3):
        VariantFactory(product=ProductFactory(category=category), sku=f"FEW-{n}")

    def export_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            ProductVariantResource().export()
        return len(captured)

    few = export_queries()
    for n in range(40):
        product = ProductFactory(category=category)
        product.tags.add(Tag.objects.get_or_create(name=f"t{n % 3}")[0])
        VariantFactory(product=product, sku=f"MANY-{n}")
    assert export_queries() == few


def _bulk_rows(count: int) -> list[list[str]]:
    rows = [HEADER]
    for n in range(count):
        rows.append(
            sheet_row(handle=f"p-{n // 5}", title=f"Product {n // 5}", category="Clothing",
                      tags="summer", status="on_sale", sku=f"Q-{n}", option1=str(n % 5),
                      price="10.00", image_urls=f"https://img.example/{n // 5}.jpg",
                      warehouse="MAIN", stock="4")
        )  # fmt: skip
    return rows


def _queries(rows, actor) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        report = run("products", rows, actor=actor)
    assert errors(report) == []
    statements = [q["sql"] for q in captured.captured_queries]
    if connection.vendor == "sqlite":
        # SQLite takes at most 999 parameters per statement, so Django splits each
        # bulk INSERT into batches: only those grow with the rows there.
        statements = [s for s in statements if not s.startswith("INSERT")]
    return statements


def test_a_chunk_costs_the_same_queries_for_50_and_500_rows(main, admin_user):
    CategoryFactory(name="Clothing")
    Tag.objects.create(name="summer")
    small = _queries(_bulk_rows(50), admin_user)
    big_rows = [
        [c.replace("p-", "big-").replace("Q-", "BIG-") for c in row] for row in _bulk_rows(500)
    ]
    big = _queries(big_rows, admin_user)
    assert len(big) == len(small), "\n".join(big)
    assert Variant.objects.count() == 550
    assert Movement.objects.count() == 550


def test_the_skus_a_sheet_creates_are_not_looked_up_again_for_their_stock(main, admin_user):
    # The writer hands the SKUs it creates to stock_import: no lookup of those SKUs or of
    # their stock rows (elsewhere than PostgreSQL the stock rows just inserted are read
    # back for their keys); on PostgreSQL one query reserves the keys of the chunk's new
    # products, SKUs, images and stock rows.
    CategoryFactory(name="Clothing")
    Tag.objects.create(name="summer")
    statements = _queries(_bulk_rows(50), admin_user)
    variant_reads = [s for s in statements if s.startswith('SELECT "catalog_variant"')]
    assert len(variant_reads) == 1  # the sheet's SKUs, once (it gives no barcodes)
    if connection.vendor == "postgresql":
        assert [s for s in statements if '"inventory_stock"' in s and "SELECT" in s] == []
        assert len([s for s in statements if "nextval" in s]) == 1
    assert Stock.objects.filter(on_hand=4).count() == 50
    assert Movement.objects.filter(quantity=4, reason="import").count() == 50


@pytest.mark.postgres
def test_a_key_broken_while_the_database_checks_in_background_rolls_the_import_back(
    main, admin_user, monkeypatch
):
    # Chunks of two rows: the shirt (3 rows) is one chunk, the mug the next. After the
    # shirt is written a row pointing at no tag appears; the check the database runs
    # while the mug is planned fails, and nothing of the sheet stays.
    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)
    write = engine.CatalogWriter._write_planned
    chunks = []

    def write_then_break_a_key(self):
        chunk = write(self)
        if chunk is not None:
            if not chunks:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO catalog_product_tags (product_id, tag_id) VALUES (%s, %s)",
                        [Product.objects.get(handle="linen-shirt").pk, 987654321],
                    )
            chunks.append([p.handle for p in chunk.products])
        return chunk

    monkeypatch.setattr(engine.CatalogWriter, "_write_planned", write_then_break_a_key)
    with pytest.raises(IntegrityError, match="catalog_product_tags"):
        run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    assert chunks == [["linen-shirt"]]  # the mug's chunk was not written
    assert not Product.objects.exists()
    assert not Variant.objects.exists()
    assert not Movement.objects.exists()
    assert connection.connection.pgconn.pipeline_status == pq.PipelineStatus.OFF


def test_a_refusal_in_a_later_chunk_leaves_nothing_of_the_earlier_ones(main, admin_user):
    # Chunks of two rows: the shirt is written (and its keys checked) while the mug is
    # planned; the mug's negative stock is refused, so the whole sheet is.
    engine_rows = shirt_rows()
    engine_rows[4][HEADER.index("warehouse")] = "MAIN"
    engine_rows[4][HEADER.index("stock")] = "-2"
    before = counts()
    progress: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "CHUNK_ROWS", 2)
        report = run(
            "products",
            engine_rows,
            actor=admin_user,
            options={"create_categories": True},
            progress=progress.append,
        )
    assert [(row, column) for row, column, _message in errors(report)] == [(5, "stock")]
    assert counts() == before
    assert progress == sorted(progress), progress
    assert progress[-1] == 4, progress


@pytest.mark.parametrize("chunk_rows", [2, 5000])
def test_every_created_row_has_its_creation_in_history_whatever_the_chunks(
    main, admin_user, monkeypatch, chunk_rows
):
    # History rows are streamed with the rows they record, chunk by chunk.
    monkeypatch.setattr(engine, "CHUNK_ROWS", chunk_rows)
    report = run("products", shirt_rows(), actor=admin_user, options={"create_categories": True})
    assert errors(report) == []
    for model, fields in (
        (Product, ["handle", "title", "status", "category_id"]),
        (Variant, ["sku", "price", "barcode", "product_id", "allow_backorder"]),
        (ProductImage, ["url", "position", "product_id"]),
    ):
        created = model.history.filter(history_type="+")
        assert created.count() == model.objects.count(), model
        for record in created:
            row = model.objects.get(pk=record.id)
            assert [getattr(record, f) for f in fields] == [getattr(row, f) for f in fields]
            assert record.history_user == admin_user
            assert record.history_change_reason == "import IMP-000001"


def test_errors_are_reported_in_row_order_when_later_rows_are_read_ahead(main, admin_user):
    # Chunks of two rows: the mug's bad price (row 5) can be read while the shirt's
    # chunk is planned, and the shirt's unknown category (row 2) is found then.
    rows = shirt_rows()
    rows[4][HEADER.index("price")] = "abc"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "CHUNK_ROWS", 2)
        report = run("products", rows, actor=admin_user, options={"create_categories": False})
    found = [(row, column) for row, column, _message in errors(report)]
    assert [row for row, _column in found] == sorted(row for row, _column in found)
    assert (5, "price") in found
    assert any(column == "category" for _row, column in found)


def test_chunks_start_small_and_double_up_to_the_chunk_size(main, admin_user, monkeypatch):
    # The database gets its first chunk after a few rows, not after a whole chunk.
    monkeypatch.setattr(engine, "FIRST_CHUNK_ROWS", 1)
    monkeypatch.setattr(engine, "CHUNK_ROWS", 4)
    write = engine.CatalogWriter._write_planned
    sizes: list[int] = []

    def write_and_count(self):
        chunk = write(self)
        if chunk is not None:
            sizes.append(sum(p.row_count for p in chunk.products))
        return chunk

    monkeypatch.setattr(engine.CatalogWriter, "_write_planned", write_and_count)
    rows = [HEADER] + [
        sheet_row(handle=f"cup-{n}", title=f"Cup {n}", sku=f"CUP-{n}", price="5.00",
                  warehouse="MAIN", stock=str(n))
        for n in range(12)
    ]  # fmt: skip
    report = run("products", rows, actor=admin_user)
    assert errors(report) == []
    assert sizes == [1, 2, 4, 4, 1]
    assert report.created == 12
    assert Product.objects.count() == 12
    assert sum(Stock.objects.values_list("on_hand", flat=True)) == sum(range(12))


def test_a_warehouse_first_named_in_rows_read_ahead_is_found(main, admin_user, monkeypatch):
    # The warehouses are loaded when a sheet first names one: here in a row that may be
    # read while a COPY ends (small chunks), where the lookup waits for the COPY first.
    monkeypatch.setattr(engine, "FIRST_CHUNK_ROWS", 1)
    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)
    rows = [HEADER] + [
        sheet_row(handle=f"bowl-{n}", title=f"Bowl {n}", sku=f"BOWL-{n}", price="7.00")
        for n in range(30)
    ]  # fmt: skip
    rows += [
        sheet_row(handle=f"plate-{n}", title=f"Plate {n}", sku=f"PLATE-{n}", price="8.00",
                  warehouse="main", stock="3")
        for n in range(30)
    ]  # fmt: skip
    report = run("products", rows, actor=admin_user)
    assert errors(report) == []
    assert report.created == 60
    assert Stock.objects.filter(variant__sku__startswith="PLATE-", on_hand=3).count() == 30
    assert not Stock.objects.filter(variant__sku__startswith="BOWL-").exists()
