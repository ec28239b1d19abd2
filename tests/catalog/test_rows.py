"""New rows written the fastest way: keys reserved ahead (``KeyPool``), then COPY."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.imports.rows import KeyPool, NewRow, assign_ids, create_rows
from catalog.models import Product, ProductImage, Variant

from ..factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_a_pool_reserves_what_it_lacks_in_one_query_and_hands_keys_out_without_one():
    pool = KeyPool()
    with CaptureQueriesContext(connection) as captured:
        pool.top_up([(Product, 3), (Variant, 2), (ProductImage, 0)])
    assert len(captured) == 1
    with CaptureQueriesContext(connection) as captured:
        first = pool.take(Product, 2)
        pool.top_up([(Product, 1), (Variant, 0)])  # it holds enough: no query
        second = pool.take(Product, 1)
        variants = pool.take(Variant, 2)
    assert len(captured) == 0
    assert len(set(first + second)) == 3 and len(set(variants)) == 2
    with CaptureQueriesContext(connection) as captured:
        more = pool.take(Product, 2)  # the pool is empty: from the sequence
    assert len(captured) == 1
    assert min(more) > max(first + second)
    assert ProductFactory().pk > max(more)


@pytest.mark.postgres
def test_rows_keyed_ahead_are_written_with_those_keys(admin_user):
    pool = KeyPool()
    pool.top_up([(Product, 2)])
    rows = [NewRow(title=f"Keyed {n}", handle=f"keyed-{n}") for n in range(2)]
    assign_ids([(Product, rows)], pool)
    keys = [row.pk for row in rows]
    assert None not in keys
    with CaptureQueriesContext(connection) as captured:
        create_rows(Product, rows, actor=admin_user, reason="test", now=timezone.now())
    assert not [q for q in captured if "nextval" in q["sql"]]
    assert sorted(Product.objects.values_list("pk", flat=True)) == sorted(keys)
    assert sorted(Product.history.filter(history_type="+").values_list("id", flat=True)) == sorted(
        keys
    )


def test_elsewhere_rows_get_their_keys_when_written(admin_user):
    pool = KeyPool()
    pool.top_up([(Product, 2)])
    rows = [NewRow(title=f"Later {n}", handle=f"later-{n}") for n in range(2)]
    assign_ids([(Product, rows)], pool)
    if connection.vendor != "postgresql":
        assert [row.pk for row in rows] == [None, None]
    create_rows(Product, rows, actor=admin_user, reason="test", now=timezone.now())
    assert sorted(Product.objects.values_list("pk", flat=True)) == sorted(r.pk for r in rows)
