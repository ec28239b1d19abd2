"""B2: bulk delist, relist and restock of 10,000 products, against a per-product loop."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from catalog import services as catalog
from catalog.models import Product
from inventory import services as inventory
from inventory.models import Warehouse

BULK = 10_000
SAMPLE = 300  # products timed one by one for the loop baseline, scaled to BULK


def _timed(call) -> tuple[float, int]:
    reset_queries()  # CaptureQueriesContext reads a log of 9,000 entries: start it empty
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        call()
        elapsed = time.perf_counter() - started
    return elapsed, len(queries)


def _loop(ids: list[int], call) -> tuple[float, int]:
    # Counted by a wrapper, not CaptureQueriesContext: a loop can pass the 9,000
    # entries its log keeps.
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        for pk in ids:
            call(Product.objects.filter(pk=pk))
        elapsed = time.perf_counter() - started
    scale = BULK / len(ids)
    return elapsed * scale, int(statements[0] * scale)


def run() -> list[dict]:
    actor, _created = get_user_model().objects.get_or_create(username="bench")
    warehouse = Warehouse.objects.order_by("pk").first()
    ids = list(
        Product.objects.filter(status__in=["on_sale", "sold_out"])
        .order_by("pk")
        .values_list("pk", flat=True)[: BULK + SAMPLE]
    )
    bulk_ids, sample_ids = ids[:BULK], ids[BULK:]
    bulk = Product.objects.filter(pk__in=bulk_ids)

    def delist_bulk():
        catalog.delist(products=bulk, reason="seasonal", note="bench", actor=actor)

    def relist_bulk():
        catalog.relist(products=bulk, actor=actor)

    def restock_bulk():
        inventory.restock_products(products=bulk, warehouse=warehouse, quantity=1, actor=actor)

    results = {}
    results["delist"] = (
        _timed(delist_bulk),
        _loop(
            sample_ids,
            lambda qs: catalog.delist(products=qs, reason="seasonal", note="bench", actor=actor),
        ),
    )
    results["relist"] = (
        _timed(relist_bulk),
        _loop(sample_ids, lambda qs: catalog.relist(products=qs, actor=actor)),
    )
    results["restock"] = (
        _timed(restock_bulk),
        _loop(
            sample_ids,
            lambda qs: inventory.restock_products(
                products=qs, warehouse=warehouse, quantity=1, actor=actor
            ),
        ),
    )
    rows = []
    for name, ((seconds, queries), (loop_seconds, loop_queries)) in results.items():
        print(f"B2 {name}: {seconds:.2f}s {queries} queries; loop {loop_seconds:.1f}s", flush=True)
        rows.append(
            {
                "id": "B2",
                "figure": f"{name} {BULK:,} products: time",
                "value": round(seconds, 2),
                "baseline": round(loop_seconds, 1),
                "unit": "s",
                "target": "<= 2 s" if name == "delist" else "",
            }
        )
        rows.append(
            {
                "id": "B2",
                "figure": f"{name} {BULK:,} products: queries",
                "value": queries,
                "baseline": loop_queries,
                "target": "constant",
            }
        )
    return rows
