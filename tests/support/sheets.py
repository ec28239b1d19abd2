"""Small csv/xlsx files built in the tests, read and run as an upload would be."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from backoffice.spreadsheets.base import Importer, Report
from backoffice.spreadsheets.reading import read_table
from backoffice.spreadsheets.runner import run_import


def csv_bytes(rows: Sequence[Sequence]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: Sequence[Sequence]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_sheet(
    importer: type[Importer],
    rows: Sequence[Sequence],
    *,
    actor=None,
    dry_run: bool = True,
    fmt: str = "csv",
    options: dict | None = None,
    reference: str = "IMP-TEST",
) -> Report:
    """Build the file, read it with ``read_table`` and run it with ``run_import``."""
    data = csv_bytes(rows) if fmt == "csv" else xlsx_bytes(rows)
    table = read_table(data, f"sheet.{fmt}")
    return run_import(
        importer, table, actor=actor, options=options, reference=reference, dry_run=dry_run
    )


def errors(report: Report) -> list[tuple[int, str, str]]:
    """The report's errors as (row, column, message)."""
    return [(e.row, e.column, e.message) for e in report.errors]


def actions(report: Report) -> list[tuple[int, str]]:
    return [(p.row, p.action) for p in report.preview]
