"""Orders and their lines, shipments, returns and the channels' API tokens.

Every status change and every total is written by ``orders.services``; the
constraints here make the impossible (a line shipped twice, a refund below
zero, two orders for one channel reference) impossible in the database too.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class Order(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        REVIEWED = "reviewed", _("Reviewed")
        ALLOCATED = "allocated", _("Allocated")
        PICKED = "picked", _("Picked")
        PACKED = "packed", _("Packed")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        STOREFRONT = "storefront", _("Storefront")
        MARKETPLACE = "marketplace", _("Marketplace")
        MANUAL = "manual", _("Manual")

    class Priority(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")
        PRESALE = "presale", _("Pre-sale")

    number = models.CharField(_("number"), max_length=40, unique=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.MANUAL
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.RECEIVED,
        db_index=True,
        editable=False,
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    external_reference = models.CharField(
        _("channel reference"),
        max_length=64,
        blank=True,
        help_text=_("The order's number in the channel that sent it; unique per channel."),
    )
    customer_name = models.CharField(_("customer"), max_length=200)
    customer_email = models.EmailField(_("customer e-mail"), blank=True)
    customer_phone = models.CharField(_("customer phone"), max_length=40, blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    shipping_city = models.CharField(_("city"), max_length=120, blank=True)
    shipping_region = models.CharField(_("region"), max_length=120, blank=True)
    shipping_postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2, blank=True)
    subtotal = models.DecimalField(
        _("subtotal"), max_digits=14, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    discount_total = models.DecimalField(
        _("discounts"), max_digits=14, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    total = models.DecimalField(
        _("total"), max_digits=14, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    review_flags = models.JSONField(_("review flags"), default=list, blank=True, editable=False)
    needs_attention = models.BooleanField(
        _("needs attention"), default=False, db_index=True, editable=False
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("ships from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    created_at = models.DateTimeField(_("placed at"), auto_now_add=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_reference"],
                condition=~Q(external_reference=""),
                name="order_unique_channel_reference",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0) & Q(discount_total__gte=0) & Q(total__gte=0),
                name="order_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("discount_total")),
                name="order_total_is_subtotal_less_discounts",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def review_messages(self) -> list[str]:
        """The review flags as sentences staff read, rendered in their language."""
        from .services import review_flag_message

        return [review_flag_message(flag) for flag in self.review_flags]


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), related_name="lines", on_delete=models.CASCADE
    )
    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("SKU"), related_name="+", on_delete=models.PROTECT
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    shipped_quantity = models.PositiveIntegerField(_("shipped"), default=0, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="orderline_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=F("unit_price") * F("quantity")),
                name="orderline_discount_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(shipped_quantity__lte=F("quantity")),
                name="orderline_shipped_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} × {self.variant_id}"

    @property
    def reference(self) -> str:
        """The allocation reference of this line in the stock ledger."""
        return f"order-line:{self.pk}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


class Shipment(models.Model):
    """One parcel handed to a carrier: which lines, how many units, and its tracking number."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), related_name="shipments", on_delete=models.PROTECT
    )
    carrier = models.CharField(_("carrier"), max_length=60)
    tracking_number = models.CharField(_("tracking number"), max_length=80)
    shipped_at = models.DateTimeField(_("shipped at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(carrier="") & ~Q(tracking_number=""),
                name="shipment_has_carrier_and_tracking",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(
        Shipment, verbose_name=_("shipment"), related_name="lines", on_delete=models.CASCADE
    )
    order_line = models.ForeignKey(
        OrderLine,
        verbose_name=_("order line"),
        related_name="shipment_lines",
        on_delete=models.PROTECT,
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        ordering = ["shipment_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["shipment", "order_line"], name="shipmentline_unique_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}: {self.quantity} × {self.order_line_id}"


class ApiToken(models.Model):
    """A channel's key to the JSON endpoint. Only a SHA-256 of the token is stored."""

    channel = models.CharField(_("channel"), max_length=16, choices=Order.Channel.choices)
    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(_("token starts with"), max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("ships from"),
        related_name="+",
        on_delete=models.PROTECT,
        help_text=_("Orders placed with this token are allocated in this warehouse."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        editable=False,
    )
    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["channel", "name"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.name} ({self.prefix}…)"


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", _("Arrived damaged / defective")
    WRONG_ITEM = "wrong_item", _("Wrong item sent")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    SIZE_FIT = "size_fit", _("Size or fit")
    CHANGED_MIND = "changed_mind", _("Changed mind")
    LATE = "late", _("Arrived too late")
    OTHER = "other", _("Other")


class ReturnRequest(models.Model):
    """A customer's return or exchange (退換貨) of shipped lines of one order."""

    class Status(models.TextChoices):
        # A context of their own: "Received" is also an order status, translated differently.
        REQUESTED = "requested", pgettext_lazy("return status", "Requested")
        APPROVED = "approved", pgettext_lazy("return status", "Approved")
        REJECTED = "rejected", pgettext_lazy("return status", "Rejected")
        RECEIVED = "received", pgettext_lazy("return status", "Received")
        INSPECTED = "inspected", pgettext_lazy("return status", "Inspected")

    class Kind(models.TextChoices):
        REFUND = "refund", _("Return for refund")
        EXCHANGE = "exchange", _("Exchange")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), related_name="returns", on_delete=models.PROTECT
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.REFUND)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.REQUESTED,
        db_index=True,
        editable=False,
    )
    note = models.TextField(_("note"), blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, editable=False)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("receiving warehouse"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        editable=False,
    )
    refund_amount = models.DecimalField(
        _("refund"), max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    replacement_order = models.OneToOneField(
        Order,
        verbose_name=_("replacement order"),
        null=True,
        blank=True,
        related_name="replaces_return",
        on_delete=models.PROTECT,
        editable=False,
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        editable=False,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("return / exchange")
        verbose_name_plural = _("returns / exchanges")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gte=0),
                name="return_refund_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"RMA-{self.pk} ({self.order_id})"


class ReturnLine(models.Model):
    """Units of one order line coming back, and what inspection made of them."""

    return_request = models.ForeignKey(
        ReturnRequest, verbose_name=_("return"), related_name="lines", on_delete=models.CASCADE
    )
    order_line = models.ForeignKey(
        OrderLine,
        verbose_name=_("order line"),
        related_name="return_lines",
        on_delete=models.PROTECT,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=24, choices=ReturnReason.choices)
    exchange_variant = models.ForeignKey(
        "catalog.Variant",
        verbose_name=_("exchange for"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    resellable_quantity = models.PositiveIntegerField(_("resellable"), default=0, editable=False)
    damaged_quantity = models.PositiveIntegerField(_("damaged"), default=0, editable=False)
    supplier_quantity = models.PositiveIntegerField(
        _("returned to supplier"), default=0, editable=False
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        verbose_name=_("supplier"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        editable=False,
    )

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        ordering = ["return_request_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="returnline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("resellable_quantity")
                    + F("damaged_quantity")
                    + F("supplier_quantity")
                ),
                name="returnline_inspected_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.return_request_id}: {self.quantity} × {self.order_line_id}"
