"""The data generator keeps the ledger invariant; the bench command runs end to end."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db.models import Count, F, OuterRef, Subquery, Sum

from catalog.models import Product, Variant
from inventory.models import Movement, Stock
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_generate_data_builds_a_consistent_data_set():
    call_command("generate_data", skus=300, movements=3000, orders=50, verbosity=0)
    assert Variant.objects.count() == 300
    assert Movement.objects.count() == 3000
    assert Order.objects.count() == 50
    ledger = (
        Movement.objects.filter(stock=OuterRef("pk")).values("stock").annotate(s=Sum("quantity"))
    )
    wrong = Stock.objects.annotate(total=Subquery(ledger.values("s"))).exclude(on_hand=F("total"))
    assert not wrong.exists()
    assert Stock.objects.filter(on_hand__lt=0).count() == 0
    per_product = Product.objects.annotate(n=Count("variants")).values_list("n", flat=True)
    assert set(per_product) <= {1, 2, 3, 4}


def test_generate_data_refuses_nonsense():
    with pytest.raises(Exception, match="must be above zero"):
        call_command("generate_data", skus=0, movements=10, verbosity=0)


def test_the_bench_command_prints_and_writes_its_table(tmp_path, capsys):
    from bench import run

    out = tmp_path / "results.json"
    assert (
        run.main(
            [
                "--skus",
                "200",
                "--movements",
                "1000",
                "--only",
                "B1",
                "--repeat",
                "2",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "product default: queries/page" in table
    rows = json.loads(out.read_text())["rows"]
    figures = {row["figure"]: row for row in rows}
    stock = figures["stock default: queries/page"]
    assert stock["value"] <= 8
    # The plain ModelAdmin renders str(stock) with a query per row: the baseline is naive.
    assert stock["baseline"] > stock["value"]
    # The floor: what an admin page costs before it shows rows.
    assert figures["floor: password change form (simplest admin page): p50"]["value"] > 0
    assert figures["floor: movement list, no matching row: p50"]["unit"] == "ms"
