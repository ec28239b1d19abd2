"""Inventory spreadsheets: the stock-level import and the stock export.

- "stock" import: ``sku, warehouse, quantity[, reason]`` — the quantity on hand
  to set (mode "set") or to add, negative to remove (mode "add"), chosen on
  the upload form. Every changed row becomes one adjustment movement through
  ``inventory.services.stock_import`` (reason "import", reference
  "<run>/row <n>"); a row that changes nothing is "unchanged" and writes
  nothing. Rows are read and written in chunks of a few thousand, one query
  per chunk for their SKUs.
- ``StockResource``: stock levels for export, one row per SKU and warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from backoffice.spreadsheets.base import Importer, Progress, Report, Row, register
from backoffice.spreadsheets.cells import VALUE_REQUIRED, parse_int
from catalog.models import Variant

from .models import Stock, Warehouse
from .services import StockLine, stock_import

CHUNK_ROWS = 5000
UNKNOWN_SKU = _("Unknown SKU “%(value)s”.")
UNKNOWN_WAREHOUSE = _("Unknown warehouse “%(value)s”; the warehouses are %(codes)s.")
DUPLICATE_ROW = _(
    "%(sku)s at %(warehouse)s is on row %(first)s already: give one row per SKU and warehouse."
)
REASON_TOO_LONG = _("A reason has at most %(limit)s characters; this one has %(length)s.")


def _mode_field() -> forms.Field:
    return forms.ChoiceField(
        label=_("Quantities are"),
        choices=[
            ("set", _("the new quantity on hand (set)")),
            ("add", _("a change to add, negative to remove (add)")),
        ],
        required=True,
    )


@register
class StockImporter(Importer):
    kind = "stock"
    label = _("Stock levels")
    permission = "inventory.import_stock"
    model = Stock
    required_columns = ("sku", "warehouse", "quantity")
    optional_columns = ("reason",)
    ignored_columns = {
        "on_hand": _("the sheet's quantity column is what is imported"),
        "allocated": _("allocations follow from orders"),
        "available": _("available follows from on hand and allocated"),
        "safety_stock": _("reorder settings are edited in the stock list"),
        "reorder_point": _("reorder settings are edited in the stock list"),
        "max_level": _("reorder settings are edited in the stock list"),
    }
    option_fields = {"mode": _mode_field}
    example = ({"sku": "LINEN-M", "warehouse": "MAIN", "quantity": "12", "reason": "count"},)

    def run(self, rows: Iterable[Row], *, report: Report, progress: Progress) -> None:
        self.report = report
        self.mode = self.options.get("mode") or "set"
        self.warehouses = {
            w["code"].lower(): w for w in Warehouse.objects.values("pk", "code", "is_active")
        }
        self.seen: dict[tuple[str, int], int] = {}
        done = 0
        chunk: list[Row] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                self._chunk(chunk)
                done += len(chunk)
                progress(done)
                chunk = []
        if chunk:
            self._chunk(chunk)
            done += len(chunk)
        progress(done)

    def _chunk(self, rows: list[Row]) -> None:
        report = self.report
        skus = {row.cells["sku"] for row in rows if row.cells["sku"]}
        variants = dict(Variant.objects.filter(sku__any_of=skus).values_list("sku", "pk"))
        lines: list[StockLine] = []
        keys: dict[int, str] = {}
        for row in rows:
            got = row.cells
            ok = True
            for column in ("sku", "warehouse", "quantity"):
                if not got[column]:
                    report.error(row.number, column, VALUE_REQUIRED)
                    ok = False
            if not ok:
                continue
            variant = variants.get(got["sku"])
            if variant is None:
                report.error(row.number, "sku", UNKNOWN_SKU % {"value": got["sku"]})
                ok = False
            warehouse = self.warehouses.get(got["warehouse"].lower())
            if warehouse is None:
                codes = ", ".join(sorted(w["code"] for w in self.warehouses.values())) or "—"
                report.error(
                    row.number,
                    "warehouse",
                    UNKNOWN_WAREHOUSE % {"value": got["warehouse"], "codes": codes},
                )
                ok = False
            try:
                quantity = parse_int(got["quantity"])
            except ValueError as error:
                report.error(row.number, "quantity", error)
                ok = False
            reason = got.get("reason", "")
            if len(reason) > 200:
                report.error(
                    row.number, "reason", REASON_TOO_LONG % {"limit": 200, "length": len(reason)}
                )
                ok = False
            if not ok:
                continue
            key = (got["sku"], warehouse["pk"])
            first = self.seen.get(key)
            if first is not None:
                report.error(
                    row.number,
                    "sku",
                    DUPLICATE_ROW
                    % {"sku": got["sku"], "warehouse": warehouse["code"], "first": first},
                )
                continue
            self.seen[key] = row.number
            keys[row.number] = f"{got['sku']} @ {warehouse['code']}"
            lines.append(StockLine(row.number, variant, warehouse["pk"], quantity, reason))
        if not lines:
            return
        result = stock_import(
            rows=lines, mode=self.mode, reference=self.reference, actor=self.actor
        )
        for refusal in result.refused:
            report.error(refusal.row, refusal.field, refusal.message)
        for line in lines:
            outcome = result.outcomes.get(line.row)
            if outcome is None:
                continue
            if outcome.changed:
                detail = f"{outcome.before} → {outcome.after}"
                report.add(line.row, "update", keys[line.row], detail)
            else:
                report.add(line.row, "unchanged", keys[line.row], str(outcome.after))


class StockResource(resources.ModelResource):
    """Stock levels, one row per SKU and warehouse (read-only figures: an export)."""

    sku = fields.Field(attribute="variant__sku", column_name="sku")
    product = fields.Field(attribute="variant__product__title", column_name="product")
    warehouse = fields.Field(attribute="warehouse__code", column_name="warehouse")
    on_hand = fields.Field(attribute="on_hand", column_name="on_hand")
    allocated = fields.Field(attribute="allocated", column_name="allocated")
    available = fields.Field(column_name="available")
    safety_stock = fields.Field(attribute="safety_stock", column_name="safety_stock")
    reorder_point = fields.Field(attribute="reorder_point", column_name="reorder_point")
    max_level = fields.Field(attribute="max_level", column_name="max_level")
    backorders_allowed = fields.Field(column_name="backorders_allowed")

    class Meta:
        model = Stock
        fields = (
            "sku",
            "product",
            "warehouse",
            "on_hand",
            "allocated",
            "available",
            "safety_stock",
            "reorder_point",
            "max_level",
            "backorders_allowed",
        )
        export_order = fields
        chunk_size = 2000

    def get_queryset(self) -> QuerySet:
        return Stock.objects.all()  # export() and stream_csv() apply filter_export

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related("variant__product", "warehouse").order_by(
            "variant__sku", "warehouse__code"
        )

    def dehydrate_available(self, stock: Stock) -> str:
        return str(stock.on_hand - stock.allocated)

    def dehydrate_backorders_allowed(self, stock: Stock) -> str:
        return "yes" if stock.backorders_allowed else "no"
