"""B3: concurrent allocation through inventory.services.allocate, 32 threads.

Against the floor of what the database can do: raw conditional UPDATEs
(``UPDATE … SET allocated = allocated + 1 WHERE on_hand - allocated >= 1``),
same threads, same rows, measured in the same run.
"""

from __future__ import annotations

import threading
import time
import uuid

from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.db.models import Sum

from catalog.models import Product, Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Allocation, Stock, Warehouse

PER_THREAD = 60
TARGET_RATE = 1_000


def _make_skus(count: int, on_hand: int, warehouse: Warehouse, actor) -> list[Variant]:
    run = uuid.uuid4().hex[:8]
    product = Product.objects.create(title=f"Bench {run}", handle=f"bench-{run}", status="on_sale")
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"B3-{run}-{i}", price="1.00") for i in range(count)
    )
    variants = list(Variant.objects.filter(product=product).select_related("product"))
    for variant in variants:
        inventory.receive(variant=variant, warehouse=warehouse, quantity=on_hand, actor=actor)
    return variants


def _hammer(threads: int, work) -> tuple[float, list[float], int, int]:
    barrier = threading.Barrier(threads)
    latencies: list[float] = []
    won = [0]
    refused = [0]
    lock = threading.Lock()

    def worker(index: int) -> None:
        mine, ok, no = [], 0, 0
        try:
            barrier.wait()
            for step in range(PER_THREAD):
                started = time.perf_counter()
                if work(index, step):
                    ok += 1
                else:
                    no += 1
                mine.append((time.perf_counter() - started) * 1000)
        finally:
            connections.close_all()
            with lock:
                latencies.extend(mine)
                won[0] += ok
                refused[0] += no

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, latencies, won[0], refused[0]


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _oversold(variants: list[Variant]) -> int:
    oversold = 0
    for stock in Stock.objects.filter(variant__in=variants):
        allocated = Allocation.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"] or 0
        oversold += max(0, stock.allocated - stock.on_hand) + abs(allocated - stock.allocated)
    return oversold


def _service_work(variants, warehouse, actor, run):
    def work(index: int, step: int) -> bool:
        variant = variants[(index * PER_THREAD + step) % len(variants)]
        line = inventory.AllocationLine(variant, warehouse, 1)
        try:
            inventory.allocate(lines=[line], reference=f"{run}-{index}-{step}", actor=actor)
        except InsufficientStock:
            return False
        return True

    return work


def _raw_work(stock_ids):
    sql = (
        "UPDATE inventory_stock SET allocated = allocated + 1 "
        "WHERE id = %s AND on_hand - allocated >= 1"
    )

    def work(index: int, step: int) -> bool:
        stock_id = stock_ids[(index * PER_THREAD + step) % len(stock_ids)]
        with connection.cursor() as cursor:
            cursor.execute(sql, [stock_id])
            return cursor.rowcount == 1

    return work


def run(*, threads: int = 32) -> list[dict]:
    actor, _created = get_user_model().objects.get_or_create(username="bench")
    warehouse = Warehouse.objects.order_by("pk").first()
    rows = []
    for label, count in (("hot SKU", 1), ("100 SKUs", 100)):
        ours_skus = _make_skus(count, 1_000_000, warehouse, actor)
        raw_skus = _make_skus(count, 1_000_000, warehouse, actor)
        run_id = uuid.uuid4().hex[:8]
        seconds, latencies, won, _ = _hammer(
            threads, _service_work(ours_skus, warehouse, actor, run_id)
        )
        raw_ids = list(Stock.objects.filter(variant__in=raw_skus).values_list("pk", flat=True))
        raw_seconds, raw_latencies, raw_won, _ = _hammer(threads, _raw_work(raw_ids))
        # The raw UPDATEs reserved units with no allocation rows: give them back, so
        # that the stock audit (B5) does not report the baseline's rows.
        Stock.objects.filter(pk__in=raw_ids).update(allocated=0)
        rate, raw_rate = won / seconds, raw_won / raw_seconds
        print(f"B3 {label}: {rate:.0f}/s (raw {raw_rate:.0f}/s)", flush=True)
        rows += [
            {
                "id": "B3",
                "figure": f"{label}, {threads} threads: allocations/s",
                "value": round(rate),
                "baseline": round(raw_rate),
                "lower_is_better": False,
                "target": f">= {TARGET_RATE:,}/s, within 4x of raw",
            },
            {
                "id": "B3",
                "figure": f"{label}, {threads} threads: p99 latency",
                "value": round(_p99(latencies), 1),
                "baseline": round(_p99(raw_latencies), 1),
                "unit": "ms",
            },
        ]

    # The last units: 100 on hand, 32 threads x PER_THREAD attempts; exactly 100 must win.
    scarce = _make_skus(1, 100, warehouse, actor)
    _seconds, _lat, won, refused = _hammer(
        threads, _service_work(scarce, warehouse, actor, uuid.uuid4().hex[:8])
    )
    oversold = _oversold(scarce) + max(0, won - 100)
    print(f"B3 last units: {won} won, {refused} refused, oversold {oversold}", flush=True)
    rows.append(
        {
            "id": "B3",
            "figure": f"last 100 units, {threads * PER_THREAD} attempts: oversold",
            "value": oversold,
            "baseline": None,
            "target": "0",
        }
    )
    rows.append(
        {
            "id": "B3",
            "figure": f"last 100 units, {threads * PER_THREAD} attempts: allocations won",
            "value": won,
            "baseline": None,
            "target": "100",
        }
    )
    return rows
