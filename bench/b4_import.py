"""B4: the product + stock spreadsheet import at 100,000 rows.

A csv of ``ROWS`` variant rows is generated (products of three variants —
size S/M/L — each row with category, tags, an image URL, prices, barcode,
weight, and a warehouse and stock quantity), then read with ``read_table``
and imported with ``run_import(dry_run=False)`` through the "products"
importer: validation, products, variants, categories, tags, image rows,
history rows, stock rows, one ledger movement per row and the listing
status (publish). Timed from the file's bytes to the report.

The run happens inside an outer transaction that is rolled back afterwards,
so that the bench database keeps its size and the benchmark can be repeated
(the import's own transaction is a savepoint of it). What the final COMMIT
would check is timed: ``SET CONSTRAINTS ALL IMMEDIATE`` runs the deferred
foreign-key checks of every row written before the clock stops; only the
WAL flush of the commit itself is left out.

Peak memory: the process's peak resident set size (Linux ``VmHWM``) during
the import, reset just before it through ``/proc/self/clear_refs``; where
that is not possible, ``ru_maxrss``. Reported as the peak and as its growth
over the resident size before the import.

Baseline: django-import-export's default configuration — a plain
``ModelResource`` for ``Variant`` with default settings, ``import_data
(dry_run=False)`` on ``BASELINE_ROWS`` rows of the same kind (product id,
SKU, options, prices, barcode, weight) — rows per second, measured in the
same run and transaction. It writes variants only: no stock, no ledger.

The import is run ``REPEATS`` times, each from a vacuumed database
(``bench.tables.vacuum``), and the median time is the figure; the slowest and
fastest are shown beside it. The baseline is measured once, in the first run.

References, to read the figure with (this machine's speed moves by a third from
hour to hour): before each import, a plain Python loop of ``LOOP`` additions and,
on PostgreSQL, COPY of the same csv into a temporary table without keys or
indexes (what PostgreSQL alone does with the file); medians of the runs.
"""

from __future__ import annotations

import csv
import io
import resource
import time
from operator import itemgetter
from pathlib import Path

import tablib
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from import_export import resources

from backoffice.spreadsheets.base import load_importers
from backoffice.spreadsheets.reading import read_table
from backoffice.spreadsheets.runner import run_import
from bench.tables import vacuum
from catalog.imports.engine import CHUNK_ROWS
from catalog.models import Product, Variant
from inventory.models import Warehouse

ROWS = 100_000
# The import is timed this many times and the median reported: the same run's time varies
# by 10-25 % on these shared machines (a plain Python loop alone varies by 20 %).
REPEATS = 3
VARIANTS_PER_PRODUCT = 3
BASELINE_ROWS = 2_000
LOOP = 10_000_000
HEADER = [
    "handle", "title", "category", "tags", "status", "short_description", "description",
    "option1_name", "option2_name", "option3_name", "sku", "option1", "option2", "option3",
    "price", "compare_at_price", "cost", "barcode", "weight_grams", "allow_backorder",
    "image_urls", "warehouse", "stock",
]  # fmt: skip
SIZES = ("S", "M", "L")


class _Rollback(Exception):
    pass


