"""An ``Importer`` whose engine is a django-import-export resource.

``ResourceImporter`` feeds the sheet's rows to ``resource_class`` in chunks
(tablib ``Dataset`` of ``chunk_size`` rows) through the library's
``import_data`` — with ``use_transactions=False``: the runner owns the one
transaction of the import — and turns the library's ``Result`` into the
``Report``: one outcome per row (create, update, unchanged, delete) with its
spreadsheet row number, and every refusal at its row and column with the
sentence the service or the widget gave (never a traceback).

Each row runs in a savepoint of its own, rolled back when the row is refused:
a row that breaks a database constraint does not poison the rows after it, so
the preview lists every bad row at once (the runner then rolls everything back
because the report has errors).

Written against django-import-export 4.x (``Resource.import_row`` called
with ``row_number``, ``RowResult.import_type``, ``Result.base_errors``).

Resources written for this importer subclass ``SheetResource``: it gets the
actor, the run's reference and the upload form's options, keeps a cell's
current value where a blank cell cannot mean "empty", and reports an unknown
natural key at its column rather than as a failed lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.results import RowResult

from backoffice.errors import DomainError

from .base import Importer, Progress, Report, Row
from .cells import is_blank

DUPLICATE_ROW = _("This row repeats %(key)s of row %(first)s: give each one row only.")
DATABASE_REFUSED = _("The database refused this row: %(error)s")

ACTIONS = {
    RowResult.IMPORT_TYPE_NEW: "create",
    RowResult.IMPORT_TYPE_UPDATE: "update",
    RowResult.IMPORT_TYPE_SKIP: "unchanged",
    RowResult.IMPORT_TYPE_DELETE: "delete",
}


def readable(error: BaseException) -> str:
    """An exception as one sentence for the report: the domain message, the validation
    messages, or the exception's own text — never a traceback."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, ValidationError):
        return " ".join(str(message) for message in error.messages)
    if isinstance(error, DatabaseError):
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return str(DATABASE_REFUSED % {"error": first})
    if isinstance(error, ObjectDoesNotExist):
        return str(error) or type(error).__name__
    return str(error).strip() or type(error).__name__


class SheetResource(resources.ModelResource):
    """Base of the resources that ``ResourceImporter`` runs.

    ``keep_when_blank``: column names whose blank cell keeps the current value
    (the model's default for a new row) — a number or a yes/no column, where
    a blank cell cannot mean "empty". Other blank cells clear the value.
    """

    keep_when_blank: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, *, actor: Any = None, reference: str = "", options: dict | None = None, **kwargs
    ):
        # The admin's export passes its own keyword arguments (export_form…): accepted, unused.
        super().__init__(**kwargs)
        self.actor = actor
        self.reference = reference
        self.options = options or {}

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            # An unknown natural key: the row is treated as new, and importing the field
            # reports the key at its column.
            return None

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.column_name in self.keep_when_blank and is_blank(row.get(field.column_name)):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def before_save_instance(self, instance, row, **kwargs):
        # simple_history records who imported the row.
        instance._history_user = self.actor if getattr(self.actor, "pk", None) else None

    def after_import(self, dataset, result, **kwargs):
        # Rows are written by services with database-given keys: no sequence to reset.
        pass


