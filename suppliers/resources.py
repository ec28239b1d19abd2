"""Spreadsheets of purchasing: suppliers, price lists, purchase orders (import and export).

- "suppliers": one row per supplier, matched on its code; a row equal to the
  supplier is "unchanged".
- "price_list": one row per supplier and SKU, written by
  ``suppliers.services.supplier_price_set`` (its checks, and the preferred
  flag moving from the SKU's other supplier); a row equal to the entry is
  "unchanged" and writes nothing.
- "purchase_orders": one row per line; rows with the same ``order`` form one
  draft, written by ``purchase_order_create``. An ``order`` that is an
  existing number (``PO-000012``, as exported) updates that draft through
  ``purchase_order_update_draft`` ("unchanged" when its lines are already so).

Every refusal is reported at its row and column; the runner writes nothing
unless every row is accepted.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets

from backoffice.spreadsheets.base import Report, Row, register
from backoffice.spreadsheets.cells import (
    VALUE_REQUIRED,
    BooleanCell,
    DecimalCell,
    IntegerCell,
    LookupCell,
    match_message,
    parse_bool,
    parse_decimal,
    parse_int,
)
from backoffice.spreadsheets.grouped import Group, GroupedImporter
from backoffice.spreadsheets.resource_importer import ResourceImporter, SheetResource
from catalog.models import Variant
from inventory.models import Warehouse

from . import services
from .exceptions import InvalidPriceList
from .models import PurchaseOrder, PurchaseOrderLine, Supplier, SupplierPrice

UNKNOWN_SUPPLIER = _("Unknown supplier: %(value)s.")
UNKNOWN_SKU = _("Unknown SKU: %(value)s.")
UNKNOWN_WAREHOUSE = _("Unknown warehouse: %(value)s.")
BREAKS_FORMAT = _(
    "“%(value)s” is not a list of quantity breaks: write quantity:unit cost pairs "
    "separated by semicolons, e.g. 10:7.50; 50:7.00."
)
PREFERRED_TWICE = _(
    "%(sku)s is made preferred on row %(row)s already: a SKU has one preferred supplier."
)
UNKNOWN_PO = _(
    "There is no purchase order %(value)s: use another key in this column for a new draft."
)
PO_PARTIES_FIXED = _(
    "%(number)s goes to %(supplier)s, delivered to %(warehouse)s: a sheet cannot change that."
)
NOT_IMPORTED_STATUS = _("statuses change through sending, receiving, closing.")
NOT_IMPORTED_RECEIVED = _("quantities received are recorded by goods receipts.")
NOT_IMPORTED_EXPECTED = _("the expected date follows from the lead time.")

PO_NUMBER = re.compile(r"^PO-(\d{1,12})$", re.IGNORECASE)


# --- suppliers -----------------------------------------------------------------------------


class SupplierResource(SheetResource):
    code = fields.Field(attribute="code", column_name="code")
    name = fields.Field(attribute="name", column_name="name")
    contact_name = fields.Field(attribute="contact_name", column_name="contact_name")
    email = fields.Field(attribute="email", column_name="email")
    phone = fields.Field(attribute="phone", column_name="phone")
    address = fields.Field(attribute="address", column_name="address")
    payment_terms = fields.Field(attribute="payment_terms", column_name="payment_terms")
    currency = fields.Field(attribute="currency", column_name="currency")
    lead_time_days = fields.Field(
        attribute="lead_time_days", column_name="lead_time_days", widget=IntegerCell()
    )
    receipt_tolerance_percent = fields.Field(
        attribute="receipt_tolerance_percent",
        column_name="receipt_tolerance_percent",
        widget=DecimalCell(),
    )
    active = fields.Field(attribute="is_active", column_name="active", widget=BooleanCell())
    notes = fields.Field(attribute="notes", column_name="notes")

    keep_when_blank = ("currency", "lead_time_days", "receipt_tolerance_percent", "active")

    class Meta:
        model = Supplier
        fields = (
            "code",
            "name",
            "contact_name",
            "email",
            "phone",
            "address",
            "payment_terms",
            "currency",
            "lead_time_days",
            "receipt_tolerance_percent",
            "active",
            "notes",
        )
        export_order = fields
        import_id_fields = ("code",)
        # No service writes suppliers: the model's validation is the rule, as in the admin.
        clean_model_instances = True
        skip_unchanged = True
        skip_html_diff = True

    def get_queryset(self) -> QuerySet:
        return Supplier.objects.order_by("code")


@register
class SuppliersImporter(ResourceImporter):
    kind = "suppliers"
    label = _("Suppliers")
    permission = "suppliers.import_supplier"
    model = Supplier
    resource_class = SupplierResource
    key_columns = ("code",)
    required_columns = ("code", "name")
    optional_columns = tuple(c for c in SupplierResource.Meta.fields if c not in ("code", "name"))
    example = (
        {
            "code": "ACME",
            "name": "Acme Trading Co.",
            "contact_name": "Wang Fang",
            "email": "orders@acme.example",
            "phone": "+86 21 5555 0100",
            "address": "88 Century Avenue, Shanghai",
            "payment_terms": "30 days net",
            "currency": "CNY",
            "lead_time_days": "7",
            "receipt_tolerance_percent": "5",
            "active": "yes",
            "notes": "",
        },
    )


# --- price lists ---------------------------------------------------------------------------


def parse_breaks(value: Any) -> list[services.PriceBreak]:
    """``"10:7.50; 50:7.00"`` → price breaks; a blank cell is no breaks."""
    text = str(value or "").strip()
    if not text:
        return []
    breaks = []
    for part in filter(None, (p.strip() for p in text.replace(",", ";").split(";"))):
        quantity, sep, cost = part.partition(":")
        try:
            if not sep:
                raise ValueError
            parsed_quantity, parsed_cost = parse_int(quantity), parse_decimal(cost)
        except ValueError:
            raise ValueError(BREAKS_FORMAT % {"value": text}) from None
        if parsed_quantity is None or parsed_cost is None:
            raise ValueError(BREAKS_FORMAT % {"value": text})
        breaks.append(services.PriceBreak(parsed_quantity, parsed_cost))
    return breaks


class BreaksCell(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return parse_breaks(value)

    def render(self, value, obj=None, **kwargs):
        return value or ""


# Which column a price-list refusal is about.
PRICE_COLUMNS = (
    (services.PRICE_COST, "unit_cost"),
    (services.PRICE_MOQ, "moq"),
    (services.PRICE_PACK, "pack_size"),
    (services.PRICE_LEAD_TIME, "lead_time_days"),
    (services.PRICE_PREFERRED_INACTIVE, "preferred"),
    (services.PRICE_BREAK_QUANTITY, "breaks"),
    (services.PRICE_BREAK_DUPLICATE, "breaks"),
    (services.PRICE_BREAK_COST, "breaks"),
)


def _price_column(message: str) -> str:
    for template, column in PRICE_COLUMNS:
        if match_message(template, message) is not None:
            return column
    return ""


class SupplierPriceResource(SheetResource):
    supplier = fields.Field(
        attribute="supplier",
        column_name="supplier",
        widget=LookupCell(Supplier, "code", UNKNOWN_SUPPLIER, required=True),
    )
    sku = fields.Field(
        attribute="variant",
        column_name="sku",
        widget=LookupCell(Variant, "sku", UNKNOWN_SKU, required=True),
    )
    supplier_sku = fields.Field(attribute="supplier_sku", column_name="supplier_sku")
    unit_cost = fields.Field(attribute="unit_cost", column_name="unit_cost", widget=DecimalCell())
    moq = fields.Field(attribute="moq", column_name="moq", widget=IntegerCell())
    pack_size = fields.Field(attribute="pack_size", column_name="pack_size", widget=IntegerCell())
    lead_time_days = fields.Field(
        attribute="lead_time_days", column_name="lead_time_days", widget=IntegerCell()
    )
    preferred = fields.Field(
        attribute="is_preferred", column_name="preferred", widget=BooleanCell()
    )
    # Not a model field: the breaks the row asks for (None: the column is not in the sheet,
    # and the entry's breaks stay as they are; a blank cell removes them).
    breaks = fields.Field(attribute="sheet_breaks", column_name="breaks", widget=BreaksCell())

    keep_when_blank = ("moq", "pack_size", "preferred")

    class Meta:
        model = SupplierPrice
        fields = (
            "supplier",
            "sku",
            "supplier_sku",
            "unit_cost",
            "moq",
            "pack_size",
            "lead_time_days",
            "preferred",
            "breaks",
        )
        export_order = fields
        import_id_fields = ("supplier", "sku")
        skip_html_diff = True

    def get_queryset(self) -> QuerySet:
        return SupplierPrice.objects.select_related("supplier", "variant")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("supplier", "variant").prefetch_related("breaks")

    def dehydrate_breaks(self, price: SupplierPrice) -> str:
        return "; ".join(f"{b.min_quantity}:{b.unit_cost}" for b in price.breaks.all())

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        try:
            services.supplier_price_check(
                supplier=instance.supplier,
                unit_cost=instance.unit_cost,
                moq=instance.moq,
                pack_size=instance.pack_size,
                lead_time_days=instance.lead_time_days,
                is_preferred=instance.is_preferred,
                breaks=getattr(instance, "sheet_breaks", None),
            )
        except InvalidPriceList as error:
            raise ValidationError({_price_column(error.message): error.message}) from None

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or original is None or original.pk is None:
            return False
        compared = ("supplier_sku", "unit_cost", "moq", "pack_size", "lead_time_days")
        if any(getattr(instance, name) != getattr(original, name) for name in compared):
            return False
        if instance.is_preferred != original.is_preferred:
            return False
        wanted = getattr(instance, "sheet_breaks", None)
        if wanted is None:
            return True
        current = [(b.min_quantity, b.unit_cost) for b in original.breaks.order_by("min_quantity")]
        return sorted((b.min_quantity, b.unit_cost) for b in wanted) == current

    def do_instance_save(self, instance, is_create):
        try:
            price = services.supplier_price_set(
                supplier=instance.supplier,
                variant=instance.variant,
                unit_cost=instance.unit_cost,
                actor=self.actor,
                supplier_sku=instance.supplier_sku or "",
                moq=instance.moq,
                pack_size=instance.pack_size,
                lead_time_days=instance.lead_time_days,
                is_preferred=instance.is_preferred,
                breaks=getattr(instance, "sheet_breaks", None),
            )
        except InvalidPriceList as error:
            raise ValidationError({_price_column(error.message): error.message}) from None
        instance.pk = price.pk


@register
class PriceListImporter(ResourceImporter):
    kind = "price_list"
    label = _("Supplier price lists")
    permission = "suppliers.import_supplierprice"
    model = SupplierPrice
    resource_class = SupplierPriceResource
    key_columns = ("supplier", "sku")
    required_columns = ("supplier", "sku", "unit_cost")
    optional_columns = ("supplier_sku", "moq", "pack_size", "lead_time_days", "preferred", "breaks")
    example = (
        {
            "supplier": "ACME",
            "sku": "SHIRT-M",
            "unit_cost": "8.00",
            "supplier_sku": "AC-7781",
            "moq": "10",
            "pack_size": "5",
            "lead_time_days": "",
            "preferred": "yes",
            "breaks": "50:7.50; 200:7.00",
        },
    )

    def check_row(self, row: Row, report: Report) -> bool:
        if not super().check_row(row, report):
            return False
        try:
            preferred = parse_bool(row.cells.get("preferred"))
        except ValueError:
            return True  # the resource reports it at its column
        sku = row.cells.get("sku", "")
        if preferred and sku:
            first = self._preferred.setdefault(sku, row.number)
            if first != row.number:
                report.error(row.number, "preferred", PREFERRED_TWICE % {"sku": sku, "row": first})
                return False
        return True

    def run(self, rows, *, report, progress):
        self._preferred: dict[str, int] = {}
        super().run(rows, report=report, progress=progress)


# --- purchase orders -----------------------------------------------------------------------


class PurchaseOrderLineResource(resources.ModelResource):
    """Export of purchase orders with their lines: one row per line. Given a queryset of
    purchase orders (the changelist's selection), it exports their lines."""

    order = fields.Field(column_name="order")
    status = fields.Field(column_name="status")
    supplier = fields.Field(attribute="order__supplier__code", column_name="supplier")
    warehouse = fields.Field(attribute="order__warehouse__code", column_name="warehouse")
    sku = fields.Field(attribute="variant__sku", column_name="sku")
    quantity = fields.Field(attribute="quantity", column_name="quantity", widget=IntegerCell())
    received = fields.Field(
        attribute="received_quantity", column_name="received", widget=IntegerCell()
    )
    accepted = fields.Field(
        attribute="accepted_quantity", column_name="accepted", widget=IntegerCell()
    )
    rejected = fields.Field(
        attribute="rejected_quantity", column_name="rejected", widget=IntegerCell()
    )
    unit_cost = fields.Field(attribute="unit_cost", column_name="unit_cost", widget=DecimalCell())
    expected_date = fields.Field(
        attribute="order__expected_date",
        column_name="expected_date",
        widget=widgets.DateWidget("%Y-%m-%d"),
    )
    supplier_reference = fields.Field(
        attribute="order__supplier_reference", column_name="supplier_reference"
    )

    class Meta:
        model = PurchaseOrderLine
        fields = (
            "order",
            "status",
            "supplier",
            "warehouse",
            "sku",
            "quantity",
            "received",
            "accepted",
            "rejected",
            "unit_cost",
            "expected_date",
            "supplier_reference",
        )
        export_order = fields

    def get_queryset(self) -> QuerySet:
        return PurchaseOrderLine.objects.all()

    def filter_export(self, queryset, **kwargs):
        if queryset.model is PurchaseOrder:
            queryset = PurchaseOrderLine.objects.filter(order__in=queryset.values("pk"))
        return queryset.select_related("order__supplier", "order__warehouse", "variant").order_by(
            "order_id", "line_number"
        )

    def dehydrate_order(self, line: PurchaseOrderLine) -> str:
        return line.order.number

    def dehydrate_status(self, line: PurchaseOrderLine) -> str:
        return line.order.status


# Which column a purchasing refusal is about (the SKU it names says which row).
PO_LINE_COLUMNS = (
    (services.PO_LINE_QUANTITY, "quantity"),
    (services.PO_LINE_BELOW_MOQ, "quantity"),
    (services.PO_LINE_COST, "unit_cost"),
    (services.PO_LINE_NO_COST, "unit_cost"),
    (services.PO_LINE_DUPLICATE, "sku"),
)
PO_COLUMNS = (
    (services.PO_SUPPLIER_INACTIVE, "supplier"),
    (services.PO_WAREHOUSE_INACTIVE, "warehouse"),
    (services.PO_SENT_LINES_LOCKED, "order"),
    (services.PO_WRONG_STATUS, "order"),
)


@register
class PurchaseOrdersImporter(GroupedImporter):
    kind = "purchase_orders"
    label = _("Purchase orders (one row per line; drafts)")
    permission = "suppliers.import_purchaseorder"
    model = PurchaseOrder
    group_columns = ("order",)
    document_columns = ("supplier", "warehouse", "supplier_reference", "note")
    required_columns = ("order", "supplier", "warehouse", "sku", "quantity")
    optional_columns = ("unit_cost", "supplier_reference", "note")
    ignored_columns = {
        "status": NOT_IMPORTED_STATUS,
        "received": NOT_IMPORTED_RECEIVED,
        "accepted": NOT_IMPORTED_RECEIVED,
        "rejected": NOT_IMPORTED_RECEIVED,
        "expected_date": NOT_IMPORTED_EXPECTED,
    }
    example = (
        {
            "order": "A1",
            "supplier": "ACME",
            "warehouse": "MAIN",
            "sku": "SHIRT-M",
            "quantity": "50",
            "unit_cost": "",
            "supplier_reference": "",
            "note": "Spring restock",
        },
    )

    def prepare(self, groups: list[Group], report: Report) -> None:
        rows = [row for group in groups for row in group.rows]
        suppliers = _by_key(Supplier, "code", (r.cells.get("supplier", "") for r in rows))
        warehouses = _by_key(Warehouse, "code", (r.cells.get("warehouse", "") for r in rows))
        variants = _by_key(Variant, "sku", (r.cells.get("sku", "") for r in rows))
        numbers = {}
        for group in groups:
            found = PO_NUMBER.match(group.key[0])
            if found:
                numbers[group.key] = int(found.group(1))
        existing = PurchaseOrder.objects.select_related("supplier", "warehouse").in_bulk(
            numbers.values()
        )
        self._parties: dict[tuple, tuple[Supplier | None, Warehouse | None]] = {}
        self._orders: dict[tuple, PurchaseOrder | None] = {}
        self._lines: dict[tuple, list[services.POLineRequest]] = {}
        for group in groups:
            supplier = self._party(group, report, "supplier", suppliers, UNKNOWN_SUPPLIER)
            warehouse = self._party(group, report, "warehouse", warehouses, UNKNOWN_WAREHOUSE)
            self._parties[group.key] = (supplier, warehouse)
            if group.key in numbers:
                order = self._orders[group.key] = existing.get(numbers[group.key])
                if order is None:
                    message = UNKNOWN_PO % {"value": group.key[0]}
                    self.refuse(group, report, group.first, "order", message)
                elif (
                    supplier
                    and warehouse
                    and (order.supplier_id, order.warehouse_id)
                    != (
                        supplier.pk,
                        warehouse.pk,
                    )
                ):
                    message = PO_PARTIES_FIXED % {
                        "number": order.number,
                        "supplier": order.supplier.code,
                        "warehouse": order.warehouse.code,
                    }
                    self.refuse(group, report, group.first, "supplier", message)
            self._lines[group.key] = self._line_requests(group, variants, report)

    def _party(self, group: Group, report: Report, column: str, known: dict, unknown):
        code = group.values.get(column, "")
        if not code:
            self.refuse(group, report, group.first, column, VALUE_REQUIRED)
            return None
        found = known.get(code)
        if found is None:
            row = next(r for r in group.rows if r.cells.get(column) == code)
            self.refuse(group, report, row, column, unknown % {"value": code})
        return found

    def _line_requests(self, group: Group, variants: dict, report: Report):
        lines, seen = [], {}
        for row in group.rows:
            sku = row.cells.get("sku", "")
            variant = variants.get(sku)
            if variant is None:
                self.refuse(group, report, row, "sku", UNKNOWN_SKU % {"value": sku})
                continue
            if sku in seen:
                self.refuse(group, report, row, "sku", services.PO_LINE_DUPLICATE % {"sku": sku})
                continue
            seen[sku] = row
            try:
                quantity = parse_int(row.cells.get("quantity"))
            except ValueError as error:
                self.refuse(group, report, row, "quantity", error)
                continue
            try:
                cost = parse_decimal(row.cells.get("unit_cost"))
            except ValueError as error:
                self.refuse(group, report, row, "unit_cost", error)
                continue
            lines.append(services.POLineRequest(variant, quantity, cost))
        return lines

    def import_group(self, group: Group, report: Report) -> None:
        supplier, warehouse = self._parties[group.key]
        lines = self._lines[group.key]
        order = self._orders.get(group.key)
        if order is not None:
            if _same_lines(order, lines):
                return self._add(group, report, "unchanged", order)
            written, error = self.in_savepoint(
                services.purchase_order_update_draft, order=order, lines=lines, actor=self.actor
            )
            action = "update"
        else:
            written, error = self.in_savepoint(
                services.purchase_order_create,
                supplier=supplier,
                warehouse=warehouse,
                lines=lines,
                actor=self.actor,
                note=group.values.get("note", ""),
                supplier_reference=group.values.get("supplier_reference", ""),
            )
            action = "create"
        if error is not None:
            row, column = self._blame(group, error.message)
            report.error(row.number, column, error.message)
            return None
        return self._add(group, report, action, written)

    def _add(self, group: Group, report: Report, action: str, order: PurchaseOrder) -> None:
        for row in group.rows:
            report.add(
                row.number, action, f"{group.label} / {row.cells.get('sku', '')}", order.number
            )

    def _blame(self, group: Group, message: str) -> tuple[Row, str]:
        for template, column in PO_LINE_COLUMNS:
            found = match_message(template, message)
            if found is not None:
                for row in group.rows:
                    if row.cells.get("sku") == found.get("sku"):
                        return row, column
                return group.first, column
        for template, column in PO_COLUMNS:
            if match_message(template, message) is not None:
                return group.first, column
        return group.first, ""


def _by_key(model, field: str, values) -> dict[str, Any]:
    """The rows of ``model`` whose ``field`` is one of ``values`` (in batches of 1,000)."""
    wanted = sorted({value for value in values if value})
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 1000):
        batch = wanted[start : start + 1000]
        found.update(
            {getattr(obj, field): obj for obj in model.objects.filter(**{f"{field}__in": batch})}
        )
    return found


def _same_lines(order: PurchaseOrder, lines: list[services.POLineRequest]) -> bool:
    """Would updating ``order`` to ``lines`` change nothing? (A blank cost matches any cost:
    the draft keeps the cost it has.)"""
    current = {line.variant_id: line for line in order.lines.all()}
    if set(current) != {line.variant.pk for line in lines}:
        return False
    for line in lines:
        existing = current[line.variant.pk]
        if existing.quantity != line.quantity:
            return False
        if line.unit_cost is not None and Decimal(existing.unit_cost) != line.unit_cost:
            return False
    return True