def generate_csv(rows: int, warehouse: str, prefix: str) -> bytes:
    """``rows`` variant rows, ``VARIANTS_PER_PRODUCT`` to a product."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for n in range(rows):
        p = n // VARIANTS_PER_PRODUCT
        size = SIZES[n % VARIANTS_PER_PRODUCT]
        first = n % VARIANTS_PER_PRODUCT == 0
        product = (
            [
                f"{prefix}-{p}",
                f"Bench tee {p}",
                f"Bench > Group {p % 40}",
                f"bench, tag{p % 25}",
                "on_sale",
                "A bench product.",
                f"Cotton tee number {p}, printed in two colours.",
                "Size",
                "",
                "",
            ]
            if first
            else [f"{prefix}-{p}"] + [""] * 9
        )
        writer.writerow(
            [
                *product,
                f"{prefix.upper()}-{p}-{size}",
                size,
                "",
                "",
                f"{10 + p % 90}.90",
                f"{20 + p % 90}.00",
                f"{4 + p % 10}.25",
                f"{prefix.upper()}{n:09d}",
                str(150 + n % 200),
                "no",
                f"https://img.example.com/{prefix}/{p}.jpg" if first else "",
                warehouse,
                str(n % 50),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _rss_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _check_deferred() -> None:
    """Run now the deferred constraint checks that COMMIT would run (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _references(data: bytes, rows: int) -> dict:
    """The machine's speed now: seconds of a plain Python loop, and rows per second of
    COPY of ``data`` into a temporary table (PostgreSQL; inside the caller's transaction)."""
    started = time.perf_counter()
    total = 0
    for number in range(LOOP):
        total += number
    figures = {"loop_s": time.perf_counter() - started}
    if connection.vendor == "postgresql":
        columns = ", ".join(f"c{n} text" for n in range(len(HEADER)))
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE b4_reference ({columns})")
            started = time.perf_counter()
            with cursor.cursor.copy("COPY b4_reference FROM STDIN (FORMAT CSV, HEADER)") as copy:
                copy.write(data)
            figures["copy_rows_s"] = rows / (time.perf_counter() - started)
            cursor.execute("DROP TABLE b4_reference")
    return figures


def _baseline(data: bytes, prefix: str, sample: int) -> float:
    """django-import-export, default ModelResource for Variant, on ``sample`` rows."""

    class VariantResource(resources.ModelResource):
        class Meta:
            model = Variant

    products = list(
        Product.objects.filter(handle__startswith=f"{prefix}-")
        .order_by("pk")
        .values_list("pk", flat=True)[: sample // VARIANTS_PER_PRODUCT + 1]
    )
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    dataset = tablib.Dataset(
        headers=["id", "product", "sku", "option1", "price", "compare_at_price", "cost",
                 "barcode", "weight_grams"]
    )  # fmt: skip
    for n, row in enumerate(reader):
        if n == sample:
            break
        dataset.append(
            [
                "",
                products[n // VARIANTS_PER_PRODUCT],
                "BASE-" + row["sku"],
                row["option1"],
                row["price"],
                row["compare_at_price"],
                row["cost"],
                "BASE" + row["barcode"],
                row["weight_grams"],
            ]
        )
    started = time.perf_counter()
    result = VariantResource().import_data(dataset, dry_run=False)
    _check_deferred()  # its deferred checks too, as for ours
    elapsed = time.perf_counter() - started
    assert not result.has_errors() and not result.has_validation_errors(), result
    return sample / elapsed


def _import_once(rows: int, *, baseline: bool) -> dict:
    """One timed import of ``rows`` generated rows (and, with ``baseline``, the baseline's
    rows per second), rolled back; its figures."""
    actor, _created = get_user_model().objects.get_or_create(
        username="bench-import", defaults={"is_staff": True, "is_superuser": True}
    )
    prefix = f"b4{int(time.time()) % 100000}"
    figures: dict = {}
    try:
        with transaction.atomic():
            warehouse = Warehouse.objects.filter(is_active=True).order_by("code").first()
            if warehouse is None:
                warehouse = Warehouse.objects.create(code="B4", name="Bench warehouse")
            data = generate_csv(rows, warehouse.code, prefix)
            figures.update(_references(data, rows))
            rss_before = _rss_kb("VmRSS")
            exact_peak = _reset_peak()
            max_rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            importer = load_importers()["products"]
            statements = [0]

            def count(execute, sql, params, many, context):
                statements[0] += 1
                return execute(sql, params, many, context)

            # Counted without CaptureQueriesContext: logging every statement's SQL text
            # (thousands of keys each) would cost more than running it.
            with connection.execute_wrapper(count):
                started = time.perf_counter()
                table = read_table(data, "b4.csv")
                report = run_import(
                    importer,
                    table,
                    actor=actor,
                    options={"create_categories": True},
                    reference="B4",
                    dry_run=False,
                )
                # What COMMIT would do before it returns: the deferred foreign-key
                # checks of every row written (a few per csv row). Timed, as a real
                # import commits.
                _check_deferred()
                elapsed = time.perf_counter() - started
            if exact_peak:
                peak_kb = _rss_kb("VmHWM")
            else:
                peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, max_rss_before)
            assert report.ok, report.errors[:5]
            assert report.created == rows, (report.created, rows)
            figures.update(
                elapsed=elapsed,
                queries=statements[0],
                peak_mb=peak_kb / 1024,
                growth_mb=(peak_kb - (rss_before or 0)) / 1024,
                products=Product.objects.filter(handle__startswith=f"{prefix}-").count(),
                file_mb=len(data) / 1_000_000,
            )
            if baseline:
                figures["baseline"] = _baseline(data, prefix, min(BASELINE_ROWS, rows))
            raise _Rollback
    except _Rollback:
        pass
    return figures


def run(rows: int = ROWS, repeats: int = REPEATS) -> list[dict]:
    runs = []
    for attempt in range(repeats):
        if attempt:
            vacuum()  # the rolled-back rows of the run before, as before the first
        runs.append(_import_once(rows, baseline=attempt == 0))
        print(f"B4 import {attempt + 1}/{repeats}: {runs[-1]['elapsed']:.1f} s", flush=True)
    figures = {**runs[0], **sorted(runs, key=itemgetter("elapsed"))[len(runs) // 2]}
    for name in ("loop_s", "copy_rows_s"):
        values = sorted(r[name] for r in runs if name in r)
        figures[name] = values[len(values) // 2] if values else None
    figures["peak_mb"] = max(r["peak_mb"] for r in runs)
    figures["growth_mb"] = max(r["growth_mb"] for r in runs)
    speeds = sorted(rows / r["elapsed"] for r in runs)
    rows_per_s = rows / figures["elapsed"]
    spread = f"{speeds[0]:,.0f}-{speeds[-1]:,.0f}" if len(runs) > 1 else f"{speeds[0]:,.0f}"
    print(
        f"B4 import: {rows:,} rows ({figures['products']:,} products, {figures['file_mb']:.1f} MB "
        f"csv) in {figures['elapsed']:.1f}s = {rows_per_s:,.0f} rows/s (median of {len(runs)} "
        f"runs: {spread} rows/s), {figures['queries']} queries, peak RSS "
        f"{figures['peak_mb']:.0f} MB (+{figures['growth_mb']:.0f} MB); django-import-export "
        f"default ModelResource: {figures['baseline']:,.0f} rows/s; references: Python loop "
        f"{figures['loop_s']:.2f} s, COPY into a table without keys "
        + (f"{figures['copy_rows_s']:,.0f} rows/s" if figures["copy_rows_s"] else "-"),
        flush=True,
    )
    references = [
        {
            "id": "B4",
            "figure": f"reference: a Python loop of {LOOP:,} additions (median)",
            "value": round(figures["loop_s"], 2),
            "unit": "s",
            "target": "",
        }
    ]
    if figures["copy_rows_s"] is not None:
        references.append(
            {
                "id": "B4",
                "figure": "reference: COPY of the csv into a table without keys (median)",
                "value": round(figures["copy_rows_s"]),
                "unit": "rows/s",
                "target": "",
            }
        )
    return [
        {
            "id": "B4",
            "figure": f"products+stock import, {rows:,} csv rows: rows/s (median of {len(runs)})",
            "value": round(rows_per_s),
            "baseline": round(figures["baseline"]),
            "unit": "rows/s",
            "target": ">= 10,000 rows/s",
            "lower_is_better": False,
        },
        {
            "id": "B4",
            "figure": f"products+stock import: rows/s, slowest of {len(runs)} (fastest)",
            "value": round(speeds[0]),
            "unit": f"rows/s ({speeds[-1]:,.0f})",
            "target": "",
        },
        {
            "id": "B4",
            "figure": f"products+stock import, {rows:,} csv rows: time (median)",
            "value": round(figures["elapsed"], 1),
            "baseline": round(rows / figures["baseline"], 1),
            "unit": "s",
            "target": "",
        },
        {
            "id": "B4",
            "figure": "products+stock import: peak RSS of the process (growth)",
            "value": round(figures["peak_mb"]),
            "unit": f"MB (+{figures['growth_mb']:.0f})",
            "target": "<= 300 MB",
        },
        {
            "id": "B4",
            "figure": "products+stock import: SQL statements (COPY streams not counted)",
            "value": figures["queries"],
            "target": f"constant per chunk of {CHUNK_ROWS:,} rows",
        },
    ] + references
