"""The big-table paginator: capped counts when filtered, estimates on PostgreSQL unfiltered."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice import paginator as module
from backoffice.paginator import EstimatedCountPaginator
from catalog.models import Product

from ..factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_filtered_count_stops_at_the_cap(monkeypatch):
    monkeypatch.setattr(module, "COUNT_CAP", 5)
    ProductFactory.create_batch(8)
    paginator = EstimatedCountPaginator(Product.objects.filter(status="on_sale"), 2)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 5
    assert "LIMIT 5" in queries[0]["sql"].upper()
    assert paginator.num_pages == 3


def test_small_tables_are_counted_exactly():
    ProductFactory.create_batch(3)
    assert EstimatedCountPaginator(Product.objects.all(), 2).count == 3


@pytest.mark.postgres
def test_unfiltered_big_table_uses_the_planner_estimate(monkeypatch):
    monkeypatch.setattr(module, "ESTIMATE_ABOVE", 10)
    ProductFactory.create_batch(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Product.objects.all(), 10).count
    assert "reltuples" in queries[0]["sql"]
    assert "count(" not in " ".join(q["sql"].lower() for q in queries)
    assert 20 <= count <= 40


@pytest.mark.postgres
def test_title_search_has_a_trigram_index_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'catalog_product_title_trgm'"
        )
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition
    assert "upper" in definition.lower()
