"""Safe exports (F-52): formula-like text neutralised in csv and xlsx, numbers kept as numbers,
big csv exports streamed with the same rows and a constant number of queries."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from import_export import fields
from import_export.formats import base_formats

from backoffice.spreadsheets.exporting import SafeExportMixin, neutralise, stream_csv
from suppliers.models import PurchaseOrder, Supplier, SupplierPrice
from suppliers.resources import (
    PurchaseOrderLineResource,
    SupplierPriceResource,
    SupplierResource,
)

from ..factories import (
    SupplierFactory,
    VariantFactory,
    WarehouseFactory,
    purchase_order,
    supplier_price,
)

DANGEROUS = [
    '=HYPERLINK("http://x")',
    "+86 138",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "\tx",
    "\rx",
]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_could_start_a_formula_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize(
    "value",
    [None, "", "Acme", "a=b", "Li-Lei", 0, -5, 3.5, -2.25, Decimal("-12.50"), True, "-12.50", "7"],
)
def test_numbers_and_harmless_text_stay_as_they_are(value):
    assert neutralise(value) == value


class LedgerResource(SupplierResource):
    """The supplier sheet with a negative amount, to see numbers survive the export."""

    balance = fields.Field(column_name="balance")

    class Meta(SupplierResource.Meta):
        fields = ("code", "name", "contact_name", "balance")
        export_order = fields

    def dehydrate_balance(self, supplier):
        return Decimal("-12.50")


class SupplierExportAdmin(SafeExportMixin, admin.ModelAdmin):
    resource_classes = [LedgerResource]


@pytest.fixture
def exporter():
    return SupplierExportAdmin(Supplier, admin.site)


@pytest.fixture
def request_(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    return request


@pytest.fixture
def hostile(db):
    for index, text in enumerate(DANGEROUS):
        SupplierFactory(code=f"S{index}", name=text, contact_name="=cmd|' /C calc'!A0")


def csv_rows(response) -> list[list[str]]:
    if isinstance(response, StreamingHttpResponse):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def test_the_mixin_offers_csv_and_xlsx_only(exporter):
    assert exporter.get_export_formats() == [base_formats.CSV, base_formats.XLSX]


def test_csv_export_neutralises_every_formula_like_cell(exporter, request_, hostile):
    response = exporter._do_file_export(
        base_formats.CSV(), request_, Supplier.objects.order_by("code")
    )
    rows = csv_rows(response)
    assert rows[0] == ["code", "name", "contact_name", "balance"]
    assert [row[1] for row in rows[1:]] == ["'" + text for text in DANGEROUS]
    assert {row[2] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    assert {row[3] for row in rows[1:]} == {"-12.50"}


def test_xlsx_export_neutralises_text_and_keeps_numbers(exporter, request_, hostile):
    response = exporter._do_file_export(
        base_formats.XLSX(), request_, Supplier.objects.order_by("code")
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = list(sheet.iter_rows(min_row=2, values_only=True))
    # (XML turns a carriage return into a line feed.)
    assert [row[1] for row in cells] == ["'" + text.replace("\r", "\n") for text in DANGEROUS]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert {row[3] for row in cells} == {-12.5}  # a number, not text


def test_the_admin_export_page_gives_the_neutralised_file(exporter, admin_user, hostile):
    request = RequestFactory().post(
        "/",
        {
            "format": "0",
            "resource": "0",
            **{f"ledgerresource_{f}": "on" for f in ("code", "name", "balance")},
        },
    )
    request.user = admin_user
    request._dont_enforce_csrf_checks = True
    response = exporter.export_action(request)
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0] == ["code", "name", "balance"]
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + text for text in DANGEROUS)


def test_a_big_csv_export_streams_the_same_rows(exporter, request_, hostile, settings):
    queryset = Supplier.objects.order_by("code")
    settings.EXPORT_STREAM_THRESHOLD = 100
    whole = exporter._do_file_export(base_formats.CSV(), request_, queryset)
    settings.EXPORT_STREAM_THRESHOLD = 3
    streamed = exporter._do_file_export(base_formats.CSV(), request_, queryset)
    assert not isinstance(whole, StreamingHttpResponse)
    assert isinstance(streamed, StreamingHttpResponse)
    assert streamed["Content-Disposition"].startswith('attachment; filename="Supplier-')
    rows = csv_rows(streamed)
    assert rows == csv_rows(whole)
    assert len(rows) == len(DANGEROUS) + 1


def test_xlsx_is_never_streamed(exporter, request_, hostile, settings):
    settings.EXPORT_STREAM_THRESHOLD = 1
    response = exporter._do_file_export(base_formats.XLSX(), request_, Supplier.objects.all())
    assert not isinstance(response, StreamingHttpResponse)


def test_streamed_purchase_orders_equal_the_library_export(db):
    supplier, warehouse = SupplierFactory(code="ACME"), WarehouseFactory(code="MAIN")
    variants = [VariantFactory() for _ in range(3)]
    purchase_order(supplier, warehouse, [(v, 5, "1.25") for v in variants])
    resource = PurchaseOrderLineResource()
    dataset = resource.export(PurchaseOrder.objects.all())
    whole = list(csv.reader(io.StringIO(dataset.export("csv"))))
    streamed = csv_rows(stream_csv(PurchaseOrderLineResource, PurchaseOrder.objects.all(), "x.csv"))
    assert streamed == whole
    assert len(streamed) == 4


def _queries_to_stream(resource_class, queryset) -> int:
    with CaptureQueriesContext(connection) as captured:
        rows = csv_rows(stream_csv(resource_class, queryset, "x.csv"))
    assert len(rows) > 1
    return len(captured)


def test_streaming_purchase_order_lines_costs_constant_queries(db):
    supplier, warehouse = SupplierFactory(code="ACME"), WarehouseFactory(code="MAIN")

    def add_orders(orders):
        for _ in range(orders):
            lines = [(VariantFactory(), 5, "1.25") for _ in range(5)]
            purchase_order(supplier, warehouse, lines)

    add_orders(2)  # 10 lines
    ten = _queries_to_stream(PurchaseOrderLineResource, PurchaseOrder.objects.all())
    add_orders(18)  # 100 lines
    hundred = _queries_to_stream(PurchaseOrderLineResource, PurchaseOrder.objects.all())
    assert ten == hundred


def test_streaming_a_price_list_with_breaks_costs_constant_queries(db):
    from suppliers.services import PriceBreak

    supplier = SupplierFactory(code="ACME")

    def add_prices(count):
        for _ in range(count):
            breaks = [PriceBreak(10, Decimal("2.50")), PriceBreak(50, Decimal("2.20"))]
            supplier_price(supplier, VariantFactory(), "3.00", breaks=breaks)

    add_prices(10)
    ten = _queries_to_stream(SupplierPriceResource, SupplierPrice.objects.all())
    add_prices(90)
    hundred = _queries_to_stream(SupplierPriceResource, SupplierPrice.objects.all())
    assert ten == hundred
