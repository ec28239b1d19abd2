"""The admin index as a dashboard (F-41): right figures, charts as inline SVG, and a
number of queries that does not grow with the data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice import dashboard
from catalog import compliance
from catalog import services as catalog
from catalog.models import Product
from inventory import services as inventory
from inventory.models import Stock
from reviews import services as reviews
from reviews.models import Review

from ..factories import (
    CategoryFactory,
    ProductFactory,
    ReviewFactory,
    SupplierFactory,
    VariantFactory,
    WarehouseFactory,
    supplier_price,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cache(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    cache.clear()


def build(n: int, *, actor, now=None, tag: str = "") -> list[Product]:
    """``n`` products in three categories; each SKU received 80 units 60 days ago and
    shipped (i % 4) units a day over the last 20 days; every fourth never sold."""
    now = now or timezone.now()
    warehouse = WarehouseFactory(code="MAIN")
    categories = [CategoryFactory(name=f"Dash {i}{tag}") for i in range(3)]
    supplier = SupplierFactory()
    products, stocks = [], []
    for i in range(n):
        product = ProductFactory(category=categories[i % 3], title=f"Item {i}{tag}")
        variant = VariantFactory(product=product, cost=Decimal("10.00"))
        supplier_price(supplier, variant, is_preferred=True)
        stocks.append(Stock.objects.create(variant=variant, warehouse=warehouse, reorder_point=20))
        products.append(product)

    def ago(days: int):
        return now - timedelta(days=days)

    entries = []
    for i, stock in enumerate(stocks):
        entries.append((stock.pk, "receipt", 80, ago(60), "opening"))
        for day in range(20, 0, -1):
            if i % 4:
                entries.append((stock.pk, "shipment", -(i % 4), ago(day), "so"))
    inventory.ledger_load_history(entries=entries, actor=actor)
    if connection.vendor == "sqlite":
        # On SQLite ledger_load_history stores datetime.isoformat() ("…T…"), which Django's
        # SQLite date functions (TruncDate) cannot parse; write them as Django does.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_movement SET created_at = REPLACE(created_at, 'T', ' ')"
            )
    catalog.delist(
        products=Product.objects.filter(pk=products[1].pk), reason="seasonal", actor=actor
    )
    for product in products[:3]:
        for rating in (1, 2, 1):
            ReviewFactory(product=product, rating=rating, text="质量差 thin fabric")
    reviews.reviews_approve(reviews=Review.objects.all(), actor=actor)
    compliance.compliance_check()
    return products


def test_dashboard_renders_its_charts(admin_client, admin_user):
    build(6, actor=admin_user)
    response = admin_client.get(reverse("admin:index"))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('<svg class="chart"') >= 8
    for panel in ("stock", "value", "trend", "top", "slow", "returns", "suppliers", "impact"):
        assert f'id="panel-{panel}"' in content
    assert "Dash 0" in content and "Item 3" in content  # a category and a top seller
    assert reverse("admin:inventory_stock_changelist") + "?state=low" in content
    assert reverse("admin:inventory_stock_changelist") + "?state=out" in content
    assert "Seasonal" in content
    assert "http://" not in content.replace("http://www.w3.org/2000/svg", "")  # no CDN


def test_figures(admin_user):
    now = timezone.now()
    build(4, actor=admin_user, now=now)
    figures = dashboard.dashboard_figures(now)
    # Shipped per SKU: 0, 20, 40, 60 units (i % 4 a day, 20 days): on hand 80, 60, 40, 20.
    stock = figures["stock"]
    assert stock["units"] == sum(Stock.objects.values_list("on_hand", flat=True))
    assert stock["value"] == Decimal(stock["units"]) * 10
    shipped = figures["sales"]["units"]
    assert shipped == sum(units for _day, units in figures["sales"]["trend"])
    assert figures["days_of_cover"] == pytest.approx(stock["units"] / (shipped / 30))
    assert figures["turnover"] == pytest.approx(shipped * 10 * 365 / 30 / float(stock["value"]))
    assert [row["stock__variant__product__title"] for row in figures["sales"]["top"]][:1] == [
        "Item 3"
    ]
    assert figures["slow"]["count"] == 1  # Item 0 never sold
    (impact,) = figures["impact"]
    assert (impact["reason"], impact["events"]) == ("seasonal", 1)
    assert impact["sales_before_per_day"] == pytest.approx(1 * 20 / 30)
    assert impact["stock_before"] == impact["stock_after"]
    assert figures["reviews"]["pending"] == 0
    assert [p["title"] for p in figures["reviews"]["low"]] == ["Item 0", "Item 2"]


def test_low_and_out_of_stock_links_filter_the_stock_list(admin_client, admin_user):
    build(4, actor=admin_user)
    figures = dashboard.dashboard_figures()
    low = admin_client.get(reverse("admin:inventory_stock_changelist") + "?state=low")
    assert low.context["cl"].queryset.count() == figures["stock"]["low"]
    out = admin_client.get(reverse("admin:inventory_stock_changelist") + "?state=out")
    assert out.context["cl"].queryset.count() == figures["stock"]["out"]


def queries_for(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return len(captured)


def test_the_dashboard_runs_a_constant_number_of_queries(admin_client, admin_user):
    build(4, actor=admin_user)
    small = queries_for(admin_client)
    Review.objects.all().delete()
    build(40, actor=admin_user, tag="b")
    large = queries_for(admin_client)
    print(f"dashboard queries: {small} at 4 products, {large} at 44 products")
    assert small == large
    assert large <= 30


def test_figures_are_cached(admin_client, admin_user, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    build(3, actor=admin_user)
    first = queries_for(admin_client)
    second = queries_for(admin_client)
    assert second < first - 10


def test_charts_escape_labels():
    svg = dashboard.bar_chart([dashboard.Bar("<script>", 3)], label="x")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
