"""WooCommerce's product CSV export ("woocommerce").

WooCommerce writes one row per product and one per variation; a variation
names its parent in ``Parent`` as ``id:44`` (the parent's ID) or by the
parent's SKU, and may come anywhere in the file, so the whole sheet is read
before it is written (WooCommerce exports are thousands of rows, not
hundreds of thousands). Products are matched on their handle, made from the
SKU (``woo-vneck-tee``; ``woo-<ID>`` without a SKU), variants on their SKU.

==============================  ===============================================
WooCommerce column              Stockroom
==============================  ===============================================
Type                            simple → a product with one variant; variable →
                                a product, its variation rows → its variants;
                                grouped, external → not imported (reported);
                                downloadable, virtual → imported, reported
ID, Parent                      link variations to their product (id:NN or SKU)
SKU                             variant SKU; the product's handle (slugified)
Name                            product title (a variation's name is derived)
Published                       1 → on sale, 0 → draft, -1 (private) → draft
                                (reported); applied when the product is created
Short description, Description  short description, description (``\\n`` → line)
Regular price, Sale price       with a sale price: price = sale price and
                                compare-at price = regular price; without:
                                price = regular price, no compare-at price
Categories                      category (a tree, created as needed); only the
                                first of several categories is kept (reported)
Tags, Brands                    tags (label), tags (brand)
Images                          the product's image URLs, in order; a
                                variation's image joins its product's images
Stock                           stock in the warehouse chosen on the upload
                                form (default: the first active one), only
                                where WooCommerce manages stock (the cell is
                                not blank); a parent's own stock is reported
Backorders allowed?             allow backorders (1 or notify → yes)
Weight (lbs/kg/g/oz)            weight in grams; a variation without a weight
                                takes its product's
GTIN, UPC, EAN, or ISBN         barcode
Attribute 1–3 name              option 1–3 names (variable products; simple
                                products with a single value)
Attribute 1–3 value(s)          a variation's option values (matched to its
                                product's option names); blank = "any" value,
                                reported
==============================  ===============================================

Columns Stockroom has no place for are listed in ``ignored_columns`` with the
reason and reported once as warnings; per-row values that are lost (a
second category, a variation's own description, download files, sale dates)
are reported with the rows they are on.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from backoffice.spreadsheets.base import Importer, Progress, Report, Row

from ..models import Product, Tag
from . import cells
from .engine import CatalogWriter
from .options import StockOption, bulk_gc, warehouse_option
from .records import ProductIn, VariantIn

WEIGHT_UNITS = {  # grams per unit, by the unit WooCommerce writes in the column name
    "lbs": Decimal("453.59237"),
    "kg": Decimal("1000"),
    "g": Decimal("1"),
    "oz": Decimal("28.349523125"),
}
WEIGHT_COLUMNS = tuple(f"Weight ({unit})" for unit in WEIGHT_UNITS)
BARCODE_COLUMN = "GTIN, UPC, EAN, or ISBN"
ATTRIBUTES = 3

GROUPED = _(
    "a grouped product is a set of other products in WooCommerce, which Stockroom does not "
    "have: the row is not imported (its products are, from their own rows)"
)
EXTERNAL = _("an external (affiliate) product is sold on another site: the row is not imported")
DOWNLOADABLE = _("download files are not imported: Stockroom sells goods from stock")
VIRTUAL = _("virtual (no shipping) is not kept: imported as a stocked product")
PRIVATE = _("private (Published -1) is imported as a draft")
MORE_CATEGORIES = _("only the first category is kept; the others are not assigned")
VARIATION_DESCRIPTION = _("a variation's own description is not kept (variants have none)")
ANY_VALUE = _("an attribute with any value (blank) gives the variant no value for that option")
UNKNOWN_ATTRIBUTE = _("an attribute its product does not have is not kept")
MANY_VALUES = _(
    "a simple product's attribute with several values is not kept (options hold one value)"
)
SALE_DATES = _("sale dates are not kept: the sale price is imported as the price, from now on")
PARENT_STOCK = _(
    "stock kept on a variable product (for all its variations) is not imported: give each "
    "variation its own stock"
)
NO_VARIATIONS = _("a variable product without variations is created as a draft")
SKU_MADE = _("no SKU in WooCommerce: the SKU is made from the ID")
UNKNOWN_TYPE = _(
    "Unknown product type “%(value)s”: WooCommerce writes simple, variable, variation, "
    "grouped or external."
)
PARENT_MISSING = _(
    "The parent “%(value)s” is neither in the file nor in the catalog: import the variable "
    "product with its variations."
)
NO_WAREHOUSE = _(
    "Stock cannot be imported: there is no active warehouse. Create one, or clear the Stock column."
)
ID_OR_SKU = _("A row needs a SKU or an ID, to be found again by the next import.")

# Columns known and not imported, with the reason (reported once as a warning each).
IGNORED = {
    "Is featured?": _("Stockroom has no featured flag"),
    "Visibility in catalog": _("catalog visibility follows the listing status"),
    "Date sale price starts": _("sale prices are not scheduled"),
    "Date sale price ends": _("sale prices are not scheduled"),
    "Tax status": _("taxes are the shop's, not the back office's"),
    "Tax class": _("taxes are the shop's, not the back office's"),
    "In stock?": _("whether a product is in stock follows from its stock"),
    "Low stock amount": _("reorder points are set per warehouse in the stock list"),
    "Sold individually?": _("order quantity limits are not kept"),
    "Length (in)": _("dimensions are not kept"),
    "Width (in)": _("dimensions are not kept"),
    "Height (in)": _("dimensions are not kept"),
    "Length (cm)": _("dimensions are not kept"),
    "Width (cm)": _("dimensions are not kept"),
    "Height (cm)": _("dimensions are not kept"),
    "Allow customer reviews?": _("reviews are always accepted and moderated"),
    "Purchase note": _("purchase notes are not kept"),
    "Shipping class": _("shipping classes are not kept"),
    "Download limit": _("download files are not imported"),
    "Download expiry days": _("download files are not imported"),
    "Grouped products": _("grouped products are not imported"),
    "Upsells": _("related products are not kept"),
    "Cross-sells": _("related products are not kept"),
    "External URL": _("external products are not imported"),
    "Button text": _("external products are not imported"),
    "Position": _("variants keep the order of the file"),
}
PATTERNS = (
    (re.compile(r"^Meta: "), _("WooCommerce meta data is not kept")),
    (re.compile(r"^Download \d+ "), _("download files are not imported")),
    (
        re.compile(r"^Attribute \d+ (visible|global|default)$"),
        _("attribute display settings are not kept"),
    ),
    (
        re.compile(r"^Attribute \d+ (name|value\(s\))$"),
        _("Stockroom keeps three options per product"),
    ),
    (re.compile(r"^(Length|Width|Height) \("), _("dimensions are not kept")),
)


class _Ignored(dict):
    """``IGNORED``, and the numbered and prefixed columns (Meta: …, Download 2 URL…)."""

    def get(self, key, default=None):
        found = super().get(key)
        if found is not None:
            return found
        for pattern, reason in PATTERNS:
            if pattern.match(key):
                return reason
        return default


@dataclass
class _Line:
    """A row read: what the rows of one product need to be put together."""

    row: int
    kind: str
    flags: set[str]
    id: str
    sku: str
    parent: str
    cells: dict[str, str]
    product: ProductIn | None = None
    variations: list[_Line] = field(default_factory=list)


class WooCommerceImporter(StockOption, Importer):
    kind = "woocommerce"
    label = _("Products with variants (WooCommerce CSV export)")
    permission = "catalog.import_product"
    model = Product
    required_columns = ("Type", "SKU", "Name")
    optional_columns = (
        "ID",
        "Published",
        "Short description",
        "Description",
        "Regular price",
        "Sale price",
        "Categories",
        "Tags",
        "Brands",
        "Images",
        "Stock",
        "Backorders allowed?",
        *WEIGHT_COLUMNS,
        BARCODE_COLUMN,
        "Parent",
        *(
            f"Attribute {n} {part}"
            for n in range(1, ATTRIBUTES + 1)
            for part in ("name", "value(s)")
        ),
    )
    ignored_columns = _Ignored(IGNORED)
    option_fields = {"warehouse": warehouse_option}
    columns = {
        "handle": "SKU",
        "sku": "SKU",
        "title": "Name",
        "price": "Regular price",
        "compare_at_price": "Regular price",
        "category": "Categories",
        "tags": "Tags",
        "stock": "Stock",
        "warehouse": "Stock",
        "barcode": BARCODE_COLUMN,
        "allow_backorder": "Backorders allowed?",
        "image_urls": "Images",
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
            self._row_notes: dict[int, list[str]] = {}
            lines: list[_Line] = []
            by_id: dict[str, _Line] = {}
            by_sku: dict[str, _Line] = {}
            for row in rows:
                line = self._line(row)
                if line is None:
                    continue
                lines.append(line)
                if line.kind in ("simple", "variable"):
                    if line.id:
                        by_id[line.id] = line
                    if line.sku:
                        by_sku[line.sku] = line
            orphans: dict[str, list[_Line]] = {}
            for line in lines:
                if line.kind != "variation":
                    continue
                parent = self._parent(line, by_id, by_sku)
                if parent is not None:
                    parent.variations.append(line)
                elif self._orphan_handle(line.parent):
                    orphans.setdefault(self._orphan_handle(line.parent), []).append(line)
                else:
                    writer.error(line.row, "Parent", PARENT_MISSING % {"value": line.parent})
            existing = set(
                Product.objects.filter(handle__any_of=list(orphans)).values_list(
                    "handle", flat=True
                )
            )
            for line in lines:
                if line.kind == "grouped":
                    writer.skip(line.row, line.sku or line.id, GROUPED)
                elif line.kind == "external":
                    writer.skip(line.row, line.sku or line.id, EXTERNAL)
                elif line.kind in ("simple", "variable"):
                    writer.add(self._product(line))
            for handle, variations in orphans.items():
                if handle not in existing:
                    for line in variations:
                        writer.error(line.row, "Parent", PARENT_MISSING % {"value": line.parent})
                    continue
                product = ProductIn(row=variations[0].row, handle=handle)
                names = list(
                    Product.objects.filter(handle=handle).values_list(
                        "option1_name", "option2_name", "option3_name"
                    )[0]
                )
                for line in variations:
                    variant = self._variation(line, product, names, {})
                    if variant is not None:
                        product.variants.append(variant)
                writer.add(product)
            writer.finish()

    # --- reading rows ----------------------------------------------------------------------

    def _line(self, row: Row) -> _Line | None:
        got = row.cells
        words = [w.lower() for w in cells.split_list(got.get("Type", ""))]
        kinds = [
            w for w in words if w in ("simple", "variable", "variation", "grouped", "external")
        ]
        if len(kinds) != 1:
            self.writer.error(row.number, "Type", UNKNOWN_TYPE % {"value": got.get("Type", "")})
            return None
        line = _Line(
            row=row.number,
            kind=kinds[0],
            flags=set(words) - set(kinds),
            id=got.get("ID", ""),
            sku=got.get("SKU", ""),
            parent=got.get("Parent", ""),
            cells=got,
        )
        if not line.sku and not line.id and line.kind not in ("grouped", "external"):
            self.writer.error(row.number, "SKU", ID_OR_SKU)
            return None
        return line

    def _parent(self, line: _Line, by_id: dict, by_sku: dict) -> _Line | None:
        ref = line.parent
        if ref.lower().startswith("id:"):
            return by_id.get(ref[3:].strip())
        return by_sku.get(ref)

    def _orphan_handle(self, ref: str) -> str | None:
        # A parent named by SKU may be in the catalog already; one named by ID cannot be
        # found (Stockroom keeps no WooCommerce IDs).
        return None if ref.lower().startswith("id:") else cells_handle(ref)

    def _read(self, line: _Line, target: Any, column: str, parse) -> Any:
        try:
            return parse(line.cells.get(column, ""))
        except ValueError as error:
            self.writer.error(line.row, column, error)
            target.bad = True
            if hasattr(target, "refused"):
                target.refused.add("title" if column == "Name" else column)
            return None

    def _product(self, line: _Line) -> ProductIn:
        got = line.cells
        handle = cells_handle(line.sku or f"woo-{line.id}")
        product = ProductIn(row=line.row, handle=handle)
        title = self._read(line, product, "Name", lambda v: cells.text(v, "Name", 255))
        if title:  # blank: refused for a new product, kept for an existing one
            product.values["title"] = title
        if "Short description" in got:
            product.values["short_description"] = _text(got["Short description"])
        if "Description" in got:
            product.values["description"] = _text(got["Description"])
        published = got.get("Published", "1").strip()
        product.status = "on_sale" if published == "1" else "draft"
        if published == "-1":
            self._note(product, line.row, PRIVATE)
        if "Categories" in got:
            paths = cells.split_list(got["Categories"])
            product.category = ""
            if paths:
                product.category = self._read(
                    line,
                    product,
                    "Categories",
                    lambda v: cells.category_path(html.unescape(paths[0])),
                )
            if len(paths) > 1:
                self._note(product, line.row, MORE_CATEGORIES)
        tags: list[tuple[str, str]] = []
        for column, kind in (("Tags", Tag.Kind.LABEL), ("Brands", Tag.Kind.BRAND)):
            for name in cells.split_list(got.get(column, "")):
                name = self._read(
                    line, product, column, lambda v, n=name, c=column: _tag_name(n, c)
                )
                if name and (kind.value, name) not in tags:
                    tags.append((kind.value, name))
        if "Tags" in got or "Brands" in got:
            product.tags = tags
        if "Images" in got:
            urls = self._read(line, product, "Images", cells.urls) or []
            product.images = [(url, None) for url in urls]
        for flag, note in (("downloadable", DOWNLOADABLE), ("virtual", VIRTUAL)):
            if flag in line.flags:
                self._note(product, line.row, note)
        self._sale_dates(line, product)
        attributes = self._attributes(line)
        if line.kind == "variable":
            product.rows.append(line.row)
            names = [name for name, _values in attributes][:ATTRIBUTES]
            for index in range(ATTRIBUTES):
                product.values[f"option{index + 1}_name"] = (
                    names[index] if index < len(names) else ""
                )
            if got.get("Stock", ""):
                self._note(product, line.row, PARENT_STOCK)
            for variation in line.variations:
                variant = self._variation(variation, product, names, got)
                if variant is not None:
                    product.variants.append(variant)
            if not line.variations:
                self._note(product, line.row, NO_VARIATIONS)
        else:
            names, values = [], []
            for name, given in attributes:
                if len(given) == 1 and len(names) < ATTRIBUTES:
                    names.append(name)
                    values.append(given[0])
                elif len(given) > 1:
                    self._note(product, line.row, MANY_VALUES)
            for index in range(ATTRIBUTES):
                product.values[f"option{index + 1}_name"] = (
                    names[index] if index < len(names) else ""
                )
            variant = self._variant(line, product, {}, values)
            if variant is not None:
                product.variants.append(variant)
        return product

    def _variation(
        self, line: _Line, product: ProductIn, names: list[str], parent: dict[str, str]
    ) -> VariantIn | None:
        values = [""] * len(names)
        folded = [n.casefold() for n in names]
        for name, given in self._attributes(line):
            if name.casefold() not in folded:
                self._note_row(line.row, UNKNOWN_ATTRIBUTE)
                continue
            if not given:
                self._note_row(line.row, ANY_VALUE)
                continue
            values[folded.index(name.casefold())] = given[0]
        if line.cells.get("Description", "") and line.cells.get("Description") != parent.get(
            "Description", ""
        ):
            self._note_row(line.row, VARIATION_DESCRIPTION)
        self._sale_dates(line, product)
        image = line.cells.get("Images", "")
        if image and product.images is not None:
            urls = self._read(line, product, "Images", cells.urls) or []
            for url in urls:
                if url not in [u for u, _alt in product.images]:
                    product.images.append((url, None))
        return self._variant(line, product, parent, values)

    def _variant(
        self, line: _Line, product: ProductIn, parent: dict[str, str], values: list[str]
    ) -> VariantIn | None:
        got = line.cells
        sku = line.sku
        if not sku:
            sku = f"woo-{line.id}"
            self._note_row(line.row, SKU_MADE)
        variant = VariantIn(row=line.row, sku=sku, notes=self._row_notes.pop(line.row, []))
        ok = True

        def read(column: str, parse) -> Any:
            nonlocal ok
            try:
                return parse(got.get(column, ""))
            except ValueError as error:
                self.writer.error(line.row, column, error)
                ok = False
                return None

        read("SKU", lambda v: cells.text(sku, "SKU", 64))
        for index in range(ATTRIBUTES):
            value = values[index] if index < len(values) else ""
            variant.values[f"option{index + 1}"] = (
                read(
                    f"Attribute {index + 1} value(s)",
                    lambda v, x=value: cells.text(x, "option", 80),
                )
                or ""
            )
        regular = read("Regular price", lambda v: cells.price(v, "Regular price"))
        sale = read("Sale price", lambda v: cells.price(v, "Sale price"))
        if sale is not None:
            variant.values["price"] = sale
            variant.values["compare_at_price"] = regular
        elif regular is not None:
            variant.values["price"] = regular
            variant.values["compare_at_price"] = None
        if any(c in got for c in WEIGHT_COLUMNS):
            # A variation without a weight has its product's.
            variant.values["weight_grams"] = self._weight(got, read) or self._weight(parent, read)
        if BARCODE_COLUMN in got:
            variant.values["barcode"] = (
                read(BARCODE_COLUMN, lambda v: cells.text(v, BARCODE_COLUMN, 64)) or None
            )
        if "Backorders allowed?" in got:
            variant.allow_backorder = got["Backorders allowed?"].strip().lower() in (
                "1",
                "notify",
                "yes",
            )
        if "Published" in got and line.kind == "variation":
            # A variation is enabled (1) or disabled (private, -1; draft, 0).
            variant.values["is_active"] = got["Published"].strip() == "1"
        if got.get("Stock", ""):
            quantity = read("Stock", lambda v: cells.whole(v, "Stock"))
            warehouse = self.stock_warehouse_id(line.row)
            if quantity is not None and warehouse is not None:
                variant.stock = (warehouse, quantity)
            else:
                ok = False
        if not ok:
            product.bad = True
            return None
        return variant

    def _weight(self, got: dict[str, str], read) -> int | None:
        for column, unit in zip(WEIGHT_COLUMNS, WEIGHT_UNITS.values(), strict=True):
            if got.get(column, ""):
                amount = read(column, lambda v, c=column: cells.price_like(got[c], c))
                return None if amount is None else int((amount * unit).to_integral_value())
        return None

    def _attributes(self, line: _Line) -> list[tuple[str, list[str]]]:
        found = []
        for index in range(1, ATTRIBUTES + 1):
            name = line.cells.get(f"Attribute {index} name", "")
            if name:
                values = cells.split_list(line.cells.get(f"Attribute {index} value(s)", ""))
                found.append((html.unescape(name), [html.unescape(v) for v in values]))
        return found

    def _sale_dates(self, line: _Line, product: ProductIn) -> None:
        if line.cells.get("Date sale price starts") or line.cells.get("Date sale price ends"):
            self._note_row(line.row, SALE_DATES)

    def _note(self, product: ProductIn, row: int, message: Any) -> None:
        product.notes.append(str(message))
        self.writer.note(row, message)

    def _note_row(self, row: int, message: Any) -> None:
        """A note about a variant's row: on that row in the preview, and in a warning."""
        self.writer.note(row, message)
        self._row_notes.setdefault(row, []).append(str(message))


def cells_handle(value: str) -> str:
    """The handle of a WooCommerce product: its SKU made a slug (``Woo-Tee`` → ``woo-tee``)."""
    return slugify(value, allow_unicode=True)[:255] or "woo"


def _text(value: str) -> str:
    # WooCommerce writes line breaks inside a cell as the two characters \n.
    return value.replace("\\n", "\n")


def _tag_name(name: str, column: str) -> str:
    return cells.text(html.unescape(name), column, 80)
