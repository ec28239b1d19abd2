"""Running an importer over a table: header checks, formula refusal, all or nothing.

``run_import`` is the one place that decides about the transaction: the
importer's writes happen inside one ``transaction.atomic()`` which is rolled
back when the run is a dry run or when any row was refused. So a preview
exercises exactly the code that the real import will run, and a file with
one bad row writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .base import Importer, Progress, Report, Row
from .reading import NO_ROWS, SheetError, Table

MISSING_COLUMNS = _(
    "Missing columns: %(missing)s. This sheet needs %(required)s; the file has %(found)s."
)
COLUMN_NOT_IMPORTED = _("Column “%(column)s” is not imported: %(why)s")
UNKNOWN_COLUMN = _("Column “%(column)s” is not a column of this sheet and is not imported.")
FORMULA_REFUSED = _(
    "Cells that start with “=” are formulas and are not imported; type the value instead "
    "(got %(cell)s)."
)
BLANK_ROWS_SKIPPED = _("%(count)s blank rows were skipped.")


def check_header(importer: type[Importer], header: list[str], report: Report) -> bool:
    """Refuse a header without the required columns; warn about columns not imported."""
    present = set(header)
    missing = [c for c in importer.required_columns if c not in present]
    if missing:
        report.error(
            1,
            "",
            MISSING_COLUMNS
            % {
                "missing": ", ".join(missing),
                "required": ", ".join(importer.required_columns),
                "found": ", ".join(header) or "—",
            },
        )
        return False
    known = set(importer.required_columns) | set(importer.optional_columns)
    for column in header:
        if column in known:
            continue
        why = importer.ignored_columns.get(column)
        if why is not None:
            report.warn(COLUMN_NOT_IMPORTED % {"column": column, "why": why})
        else:
            report.warn(UNKNOWN_COLUMN % {"column": column})
    return True


def _checked(rows: Iterator[Row], report: Report, seen: list[int]) -> Iterator[Row]:
    for row in rows:
        seen[0] += 1
        # One scan of the row's text first: most rows hold no formula at all.
        if "\x00=" not in "\x00" + "\x00".join(row.cells.values()):
            yield row
            continue
        bad = False
        for column, value in row.cells.items():
            if value.startswith("="):
                report.error(row.number, column, FORMULA_REFUSED % {"cell": value[:40]})
                bad = True
        if not bad:
            yield row


def run_import(
    importer_class: type[Importer],
    table: Table,
    *,
    actor: Any,
    options: dict | None = None,
    reference: str = "",
    dry_run: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Validate (``dry_run``) or apply ``table`` with ``importer_class``; all rows or none.

    File-level problems found while reading (too many rows, bad CSV) end as
    an error of the report, never as a half-written import.
    """
    report = Report()
    if not check_header(importer_class, table.header, report):
        return report
    importer = importer_class(actor=actor, options=options or {}, reference=reference)
    seen = [0]
    try:
        with transaction.atomic():
            importer.run(
                _checked(table.rows, report, seen),
                report=report,
                progress=progress or (lambda done: None),
            )
            if seen[0] == 0 and report.ok:
                report.error(0, "", NO_ROWS)
            if dry_run or not report.ok:
                transaction.set_rollback(True)
    except SheetError as error:
        report.error(0, "", error.message)
    report.total_rows = seen[0]
    if table.blank_row_count:
        report.warn(BLANK_ROWS_SKIPPED % {"count": f"{table.blank_row_count:,}"})
    return report
