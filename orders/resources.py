"""Spreadsheets of orders: marketplace exports in, orders with their lines out.

"orders": one row per line; the rows with the same channel and ``reference``
(the channel's order number) form one order, placed by
``orders.services.order_place`` — the service behind the storefront API — so
the same rules apply: known SKUs, products on sale, enough stock (the order
is allocated in the row's warehouse, or the one chosen on the upload form),
valid prices, e-mail and choices. The import is idempotent on the channel
and reference, as the API is: an order already placed is "unchanged", so a
marketplace export that repeats yesterday's orders can be imported again.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets

from backoffice.spreadsheets.base import Report, Row, register
from backoffice.spreadsheets.cells import DecimalCell, IntegerCell, match_message, parse_decimal
from backoffice.spreadsheets.cells import parse_int as parse_whole
from backoffice.spreadsheets.grouped import Group, GroupedImporter
from catalog.models import Variant
from inventory import services as inventory
from inventory.exceptions import InsufficientStock
from inventory.models import Warehouse

from . import services
from .models import Order, OrderLine

UNKNOWN_WAREHOUSE = _("Unknown warehouse: %(value)s.")
NO_WAREHOUSE = _(
    "Say where to allocate this order: a warehouse column, or the warehouse on the upload form."
)
DUPLICATE_SKU = _(
    "%(sku)s is on row %(row)s of this order already: give one row per SKU, with the total "
    "quantity."
)
ALREADY_PLACED = _("already placed as %(number)s")
ALREADY_PLACED_DIFFERENT = _(
    "already placed as %(number)s with other lines; the sheet's lines were not applied"
)
DIFFERENT_LINES = _(
    "Some orders were placed before with other lines (%(numbers)s): they were left as they are."
)
NOT_IMPORTED = _("Stockroom gives it (number, status, shipped quantities, time placed).")

DOCUMENT_COLUMNS = (
    "customer_name",
    "customer_email",
    "customer_phone",
    "shipping_address",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "priority",
    "warehouse",
)


def _choice(choices, value: str, default: str) -> str:
    """A choice given by its value or its label, in any case; unknown text is returned as it
    is, for the service to refuse."""
    text = (value or "").strip()
    if not text:
        return default
    for choice_value, label in choices.choices:
        if text.lower() in (choice_value.lower(), str(label).lower()):
            return choice_value
    return text


# Which column an order refusal is about; "line" says which row.
LINE_COLUMNS = (
    (services.ORDER_BAD_QUANTITY, "quantity"),
    (services.ORDER_BAD_PRICE, "unit_price"),
    (services.ORDER_BAD_DISCOUNT, "discount"),
)
ORDER_COLUMNS = (
    (services.ORDER_NO_CUSTOMER, "customer_name"),
    (services.ORDER_BAD_EMAIL, "customer_email"),
    (services.ORDER_REFERENCE_REQUIRED, "reference"),
)


@register
class OrdersImporter(GroupedImporter):
    kind = "orders"
    label = _("Orders (one row per line, e.g. a marketplace export)")
    permission = "orders.import_order"
    model = Order
    group_columns = ("channel", "reference")
    document_columns = DOCUMENT_COLUMNS
    required_columns = ("reference", "customer_name", "sku", "quantity")
    optional_columns = (
        "channel",
        *(c for c in DOCUMENT_COLUMNS if c != "customer_name"),
        "unit_price",
        "discount",
    )
    ignored_columns = {
        "number": NOT_IMPORTED,
        "status": NOT_IMPORTED,
        "shipped": NOT_IMPORTED,
        "placed_at": NOT_IMPORTED,
    }
    option_fields = {
        "warehouse": lambda: forms.ModelChoiceField(
            queryset=Warehouse.objects.filter(is_active=True).order_by("code"),
            required=False,
            label=_("Allocate in"),
            help_text=_("For the orders whose rows name no warehouse."),
        )
    }
    example = (
        {
            "reference": "TM-20260301-0042",
            "channel": "marketplace",
            "customer_name": "Li Lei",
            "customer_email": "li.lei@example.com",
            "customer_phone": "+86 138 0000 0000",
            "shipping_address": "1 Nanjing Road",
            "shipping_city": "Shanghai",
            "shipping_region": "Shanghai",
            "shipping_postal_code": "200001",
            "shipping_country": "CN",
            "priority": "normal",
            "warehouse": "MAIN",
            "sku": "SHIRT-M",
            "quantity": "2",
            "unit_price": "19.90",
            "discount": "0",
        },
    )

    def group_key(self, row: Row) -> tuple:
        channel = _choice(Order.Channel, row.cells.get("channel", ""), Order.Channel.MARKETPLACE)
        return (channel, row.cells.get("reference", ""))

    def prepare(self, groups: list[Group], report: Report) -> None:
        skus = {row.cells.get("sku", "") for group in groups for row in group.rows}
        variants = {}
        ordered = sorted(sku for sku in skus if sku)
        for start in range(0, len(ordered), 1000):
            batch = Variant.objects.filter(sku__in=ordered[start : start + 1000])
            variants.update({variant.sku: variant for variant in batch})
        codes = {group.values.get("warehouse", "") for group in groups} - {""}
        warehouses = {w.code: w for w in Warehouse.objects.filter(code__in=codes)}
        default = self.options.get("warehouse")
        self._warehouses: dict[tuple, Warehouse] = {}
        self._lines: dict[tuple, list[services.LineRequest]] = {}
        for group in groups:
            code = group.values.get("warehouse", "")
            warehouse = warehouses.get(code) if code else default
            if warehouse is None:
                row = next((r for r in group.rows if r.cells.get("warehouse") == code), group.first)
                message = UNKNOWN_WAREHOUSE % {"value": code} if code else NO_WAREHOUSE
                self.refuse(group, report, row, "warehouse", message)
            self._warehouses[group.key] = warehouse
            self._lines[group.key] = self._line_requests(group, variants, report)

    def _line_requests(self, group: Group, variants: dict, report: Report):
        lines, seen = [], {}
        for row in group.rows:
            sku = row.cells.get("sku", "")
            variant = variants.get(sku)
            if variant is None:
                self.refuse(group, report, row, "sku", services.UNKNOWN_SKU % {"skus": sku or "—"})
                continue
            if sku in seen:
                message = DUPLICATE_SKU % {"sku": sku, "row": seen[sku]}
                self.refuse(group, report, row, "sku", message)
                continue
            seen[sku] = row.number
            try:
                values = {}
                for column, parse in (
                    ("quantity", parse_whole),
                    ("unit_price", parse_decimal),
                    ("discount", parse_decimal),
                ):
                    values[column] = parse(row.cells.get(column))
            except ValueError as error:
                self.refuse(group, report, row, column, error)
                continue
            price = values["unit_price"]
            discount = values["discount"]
            lines.append(
                services.LineRequest(
                    variant=variant,
                    quantity=values["quantity"],
                    unit_price=variant.price if price is None else price,
                    discount=Decimal("0.00") if discount is None else discount,
                )
            )
        return lines

    def import_group(self, group: Group, report: Report) -> None:
        channel, reference = group.key
        values = group.values
        placed, error = self.in_savepoint(
            services.order_place,
            channel=channel,
            external_reference=reference,
            customer_name=values.get("customer_name", ""),
            lines=self._lines[group.key],
            warehouse=self._warehouses[group.key],
            actor=self.actor,
            customer_email=values.get("customer_email", ""),
            customer_phone=values.get("customer_phone", ""),
            shipping_address=values.get("shipping_address", ""),
            shipping_city=values.get("shipping_city", ""),
            shipping_region=values.get("shipping_region", ""),
            shipping_postal_code=values.get("shipping_postal_code", ""),
            shipping_country=values.get("shipping_country", "").upper(),
            priority=_choice(Order.Priority, values.get("priority", ""), Order.Priority.NORMAL),
        )
        if error is not None:
            self._report_refusal(group, report, error)
            return
        order = placed.order
        action, detail = "create", order.number
        if not placed.created:
            action = "unchanged"
            if self._same_lines(order, group):
                detail = ALREADY_PLACED % {"number": order.number}
            else:
                detail = ALREADY_PLACED_DIFFERENT % {"number": order.number}
                self._different.append(order.number)
        for row in group.rows:
            report.add(row.number, action, f"{reference} / {row.cells.get('sku', '')}", detail)

    def run(self, rows, *, report, progress):
        self._different: list[str] = []
        super().run(rows, report=report, progress=progress)
        if self._different:
            shown = ", ".join(self._different[:20]) + (" …" if len(self._different) > 20 else "")
            report.warn(DIFFERENT_LINES % {"numbers": shown})

    def _same_lines(self, order: Order, group: Group) -> bool:
        placed = dict(order.lines.values_list("variant__sku", "quantity"))
        wanted = {line.variant.sku: line.quantity for line in self._lines[group.key]}
        return placed == wanted

    def _row_of_sku(self, group: Group, sku: str) -> Row:
        return next((row for row in group.rows if row.cells.get("sku") == sku), group.first)

    def _report_refusal(self, group: Group, report: Report, error) -> None:
        if isinstance(error, InsufficientStock) and error.lines:
            for line in error.lines:
                message = inventory.INSUFFICIENT_LINE % line
                report.error(self._row_of_sku(group, line.get("sku")).number, "quantity", message)
            return
        message = error.message
        found = match_message(inventory.NOT_SELLABLE, message)
        if found is not None:
            report.error(self._row_of_sku(group, found["sku"]).number, "sku", message)
            return
        for template, column in LINE_COLUMNS:
            found = match_message(template, message)
            if found is not None:
                report.error(self._line_row(group, found["line"]).number, column, message)
                return
        found = match_message(services.ORDER_PRICE_INVALID, message)
        if found is not None:
            column = "discount" if found["field"] == "discount" else "unit_price"
            report.error(self._line_row(group, found["line"]).number, column, message)
            return
        if match_message(inventory.WAREHOUSE_INACTIVE, message) is not None:
            report.error(group.first.number, "warehouse", message)
            return
        found = match_message(services.ORDER_UNKNOWN_CHOICE, message)
        if found is not None:
            report.error(group.first.number, found["field"], message)
            return
        for template, column in ORDER_COLUMNS:
            if match_message(template, message) is not None:
                report.error(group.first.number, column, message)
                return
        report.error(group.first.number, "", message)

    @staticmethod
    def _line_row(group: Group, line: str) -> Row:
        index = int(line) - 1 if str(line).isdigit() else 0
        return group.rows[index] if 0 <= index < len(group.rows) else group.first


class OrderLineResource(resources.ModelResource):
    """Export of orders with their lines: one row per line. Given a queryset of orders
    (the changelist's selection), it exports their lines."""

    number = fields.Field(attribute="order__number", column_name="number")
    reference = fields.Field(attribute="order__external_reference", column_name="reference")
    channel = fields.Field(attribute="order__channel", column_name="channel")
    status = fields.Field(attribute="order__status", column_name="status")
    priority = fields.Field(attribute="order__priority", column_name="priority")
    customer_name = fields.Field(attribute="order__customer_name", column_name="customer_name")
    customer_email = fields.Field(attribute="order__customer_email", column_name="customer_email")
    customer_phone = fields.Field(attribute="order__customer_phone", column_name="customer_phone")
    shipping_address = fields.Field(
        attribute="order__shipping_address", column_name="shipping_address"
    )
    shipping_city = fields.Field(attribute="order__shipping_city", column_name="shipping_city")
    shipping_region = fields.Field(
        attribute="order__shipping_region", column_name="shipping_region"
    )
    shipping_postal_code = fields.Field(
        attribute="order__shipping_postal_code", column_name="shipping_postal_code"
    )
    shipping_country = fields.Field(
        attribute="order__shipping_country", column_name="shipping_country"
    )
    warehouse = fields.Field(attribute="order__warehouse__code", column_name="warehouse")
    sku = fields.Field(attribute="variant__sku", column_name="sku")
    quantity = fields.Field(attribute="quantity", column_name="quantity", widget=IntegerCell())
    unit_price = fields.Field(
        attribute="unit_price", column_name="unit_price", widget=DecimalCell()
    )
    discount = fields.Field(attribute="discount", column_name="discount", widget=DecimalCell())
    shipped = fields.Field(
        attribute="shipped_quantity", column_name="shipped", widget=IntegerCell()
    )
    placed_at = fields.Field(
        attribute="order__created_at",
        column_name="placed_at",
        widget=widgets.DateTimeWidget("%Y-%m-%d %H:%M"),
    )

    class Meta:
        model = OrderLine
        fields = (
            "number",
            "reference",
            "channel",
            "status",
            "priority",
            *DOCUMENT_COLUMNS[:-2],
            "warehouse",
            "sku",
            "quantity",
            "unit_price",
            "discount",
            "shipped",
            "placed_at",
        )
        export_order = fields

    def get_queryset(self) -> QuerySet:
        return OrderLine.objects.all()

    def filter_export(self, queryset, **kwargs):
        if queryset.model is Order:
            queryset = OrderLine.objects.filter(order__in=queryset.values("pk"))
        return queryset.select_related("order__warehouse", "variant").order_by("order_id", "pk")
