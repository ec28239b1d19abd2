"""Suppliers and purchasing: price lists, purchase orders, inspected receipts, returns.

Rows here are written by ``suppliers.services``; stock never is. Goods that
pass inspection enter stock through ``inventory.services.receive`` with the
purchase-order line as the movement's reference (``PO-000012/L3``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

MOQ_AT_LEAST_ONE = _("The minimum order quantity must be at least 1.")
PACK_AT_LEAST_ONE = _("The pack size must be at least 1.")
COST_NOT_NEGATIVE = _("A unit cost cannot be negative.")
ONE_PREFERRED = _("This SKU already has a preferred supplier; only one can be preferred.")


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"), message=COST_NOT_NEGATIVE)],
        **kwargs,
    )


class Supplier(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    contact_name = models.CharField(_("contact"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    payment_terms = models.CharField(_("payment terms"), max_length=120, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=7)
    receipt_tolerance_percent = models.DecimalField(
        _("over-receipt tolerance (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_(
            "How much more than ordered may be accepted into stock on a purchase-order line."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(receipt_tolerance_percent__gte=0)
                & Q(receipt_tolerance_percent__lte=100),
                name="supplier_tolerance_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class SupplierPrice(models.Model):
    """One line of a supplier's price list: what one SKU costs from this supplier, and how
    it is sold (minimum order quantity, pack size, lead time). At most one supplier is the
    preferred one for a SKU: replenishment orders from it."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), related_name="prices", on_delete=models.CASCADE
    )
    variant = models.ForeignKey(
        "catalog.Variant",
        verbose_name=_("SKU"),
        related_name="supplier_prices",
        on_delete=models.CASCADE,
    )
    supplier_sku = models.CharField(_("supplier SKU"), max_length=64, blank=True)
    unit_cost = _money(_("unit cost"))
    moq = models.PositiveIntegerField(
        _("minimum order quantity"),
        default=1,
        validators=[MinValueValidator(1, message=MOQ_AT_LEAST_ONE)],
    )
    pack_size = models.PositiveIntegerField(
        _("pack size"),
        default=1,
        validators=[MinValueValidator(1, message=PACK_AT_LEAST_ONE)],
        help_text=_("Orders are rounded up to whole packs."),
    )
    lead_time_days = models.PositiveIntegerField(
        _("lead time (days)"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the supplier's lead time."),
    )
    is_preferred = models.BooleanField(_("preferred supplier"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("price list entry")
        verbose_name_plural = _("price lists")
        ordering = ["supplier_id", "variant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "variant"], name="supplierprice_unique_supplier_sku"
            ),
            models.UniqueConstraint(
                fields=["variant"],
                condition=Q(is_preferred=True),
                name="supplierprice_one_preferred_per_sku",
                violation_error_message=ONE_PREFERRED,
            ),
            models.CheckConstraint(condition=Q(moq__gte=1), name="supplierprice_moq_positive"),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1), name="supplierprice_pack_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="supplierprice_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier.code}: {self.variant.sku} @ {self.unit_cost}"


class SupplierPriceBreak(models.Model):
    """A lower unit cost from ``min_quantity`` units upwards (quantity price break)."""

    price = models.ForeignKey(
        SupplierPrice,
        verbose_name=_("price list entry"),
        related_name="breaks",
        on_delete=models.CASCADE,
    )
    min_quantity = models.PositiveIntegerField(_("from quantity"))
    unit_cost = _money(_("unit cost"))

    class Meta:
        verbose_name = _("quantity price break")
        verbose_name_plural = _("quantity price breaks")
        ordering = ["price_id", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["price", "min_quantity"], name="supplierpricebreak_unique_quantity"
            ),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=2), name="supplierpricebreak_quantity_above_one"
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="supplierpricebreak_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_quantity}: {self.unit_cost}"