class ResourceImporter(Importer):
    """An importer that runs ``resource_class`` over the sheet (see the module docstring).

    ``key_columns``: what a row is about — shown as the row's key in the
    preview, and a second row with the same key is refused (a sheet names
    each supplier, each price-list entry… once). Subclasses may add checks
    in ``check_row`` (return False to keep a row out of the import).
    """

    resource_class: ClassVar[type[resources.Resource]]
    chunk_size: ClassVar[int] = 1000
    key_columns: ClassVar[tuple[str, ...]] = ()

    def make_resource(self) -> resources.Resource:
        resource = self.resource_class(
            actor=self.actor, reference=self.reference, options=self.options
        )
        outcomes = self._outcomes = []
        import_row = resource.import_row

        def import_row_in_savepoint(row, instance_loader, **kwargs):
            with transaction.atomic():
                result = import_row(row, instance_loader, **kwargs)
                if not result.is_valid():
                    transaction.set_rollback(True)
            outcomes.append((kwargs["row_number"], result))
            return result

        # Per instance: the library calls self.import_row for every row of import_data.
        resource.import_row = import_row_in_savepoint
        self._columns = self._column_names(resource)
        return resource

    @staticmethod
    def _column_names(resource: resources.Resource) -> dict[str, str]:
        """Field name, attribute and model field → the column to blame in the report."""
        columns: dict[str, str] = {NON_FIELD_ERRORS: ""}
        for name, field in resource.fields.items():
            column = field.column_name or name
            columns.setdefault(name, column)
            if field.attribute:
                columns.setdefault(field.attribute, column)
                if field.attribute.endswith("_id"):
                    columns.setdefault(field.attribute[:-3], column)
        return columns

    def check_row(self, row: Row, report: Report) -> bool:
        """Refuse a row that repeats an earlier row's key."""
        if not self.key_columns:
            return True
        key = tuple(row.cells.get(column, "") for column in self.key_columns)
        if not any(key):
            return True
        first = self._seen.setdefault(key, row.number)
        if first != row.number:
            report.error(
                row.number,
                self.key_columns[-1],
                DUPLICATE_ROW % {"key": " / ".join(key), "first": first},
            )
            return False
        return True

    def row_key(self, row: Row, result: RowResult) -> str:
        if self.key_columns:
            return " / ".join(row.cells.get(column, "") for column in self.key_columns)
        return result.object_repr or ""

    def run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        resource = self.make_resource()
        self._seen: dict[tuple, int] = {}
        done = 0
        for chunk, read in self._chunks(rows, report):
            if chunk:
                self._import_chunk(resource, chunk, report)
            done += read
            progress(done)

    def _chunks(self, rows: Iterable[Row], report: Report) -> Iterator[tuple[list[Row], int]]:
        chunk: list[Row] = []
        read = 0
        for row in rows:
            read += 1
            if self.check_row(row, report):
                chunk.append(row)
            if read >= self.chunk_size:
                yield chunk, read
                chunk, read = [], 0
        if read:
            yield chunk, read

    def _import_chunk(self, resource: resources.Resource, chunk: list[Row], report: Report):
        headers = list(chunk[0].cells)
        dataset = tablib.Dataset(headers=headers)
        for row in chunk:
            dataset.append([row.cells.get(column, "") for column in headers])
        self._outcomes.clear()
        result = resource.import_data(
            dataset,
            dry_run=False,
            use_transactions=False,
            raise_errors=False,
            collect_failed_rows=False,
        )
        for error in result.base_errors:
            report.error(0, "", readable(error.error))
        for number, row_result in self._outcomes:
            row = chunk[number - 1]
            if row_result.import_type == RowResult.IMPORT_TYPE_INVALID:
                for column, message in self._validation_messages(row_result.validation_error):
                    report.error(row.number, column, message)
            elif row_result.import_type == RowResult.IMPORT_TYPE_ERROR or row_result.errors:
                for error in row_result.errors:
                    report.error(row.number, self._column_of(error.error), readable(error.error))
            else:
                report.add(
                    row.number, ACTIONS[row_result.import_type], self.row_key(row, row_result)
                )

    def _column_of(self, error: BaseException) -> str:
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            keys = [key for key in error.error_dict if key != NON_FIELD_ERRORS]
            if len(keys) == 1:
                return self._columns.get(keys[0], "")
        return ""

    def _validation_messages(self, error: ValidationError) -> Iterator[tuple[str, str]]:
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                yield "", str(message)
            return
        for key, messages in error.message_dict.items():
            column = self._columns.get(key)
            for message in messages:
                if column is None:
                    # A model field no column sets (e.g. a required field left out of the
                    # sheet): name it, so that the message says what is wrong.
                    yield "", f"{self._label(key)}: {message}"
                else:
                    yield column, str(message)

    def _label(self, key: str) -> str:
        model = getattr(self.resource_class._meta, "model", None)
        try:
            return str(model._meta.get_field(key).verbose_name)
        except Exception:  # noqa: BLE001 - any unknown key is shown as it is
            return key
