"""Sheets with one row per line, where rows sharing a key form one document.

A purchase order or a customer order has lines; a sheet lists one line per
row and repeats the document's fields (supplier, customer, address…) on
each row. ``GroupedImporter`` collects the rows by ``group_key`` (the rows
of a document need not be adjacent), checks that the rows of one document
agree on the document's columns, and hands each document to ``import_group``,
which calls the service that writes it — in a savepoint, so that a refused
document leaves nothing behind while the other documents are still checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from backoffice.errors import DomainError

from .base import Importer, Progress, Report, Row
from .cells import is_blank

ROWS_DISAGREE = _(
    "%(key)s has “%(value)s” here but “%(first)s” on row %(row)s: "
    "the rows of one order must agree on %(column)s."
)
KEY_REQUIRED = _("This column needs a value: it says which order the row belongs to.")
PROGRESS_EVERY = 1000


@dataclass
class Group:
    """The rows of one document, and what its rows agree on."""

    key: tuple
    rows: list[Row] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # the document's columns
    bad: bool = False  # a row was refused already: the document is not written

    @property
    def first(self) -> Row:
        return self.rows[0]

    @property
    def label(self) -> str:
        return " / ".join(part for part in self.key if part)


class GroupedImporter(Importer):
    """Subclasses set ``group_columns`` (the key), ``document_columns`` (must agree across
    a document's rows) and implement ``import_group``; ``prepare`` may look up what the
    rows name (SKUs, warehouses…) in batches before any document is written."""

    group_columns: ClassVar[tuple[str, ...]]
    document_columns: ClassVar[tuple[str, ...]] = ()

    def group_key(self, row: Row) -> tuple:
        return tuple(row.cells.get(column, "") for column in self.group_columns)

    def run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        groups: dict[tuple, Group] = {}
        for row in rows:
            key = self.group_key(row)
            if not key[-1]:
                report.error(row.number, self.group_columns[-1], KEY_REQUIRED)
                continue
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key)
            group.rows.append(row)
            self._agree(group, row, report)
        self.prepare(list(groups.values()), report)
        done = reported = 0
        for group in groups.values():
            if not group.bad:
                self.import_group(group, report)
            done += len(group.rows)
            if done - reported >= PROGRESS_EVERY:
                progress(done)
                reported = done
        progress(done)

    def _agree(self, group: Group, row: Row, report: Report) -> None:
        for column in self.document_columns:
            value = row.cells.get(column, "")
            if is_blank(value):
                continue
            first = group.values.setdefault(column, value)
            if first != value:
                first_row = next(r.number for r in group.rows if r.cells.get(column) == first)
                self.refuse(
                    group,
                    report,
                    row,
                    column,
                    ROWS_DISAGREE
                    % {
                        "key": group.label,
                        "value": value,
                        "first": first,
                        "row": first_row,
                        "column": column,
                    },
                )

    def refuse(self, group: Group, report: Report, row: Row, column: str, message: Any) -> None:
        group.bad = True
        report.error(row.number, column, message)

    def prepare(self, groups: list[Group], report: Report) -> None:
        """Look up what the rows name, in batches; refuse rows with ``self.refuse``."""

    def import_group(self, group: Group, report: Report) -> None:
        raise NotImplementedError

    def in_savepoint(self, write, *args, **kwargs):
        """Call ``write`` in a savepoint: a refusal (a ``DomainError``) leaves nothing behind
        and is returned, not raised."""
        try:
            with transaction.atomic():
                return write(*args, **kwargs), None
        except DomainError as error:
            return None, error