class PurchaseOrder(models.Model):
    """An order to one supplier, delivered to one warehouse.

    draft → sent → partially received → received → closed, or cancelled
    (see ``suppliers.services`` for who may move it where).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("purchase order status", "Draft")
        SENT = "sent", pgettext_lazy("purchase order status", "Sent")
        PARTIALLY_RECEIVED = (
            "partially_received",
            pgettext_lazy("purchase order status", "Partially received"),
        )
        RECEIVED = "received", pgettext_lazy("purchase order status", "Received")
        CLOSED = "closed", pgettext_lazy("purchase order status", "Closed")
        CANCELLED = "cancelled", pgettext_lazy("purchase order status", "Cancelled")

    supplier = models.ForeignKey(
        Supplier,
        verbose_name=_("supplier"),
        related_name="purchase_orders",
        on_delete=models.PROTECT,
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("deliver to"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
        editable=False,
    )
    currency = models.CharField(_("currency"), max_length=3, editable=False)
    supplier_reference = models.CharField(
        _("supplier's reference"), max_length=80, blank=True, help_text=_("Their confirmation no.")
    )
    note = models.TextField(_("note"), blank=True)
    expected_date = models.DateField(_("expected on"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        editable=False,
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(
        _("fully received at"), null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    status_note = models.TextField(_("close / cancel reason"), blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["supplier", "status"], name="po_supplier_status"),
            models.Index(fields=["warehouse", "status"], name="po_warehouse_status"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"PO-{self.pk:06d}" if self.pk else "PO-(new)"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


# Statuses in which goods are still expected (drafts are planned, not yet on order).
OPEN_STATUSES = (
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.PARTIALLY_RECEIVED,
)
# What replenishment counts as "on order": drafts too, so that a suggestion turned into a
# draft is not suggested again.
ON_ORDER_STATUSES = (PurchaseOrder.Status.DRAFT, *OPEN_STATUSES)


class PurchaseOrderLine(models.Model):
    """Units of one SKU ordered, and how many of them inspection accepted or rejected so far.

    ``accepted_quantity`` entered stock; ``rejected_quantity`` never did.
    """

    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        related_name="lines",
        on_delete=models.CASCADE,
    )
    line_number = models.PositiveSmallIntegerField(_("line"), editable=False)
    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("SKU"), related_name="+", on_delete=models.PROTECT
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_cost = _money(_("unit cost"))
    list_unit_cost = models.DecimalField(
        _("price-list cost"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
        help_text=_("The supplier's price-list cost for this quantity when the line was written."),
    )
    received_quantity = models.PositiveIntegerField(_("received"), default=0, editable=False)
    accepted_quantity = models.PositiveIntegerField(_("accepted"), default=0, editable=False)
    rejected_quantity = models.PositiveIntegerField(_("rejected"), default=0, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "line_number"], name="poline_unique_line_number"
            ),
            models.UniqueConstraint(fields=["order", "variant"], name="poline_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="poline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="poline_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(received_quantity=F("accepted_quantity") + F("rejected_quantity")),
                name="poline_received_is_accepted_plus_rejected",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """What the stock ledger calls this line: ``PO-000012/L3``."""
        return f"PO-{self.order_id:06d}/L{self.line_number}"

    @property
    def total(self) -> Decimal:
        return self.unit_cost * self.quantity

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.accepted_quantity, 0)


class PurchaseOrderAmendment(models.Model):
    """A documented change to the lines of a sent order: who, when, why, and what changed."""

    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        related_name="amendments",
        on_delete=models.CASCADE,
    )
    reason = models.TextField(_("reason"))
    changes = models.JSONField(_("changes"), default=list)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="poamendment_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.order}: {self.reason[:40]}"


class RejectionReason(models.TextChoices):
    DAMAGED = "damaged", _("Damaged in transit")
    DEFECTIVE = "defective", _("Defective / failed quality check")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    EXPIRED = "expired", _("Expired or short shelf life")
    NOT_ORDERED = "not_ordered", _("Not ordered (over-shipment)")
    OTHER = "other", _("Other")


class GoodsReceipt(models.Model):
    """One delivery from the supplier against one purchase order, inspected (驗貨入庫)."""

    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        related_name="receipts",
        on_delete=models.PROTECT,
    )
    received_at = models.DateTimeField(_("received at"), db_index=True)
    delivery_note = models.CharField(_("delivery note no."), max_length=80, blank=True)
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("goods receipt")
        verbose_name_plural = _("goods receipts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"GR-{self.pk:06d}" if self.pk else "GR-(new)"


class GoodsReceiptLine(models.Model):
    """Per purchase-order line: units received, accepted into stock, and rejected (why)."""

    receipt = models.ForeignKey(
        GoodsReceipt,
        verbose_name=_("goods receipt"),
        related_name="lines",
        on_delete=models.CASCADE,
    )
    order_line = models.ForeignKey(
        PurchaseOrderLine,
        verbose_name=_("purchase order line"),
        related_name="receipt_lines",
        on_delete=models.PROTECT,
    )
    received = models.PositiveIntegerField(_("received"))
    accepted = models.PositiveIntegerField(_("accepted"))
    rejected = models.PositiveIntegerField(_("rejected"))
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=16, choices=RejectionReason.choices, blank=True
    )
    rejection_note = models.CharField(_("rejection note"), max_length=255, blank=True)
    returned_quantity = models.PositiveIntegerField(
        _("returned to supplier"), default=0, editable=False
    )
    movement = models.ForeignKey(
        "inventory.Movement",
        verbose_name=_("stock movement"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )

    class Meta:
        verbose_name = _("goods receipt line")
        verbose_name_plural = _("goods receipt lines")
        ordering = ["receipt_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt", "order_line"], name="grline_unique_order_line"
            ),
            models.CheckConstraint(condition=Q(received__gt=0), name="grline_received_positive"),
            models.CheckConstraint(
                condition=Q(received=F("accepted") + F("rejected")),
                name="grline_received_is_accepted_plus_rejected",
            ),
            models.CheckConstraint(
                condition=Q(rejected=0) | ~Q(rejection_reason=""),
                name="grline_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=F("rejected")),
                name="grline_returned_within_rejected",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.received} × {self.order_line_id}"


class SupplierReturn(models.Model):
    """Rejected goods sent back to the supplier (return to vendor).

    Rejected units never entered stock, so a supplier return writes no stock
    movement: it documents what left the receiving dock and why.
    """

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), related_name="returns", on_delete=models.PROTECT
    )
    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        related_name="supplier_returns",
        on_delete=models.PROTECT,
    )
    carrier_reference = models.CharField(_("carrier / tracking"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("returned at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("return to supplier")
        verbose_name_plural = _("returns to suppliers")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"RTV-{self.pk:06d}" if self.pk else "RTV-(new)"


class SupplierReturnLine(models.Model):
    supplier_return = models.ForeignKey(
        SupplierReturn,
        verbose_name=_("return to supplier"),
        related_name="lines",
        on_delete=models.CASCADE,
    )
    receipt_line = models.ForeignKey(
        GoodsReceiptLine,
        verbose_name=_("goods receipt line"),
        related_name="return_lines",
        on_delete=models.PROTECT,
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("return to supplier line")
        verbose_name_plural = _("return to supplier lines")
        ordering = ["supplier_return_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="rtvline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier_return_id}: {self.quantity} × {self.receipt_line_id}"


class Replenishment(models.Model):
    """Not a table: the admin's "replenishment suggestions" page hangs off this name so that
    it is listed under Suppliers in the admin index. The rows are computed by
    ``suppliers.selectors.replenishment_suggestions``."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = _("replenishment suggestion")
        verbose_name_plural = _("replenishment suggestions")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
