"""Exports that a spreadsheet program cannot turn against the person who opens them.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return may be run as a formula by Excel or LibreOffice (CSV injection, e.g.
``=HYPERLINK(...)`` in a customer's name). ``neutralise`` prefixes such text
with an apostrophe, as OWASP advises; numbers (int, Decimal, float — negative
ones too — and text that is a plain number like ``-12.50``) stay numbers.
django-import-export's own ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` only
strips a leading ``=``, so it is not relied on.

How to use it in an app's admin::

    from backoffice.spreadsheets.exporting import SafeExportMixin

    @admin.register(PurchaseOrder)
    class PurchaseOrderAdmin(SafeExportMixin, admin.ModelAdmin):
        resource_classes = [PurchaseOrderLineResource]

``SafeExportMixin`` is an ``import_export.admin.ExportMixin``: it adds the
Export button and page (permission checks, filters and the selection as
import-export does them), offers csv and xlsx only, neutralises every cell
and header, and — for csv, when the selection has more than
``settings.EXPORT_STREAM_THRESHOLD`` rows — streams the file with
``stream_csv`` instead of building it in memory. Put it before
``admin.ModelAdmin`` (and after mixins that override ``get_urls`` only if they
call ``super()``). Combined with ``ImportMixin`` use
``class XAdmin(ImportMixin, SafeExportMixin, admin.ModelAdmin)``.

``stream_csv(resource_class, queryset, filename)`` can also be returned by
any view: it reads the queryset in chunks of 2,000 rows through the
resource's export fields (``before_export`` and ``filter_export`` apply, so
a resource can turn a queryset of orders into their lines and add its
``select_related``), and costs the same number of queries for any number of
rows as long as the resource's ``filter_export`` joins or prefetches what its
fields read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import tablib
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from import_export.admin import ExportMixin
from import_export.formats import base_formats
from import_export.signals import post_export

# Text that a spreadsheet may read as a formula or a command.
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
STREAM_CHUNK = 2000


def neutralise(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: text that could start a formula gets a leading
    apostrophe; numbers, dates, booleans and None are returned unchanged."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if not isinstance(value, str):
        if hasattr(value, "isoformat"):
            return value  # dates and times are written as such
        value = str(value)
    if value.startswith(DANGEROUS_FIRST) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralise_row(values: Iterable[Any]) -> list[Any]:
    return [neutralise(value) for value in values]


def neutralised(dataset: tablib.Dataset) -> tablib.Dataset:
    """A copy of ``dataset`` with every header and cell neutralised."""
    safe = tablib.Dataset(headers=neutralise_row(dataset.headers or []), title=dataset.title)
    for row in dataset:
        safe.append(neutralise_row(row))
    return safe


class _Echo:
    """A file-like object whose ``write`` returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(resource, queryset: QuerySet, *, export_fields=None, **kwargs: Any) -> Iterator[str]:
    """The header and the rows of ``queryset`` through ``resource``, as csv text lines."""
    writer = csv.writer(_Echo())
    resource.before_export(queryset, **kwargs)
    queryset = resource.filter_export(queryset, **kwargs)
    fields = resource.get_export_fields(export_fields)
    yield writer.writerow(neutralise_row(resource.get_export_headers(export_fields)))
    for obj in queryset.iterator(chunk_size=STREAM_CHUNK):
        yield writer.writerow(
            neutralise_row(resource.export_field(field, obj, **kwargs) for field in fields)
        )


def stream_csv(
    resource_class,
    queryset: QuerySet,
    filename: str,
    *,
    export_fields=None,
    resource_kwargs: dict | None = None,
) -> StreamingHttpResponse:
    """A csv download of ``queryset`` through ``resource_class``, written while it is sent:
    the rows are read in chunks of 2,000, every cell neutralised."""
    resource = resource_class(**(resource_kwargs or {}))
    response = StreamingHttpResponse(
        csv_lines(resource, queryset, export_fields=export_fields),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def stream_threshold() -> int:
    return int(getattr(settings, "EXPORT_STREAM_THRESHOLD", 5000))


def exceeds(queryset: QuerySet, limit: int) -> bool:
    """Has ``queryset`` more than ``limit`` rows? Reads at most ``limit + 1`` keys, never
    counts a big table."""
    return len(queryset.values_list("pk", flat=True)[: limit + 1]) > limit


class SafeExportMixin(ExportMixin):
    """Export with neutralised cells, csv and xlsx only; big csv exports stream (see the
    module docstring for how to wire it)."""

    export_formats = [base_formats.CSV, base_formats.XLSX]

    def get_data_for_export(self, request, queryset, **kwargs):
        return neutralised(super().get_data_for_export(request, queryset, **kwargs))

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        # django-import-export 4.x: every export (the Export page, the admin action, a
        # skipped form) ends here; the library builds the whole file in memory.
        if isinstance(file_format, base_formats.CSV):
            response = self._stream_if_big(request, queryset, export_form, file_format)
            if response is not None:
                return response
        return super()._do_file_export(file_format, request, queryset, export_form=export_form)

    def _stream_if_big(self, request, queryset, export_form, file_format):
        if not self.has_export_permission(request):
            raise PermissionDenied
        resource_class = self.choose_export_resource_class(export_form, request)
        resource_kwargs = self.get_export_resource_kwargs(request, export_form=export_form)
        selection = resource_class(**resource_kwargs).filter_export(queryset)
        if not exceeds(selection, stream_threshold()):
            return None
        response = stream_csv(
            resource_class,
            queryset,
            self.get_export_filename(request, queryset, file_format),
            export_fields=self.get_export_resource_fields_from_form(export_form),
            resource_kwargs=resource_kwargs,
        )
        post_export.send(sender=None, model=self.model)
        return response
