"""Stockroom benchmarks: one command, a table of figures and a JSON file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stockroom_bench \\
        .venv/bin/python -m bench.run --skus 100000 --movements 1000000

Generates the data set first when the database has fewer SKUs than asked
(``manage.py generate_data``), then runs, each from a vacuumed database
(``bench.tables.vacuum``):

- B1 admin changelists: queries per page and server time p50/p95 through the
  Django test client, default and filtered/searched, against a plain
  ``ModelAdmin`` of the same model (full COUNT(*), ``__str__`` per row);
- B2 bulk delist / relist / restock of 10,000 products: time and queries,
  against a per-product loop of the same service (timed on a sample and
  scaled to the same number of products);
- B3 concurrent allocation, 32 threads, one hot SKU and 100 SKUs: allocations
  per second, p99 latency, oversold units; against raw conditional UPDATEs;
- B4 the product + stock spreadsheet import of 100,000 csv rows (rolled back
  afterwards): rows per second and peak memory; against django-import-export's
  default ModelResource for Variant on a sample;
- B5 the nightly stock audit over all stock rows and movements: time (worst
  of three), queries, findings; against a loop of one SUM per stock row;
- B6 the dashboard (figures uncached, and the admin index page) and the
  listing-compliance check over every product: time and queries.

Outbox deliveries are a worker's job: the benchmarks do not send the
notifications that delisting writes (the rows are written and counted).

Prints the table and writes ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402

from backoffice import outbox  # noqa: E402
from bench import (  # noqa: E402
    b1_changelists,
    b2_bulk,
    b3_allocation,
    b4_import,
    b5_audit,
    b6_dashboard,
)
from bench.tables import vacuum  # noqa: E402
from catalog.models import Variant  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"


def format_table(rows: list[dict]) -> str:
    headers = ["id", "figure", "value", "baseline", "ratio", "target"]
    table = [headers]
    for row in rows:
        table.append(
            [
                row["id"],
                row["figure"],
                _fmt(row["value"], row.get("unit", "")),
                _fmt(row.get("baseline"), row.get("unit", "")),
                _ratio(row),
                row.get("target", ""),
            ]
        )
    widths = [max(len(str(line[i])) for line in table) for i in range(len(headers))]
    out = []
    for index, line in enumerate(table):
        out.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)))
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _fmt(value, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".strip()


def _ratio(row: dict) -> str:
    value, baseline = row["value"], row.get("baseline")
    if not baseline or not value:
        return "-"
    # Ratio is always "how many times better than the baseline".
    better = baseline / value if row.get("lower_is_better", True) else value / baseline
    return f"{better:,.1f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument(
        "--only", default="B1,B2,B3,B4,B5,B6", help="comma-separated: B1,B2,B3,B4,B5,B6"
    )
    parser.add_argument("--import-rows", type=int, default=100_000, help="B4 csv rows")
    parser.add_argument("--repeat", type=int, default=20, help="B1 requests per page")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)

    if connection.vendor != "postgresql":
        print("warning: benchmarks are meant for PostgreSQL (set DATABASE_URL)", file=sys.stderr)
    call_command("migrate", verbosity=0)
    present = Variant.objects.count()
    if present < args.skus:
        started = time.perf_counter()
        call_command("generate_data", skus=args.skus, movements=args.movements, verbosity=1)
        print(f"generated data in {time.perf_counter() - started:.1f} s")

    rows: list[dict] = []
    only = {name.strip().upper() for name in args.only.split(",")}
    # Delivery is the worker's: here the outbox rows are written and left pending.
    benchmarks = [
        ("B1", lambda: b1_changelists.run(repeat=args.repeat)),
        ("B2", b2_bulk.run),
        ("B3", lambda: b3_allocation.run(threads=args.threads)),
        ("B4", lambda: b4_import.run(rows=args.import_rows)),
        ("B5", b5_audit.run),
        ("B6", b6_dashboard.run),
    ]
    with mock.patch.object(outbox, "after_commit", lambda publish, *a, **kw: None):
        for name, bench in benchmarks:
            if name in only:
                started = time.perf_counter()
                vacuum()
                print(f"{name}: vacuumed in {time.perf_counter() - started:.1f} s", flush=True)
                # Queries are counted with CaptureQueriesContext, which reads the
                # connection's log: that log holds 9,000 entries, and once an earlier
                # benchmark has filled it every later count would read 0.
                reset_queries()
                rows += bench()

    print()
    print(format_table(rows))
    args.output.write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "skus": Variant.objects.count(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
