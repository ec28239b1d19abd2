"""Stockroom's own product sheet ("products"): one row per variant (SKU).

Rows sharing a ``handle`` are one product and must be together; the product's
columns (title, category, tags, status, descriptions, option names, image
URLs) are read from its first row — later rows leave them blank or repeat
them. A column left out of the sheet is left alone in the catalog, so a sheet
of ``handle, sku, price`` changes prices only.

=====================  =====================================================
column                 meaning
=====================  =====================================================
handle (required)      the product's handle (letters, digits, - and _)
sku (required)         the variant's SKU; a SKU stays with its product
title                  required for a new product
category               path from the top, "Clothing > Tshirts"; an unknown
                       path is refused unless "create missing categories"
tags                   comma-separated; "Brand: Acme" for a tag of a kind
status                 draft or on_sale, applied when the product is created
                       (see ``catalog.imports.engine``)
short_description,     text
description
option1_name …         the product's option names (Size, Colour…)
option1 … option3      the variant's option values
price                  required for a new SKU; 19.90 (no currency, no
                       thousands separator, at most two decimals)
compare_at_price, cost blank clears
barcode                unique across SKUs; blank clears
weight_grams           whole grams
allow_backorder        yes/no; changed through the backorder service
image_urls             comma-separated http(s) URLs, in order
warehouse, stock       the on-hand quantity to set in that warehouse (code),
                       through the stock ledger; needs inventory.import_stock
=====================  =====================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.db import while_waiting
from backoffice.spreadsheets.base import Importer, Progress, Report, Row
from backoffice.spreadsheets.cells import VALUE_REQUIRED, parse_bool
from backoffice.spreadsheets.reading import ReadAhead

from ..models import Product, Variant
from . import cells
from .engine import ROWS_DISAGREE, STOCK_NEEDS_WAREHOUSE, CatalogWriter
from .options import bulk_gc
from .records import ProductIn, VariantIn

PRODUCT_COLUMNS = (
    "title",
    "category",
    "tags",
    "status",
    "short_description",
    "description",
    "option1_name",
    "option2_name",
    "option3_name",
    "image_urls",
)
VARIANT_COLUMNS = (
    "option1",
    "option2",
    "option3",
    "price",
    "compare_at_price",
    "cost",
    "barcode",
    "weight_grams",
    "allow_backorder",
)
STOCK_COLUMNS = ("warehouse", "stock")
SHEET_COLUMNS = (
    "handle",
    "title",
    "category",
    "tags",
    "status",
    "short_description",
    "description",
    "option1_name",
    "option2_name",
    "option3_name",
    "sku",
    "option1",
    "option2",
    "option3",
    "price",
    "compare_at_price",
    "cost",
    "barcode",
    "weight_grams",
    "allow_backorder",
    "image_urls",
)
STOCK_NEEDS_PERMISSION = _(
    "The warehouse and stock columns set stock levels, which needs the permission to import "
    "stock; remove these columns or ask an administrator."
)
MAX_WEIGHT = 2_147_483_647

TEXT_LIMITS = {
    name: Product._meta.get_field(name).max_length
    for name in ("title", "short_description", "description", "option1_name")
}
TEXT_LIMITS["option2_name"] = TEXT_LIMITS["option3_name"] = TEXT_LIMITS["option1_name"]
OPTION_LIMIT = Variant._meta.get_field("option1").max_length
SKU_LIMIT = Variant._meta.get_field("sku").max_length
BARCODE_LIMIT = Variant._meta.get_field("barcode").max_length


def _create_categories_field() -> forms.Field:
    return forms.BooleanField(
        label=_("Create missing categories"),
        required=False,
        help_text=_("Otherwise a category path that does not exist is refused."),
    )


class ProductSheetImporter(Importer):
    kind = "products"
    label = _("Products with variants (Stockroom sheet)")
    permission = "catalog.import_product"
    model = Product
    required_columns = ("handle", "sku")
    optional_columns = tuple(c for c in SHEET_COLUMNS if c not in ("handle", "sku")) + STOCK_COLUMNS
    option_fields = {"create_categories": _create_categories_field}
    example = (
        {
            "handle": "linen-shirt",
            "title": "Linen shirt",
            "category": "Clothing > Shirts",
            "tags": "summer, Brand: Acme",
            "status": "on_sale",
            "short_description": "A light shirt.",
            "description": "Washed linen, relaxed fit.",
            "option1_name": "Size",
            "option2_name": "",
            "option3_name": "",
            "sku": "LINEN-M",
            "option1": "M",
            "option2": "",
            "option3": "",
            "price": "49.00",
            "compare_at_price": "59.00",
            "cost": "21.50",
            "barcode": "4006381333931",
            "weight_grams": "240",
            "allow_backorder": "no",
            "image_urls": "https://example.com/linen-shirt.jpg",
            "warehouse": "MAIN",
            "stock": "12",
        },
    )

    def run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        with bulk_gc():
            self._run(rows, report=report, progress=progress)

    def _run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        with CatalogWriter(
            report=report,
            actor=self.actor,
            reference=self.reference,
            progress=progress,
            create_categories=bool(self.options.get("create_categories")),
        ) as writer:
            # The next chunk's products are read while the database writes the ones before.
            products = ReadAhead(
                self._products(rows, writer, report),
                limit=writer.chunk_rows,
                size=lambda product: product.row_count,
            )
            with while_waiting(products.fill):
                for product in products:
                    writer.add(product)
                writer.finish()

    def _products(self, rows: Iterable[Row], writer: CatalogWriter, report: Report):
        """The sheet's products, each with its variants, in the order of the sheet."""
        self._readers: list | None = None
        self._started: dict[str, int] = {}  # handle -> the row its product started on
        current: ProductIn | None = None
        first: dict[str, str] = {}
        checked_permission = False
        for row in rows:
            if not checked_permission:
                checked_permission = True
                self._check_stock_permission(row, report)
            handle = row.cells.get("handle", "")
            if not handle:
                writer.error(row.number, "handle", VALUE_REQUIRED)
                continue
            if current is None or handle != current.handle:
                if current is not None:
                    yield current
                current = self._product(row, writer)
                first = {c: row.cells[c] for c in PRODUCT_COLUMNS if c in row.cells}
                first["_row"] = str(row.number)
            else:
                self._same_product(row, current, first, writer)
            variant = self._variant(row, writer)
            if variant is None:
                current.bad = True
                current.rows.append(row.number)  # counted as done all the same
            else:
                current.variants.append(variant)
        if current is not None:
            yield current

    def _check_stock_permission(self, row: Row, report: Report) -> None:
        has_perm = getattr(self.actor, "has_perm", None)
        if "stock" in row.cells and has_perm is not None and not has_perm("inventory.import_stock"):
            report.error(1, "stock", STOCK_NEEDS_PERMISSION)

    def _product(self, row: Row, writer: CatalogWriter) -> ProductIn:
        got = row.cells
        product = ProductIn(row=row.number, handle=got["handle"])

        def read(column: str, parse) -> Any:
            try:
                return parse(got[column])
            except ValueError as error:
                writer.error(row.number, column, error)
                product.bad = True
                product.refused.add(column)
                return None

        read("handle", cells.handle)
        # Rows of a product apart from its first ones: the writer reports that.
        apart = self._started.setdefault(product.handle, row.number) != row.number
        for name, limit in TEXT_LIMITS.items():
            if name in got:
                if name == "title" and not got[name]:
                    if not apart:
                        writer.error(row.number, name, VALUE_REQUIRED)
                    product.bad = True
                    product.refused.add(name)
                    continue
                value = read(name, lambda v, n=name, lim=limit: cells.text(v, n, lim))
                if value is not None:
                    product.values[name] = value
        if "category" in got:
            product.category = read("category", cells.category_path)
        if "tags" in got:
            product.tags = read("tags", cells.tags)
        if "status" in got:
            product.status = read("status", cells.status)
        if "image_urls" in got:
            found = read("image_urls", cells.urls)
            product.images = None if found is None else [(url, None) for url in found]
        return product

    def _same_product(
        self, row: Row, product: ProductIn, first: dict[str, str], writer: CatalogWriter
    ) -> None:
        for column in PRODUCT_COLUMNS:
            value = row.cells.get(column, "")
            if value and value != first.get(column, ""):
                writer.error(
                    row.number,
                    column,
                    ROWS_DISAGREE
                    % {
                        "value": value[:60],
                        "first": first.get(column, "")[:60],
                        "row": first["_row"],
                        "column": column,
                    },
                )
                product.bad = True

    def _variant(self, row: Row, writer: CatalogWriter) -> VariantIn | None:
        got = row.cells
        number = row.number
        sku = got.get("sku", "")
        if not sku:
            writer.error(number, "sku", VALUE_REQUIRED)
            return None
        variant = VariantIn(row=number, sku=sku)
        values = variant.values
        ok = True
        if len(sku) > SKU_LIMIT:
            writer.error(number, "sku", cells.TOO_LONG % _too_long(sku, "sku", SKU_LIMIT))
            ok = False
        if self._readers is None:
            self._readers = [(c, parse) for c, parse in VARIANT_READERS if c in got]
        for column, parse in self._readers:
            try:
                value = parse(got[column], column)
            except ValueError as error:
                writer.error(number, column, error)
                ok = False
                continue
            if value is not KEEP:
                values[column] = value
        if "allow_backorder" in got:
            try:
                variant.allow_backorder = parse_bool(got["allow_backorder"])
            except ValueError as error:
                writer.error(number, "allow_backorder", error)
                ok = False
        quantity = None
        if got.get("stock"):
            try:
                quantity = cells.whole(got["stock"], "stock")
            except ValueError as error:
                writer.error(number, "stock", error)
                ok = False
        if quantity is not None:
            code = got.get("warehouse", "")
            if not code:
                writer.error(number, "warehouse", STOCK_NEEDS_WAREHOUSE)
                ok = False
            else:
                warehouse = writer.warehouse_id(code, number)
                if warehouse is None:
                    ok = False
                else:
                    variant.stock = (warehouse, quantity)
        return variant if ok else None


