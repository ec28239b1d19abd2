"""B5: the nightly stock audit over every stock row and the whole ledger.

Baseline: the audit written as a loop — one ``SUM(quantity)`` query per stock
row — timed on a sample of rows and scaled to the table.
"""

from __future__ import annotations

import time

from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from inventory import services as inventory
from inventory.models import Movement, Stock

SAMPLE = 2_000


def _naive(stock_ids: list[int]) -> float:
    started = time.perf_counter()
    for pk in stock_ids:
        stock = Stock.objects.get(pk=pk)
        total = Movement.objects.filter(stock_id=pk).aggregate(s=Sum("quantity"))["s"] or 0
        assert total is not None and stock is not None
    return time.perf_counter() - started


def run(repeat: int = 3) -> list[dict]:
    rows_total = Stock.objects.count()
    times, queries, findings = [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            audit = inventory.stock_audit()
            times.append(time.perf_counter() - started)
        queries, findings = len(captured), audit.findings_count
    sample = list(Stock.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE])
    naive = _naive(sample) * rows_total / max(len(sample), 1)
    best, worst = min(times), max(times)
    print(
        f"B5 audit: {rows_total:,} stock rows, {audit.movements:,} movements: "
        f"{best:.2f}-{worst:.2f}s, {queries} queries, {findings} findings; loop {naive:.0f}s",
        flush=True,
    )
    return [
        {
            "id": "B5",
            "figure": f"stock audit, {rows_total:,} rows / {audit.movements:,} movements: time",
            "value": round(worst, 2),
            "baseline": round(naive, 1),
            "unit": "s",
            "target": "<= 5 s",
        },
        {
            "id": "B5",
            "figure": "stock audit: queries",
            "value": queries,
            "baseline": 2 * rows_total,
            "target": "constant",
        },
        {
            "id": "B5",
            "figure": "stock audit: findings on generated data",
            "value": findings,
            "target": "0",
        },
    ]
