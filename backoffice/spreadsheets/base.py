"""What every spreadsheet import is made of: rows in, a report out.

An importer reads rows (``Row``: the spreadsheet line number and the cells by
column name) and either writes them or says, per row and column, why not. It
never decides about transactions: ``backoffice.spreadsheets.runner`` calls it
inside one ``transaction.atomic()`` and rolls everything back when the run is
a dry run or the report holds any error, so an import is all or nothing and a
preview is the same code path as the real thing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms

# What the preview keeps of a big file: the first rows and the first errors.
PREVIEW_ROWS = 500
MAX_ERRORS_KEPT = 1000


@dataclass(frozen=True)
class Row:
    number: int  # the line in the spreadsheet: the header is line 1
    cells: dict[str, str]  # column name (as in the header, stripped) -> cell text, stripped


@dataclass(frozen=True)
class RowError:
    row: int  # 0: about the whole file (missing columns, empty file…)
    column: str  # "" when no single column is to blame
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class PreviewRow:
    row: int
    action: str  # "create", "update", "unchanged", "delete", "error"
    key: str  # what the row is about, e.g. the SKU
    detail: str = ""

    def as_dict(self) -> dict:
        return {"row": self.row, "action": self.action, "key": self.key, "detail": self.detail}


def _by_row(error: RowError) -> int:
    return error.row


@dataclass
class Report:
    """Counts, errors and warnings of one run; rows and errors kept up to a limit."""

    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, row: int, column: str, message: Any) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            # In row order: an importer may check rows ahead while earlier ones are written.
            bisect.insort(self.errors, RowError(row, column, str(message)), key=_by_row)

    def warn(self, message: Any) -> None:
        message = str(message)
        if message not in self.warnings:
            self.warnings.append(message)

    def add(self, row: int, action: str, key: str = "", detail: str = "") -> None:
        """Count one row's outcome (create/update/unchanged/delete) and keep it for the preview."""
        if action == "create":
            self.created += 1
        elif action == "update":
            self.updated += 1
        elif action == "unchanged":
            self.unchanged += 1
        elif action == "delete":
            self.deleted += 1
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append(PreviewRow(row, action, str(key), str(detail)))

    def as_dict(self) -> dict:
        return {
            "total_rows": self.total_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "preview": [p.as_dict() for p in self.preview],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        return cls(
            total_rows=data.get("total_rows", 0),
            created=data.get("created", 0),
            updated=data.get("updated", 0),
            unchanged=data.get("unchanged", 0),
            deleted=data.get("deleted", 0),
            error_count=data.get("error_count", 0),
            errors=[RowError(**e) for e in data.get("errors", [])],
            warnings=list(data.get("warnings", [])),
            preview=[PreviewRow(**p) for p in data.get("preview", [])],
        )


Progress = Callable[[int], None]  # called with the number of rows done so far


class Importer:
    """One kind of sheet. Subclasses set the class attributes and implement ``run``.

    ``required_columns`` must all be in the header (else the file is refused
    before any row is read); ``optional_columns`` are understood;
    ``ignored_columns`` are known but not imported, with the reason, and are
    reported as warnings when the file has them; any other column is reported
    as a warning ("not imported") — nothing is dropped silently.
    Column names are compared exactly as written (after stripping spaces), so
    that a sheet in another shop's format is recognised by its own headers.
    """

    do_not_call_in_templates = True  # templates list the classes themselves
    kind: ClassVar[str]  # registry key, e.g. "products", "woocommerce"
    label: ClassVar[str]  # shown in the admin: "Products with variants (WooCommerce CSV)"
    permission: ClassVar[str]  # e.g. "catalog.import_product"
    model: ClassVar[type]  # the changelist whose Import button offers this sheet
    required_columns: ClassVar[tuple[str, ...]] = ()
    optional_columns: ClassVar[tuple[str, ...]] = ()
    ignored_columns: ClassVar[dict[str, str]] = {}
    # Extra fields of the upload form, e.g. the stock mode (set to / add) or a warehouse.
    option_fields: ClassVar[dict[str, Callable[[], forms.Field]]] = {}
    # A template sheet offered for download: the header, and one example row.
    example: ClassVar[tuple[dict[str, str], ...]] = ()

    def __init__(self, *, actor: Any, options: dict | None = None, reference: str = "") -> None:
        self.actor = actor
        self.options = options or {}
        # The import run's reference, e.g. "IMP-000012": ledger rows cite it with the row number.
        self.reference = reference

    def run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        """Validate and write every row, adding outcomes and errors to ``report``.

        Runs inside the runner's transaction; may write even when the run is a
        dry run (the runner rolls back). Must not catch the runner's
        rollback: raise nothing for a bad row, record it with
        ``report.error(row.number, column, message)`` and go on, so that the
        preview lists every bad row at once. Call ``progress(rows_done)`` now
        and then (every few thousand rows).
        """
        raise NotImplementedError


REGISTRY: dict[str, type[Importer]] = {}


def register(importer: type[Importer]) -> type[Importer]:
    """Class decorator: make an importer available to the admin and the runner."""
    REGISTRY[importer.kind] = importer
    return importer


def importers_for(model: type) -> list[type[Importer]]:
    return [imp for imp in load_importers().values() if imp.model is model]


def load_importers() -> dict[str, type[Importer]]:
    """Every registered importer; the apps' ``resources`` modules register theirs."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("resources")
    return REGISTRY