KEEP = object()  # a blank cell that keeps the stored value


def _too_long(value: str, column: str, limit: int) -> dict:
    return {"length": len(value), "column": column, "limit": limit}


def _option(value: str, column: str) -> str:
    if len(value) > OPTION_LIMIT:
        raise ValueError(cells.TOO_LONG % _too_long(value, column, OPTION_LIMIT))
    return value


def _price_or_keep(value: str, column: str) -> Any:
    # A blank price keeps the price (a new SKU without one is refused by the writer).
    return cells.price(value, column) if value else KEEP


def _barcode(value: str, column: str) -> str | None:
    if len(value) > BARCODE_LIMIT:
        raise ValueError(cells.TOO_LONG % _too_long(value, column, BARCODE_LIMIT))
    return value or None


def _weight(value: str, column: str) -> int | None:
    weight = cells.whole(value, column) if value else None
    if weight is not None and weight > MAX_WEIGHT:
        raise ValueError(cells.TOO_BIG % {"value": value, "column": column})
    return weight


VARIANT_READERS = (
    ("option1", _option),
    ("option2", _option),
    ("option3", _option),
    ("price", _price_or_keep),
    ("compare_at_price", lambda v, c: cells.price(v, c) if v else None),
    ("cost", lambda v, c: cells.price(v, c) if v else None),
    ("barcode", _barcode),
    ("weight_grams", _weight),
)
