"""Running the catalog and stock sheets in tests: build the file, read it, run it."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from backoffice.spreadsheets.base import load_importers
from backoffice.spreadsheets.reading import read_table
from backoffice.spreadsheets.runner import run_import
from catalog.models import Category, Product, ProductImage, Tag, Variant
from inventory.models import Movement, Stock


def csv_bytes(rows: Sequence[Sequence], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def run(
    kind: str,
    data,
    *,
    actor=None,
    options=None,
    name="sheet.csv",
    encoding="auto",
    dry_run=False,
    reference="IMP-000001",
    progress=None,
):
    """``data``: rows (a list of lists) or the file's bytes."""
    if not isinstance(data, bytes):
        data = csv_bytes(data)
    table = read_table(data, name, encoding=encoding)
    return run_import(
        load_importers()[kind],
        table,
        actor=actor,
        options=options or {},
        reference=reference,
        dry_run=dry_run,
        progress=progress,
    )


def errors(report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


def actions(report) -> dict[int, str]:
    return {p.row: p.action for p in report.preview}


def counts() -> dict[str, int]:
    """Rows of every table an import writes, history included."""
    return {
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "categories": Category.objects.count(),
        "tags": Tag.objects.count(),
        "images": ProductImage.objects.count(),
        "stock": Stock.objects.count(),
        "movements": Movement.objects.count(),
        "product_history": Product.history.count(),
        "variant_history": Variant.history.count(),
        "category_history": Category.history.count(),
        "image_history": ProductImage.history.count(),
        "tag_links": Product.tags.through.objects.count(),
    }
