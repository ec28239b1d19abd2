"""The admin flows staff use most, in a real browser (Chromium through Playwright)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from backoffice.models import ImportRun
from catalog import compliance
from catalog.models import ListingStatus, Product
from inventory import services as inventory
from inventory.models import Stock
from reviews.models import RatingSummary, Review

from ..factories import ProductFactory, ReviewFactory, VariantFactory, WarehouseFactory
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_dashboard(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    cache.clear()


def select_rows(page, ids):
    for pk in ids:
        page.check(f"input[name=_selected_action][value='{pk}']")


def run_action(page, action: str):
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def message(page) -> str:
    return page.inner_text("ul.messagelist")


def test_log_in_and_see_the_dashboard_charts(logged_in, staff):
    product = ProductFactory(title="Linen shirt")
    variant = VariantFactory(product=product, cost=Decimal("8"))
    inventory.receive(
        variant=variant,
        warehouse=WarehouseFactory(code="MAIN"),
        quantity=5,
        actor=staff,
        reason="opening",
    )
    page = logged_in
    page.goto("/admin/")
    assert page.locator("#dashboard svg.chart").count() >= 8
    assert "Stock value by category" in page.inner_text("#panel-value")
    assert page.locator("#panel-value svg rect").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.click("#low-stock-link")
    assert "state=low" in page.url


def test_bulk_delist_with_a_reason(logged_in, staff):
    products = [ProductFactory(title=f"Summer hat {i}") for i in range(3)]
    page = logged_in
    page.goto("/admin/catalog/product/")
    select_rows(page, [p.pk for p in products[:2]])
    run_action(page, "delist_action")
    assert "This applies to 2 selected products" in page.inner_text("#content")
    page.click("input[name=apply]")  # no reason: the browser refuses to send the form
    assert page.eval_on_selector("select[name=reason]", "e => e.validationMessage")
    assert not Product.objects.filter(status=ListingStatus.DELISTED).exists()
    page.select_option("select[name=reason]", "seasonal")
    page.fill("textarea[name=note]", "End of summer")
    page.click("input[name=apply]")
    assert "2 products delisted; 0 skipped" in message(page)
    assert sorted(Product.objects.filter(status="delisted").values_list("title", flat=True)) == [
        "Summer hat 0",
        "Summer hat 1",
    ]


def test_restock(logged_in):
    WarehouseFactory(code="MAIN", name="Main warehouse")
    product = ProductFactory(title="Wool scarf")
    variant = VariantFactory(product=product)
    page = logged_in
    page.goto("/admin/catalog/product/")
    select_rows(page, [product.pk])
    run_action(page, "restock_action")
    page.select_option("select[name=warehouse]", label="MAIN · Main warehouse")
    page.fill("input[name=quantity]", "12")
    page.fill("input[name=reason]", "supplier delivery")
    page.click("input[name=apply]")
    assert "Received 12 units into MAIN" in message(page)
    assert Stock.objects.get(variant=variant).on_hand == 12


def test_moderate_reviews_in_bulk(logged_in):
    product = ProductFactory(title="Linen shirt")
    good = [ReviewFactory(product=product, rating=5) for _ in range(2)]
    spam = ReviewFactory(product=product, rating=1, title="Buy followers")
    page = logged_in
    page.goto("/admin/reviews/review/")
    select_rows(page, [r.pk for r in good])
    run_action(page, "approve_action")
    assert "2 reviews approved" in message(page)
    select_rows(page, [spam.pk])
    run_action(page, "reject_action")
    page.click("input[name=apply]")  # empty reason: the browser refuses to send the form
    assert page.eval_on_selector("textarea[name=reason]", "e => e.validationMessage")
    assert Review.objects.get(pk=spam.pk).status == "pending"
    page.fill("textarea[name=reason]", "Spam")
    page.click("input[name=apply]")
    assert "1 reviews rejected" in message(page)
    summary = RatingSummary.objects.get(product=product)
    assert (summary.review_count, summary.average) == (2, 5.0)
    assert Review.objects.get(pk=spam.pk).rejection_reason == "Spam"


def test_import_reviews_with_preview_and_confirm(logged_in, tmp_path):
    ProductFactory(title="Linen shirt", handle="linen-shirt")
    sheet = tmp_path / "reviews.csv"
    sheet.write_text(
        "product,rating,title,text,customer_name\n"
        "linen-shirt,5,Lovely,Soft,Ana\n"
        "linen-shirt,1,褪色,洗一次就褪色,王小明\n",
        encoding="utf-8",
    )
    page = logged_in
    page.goto("/admin/reviews/review/")
    page.click("a.import_link")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("#sheet-upload input[type=submit]")
    assert "Preview (nothing written yet)" in page.inner_text("#content")
    assert page.inner_text("#run-counts .count-created") == "2"
    assert not Review.objects.exists()
    page.click("#confirm-import")
    assert "applied: 2 new, 0 updated" in message(page)
    assert sorted(Review.objects.values_list("rating", "status")) == [
        (1, "pending"),
        (5, "pending"),
    ]


@pytest.mark.postgres
def test_a_big_product_sheet_is_checked_and_applied_in_the_background(
    logged_in, tmp_path, settings
):
    """The request only stores the file; the page follows the work with a progress bar."""
    settings.IMPORT_BACKGROUND_BYTES = 1024
    # The background work runs in a thread of the live server (no worker in this test;
    # tests/backoffice/test_worker.py runs a real one).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.IMPORT_BACKGROUND_THREADS = True
    WarehouseFactory(code="MAIN", name="Main")
    rows = "".join(
        f"bulk-{n // 2},Bulk product {n // 2},BULK-{n},{10 + n % 7}.00,MAIN,{n % 5}\n"
        for n in range(20_000)
    )
    sheet = tmp_path / "products.csv"
    sheet.write_text("handle,title,sku,price,warehouse,stock\n" + rows, encoding="utf-8")
    page = logged_in
    page.goto("/admin/catalog/product/import-sheet/?kind=products")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("#sheet-upload input[type=submit]")
    # The request returned at once: the dry run goes on in the background.
    page.wait_for_selector("#run-progress")
    assert Product.objects.count() == 0
    page.wait_for_selector("#confirm-import", timeout=120_000)
    assert page.inner_text("#run-counts .count-created") == "20000"
    page.click("#confirm-import")
    assert "being applied in the background" in message(page)
    page.wait_for_selector("#run-status.status-applied", timeout=120_000)
    assert page.inner_text("#report-title") == "Result"
    assert page.inner_text("#run-counts .count-errors") == "0"
    assert Product.objects.count() == 10_000
    assert Stock.objects.filter(on_hand__gt=0).count() == 16_000
    run = ImportRun.objects.get()
    assert (run.status, run.background, run.created) == ("applied", True, 20_000)


def test_delist_flagged_products_for_compliance(logged_in):
    bad = ProductFactory(title="Undescribed", description="")
    compliance.compliance_check()
    page = logged_in
    page.goto("/admin/catalog/flaggedproduct/")
    assert "Missing description" in page.inner_text("#result_list")
    select_rows(page, [bad.pk])
    run_action(page, "delist_for_compliance")
    page.fill("textarea[name=note]", "No description")
    page.click("input[name=apply]")
    assert "1 products delisted for compliance" in message(page)
    bad.refresh_from_db()
    assert (bad.status, bad.delist_reason) == ("delisted", "compliance")


def test_receive_a_purchase_order_with_a_rejected_line(logged_in, staff):
    from suppliers.models import PurchaseOrder

    from ..factories import SupplierFactory, purchase_order, supplier_price

    warehouse = WarehouseFactory(code="MAIN", name="Main warehouse")
    supplier = SupplierFactory(code="ACME", name="Acme")
    shirt = VariantFactory(product=ProductFactory(title="Linen shirt"), sku="SHIRT-M")
    mug = VariantFactory(product=ProductFactory(title="Tea mug"), sku="MUG-1")
    for variant in (shirt, mug):
        supplier_price(supplier, variant, is_preferred=True)
    order = purchase_order(supplier, warehouse, [(shirt, 10), (mug, 6)], send=True, actor=staff)
    lines = {line.variant.sku: line for line in order.lines.select_related("variant")}

    shirt_line, mug_line = lines["SHIRT-M"].pk, lines["MUG-1"].pk

    def fill_receipt(page, reason=None):
        page.goto("/admin/suppliers/purchaseorder/")
        select_rows(page, [order.pk])
        run_action(page, "receive_action")
        assert page.locator("#receive-lines tbody tr").count() == 2
        page.fill(f"input[name=received_{shirt_line}]", "10")
        page.fill(f"input[name=accepted_{shirt_line}]", "10")
        page.fill(f"input[name=received_{mug_line}]", "6")
        page.fill(f"input[name=accepted_{mug_line}]", "4")
        page.fill(f"input[name=rejected_{mug_line}]", "2")
        if reason:
            page.select_option(f"select[name=reason_{mug_line}]", reason)
        page.click("input[name=apply]")

    page = logged_in
    fill_receipt(page)  # two rejected without a reason: refused, nothing received
    assert "say why 2 units were rejected" in message(page)
    assert not Stock.objects.exists()

    fill_receipt(page, reason="damaged")
    assert "recorded on" in message(page)
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.PARTIALLY_RECEIVED  # 2 mugs still owed
    levels = dict(Stock.objects.values_list("variant__sku", "on_hand"))
    assert levels == {"SHIRT-M": 10, "MUG-1": 4}
