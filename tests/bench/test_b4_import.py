"""B4 end to end at a small size: the figures come out and the import is rolled back."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import b4_import
from catalog.models import Product, Variant
from inventory.models import Movement

pytestmark = pytest.mark.django_db


def test_b4_measures_the_import_and_leaves_the_database_as_it_was():
    before = (Product.objects.count(), Variant.objects.count(), Movement.objects.count())
    rows = b4_import.run(rows=90, repeats=3)
    figures = {row["figure"]: row for row in rows}
    speed = figures["products+stock import, 90 csv rows: rows/s (median of 3)"]
    assert speed["value"] > 0 and speed["baseline"] > 0
    slowest = figures["products+stock import: rows/s, slowest of 3 (fastest)"]
    assert 0 < slowest["value"] <= speed["value"]
    assert figures["products+stock import: peak RSS of the process (growth)"]["value"] > 0
    # The machine's speed in the same run, to read the figure with.
    assert figures["reference: a Python loop of 10,000,000 additions (median)"]["value"] > 0
    copy = figures.get("reference: COPY of the csv into a table without keys (median)")
    assert (copy is not None and copy["value"] > 0) == (connection.vendor == "postgresql")
    assert (Product.objects.count(), Variant.objects.count(), Movement.objects.count()) == before


def test_the_generated_sheet_is_the_products_sheet():
    data = b4_import.generate_csv(6, "MAIN", "t").decode().splitlines()
    assert data[0].split(",") == b4_import.HEADER
    assert len(data) == 7
    assert data[1].startswith("t-0,Bench tee 0,Bench > Group 0,")
    assert data[2].startswith("t-0,,,")  # the product's columns on its first row only
