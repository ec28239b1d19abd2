"""Shopify's product CSV ("shopify").

The rows of one ``Handle`` are together: the first carries the product, each
row with variant cells is a variant, and rows with only ``Image Src`` add
images. Products are matched on their handle, variants on their SKU.

===============================  ==============================================
Shopify column                   Stockroom
===============================  ==============================================
Handle                           handle
Title                            title
Body (HTML)                      description
Vendor                           a tag of kind brand
Product Category                 category (Shopify's taxonomy path, "A > B"),
                                 created as needed
Type                             category when there is no Product Category;
                                 otherwise not kept (reported)
Tags                             tags (label; "Brand: X" for other kinds)
Published, Status                active (or Published TRUE without a Status) →
                                 on sale, draft → draft, archived → draft
                                 (reported); applied when the product is created
Option1–3 Name, Option1–3 Value  option names, option values ("Title" /
                                 "Default Title" means no options)
Variant SKU                      SKU (blank: made from the handle and options,
                                 reported)
Variant Grams                    weight in grams
Variant Inventory Tracker, Qty   stock, set in the warehouse chosen on the upload
                                 form (default: the first active one), only when
                                 Shopify tracks it (tracker "shopify")
Variant Inventory Policy         continue → backorders allowed, deny → not
Variant Price                    price
Variant Compare At Price         compare-at price
Variant Barcode                  barcode
Cost per item                    cost
Image Src, Position, Alt Text    the product's images, by position
Variant Image                    joins its product's images
Gift Card                        TRUE → the product is not imported (reported)
===============================  ==============================================

Columns Stockroom has no place for (SEO, shipping, taxes, Google Shopping,
market prices, metafields…) are reported once as warnings with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from backoffice.spreadsheets.base import Importer, Progress, Report, Row
from backoffice.spreadsheets.cells import VALUE_REQUIRED, parse_bool

from ..models import Product, Tag
from . import cells
from .engine import CatalogWriter
from .options import StockOption, bulk_gc, warehouse_option
from .records import ProductIn, VariantIn

OPTIONS = 3
TYPE_NOT_KEPT = _("Type is not kept when the product has a Product Category")
ARCHIVED = _("archived in Shopify: imported as a draft")
GIFT_CARD = _("a gift card is not a product Stockroom stocks: not imported")
SKU_MADE = _("no Variant SKU in Shopify: the SKU is made from the handle and the options")
NOT_TRACKED = _("inventory not tracked by Shopify: no stock is imported")
UNKNOWN_SHOPIFY_STATUS = _("Unknown status “%(value)s”: Shopify writes active, draft or archived.")
UNKNOWN_POLICY = _("Unknown inventory policy “%(value)s”: Shopify writes deny or continue.")
ROWS_DISAGREE = _(
    "“%(value)s” differs from “%(first)s” on row %(row)s: the first row of a handle carries "
    "the product."
)

IGNORED = {
    "SEO Title": _("search-engine texts are not kept"),
    "SEO Description": _("search-engine texts are not kept"),
    "Variant Fulfillment Service": _("fulfilment is the warehouse's"),
    "Variant Requires Shipping": _("every SKU is a stocked, shipped good"),
    "Variant Taxable": _("taxes are the shop's, not the back office's"),
    "Variant Tax Code": _("taxes are the shop's, not the back office's"),
    "Variant Weight Unit": _("the weight is read in grams from Variant Grams"),
}
PATTERNS = (
    (re.compile(r"^Google Shopping / "), _("Google Shopping feed data is not kept")),
    (re.compile(r" / [A-Z][\w ]+$"), _("prices per market are not kept")),
    (
        re.compile(r"\(product\.metafields\.|^Variant Metafield|metafield", re.I),
        _("metafields are not kept"),
    ),
    (re.compile(r"^Included / "), _("market inclusion is not kept")),
)


class _Ignored(dict):
    def get(self, key, default=None):
        found = super().get(key)
        if found is not None:
            return found
        for pattern, reason in PATTERNS:
            if pattern.search(key):
                return reason
        return default


PRODUCT_COLUMNS = (
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Status",
    "Gift Card",
    *(f"Option{n} Name" for n in range(1, OPTIONS + 1)),
)


class ShopifyImporter(StockOption, Importer):
    kind = "shopify"
    label = _("Products with variants (Shopify CSV)")
    permission = "catalog.import_product"
    model = Product
    required_columns = ("Handle",)
    optional_columns = (
        *PRODUCT_COLUMNS,
        *(f"Option{n} Value" for n in range(1, OPTIONS + 1)),
        "Variant SKU",
        "Variant Grams",
        "Variant Inventory Tracker",
        "Variant Inventory Qty",
        "Variant Inventory Policy",
        "Variant Price",
        "Variant Compare At Price",
        "Variant Barcode",
        "Image Src",
        "Image Position",
        "Image Alt Text",
        "Variant Image",
        "Cost per item",
    )
    ignored_columns = _Ignored(IGNORED)
    option_fields = {"warehouse": warehouse_option}
    columns = {
        "handle": "Handle",
        "title": "Title",
        "sku": "Variant SKU",
        "price": "Variant Price",
        "compare_at_price": "Variant Compare At Price",
        "cost": "Cost per item",
        "category": "Product Category",
        "tags": "Tags",
        "stock": "Variant Inventory Qty",
        "warehouse": "Variant Inventory Qty",
        "barcode": "Variant Barcode",
        "allow_backorder": "Variant Inventory Policy",
        "image_urls": "Image Src",
    }

    def run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        with bulk_gc():
            self._run(rows, report=report, progress=progress)

    def _run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        with CatalogWriter(
            report=report,
            actor=self.actor,
            reference=self.reference,
            progress=progress,
            columns=self.columns,
            create_categories=True,
        ) as writer:
            self.writer = writer
            current: ProductIn | None = None
            first: dict[str, str] = {}
            positions: list[tuple[int, int, str, str]] = []  # position, row, url, alt
            names: list[str] = []
            skipped = False
            for row in rows:
                handle = row.cells.get("Handle", "")
                if not handle:
                    writer.error(row.number, "Handle", VALUE_REQUIRED)
                    continue
                if current is None or handle != current.handle:
                    if current is not None and not skipped:
                        self._images(current, positions)
                        writer.add(current)
                    current = ProductIn(row=row.number, handle=handle)
                    first = {c: row.cells.get(c, "") for c in PRODUCT_COLUMNS}
                    first["_row"] = str(row.number)
                    positions = []
                    skipped = parse_bool_or(row.cells.get("Gift Card", "")) is True
                    if skipped:
                        writer.skip(row.number, handle, GIFT_CARD)
                        continue
                    names = self._product(row, current)
                elif skipped:
                    writer.skip(row.number, handle, GIFT_CARD)
                    continue
                else:
                    self._same_product(row, current, first)
                self._row(row, current, names, positions)
            if current is not None and not skipped:
                self._images(current, positions)
                writer.add(current)
            writer.finish()

    def _read(self, row: Row, target: Any, column: str, parse) -> Any:
        try:
            return parse(row.cells.get(column, ""))
        except ValueError as error:
            self.writer.error(row.number, column, error)
            target.bad = True
            target.refused.add(column.lower())
            return None

    def _product(self, row: Row, product: ProductIn) -> list[str]:
        got = row.cells
        self._read(row, product, "Handle", cells.handle)
        title = self._read(row, product, "Title", lambda v: cells.text(v, "Title", 255))
        if title:
            product.values["title"] = title
        if "Body (HTML)" in got:
            product.values["description"] = got["Body (HTML)"]
        category, kind = got.get("Product Category", ""), got.get("Type", "")
        if "Product Category" in got or "Type" in got:
            column = "Product Category" if category else "Type"
            product.category = self._read(row, product, column, cells.category_path) or ""
            if category and kind:
                self._note(product, row.number, TYPE_NOT_KEPT)
        if "Tags" in got or "Vendor" in got:
            tags = self._read(row, product, "Tags", cells.tags) or []
            vendor = got.get("Vendor", "")
            if vendor:
                self._read(row, product, "Vendor", lambda v: cells.text(v, "Vendor", 80))
                if (Tag.Kind.BRAND.value, vendor) not in tags:
                    tags.append((Tag.Kind.BRAND.value, vendor))
            product.tags = tags
        product.status = self._status(row, product)
        names = []
        for index in range(1, OPTIONS + 1):
            name = got.get(f"Option{index} Name", "")
            if index == 1 and name == "Title" and got.get("Option1 Value", "") == "Default Title":
                name = ""
            names.append(name)
            if f"Option{index} Name" in got:
                product.values[f"option{index}_name"] = (
                    self._read(
                        row,
                        product,
                        f"Option{index} Name",
                        lambda v, x=name: cells.text(x, "option", 40),
                    )
                    or ""
                )
        product.images = [] if "Image Src" in got or "Variant Image" in got else None
        return names

    def _status(self, row: Row, product: ProductIn) -> str | None:
        got = row.cells
        published = parse_bool_or(got.get("Published", ""))
        status = got.get("Status", "").strip().lower()
        if not status:
            return None if published is None else ("on_sale" if published else "draft")
        if status == "active":
            return "draft" if published is False and "Published" in got else "on_sale"
        if status == "draft":
            return "draft"
        if status == "archived":
            self._note(product, row.number, ARCHIVED)
            return "draft"
        self.writer.error(row.number, "Status", UNKNOWN_SHOPIFY_STATUS % {"value": got["Status"]})
        product.bad = True
        return None

    def _same_product(self, row: Row, product: ProductIn, first: dict[str, str]) -> None:
        for column in PRODUCT_COLUMNS:
            value = row.cells.get(column, "")
            if value and value != first.get(column, ""):
                self.writer.error(
                    row.number,
                    column,
                    ROWS_DISAGREE
                    % {
                        "value": value[:60],
                        "first": first.get(column, "")[:60],
                        "row": first["_row"],
                    },
                )
                product.bad = True

    def _row(
        self,
        row: Row,
        product: ProductIn,
        names: list[str],
        positions: list[tuple[int, int, str, str]],
    ) -> None:
        got = row.cells
        image = got.get("Image Src", "")
        if image:
            url = self._read(row, product, "Image Src", cells.url)
            position = self._read(
                row, product, "Image Position", lambda v: cells.whole(v, "Image Position")
            )
            if url:
                order = position if position is not None else 10_000 + len(positions)
                positions.append((order, row.number, url, got.get("Image Alt Text", "")))
        values = [got.get(f"Option{n} Value", "") for n in range(1, OPTIONS + 1)]
        has_variant = any(
            got.get(c, "")
            for c in ("Variant SKU", "Variant Price", "Option1 Value", "Variant Grams")
        )
        if not has_variant:
            product.rows.append(row.number)
            return
        variant = self._variant(row, product, names, values)
        if variant is None:
            product.bad = True
        else:
            product.variants.append(variant)
        variant_image = got.get("Variant Image", "")
        if variant_image:
            url = self._read(row, product, "Variant Image", cells.url)
            if url:
                positions.append((20_000 + len(positions), row.number, url, ""))

    def _variant(
        self, row: Row, product: ProductIn, names: list[str], values: list[str]
    ) -> VariantIn | None:
        got = row.cells
        if values[0] == "Default Title" and not names[0]:
            values[0] = ""
        sku = got.get("Variant SKU", "")
        if not sku:
            sku = slugify(
                "-".join([product.handle, *[v for v in values if v]]), allow_unicode=True
            )[:64]
            self.writer.note(row.number, SKU_MADE)
        variant = VariantIn(row=row.number, sku=sku)
        ok = True

        def read(column: str, parse) -> Any:
            nonlocal ok
            try:
                return parse(got.get(column, ""))
            except ValueError as error:
                self.writer.error(row.number, column, error)
                ok = False
                return None

        read("Variant SKU", lambda v: cells.text(sku, "Variant SKU", 64))
        for index in range(OPTIONS):
            column = f"Option{index + 1} Value"
            if column in got:
                variant.values[f"option{index + 1}"] = (
                    read(column, lambda v, x=values[index], c=column: cells.text(x, c, 80)) or ""
                )
        if got.get("Variant Price", ""):
            variant.values["price"] = read(
                "Variant Price", lambda v: cells.price(v, "Variant Price")
            )
        if "Variant Compare At Price" in got:
            variant.values["compare_at_price"] = read(
                "Variant Compare At Price", lambda v: cells.price(v, "Variant Compare At Price")
            )
        if "Cost per item" in got:
            variant.values["cost"] = read(
                "Cost per item", lambda v: cells.price(v, "Cost per item")
            )
        if "Variant Grams" in got:
            grams = read("Variant Grams", lambda v: cells.price_like(v, "Variant Grams"))
            variant.values["weight_grams"] = (
                None if grams is None else int(grams.to_integral_value())
            )
        if "Variant Barcode" in got:
            barcode = read(
                "Variant Barcode", lambda v: cells.text(v.lstrip("'"), "Variant Barcode", 64)
            )
            variant.values["barcode"] = barcode or None
        policy = got.get("Variant Inventory Policy", "").strip().lower()
        if policy in ("deny", "continue"):
            variant.allow_backorder = policy == "continue"
        elif policy:
            self.writer.error(
                row.number, "Variant Inventory Policy", UNKNOWN_POLICY % {"value": policy}
            )
            ok = False
        tracker = got.get(
            "Variant Inventory Tracker", "shopify" if "Variant Inventory Tracker" not in got else ""
        )
        quantity_text = got.get("Variant Inventory Qty", "")
        if quantity_text and tracker:
            quantity = read(
                "Variant Inventory Qty", lambda v: cells.whole(v, "Variant Inventory Qty")
            )
            warehouse = self.stock_warehouse_id(row.number)
            if quantity is not None and warehouse is not None:
                variant.stock = (warehouse, quantity)
            else:
                ok = False
        elif quantity_text and quantity_text != "0":
            variant.notes.append(str(NOT_TRACKED))
            self.writer.note(row.number, NOT_TRACKED)
        return variant if ok else None

    def _images(self, product: ProductIn, positions: list[tuple[int, int, str, str]]) -> None:
        if product.images is None:
            return
        seen: set[str] = set()
        for _order, _row, url, alt in sorted(positions):
            if url not in seen:
                seen.add(url)
                product.images.append((url, alt))

    def _note(self, product: ProductIn, row: int, message: Any) -> None:
        product.notes.append(str(message))
        self.writer.note(row, message)


def parse_bool_or(value: str) -> bool | None:
    try:
        return parse_bool(value)
    except ValueError:
        return None
